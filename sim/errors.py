"""User-facing errors.

A :class:`UserError` is something the user can fix: bad YAML, an unknown key, a wrong type,
a missing file, an unknown registered name, a bad trace row. The CLI prints its message on
one line and exits with code 2, without a traceback. Any other exception is a bug (exit 1).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class UserError(Exception):
    """An error in the user's input. ``where`` names the file and the key or line."""

    exit_code = 2

    def __init__(self, message: str, where: str | None = None):
        self.message = message
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class ConfigError(UserError):
    """The experiment file is malformed or does not validate."""


class UnknownNameError(UserError):
    """A registered name (model, policy, workload, paper) does not exist."""


class DataError(UserError):
    """A data file (trace, topology, flow set) is missing or has a bad row."""


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return ' (did you mean 'x'?)' for the closest choice, or '' when none is close."""
    close = difflib.get_close_matches(str(name), [str(c) for c in choices], n=1, cutoff=0.5)
    return f" (did you mean '{close[0]}'?)" if close else ""


class RunError(UserError):
    """A run that cannot finish as configured: simulated time became infinite or NaN (a
    zero, denormal or infinite rate or size in the input), or the run exceeded its
    wall-time limit."""
