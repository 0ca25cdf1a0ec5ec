"""Base classes for models, policies and workloads.

A model declares its parameters as a pydantic class ``Params`` whose field names are the
experiment file's ``params`` keys (units in the names), builds its SimPy processes in
:meth:`Model.build`, and returns a flat ``{metric: number}`` from :meth:`Model.summary`.
Optionally it returns DataFrames from :meth:`Model.tables` (written as Parquet), PNG files
from :meth:`Model.figures`, and other files from :meth:`Model.files`.

A policy is a pluggable decision rule a model asks for by name (keep-alive, scheduler,
routing); a workload produces the load a model is driven by. Both carry their own
``Params``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pandas as pd
from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from sim.core import Simulation


class Params(BaseModel):
    """Base for every ``Params`` class: unknown keys are errors, values are validated on
    assignment too."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)


class NoParams(Params):
    pass


@dataclass
class RunContext:
    """What a model may need to know about the run beyond its params."""

    experiment_dir: Path = field(default_factory=Path.cwd)
    quick: bool = False
    seed: int = 0
    duration_s: float | None = None
    count: int | None = None

    def resolve(self, path: str | Path) -> Path:
        """A path from the experiment file, resolved against the file's folder."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else (self.experiment_dir / p)


class Plugin:
    """Common base: a registered name, a one-line description, and validated params."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    Params: ClassVar[type[Params]] = NoParams

    def __init__(self, params: Params | None = None):
        self.params = params if params is not None else self.Params()


class Policy(Plugin):
    """A decision rule. Subclasses define the methods their model calls."""

    domain: ClassVar[str] = ""


class Workload(Plugin):
    """A source of load. Subclasses define what their models consume."""


class Model(Plugin):
    """A simulation model. Subclasses implement :meth:`build` and :meth:`summary`.

    ``policy_domain`` names the policy family the model accepts (``None``: no policy).
    ``default_policy`` is used when the experiment file names none.
    """

    policy_domain: ClassVar[str | None] = None
    default_policy: ClassVar[str | None] = None

    def __init__(
        self,
        params: Params | None = None,
        *,
        policy: Policy | None = None,
        workload: Workload | None = None,
        context: RunContext | None = None,
    ):
        super().__init__(params)
        self.policy = policy
        self.workload = workload
        self.context = context if context is not None else RunContext()
        self.sim: Simulation | None = None

    def build(self, sim: Simulation) -> None:
        raise NotImplementedError

    def summary(self) -> dict[str, float]:
        raise NotImplementedError

    def tables(self) -> dict[str, pd.DataFrame]:
        return {}

    def figures(self, out_dir: Path) -> list[Path]:
        return []

    def files(self, out_dir: Path) -> list[Path]:
        return []

    def describe(self) -> dict[str, Any]:
        return {"model": self.name, "params": self.params.model_dump()}
