"""Pool-sizing policies (domain ``serverless.pool_sizing``): how many warm generic pods
each (cluster, resource configuration) pool keeps. The Huawei paper publishes no pool
size or refill rule [gap]; it names pool exhaustion as a cause of slow cold starts and
pool-size prediction as a direction (§4.2, §5).

``static``
    Every pool keeps ``reserved`` pods; a pod taken is replaced ``refill_s`` later [A].
``predictive``
    Every ``interval_s`` each pool's target becomes ``headroom`` times an exponentially
    weighted average of the pods taken from it per interval, scaled to the refill time
    (the pods it needs while refills are under way), between ``min_reserved`` and
    ``max_reserved`` [A].
``unlimited``
    Pools never run out: every cold start gets a pool pod (no pool coupling between
    functions; the lean replay engine needs this).
"""

from __future__ import annotations

import math
from typing import ClassVar

from pydantic import Field, model_validator

from sim.model import Params, Policy
from sim.registry import policy

from . import POOL_SIZING


class PoolSizing(Policy):
    unlimited: ClassVar[bool] = False
    #: seconds between re-targets (None: never)
    interval_s: ClassVar[float | None] = None
    refill_s: float = 30.0

    def initial(self, cluster: int, pool: str) -> int:
        return 0

    def on_take(self, cluster: int, pool: str, now: float) -> None:
        pass

    def target(self, cluster: int, pool: str) -> int:
        return self.initial(cluster, pool)

    def tick(self) -> None:
        pass


@policy(POOL_SIZING, "static", "a fixed number of warm generic pods per pool")
class StaticPools(PoolSizing):
    class Params(Params):
        reserved: int = Field(30, ge=0, le=100_000, description="warm pods per pool per cluster")
        refill_s: float = Field(20.0, gt=0, le=86_400, description="time to replace a taken pod (s)")  # fmt: skip

    @property
    def refill_s(self) -> float:  # type: ignore[override]
        return self.params.refill_s

    def initial(self, cluster, pool):
        return self.params.reserved


@policy(POOL_SIZING, "predictive", "pool targets from recent demand (EWMA)")
class PredictivePools(PoolSizing):
    class Params(Params):
        interval_s: float = Field(60.0, gt=0, le=86_400, description="re-target period (s)")
        alpha: float = Field(0.3, gt=0, le=1, description="EWMA weight of the last interval")
        headroom: float = Field(2.0, ge=1, le=100, description="target / expected demand")
        min_reserved: int = Field(1, ge=0, le=100_000, description="smallest target")
        max_reserved: int = Field(200, ge=0, le=100_000, description="largest target")
        refill_s: float = Field(30.0, gt=0, le=86_400, description="time to replace a taken pod (s)")  # fmt: skip

        @model_validator(mode="after")
        def _order(self):
            if self.max_reserved < self.min_reserved:
                raise ValueError("max_reserved must be >= min_reserved")
            return self

    def __init__(self, params=None):
        super().__init__(params)
        self._taken: dict[tuple[int, str], int] = {}
        self._rate: dict[tuple[int, str], float] = {}

    @property
    def interval_s(self) -> float:  # type: ignore[override]
        return self.params.interval_s

    @property
    def refill_s(self) -> float:  # type: ignore[override]
        return self.params.refill_s

    def initial(self, cluster, pool):
        return self.params.min_reserved

    def on_take(self, cluster, pool, now):
        k = (cluster, pool)
        self._taken[k] = self._taken.get(k, 0) + 1

    def tick(self) -> None:
        a = self.params.alpha
        for k in set(self._rate) | set(self._taken):
            taken = self._taken.get(k, 0)
            self._rate[k] = a * taken + (1 - a) * self._rate.get(k, 0.0)
        self._taken.clear()

    def target(self, cluster, pool):
        p = self.params
        per_interval = self._rate.get((cluster, pool), 0.0)
        need = per_interval * max(1.0, p.refill_s / p.interval_s) * p.headroom
        return int(min(p.max_reserved, max(p.min_reserved, math.ceil(need))))


@policy(POOL_SIZING, "unlimited", "pools never run out (every cold start gets a pool pod)")
class UnlimitedPools(PoolSizing):
    unlimited = True
