"""Generic workloads every model may use: Poisson arrivals and trace replay.

``poisson``
    Arrivals at exponential gaps with mean ``1 / rate_per_s`` from time ``start_s``, until
    ``count`` arrivals or time ``until_s`` (whichever first; one of them is required).
    Optional attribute columns drawn per arrival: ``service_s`` from an exponential with
    mean ``service_mean_s`` when that is set. Random numbers come from the workload's
    stream ``<model>.workload.arrivals`` (and ``.service``), drawn in blocks.

``trace``
    Replays a CSV or Parquet file streamed in chunks by :func:`sim.traces.read_chunks`:
    ``time_column`` (seconds, or any unit with ``time_scale``; must not decrease) becomes
    ``time_s``; every name in ``columns`` becomes a numeric attribute column. Bad rows stop
    the run with the file and line, or with ``lenient: true`` are skipped and counted
    (``skipped_rows`` after the run). Relative paths are resolved against the experiment
    file's folder.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from sim.model import Params, Workload
from sim.registry import workload
from sim.traces import Column, ReadStats, Schema, read_chunks
from sim.workload import Arrivals

#: Largest number of arrivals a generated workload may ask for (memory and time guard).
MAX_ARRIVALS = 10**10


@workload("poisson", "Poisson arrivals at a fixed rate (optional exponential service times)")
class PoissonArrivals(Workload):
    columns = {"service_s": "exponential service time (only with service_mean_s)"}

    class Params(Params):
        rate_per_s: float = Field(1.0, gt=0, le=1e9, description="mean arrivals per second")
        count: int | None = Field(None, ge=1, le=MAX_ARRIVALS, description="arrivals in all")
        until_s: float | None = Field(None, gt=0, le=1e12, description="no arrival after this")
        start_s: float = Field(0.0, ge=0, le=1e12, description="time of the process start")
        service_mean_s: float | None = Field(
            None, gt=0, le=1e9, description="draw an exponential service_s column with this mean"
        )
        batch: int = Field(65_536, ge=1, le=10_000_000, description="arrivals per batch")

        @model_validator(mode="after")
        def _bounded(self):
            if self.count is None and self.until_s is None:
                raise ValueError("give count or until_s (or both)")
            return self

    def batches(self) -> Iterator[Arrivals]:
        p = self.params
        rng_a = self.scope.rng("arrivals")
        rng_s = self.scope.rng("service") if p.service_mean_s else None
        t = p.start_s
        left = p.count if p.count is not None else None
        while left is None or left > 0:
            n = p.batch if left is None else min(p.batch, left)
            times = t + np.cumsum(rng_a.exponential(1.0 / p.rate_per_s, n))
            if p.until_s is not None and times[-1] > p.until_s:
                times = times[times <= p.until_s]
                n = -1  # last batch
            cols = {}
            if rng_s is not None:
                cols["service_s"] = rng_s.exponential(p.service_mean_s, times.size)
            if times.size:
                yield Arrivals(times, cols)
                t = float(times[-1])
            if n < 0:
                return
            if left is not None:
                left -= times.size


@workload("trace", "replay arrivals from a CSV or Parquet file, streamed in chunks")
class TraceReplay(Workload):
    class Params(Params):
        path: str = Field(min_length=1, max_length=4096, description="CSV or Parquet file")
        time_column: str = Field("time_s", min_length=1, description="arrival time column")
        time_scale: float = Field(
            1.0, gt=0, le=1e6, description="seconds per unit of the time column"
        )
        columns: list[str] = Field(
            default_factory=list, description="numeric attribute columns to carry"
        )
        format: Literal["auto", "csv", "parquet"] = "auto"
        lenient: bool = Field(False, description="skip and count bad rows instead of failing")
        chunk_rows: int = Field(200_000, ge=1, le=10_000_000, description="rows per chunk")

    def __init__(self, params=None):
        super().__init__(params)
        self.stats = ReadStats()

    @property
    def column_names(self) -> list[str]:
        return list(self.params.columns)

    def schema(self) -> Schema:
        p = self.params
        cols = [Column(p.time_column, "float", min=0.0)]
        cols += [Column(c, "float") for c in p.columns if c != p.time_column]
        return Schema(tuple(cols), sorted_by=p.time_column)

    def batches(self) -> Iterator[Arrivals]:
        p = self.params
        path = self.context.resolve(p.path)
        for frame in read_chunks(
            path, self.schema(), p.chunk_rows, lenient=p.lenient, stats=self.stats, fmt=p.format
        ):
            if len(frame) == 0:
                continue
            times = frame[p.time_column].to_numpy(dtype=float) * p.time_scale
            cols = {c: frame[c].to_numpy() for c in p.columns if c != p.time_column}
            yield Arrivals(times, cols)

    @property
    def skipped_rows(self) -> int:
        return self.stats.bad_rows
