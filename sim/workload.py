"""The workload interface: arrivals in batches, and a feeder that plays them into SimPy.

A :class:`~sim.model.Workload` yields :class:`Arrivals` batches in time order. A batch is
columnar: ``time_s`` (absolute arrival times, non-decreasing) and named attribute columns
of the same length (``service_s``, ``function_id``, ``prompt_tokens``...). Batches keep
memory bounded however long the trace: a model holds one batch at a time.

:class:`ArrivalFeed` turns batches into calls ``on_arrival(batch, i)`` at each arrival's
time with one SimPy timeout per arrival and no process, pulling the next batch only when
the current one is used up. Models that need more control iterate ``workload.batches()``
themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import simpy

from sim.events import call_later


@dataclass
class Arrivals:
    """A batch of arrivals: times and attribute columns of equal length."""

    time_s: np.ndarray
    columns: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.time_s = np.asarray(self.time_s, dtype=float)
        n = self.time_s.size
        for name, col in self.columns.items():
            if len(col) != n:
                raise ValueError(f"column {name!r} has {len(col)} values for {n} arrivals")

    def __len__(self) -> int:
        return int(self.time_s.size)

    def column(self, name: str) -> np.ndarray:
        try:
            return self.columns[name]
        except KeyError:
            raise KeyError(
                f"arrivals carry no column {name!r} (they have: {', '.join(self.columns) or 'none'})"
            ) from None


class ArrivalFeed:
    """Plays a workload's batches into a SimPy environment.

    ``on_arrival(batch, i)`` is called at ``batch.time_s[i]`` for every arrival, in order;
    ``on_end()`` (optional) after the last one. Arrivals whose time is before the current
    simulated time (a trace starting before 0) arrive at once.
    """

    def __init__(
        self,
        env: simpy.Environment,
        batches: Iterator[Arrivals],
        on_arrival: Callable[[Arrivals, int], object],
        on_end: Callable[[], object] | None = None,
    ):
        self.env = env
        self._batches = iter(batches)
        self._on_arrival = on_arrival
        self._on_end = on_end
        self._batch: Arrivals | None = None
        self._times: list[float] = []
        self._i = 0
        self.arrived = 0
        self._next()

    def _next(self) -> None:
        while self._batch is None or self._i >= len(self._times):
            batch = next(self._batches, None)
            if batch is None:
                if self._on_end is not None:
                    self._on_end()
                return
            self._batch, self._times, self._i = batch, batch.time_s.tolist(), 0
        delay = self._times[self._i] - self.env.now
        call_later(self.env, delay if delay > 0 else 0.0, self._fire)

    def _fire(self, _ev) -> None:
        batch, i = self._batch, self._i
        self._i += 1
        self.arrived += 1
        self._next()
        self._on_arrival(batch, i)
