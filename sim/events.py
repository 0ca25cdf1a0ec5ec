"""The one place that touches SimPy's private attributes.

Lean models schedule plain callbacks instead of processes (two events per customer in
``queueing.mmc``), and some shared state is recomputed once at the *end* of a simulated
instant (after every other event at that time: the flow network's max-min solve). Both
need a little of SimPy's internals; they are wrapped here so that a change in SimPy touches
one file. Everything else uses SimPy's public API.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from heapq import heappush
from typing import Any

import simpy

from sim.errors import RunError

_INF = float("inf")
#: How many scheduled events between two looks at the wall clock.
WALL_CHECK_EVERY = 1 << 15


class GuardedEnvironment(simpy.Environment):
    """``simpy.Environment`` that refuses to schedule an event at an infinite or NaN time
    (which would otherwise loop or stall silently) and, with a deadline, stops a run that
    exceeds its wall-time budget. Both raise :class:`~sim.errors.RunError`. The checks cost
    one comparison per event and a clock read every :data:`WALL_CHECK_EVERY` events."""

    def __init__(self, initial_time: float = 0):
        super().__init__(initial_time)
        self.wall_deadline: float | None = None
        self.wall_limit_s: float | None = None
        self._countdown = WALL_CHECK_EVERY

    def set_wall_limit(self, seconds: float | None) -> None:
        self.wall_limit_s = seconds
        self.wall_deadline = None if seconds is None else time.monotonic() + seconds

    def schedule(
        self, event: simpy.Event, priority: int = simpy.core.NORMAL, delay: float = 0
    ) -> None:
        t = self._now + delay
        if not t < _INF:
            raise RunError(
                f"an event was scheduled at simulated time {t} (now {self._now}, delay {delay}): "
                "a rate, size or duration in the input is zero, denormal, infinite or NaN"
            )
        heappush(self._queue, (t, priority, next(self._eid), event))
        self._countdown -= 1
        if self._countdown <= 0:
            self._countdown = WALL_CHECK_EVERY
            if self.wall_deadline is not None and time.monotonic() > self.wall_deadline:
                raise RunError(f"the run exceeded its wall-time limit of {self.wall_limit_s:g} s")

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
