"""The one place that touches SimPy's private attributes.

Lean models schedule plain callbacks instead of processes (two events per customer in
``queueing.mmc``), and some shared state is recomputed once at the *end* of a simulated
instant (after every other event at that time: the flow network's max-min solve). Both
need a little of SimPy's internals; they are wrapped here so that a change in SimPy touches
one file. Everything else uses SimPy's public API.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import simpy

#: SimPy's priorities are 0 (URGENT) and 1 (NORMAL); LATE runs after both at one instant.
LATE = 2


class Instant(simpy.Event):
    """An event already triggered, scheduled at the current time with ``priority``
    (:data:`LATE`: after every URGENT and NORMAL event of this instant)."""

    def __init__(self, env: simpy.Environment, priority: int = LATE):
        super().__init__(env)
        self._ok = True
        self._value = None
        env.schedule(self, priority)


def at_end_of_instant(env: simpy.Environment, fn: Callable[[simpy.Event], Any]) -> simpy.Event:
    """Call ``fn(event)`` once every other event of the current instant has run."""
    ev = Instant(env, LATE)
    ev.callbacks.append(fn)
    return ev


def call_later(
    env: simpy.Environment, delay: float, fn: Callable[[simpy.Event], Any], value: Any = None
) -> simpy.Timeout:
    """Call ``fn(event)`` after ``delay`` simulated seconds (``event.value`` is ``value``):
    a timeout with a plain callback, no process."""
    ev = env.timeout(delay, value)
    ev.callbacks.append(fn)
    return ev


def events_scheduled(env: simpy.Environment) -> int:
    """How many events were scheduled so far (SimPy's event id counter). Peeking consumes
    one id; ids only need to increase, so this is harmless."""
    return next(env._eid)  # type: ignore[attr-defined]


def pending_events(env: simpy.Environment) -> int:
    """How many events wait in the queue now."""
    return len(env._queue)  # type: ignore[attr-defined]
