"""Pools of warm generic pods, one per (cluster, resource configuration) of a region.

What it models (§2.2, §4.2, §5 of the Huawei paper)
    For each resource configuration the platform keeps inactive pods with the popular
    runtimes and libraries preinstalled. A cold start takes a pod from its cluster's pool
    (stage ``POOL``); if that pool is empty the search widens to the region's other
    clusters (stage ``SEARCH``); if every pool of that configuration is empty the pod is
    built from scratch (stage ``SCRATCH``), which is much slower. A pod taken from a pool
    is replaced by a new generic pod ``refill_s`` later, up to the pool's target size; the
    ``serverless.pool_sizing`` policy sets that target (static, predictive, unlimited).

What it leaves out
    The real search order and the refill rule are not published [gap]; the wider search
    here takes from the fullest other cluster, and refills are one pod per pod taken.
"""

from __future__ import annotations

from collections.abc import Callable

from .coldstart import POOL, SCRATCH, SEARCH


class PoolState:
    __slots__ = ("free", "target", "refilling", "taken")

    def __init__(self, target: int):
        self.free = target
        self.target = target
        self.refilling = 0
        self.taken = 0


class RegionPools:
    """The pools of one region. ``schedule(delay, fn)`` runs ``fn()`` after ``delay``
    simulated seconds (the platform's clock)."""

    def __init__(
        self,
        clusters: int,
        sizing,
        refill_s: float,
        schedule: Callable[[float, Callable[[], None]], None],
    ):
        self.clusters = clusters
        self.sizing = sizing
        self.refill_s = refill_s
        self.schedule = schedule
        self.pools: dict[tuple[int, str], PoolState] = {}
        self.stage_counts = {POOL: 0, SEARCH: 0, SCRATCH: 0}

    def _pool(self, cluster: int, name: str) -> PoolState:
        st = self.pools.get((cluster, name))
        if st is None:
            st = self.pools[(cluster, name)] = PoolState(self.sizing.initial(cluster, name))
        return st

    def take(self, cluster: int, name: str, now: float) -> int:
        """Take a pod of configuration ``name`` for ``cluster``; return the stage."""
        if self.sizing.unlimited:
            self.stage_counts[POOL] += 1
            return POOL
        self.sizing.on_take(cluster, name, now)
        local = self._pool(cluster, name)
        local.taken += 1
        if local.free > 0:
            self._use(cluster, name, local)
            self.stage_counts[POOL] += 1
            return POOL
        others = [(self._pool(c, name), c) for c in range(1, self.clusters + 1) if c != cluster]
        best = max(others, key=lambda sc: (sc[0].free, -sc[1]), default=None)
        if best is not None and best[0].free > 0:
            self._use(best[1], name, best[0])
            self.stage_counts[SEARCH] += 1
            return SEARCH
        self.stage_counts[SCRATCH] += 1
        return SCRATCH

    def _use(self, cluster: int, name: str, st: PoolState) -> None:
        st.free -= 1
        self._refill(cluster, name, st)

    def _refill(self, cluster: int, name: str, st: PoolState) -> None:
        while st.free + st.refilling < st.target:
            st.refilling += 1

            def done(st=st, cluster=cluster, name=name):
                st.refilling -= 1
                if st.free < st.target:
                    st.free += 1
                self._refill(cluster, name, st)

            self.schedule(self.refill_s, done)

    def retarget(self) -> None:
        """Ask the sizing policy for every pool's target and refill towards it."""
        for (cluster, name), st in self.pools.items():
            st.target = self.sizing.target(cluster, name)
            if st.free > st.target:
                st.free = st.target
            self._refill(cluster, name, st)
