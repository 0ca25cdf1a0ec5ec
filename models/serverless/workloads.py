"""Workloads of the serverless models: requests with their functions described.

Every workload here yields :class:`~sim.workload.Arrivals` batches with the columns
``func`` (a number in the workload's :class:`~.functions.FunctionCatalog`), ``exec_s``
(execution time) and ``cluster`` (1-based; 0 when the trace does not say), and exposes
``catalog`` before the first batch.

``serverless.synthetic``
    The calibrated generator (:mod:`.generator`) in memory: regions, a window of
    ``hours`` from ``start_hour`` of day ``start_day``, per-region function counts.
``serverless.huawei_requests``
    The Huawei release's ``per_request`` table (any folder in the release layout): part
    files merged in time order; arrival = ``time_worker``, execution = ``runtimeCost``.
``serverless.huawei_minutes``
    The release's per-minute ``requests`` counts (31 days in the real release), placed in
    their minutes by :mod:`.placement`; execution times from ``runtimeCost_avg`` (and
    ``runtimeCost_std``) where present, else the region's calibrated median.
``serverless.azure2019``
    Azure Functions 2019: per-minute invocation counts per function, placed like the
    Huawei minutes; execution times from the duration percentiles (the median of the
    30-second averages as the median, the spread from the 25th and 75th); memory from the
    application's allocated-memory median.
``serverless.azure2021``
    Azure Functions 2021: one row per invocation (arrival = end - duration).
"""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import Field, model_validator

from sim.model import Params, Workload
from sim.registry import workload
from sim.rng import RandomStreams
from sim.workload import Arrivals

from . import calibration as cal
from .functions import FunctionCatalog

COLUMNS = {
    "func": "function number in the workload's catalog",
    "exec_s": "execution time (s)",
    "cluster": "cluster (1-based; 0: the function's home cluster)",
}


@workload("serverless.synthetic", "calibrated Huawei-like requests, generated in memory")
class Synthetic(Workload):
    columns = COLUMNS

    class Params(Params):
        regions: list[str] = Field(default_factory=lambda: list(cal.REGIONS), description="regions to generate")  # fmt: skip
        start_day: int = Field(0, ge=0, le=365, description="first day (day 0: a Monday)")
        start_hour: float = Field(0.0, ge=0, lt=24, description="hour of the first minute")
        hours: float = Field(24.0, gt=0, le=24 * 62, description="length of the window (h)")
        functions: dict[str, int] = Field(default_factory=dict, description="functions per region (default: the published counts)")  # fmt: skip
        function_scale: float = Field(1.0, gt=0, le=10, description="multiplies the default function counts")  # fmt: skip
        max_rate_per_s: float = Field(0.2, gt=0, le=1e4, description="cap of a function's mean rate (1/s)")  # fmt: skip
        seed: int = Field(1, ge=0, le=2**63 - 1, description="the generator's seed (fixed: the trace does not depend on the run)")  # fmt: skip

        @model_validator(mode="after")
        def _known_regions(self):
            bad = [r for r in [*self.regions, *self.functions] if r not in cal.REGIONS]
            if bad:
                raise ValueError(f"unknown region {bad[0]!r}; regions are {', '.join(cal.REGIONS)}")
            return self

    def __init__(self, params=None):
        super().__init__(params)
        self._catalog: FunctionCatalog | None = None
        self.minute_counts: list = []  # filled while batches are read, when keep_counts
        self.keep_counts = False

    def _setup(self):
        from .generator import catalog_for, make_population

        p = self.params
        self._streams = RandomStreams(p.seed)
        pops = []
        for region in p.regions:
            n = p.functions.get(region)
            if n is None:
                n = max(1, int(round(cal.REGION_WORKLOAD[region].functions * p.function_scale)))
            pops.append(make_population(region, self._streams.get(f"population/{region}"), n,
                                        p.max_rate_per_s))  # fmt: skip
        self.populations = pops
        self._catalog, self.catalog_ids = catalog_for(pops)

    @property
    def catalog(self) -> FunctionCatalog:
        if self._catalog is None:
            self._setup()
        return self._catalog

    @property
    def first_minute(self) -> int:
        return int(round(self.params.start_day * 1440 + self.params.start_hour * 60))

    @property
    def minutes(self) -> int:
        return max(1, int(round(self.params.hours * 60)))

    def batches(self) -> Iterator[Arrivals]:
        from .generator import requests

        self.catalog  # noqa: B018 (builds the population)
        streams = self._streams
        for arrivals, counts in requests(self.populations, self.catalog_ids,
                                         lambda r: streams.get(f"demand/{r}"),
                                         self.first_minute, self.minutes, self.params.seed):  # fmt: skip
            if self.keep_counts:
                self.minute_counts.append(counts)
            if len(arrivals):
                yield arrivals
