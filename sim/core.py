"""The Simulation object: a SimPy environment with named random streams, a recorder, a
timeline and a fixed lifecycle.

Lifecycle (driven by :mod:`sim.runner`): ``model.build(sim)`` -> ``sim.run(...)`` ->
``model.summary()`` / ``model.tables()`` / ``model.figures()`` -> results written.

Stop conditions: a duration (simulated seconds), a count, or both (whichever comes first).
A model that supports a count calls :meth:`Simulation.completed` once per finished unit of
work (a customer, a request, a job); the run stops when ``stop_count`` units are done.
Without either, the run ends when no events are left.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import Any

import numpy as np
import simpy

from sim.errors import RunError
from sim.events import GuardedEnvironment, events_scheduled
from sim.recorder import Recorder
from sim.rng import RandomStreams
from sim.scope import Scope
from sim.timeline import Timeline


class Simulation:
    """One simulation run.

    Attributes
    ----------
    env: the ``simpy.Environment``; models use it directly for processes and timeouts.
    recorder: probes, tables and series (:class:`sim.recorder.Recorder`).
    timeline: spans for the Chrome/Perfetto trace (off unless ``trace=True``).
    """

    def __init__(self, seed: int = 0, *, trace: bool = False):
        self.seed = int(seed)
        self.env = GuardedEnvironment()
        self.streams = RandomStreams(self.seed)
        self.recorder = Recorder()
        self.timeline = Timeline(enabled=trace)
        self.stop_count: int | None = None
        self.done_count = 0
        self._stop_event: simpy.Event | None = None

    # -- conveniences -------------------------------------------------------------------
    @property
    def now(self) -> float:
        return self.env.now

    def rng(self, name: str) -> np.random.Generator:
        """The random stream of component ``name`` (see :mod:`sim.rng`)."""
        return self.streams.get(name)

    def scope(self, name: str) -> Scope:
        """The :class:`~sim.scope.Scope` ``name``: streams, probes and spans under it."""
        return Scope(self, name)

    def process(self, generator: Generator[Any, Any, Any]) -> simpy.Process:
        return self.env.process(generator)

    def timeout(self, delay: float, value: Any = None) -> simpy.Timeout:
        return self.env.timeout(delay, value)

    # -- stopping -----------------------------------------------------------------------
    def completed(self, n: int = 1) -> None:
        """Count ``n`` finished units of work; stop the run when ``stop_count`` is reached."""
        self.done_count += n
        if (
            self.stop_count is not None
            and self.done_count >= self.stop_count
            and self._stop_event is not None
            and not self._stop_event.triggered
        ):
            self._stop_event.succeed()

    def stop(self) -> None:
        """Stop the run at the current simulated time (after the current event)."""
        if self._stop_event is not None and not self._stop_event.triggered:
            self._stop_event.succeed()

    def run(
        self,
        duration_s: float | None = None,
        count: int | None = None,
        max_wall_s: float | None = None,
    ) -> None:
        """Run until ``duration_s`` of simulated time, ``count`` completions, an explicit
        :meth:`stop`, or an empty event queue, whichever comes first. ``max_wall_s`` bounds
        the wall time (:class:`~sim.errors.RunError` beyond it)."""
        self.env.set_wall_limit(max_wall_s)
        self.stop_count = count
        self._stop_event = self.env.event()
        if duration_s is not None:
            if duration_s <= 0:
                raise ValueError("duration_s must be positive")
            timer = self.env.timeout(duration_s - self.env.now)
            timer.callbacks.append(lambda _ev: self.stop())
        if count is not None and self.done_count >= count:
            return
        try:
            self.env.run(until=self._stop_event)
        except RuntimeError as exc:  # the queue emptied before the stop event
            if "No scheduled events left" not in str(exc):
                raise
        finally:
            self.env.set_wall_limit(None)
        if not math.isfinite(self.env.now):
            raise RunError(f"simulated time became {self.env.now}")

    @property
    def events_scheduled(self) -> int:
        """How many events were scheduled so far (SimPy's event id counter)."""
        return events_scheduled(self.env)
