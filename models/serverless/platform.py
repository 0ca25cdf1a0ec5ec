"""``serverless.platform``: a Huawei-YuanRong-like serverless platform replaying requests.

What it models (Joosen et al., "Serverless Cold Starts and Where to Find Them", EuroSys
2025, §2 and §4; the constants in :mod:`.calibration`)
    Regions of ``clusters`` clusters. A request of a function goes to the cluster the trace
    names (or its function's home cluster, a hash of its key, §2.1) and takes a pod of the
    function with a free slot (``concurrency`` requests per pod; ``routing`` picks among
    pods). With none free, the autoscaler creates a pod: a cold start of pod allocation
    (from the cluster's pool of warm generic pods of the function's resource
    configuration, from another cluster's pool by the wider search, or from scratch when
    they are all empty or the runtime has no pool, :mod:`.pools`), code deployment,
    dependency deployment and scheduling (a service at the cluster's scheduler, FCFS over
    ``scheduler_slots`` slots; 0 = no queueing). The request waits while its pod starts.
    Idle pods stay as the keep-alive policy says (60 s reset by each request by default,
    §2.2), pre-warm policies may unload them and load fresh ones later, and deleted pods
    leave. Every pod records its creation, readiness, components, requests served, busy
    time and deletion, so pod metrics (utility ratio, idle pod-seconds, wasted memory) are
    exact. The pod life cycle is :mod:`.lifecycle`'s, shared with
    ``serverless.single_function``.

Engines
    ``simpy`` (default): a discrete-event simulation on SimPy: one event per request
    arrival, one per wake-up of a function at its next life-cycle event (request end,
    expiry, pre-warm), two per cold start (scheduler entry, readiness), pool refills and
    re-targets. ``lean``: the replay path without SimPy events per request, for long
    traces: functions are independent when pools are unlimited, the scheduler does not
    queue and the keep-alive policy does not couple functions, so each function's pods
    are settled only when its next request arrives. On the same input both engines give
    the same pods (tests/serverless/test_platform.py), and both can be sharded by function
    (``shard``/``shards``) with results identical to one run.

What it leaves out
    Hot-spot spreading across clusters (§2.1) beyond what the trace's cluster column
    says; load balancers; request queueing at a pod; node capacity other than the
    optional memory budget of the ``faascache`` policy; failures.

Randomness
    Cold-start components come from one stream per function, seeded by
    ``function_seed`` (or the run's seed), so a function's cold starts are the same in any
    shard.

Stationarity
    By default the parts' distributions do not change over time [A]. The paper's hourly
    means swing by a factor of 2-3 over its 31 days (Fig 11; Region 1 peaks near 7 s
    against ~3 s on average, Abstract), which widens the pooled distribution of §4.1.
    ``hourly_sigma`` > 0 multiplies every part of the cold starts of one region and hour
    by a common lognormal factor of mean 1 (a sensitivity study of that assumption:
    ``experiments/coldstart/stationarity.yaml``).
"""

from __future__ import annotations

import heapq
import math
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from sim.errors import ConfigError, DataError
from sim.events import call_later
from sim.model import Model, Params, Slot
from sim.recorder import summarize
from sim.registry import model
from sim.rng import RandomStreams

from .coldstart import POOL, SCRATCH, ColdStartModel, NormalBlock
from .functions import FunctionCatalog, stable_hash
from .lifecycle import FunctionPods, Pod
from .policies import KEEP_ALIVE, POOL_SIZING, PREWARM, REGION_ROUTING
from .pools import RegionPools
from .results import PodRecords, platform_summary

INF = math.inf


@model("serverless.platform", "Huawei-like serverless platform: pools, pods, cold starts, keep-alive")
class Platform(Model):
    slots = {
        "keep_alive": Slot(KEEP_ALIVE, "ttl", "how long an idle pod stays (60 s by default)"),
        "prewarm": Slot(PREWARM, "none", "unload idle pods and load fresh ones before requests"),
        "pool_sizing": Slot(POOL_SIZING, "static", "warm generic pods per pool"),
        "region_routing": Slot(REGION_ROUTING, "home", "which region serves a request"),
    }
    workload_required = True

    class Params(Params):
        engine: Literal["simpy", "lean", "auto"] = Field("simpy", description="simpy, the lean replay path, or auto (lean when the policies allow it)")  # fmt: skip
        concurrency: int = Field(1, ge=1, le=10_000, description="requests one pod runs at once")
        routing: Literal["newest", "oldest", "random"] = Field("newest", description="which free pod a request takes")  # fmt: skip
        clusters: int = Field(4, ge=1, le=63, description="clusters per region (§2.1: 4)")
        scheduler_slots: int = Field(0, ge=0, le=1_000_000, description="scheduler slots per cluster (0: no queueing)")  # fmt: skip
        regions: list[str] = Field(default_factory=list, description="only these regions' functions (empty: all)")  # fmt: skip
        function_seed: int | None = Field(None, ge=0, le=2**63 - 1, description="seed of the per-function streams (default: the run's)")  # fmt: skip
        shard: int = Field(0, ge=0, le=100_000, description="this run's shard of the functions")
        shards: int = Field(1, ge=1, le=100_000, description="number of shards (by function)")
        record_requests: bool = Field(False, description="keep a row per request (requests table)")  # fmt: skip
        horizon_s: float | None = Field(None, gt=0, le=1e10, description="end of the accounting window (default: the last arrival)")  # fmt: skip
        max_requests: int = Field(10**9, ge=1, le=10**10, description="stop after this many requests")  # fmt: skip
        cold_start_scale: float = Field(1.0, gt=0, le=100, description="multiplies every cold-start part (sensitivity)")  # fmt: skip
        keepalive_reference_s: float = Field(60.0, ge=0, le=1e6, description="keep-alive in the utility ratio (§4.5: 60 s)")  # fmt: skip
        sigma_scale: float = Field(1.0, gt=0, le=5, description="multiplies the log-sigma of every cold-start part (tail sensitivity) [A]")  # fmt: skip
        hourly_sigma: float = Field(0.0, ge=0, le=3, description="log-sigma of a factor per region and hour on every cold-start part, mean 1 (0: stationary parts) [A]")  # fmt: skip

        @model_validator(mode="after")
        def _shard_in_range(self):
            if self.shard >= self.shards:
                raise ValueError(f"shard {self.shard} is not below shards {self.shards}")
            return self

    # -- set-up ---------------------------------------------------------------------------
    def build(self, sim) -> None:
        p = self.params
        self.env = sim.env
        ka = self.policies["keep_alive"]
        pw = self.policies["prewarm"]
        sizing = self.policies["pool_sizing"]
        rr = self.policies["region_routing"]
        self._engine = self._check_engine(ka, sizing, rr)
        catalog = getattr(self.workload, "catalog", None)
        if not isinstance(catalog, FunctionCatalog):
            raise ConfigError(
                f"workload {self.workload.name!r} does not describe its functions; use a "
                "serverless.* workload (sim list shows them)", where="workload"
            )  # fmt: skip
        self.catalog = catalog
        self._ka, self._pw, self._sizing, self._rr = ka, pw, sizing, rr
        self._faascache = getattr(ka, "couples_functions", False)
        self._region_names: list[str] = []
        self._region_index: dict[str, int] = {}
        self._models: list[ColdStartModel] = []
        self._pools: list[RegionPools | None] = []
        self._memory_mb: list[float] = []
        self._idle_heaps: list[list] = []
        self._schedulers: dict[tuple[int, int], list[float]] = {}
        self._fps: dict[int, FunctionPods] = {}
        # per (function, region): what its cold starts need, built at its first one
        self._cold_info: dict[int, tuple] = {}
        self._streams = RandomStreams(p.function_seed if p.function_seed is not None else self.context.seed)
        self._keep_shard: list[bool] = []
        self._hourly = p.hourly_sigma > 0.0
        self._hour_factors: dict[tuple[int, int], float] = {}
        self._filtering = bool(p.regions) or p.shards > 1
        self.records = PodRecords(self.scope)
        self.requests_table = None
        if p.record_requests:
            self.requests_table = self.scope.columns(
                "requests",
                {"req": "int", "func": "int", "region": "int", "cluster": "int", "pod": "int",
                 "arrival_s": "float", "start_s": "float", "end_s": "float"},
            )  # fmt: skip
        self._waits: list[float] = []
        self.n_requests = 0
        self._region_requests = [0] * 16
        self.n_remote = 0
        self.n_skipped = 0
        self._pod_count = 0
        self._last_arrival = 0.0
        self._idle_seq = 0
        self._ka_observes = ka.observes_arrivals or pw.observes_arrivals
        self._prewarm_active = pw.name != "none"
        self._recording = p.record_requests
        self._simpy = self._engine == "simpy"
        # finite pools under the lean engine: refills run when the next cold start needs them
        self._lazy = LazyTimers() if not self._simpy and not sizing.unlimited else None
        self._clusters = p.clusters
        self._fmeta: list[tuple[int, int]] = []
        self._cross = rr.cross
        # Waking a function at its next life-cycle event matters only when that event acts
        # on the platform at its own time: a pre-warm takes a pool pod, an idle pod enters
        # the eviction order of a memory budget. Otherwise settling at the function's next
        # request gives the same pods (the lean engine's argument), with fewer events.
        self._wakes = self._wakes_needed(ka)
        # a fixed TTL with no pre-warm and no eviction: pods need not ask the policy
        self._fixed_keep = (ka.params.seconds if ka.name == "ttl" and not self._prewarm_active
                            else None)  # fmt: skip
        if not self._simpy:
            call_later(sim.env, 0.0, self._run_lean)
        else:
            self._feed = self._batches()
            self._times: list[float] = []
            self._cols: tuple = ()
            self._i = 0
            self._fed = False
            self._schedule_arrival()
            if sizing.interval_s:
                call_later(sim.env, sizing.interval_s, self._retarget)

    def _check_engine(self, ka, sizing, rr) -> str:
        """The engine this run uses (``auto`` resolved); refuse what cannot run."""
        p = self.params
        if p.shards > 1 and getattr(ka, "couples_functions", False):
            raise ConfigError(f"keep-alive policy {ka.name!r} couples functions through a shared "
                              "memory budget: it cannot be sharded by function (shards: 1)",
                              where="params.shards")  # fmt: skip
        if p.shards > 1 and not sizing.unlimited:
            raise ConfigError("finite pools couple the functions of a configuration: sharding "
                              "by function needs policies.pool_sizing: unlimited",
                              where="params.shards")  # fmt: skip
        if p.shards > 1 and p.scheduler_slots:
            raise ConfigError("a queueing scheduler couples functions: sharding by function "
                              "needs params.scheduler_slots: 0", where="params.shards")  # fmt: skip
        problems = []
        if not sizing.unlimited and sizing.interval_s:
            problems.append("policies.pool_sizing: unlimited or static")
        if not sizing.unlimited and self._wakes_needed(ka):
            problems.append("with finite pools, policies that do not act at their own times "
                            "(ttl keep-alive, no pre-warm)")
        if p.scheduler_slots:
            problems.append("params.scheduler_slots: 0")
        if getattr(ka, "couples_functions", False):
            problems.append(f"a keep-alive policy that does not couple functions (not {ka.name})")
        if rr.cross:
            problems.append("policies.region_routing: home")
        if p.engine == "auto":
            return "simpy" if problems else "lean"
        if p.engine == "simpy":
            return "simpy"
        if problems:
            raise ConfigError("the lean engine replays independent functions; it needs "
                              + "; ".join(problems), where="params.engine")  # fmt: skip
        return "lean"

    def _wakes_needed(self, ka) -> bool:
        """Whether pods act on the platform at their own times (a pre-warm takes a pool
        pod; an idle pod enters the eviction order of a memory budget), so that the
        lean engine's settling at the next request would differ (see ``_wakes``)."""
        return (getattr(ka, "couples_functions", False) or self.policies["prewarm"].name != "none"
                or ka.name in ("hybrid_histogram", "timer_aware"))  # fmt: skip

    def _region(self, name: str) -> int:
        ri = self._region_index.get(name)
        if ri is None:
            ri = self._region_index[name] = len(self._region_names)
            if ri >= 16:
                raise DataError("at most 16 regions in one run", where="workload")
            self._region_names.append(name)
            try:
                model = ColdStartModel(name, scale=self.params.cold_start_scale,
                                       sigma_scale=self.params.sigma_scale)  # fmt: skip
            except ValueError:
                # regions without a calibration (an Azure trace, say) get Region 2's parts
                model = ColdStartModel("R2", scale=self.params.cold_start_scale,
                                       sigma_scale=self.params.sigma_scale)  # fmt: skip
            self._models.append(model)
            if not self._sizing.unlimited:
                later = self._later if self._simpy else self._lazy.schedule
                self._pools.append(RegionPools(self.params.clusters, self._sizing,
                                               self._sizing.refill_s, later))  # fmt: skip
            else:
                self._pools.append(None)
            self._memory_mb.append(0.0)
            self._idle_heaps.append([])
        return ri

    def _later(self, delay: float, fn) -> None:
        call_later(self.env, delay, lambda _ev: fn())

    def _fp(self, f: int, ri: int, cluster: int) -> FunctionPods:
        key = (f * 16 + ri) * 64 + cluster
        fp = self._fps.get(key)
        if fp is None:
            pick = None
            if self.params.routing == "random":
                rng = self._streams.get(f"routing/{key}")
                pick = lambda n, rng=rng: int(rng.integers(n))  # noqa: E731
            fp = FunctionPods(f, self._keep_rule, self.params.concurrency, self.params.routing,
                              pick, on_end=self._pod_end, on_prewarm=self._prewarm,
                              on_request_end=self._request_end if self._recording else None)  # fmt: skip
            if self._fixed_keep is not None:
                fp.fixed_keep = self._fixed_keep
            info = self.catalog[f]
            self._ka.setup(fp, info)
            fp.prewarm_state = self._pw.setup(fp, info)
            if self._ka_observes:
                fp.on_arrival = self._observe
            fp.wake = INF
            fp.where = (ri, cluster)
            self._fps[key] = fp
        return fp

    def _observe(self, fp: FunctionPods, t: float) -> None:
        self._ka.on_arrival(fp, t)
        self._pw.on_arrival(fp.prewarm_state, fp, t)

    def _keep_rule(self, fp: FunctionPods, pod: Pod, t: float):
        keep_s, prewarm_s = self._ka.decide(fp, pod, t)
        if self._prewarm_active:
            keep_s, prewarm_s = self._pw.adjust(fp.prewarm_state, fp, t, keep_s, prewarm_s)
        if self._faascache and prewarm_s is None and keep_s == INF:
            self._idle_seq += 1
            pod.info[3] = self._idle_seq
            heapq.heappush(self._idle_heaps[pod.info[0]],
                           (self._ka.priority(fp, pod), self._idle_seq, pod, fp))  # fmt: skip
        return keep_s, prewarm_s

    # -- requests -------------------------------------------------------------------------
    def _wanted(self, f: int) -> bool:
        keep = self._keep_shard
        while len(keep) <= f:
            info = self.catalog[len(keep)]
            ok = not self.params.regions or info.region in self.params.regions
            if ok and self.params.shards > 1:
                ok = stable_hash(f"{info.region}/{info.key}") % self.params.shards == self.params.shard
            keep.append(ok)
        return keep[f]

    def _batches(self, as_lists: bool = True):
        """The workload's batches as (time, func, exec_s, cluster) lists (numpy arrays
        when not ``as_lists``), filtered to this run's regions and shard, at most
        ``max_requests`` requests."""
        left = self.params.max_requests
        for batch in self.workload.batches():
            if left <= 0:
                return
            n = len(batch)
            if n == 0:
                continue
            funcs = batch.column("func").astype(np.int64)
            if self._filtering:
                uniq, inverse = np.unique(funcs, return_inverse=True)
                keep = np.array([self._wanted(int(f)) for f in uniq], dtype=bool)
                mask = keep[inverse]
            else:
                mask = np.ones(n, dtype=bool)
            if not mask.all():
                self.n_skipped += int((~mask).sum())
                if not mask.any():
                    continue
            times = batch.time_s[mask]
            execs = batch.column("exec_s")[mask]
            clusters = batch.columns.get("cluster")
            clusters = clusters[mask] if clusters is not None else np.zeros(times.size, np.int64)
            funcs = funcs[mask]
            if times.size > left:
                times, execs, clusters, funcs = times[:left], execs[:left], clusters[:left], funcs[:left]
            left -= times.size
            clusters = clusters.astype(np.int64)
            if as_lists:
                yield times.tolist(), funcs.tolist(), execs.tolist(), clusters.tolist()
            else:
                yield times, funcs, execs, clusters

    def _meta(self, f: int) -> tuple[int, int]:
        """(region index, home cluster) of function ``f``, cached."""
        meta = self._fmeta
        while len(meta) <= f:
            info = self.catalog[len(meta)]
            home = info.home_cluster if 0 < info.home_cluster <= self.params.clusters else 1
            meta.append((self._region(info.region), home))
        return meta[f]

    def _request(self, f: int, t: float, exec_s: float, cluster: int, counted: bool = False) -> None:
        try:
            ri, home = self._fmeta[f]
        except IndexError:
            ri, home = self._meta(f)
        if cluster <= 0 or cluster > self._clusters:
            cluster = home
        req = self.n_requests
        self.n_requests = req + 1
        if not counted:  # the lean loop counts requests per region by batch
            self._region_requests[ri] += 1
        self._last_arrival = t
        fp = self._fps.get((f * 16 + ri) * 64 + cluster)
        if fp is None:
            fp = self._fp(f, ri, cluster)
        pod = fp.acquire(t)
        tag = t
        if pod is None:
            remote = self._remote(f, ri, cluster, t) if self._rr.cross else None
            if remote is not None:
                fp = remote
                pod = fp.acquire(t)
                tag = t - self._rr.penalty_s  # the request's wait includes the penalty
                self.n_remote += 1
                self._waits.append(self._rr.penalty_s)
            else:
                pod = self._cold(fp, f, ri, cluster, t, req, prewarmed=False)
        if self._recording:
            tag = (req, tag)
        start = fp.assign(pod, t, exec_s, tag)
        if start > t:
            self._waits.append(start - t)
        if self._simpy:
            self._wake(fp)

    def _request_end(self, pod: Pod, start: float, end: float, tag) -> None:
        """Only when recording requests (waits are counted at assignment and readiness)."""
        req, arrival = tag
        self.requests_table.append(req, pod.func, pod.info[0], pod.cluster, pod.index,
                                   arrival, start, end)  # fmt: skip

    def _remote(self, f, ri, cluster, t):
        """The pods of the same function (same key) in another region with a ready pod
        free now, if serving there beats the cold start expected at home."""
        info = self.catalog[f]
        if self._rr.penalty_s >= self._expected_cold_start(f, ri):
            return None
        for name in self._region_names:
            if name == info.region:
                continue
            g = self.catalog.find(name, info.key)
            if g is None:
                continue
            rj = self._region_index[name]
            for c in range(1, self._clusters + 1):
                fp = self._fps.get((g * 16 + rj) * 64 + c)
                if fp is not None and fp.peek(t) is not None:
                    return fp
        return None

    def _expected_cold_start(self, f: int, ri: int) -> float:
        seen = self.records.mean_cold_start(f, ri)
        return seen if seen == seen else self.records.region_mean_cold_start(ri)

    # -- pods -----------------------------------------------------------------------------
    def _function_cold_info(self, f: int, ri: int) -> tuple:
        """(has a pool, pool name, memory MB, normals, traits, cold-start model) of
        function ``f`` in region ``ri``; its random stream is created on first use."""
        info = self.catalog[f]
        stream = self._streams.get(f"{self._region_names[ri]}/{info.key}")
        model = self._models[ri]
        traits = model.traits(stream, info)
        entry = (info.has_pool, info.pool, float(info.memory_mb), NormalBlock(stream), traits, model)
        self._cold_info[f * 16 + ri] = entry
        return entry

    def _cold(self, fp, f, ri, cluster, t, req, prewarmed, keep_s=INF) -> Pod:
        entry = self._cold_info.get(f * 16 + ri)
        if entry is None:
            entry = self._function_cold_info(f, ri)
        has_pool, pool_name, memory_mb, normals, traits, model = entry
        pools = self._pools[ri]
        if not has_pool:
            stage = SCRATCH
        elif pools is None:
            stage = POOL
        else:
            if self._lazy is not None:
                self._lazy.run_until(t)
            stage = pools.take(cluster, pool_name, t)
        a, c, d, s = model.draw(normals, traits, stage)
        if self._hourly:
            h = self._hour_factor(ri, t)
            a, c, d, s = a * h, c * h, d * h, s * h
        if self._faascache:
            self._make_room(ri, memory_mb, t)
        pod = Pod(self._pod_count, f, t, memory_mb, cluster, prewarmed)
        self._pod_count += 1
        pod.components = (a, c, d, s)
        pod.info = [ri, stage, req, 0]  # region, stage, triggering request, idle sequence
        self._memory_mb[ri] += memory_mb
        pre = a + c + d
        if prewarmed:
            fp.add_prewarmed(pod, t, keep_s, None)
        else:
            fp.add(pod, t, None)
        if not self._simpy:
            ready = (t + pre) + s
            fp.ready(pod, ready)
            if self._cross:
                self.records.note_cold_start(f, ri, ready - t)
        else:
            call_later(self.env, pre, self._scheduler_entry, (pod, fp, s))
        return pod

    def _hour_factor(self, ri: int, t: float) -> float:
        """The cold-start factor of region ``ri`` in the hour of ``t``: lognormal with
        log-sigma ``hourly_sigma`` and mean 1, from a stream per region and hour (the same
        in every shard)."""
        key = (ri, int(t // 3600.0))
        f = self._hour_factors.get(key)
        if f is None:
            sigma = self.params.hourly_sigma
            z = self._streams.get(f"hourly/{self._region_names[ri]}/{key[1]}").standard_normal()
            f = self._hour_factors[key] = math.exp(sigma * z - 0.5 * sigma * sigma)
        return f

    def _scheduler_entry(self, ev) -> None:
        pod, fp, service = ev.value
        slots = self.params.scheduler_slots
        delay = service
        if slots:
            key = (pod.info[0], pod.cluster)
            free = self._schedulers.get(key)
            if free is None:
                free = self._schedulers[key] = [0.0] * slots
            now = self.env.now
            start = heapq.heappop(free)
            start = now if start < now else start
            heapq.heappush(free, start + service)
            delay = (start - now) + service
        call_later(self.env, delay, self._pod_ready, (pod, fp))

    def _pod_ready(self, ev) -> None:
        pod, fp = ev.value
        now = self.env.now
        for _exec_s, tag in pod.pending or ():  # requests that waited for this pod
            arrival = tag if not self._recording else tag[1]
            self._waits.append(now - arrival)
        fp.ready(pod, now)
        if self._cross:
            self.records.note_cold_start(pod.func, pod.info[0], now - pod.created_s)
        self._wake(fp)

    def _prewarm(self, fp: FunctionPods, t: float, keep_s: float) -> None:
        ri, cluster = fp.where
        self._cold(fp, fp.func, ri, cluster, t, -1, prewarmed=True, keep_s=keep_s)

    def _pod_end(self, pod: Pod) -> None:
        ri = pod.info[0]
        self._memory_mb[ri] -= pod.memory_mb
        self.records.add(pod, self._region_names[ri])

    def _make_room(self, ri: int, need_mb: float, now: float) -> None:
        budget = self._ka.params.memory_budget_gb * 1024.0
        heap = self._idle_heaps[ri]
        while self._memory_mb[ri] + need_mb > budget and heap:
            prio, seq, pod, fp = heapq.heappop(heap)
            if pod.alive and pod.in_flight == 0 and pod.info[3] == seq:
                self._ka.evicted(prio)
                fp.delete(pod, now)

    # -- the SimPy engine ------------------------------------------------------------------
    def _schedule_arrival(self) -> None:
        if self._i >= len(self._times):
            chunk = next(self._feed, None)
            if chunk is None:
                self._fed = True
                return
            self._times, *self._cols = chunk
            self._i = 0
        delay = self._times[self._i] - self.env.now
        self.env.timeout(delay if delay > 0.0 else 0.0).callbacks.append(self._arrival)

    def _arrival(self, _ev) -> None:
        i = self._i
        self._i = i + 1
        funcs, execs, clusters = self._cols
        self._request(funcs[i], self.env.now, execs[i], clusters[i])
        self._schedule_arrival()
        self.sim.completed()

    def _wake(self, fp: FunctionPods) -> None:
        if not self._wakes:
            return
        t = fp.next_time()
        if t < fp.wake:
            fp.wake = t
            now = self.env.now
            call_later(self.env, t - now if t > now else 0.0, self._on_wake, (fp, t))

    def _on_wake(self, ev) -> None:
        fp, t = ev.value
        if fp.wake != t:  # superseded by an earlier wake-up
            return
        fp.wake = INF
        fp.settle(self.env.now)
        self._wake(fp)

    def _retarget(self, _ev) -> None:
        self._sizing.tick()
        for pools in self._pools:
            if pools is not None:
                pools.retarget()
        if not self._fed:
            call_later(self.env, self._sizing.interval_s, self._retarget)

    # -- the lean engine --------------------------------------------------------------------
    def _lean_batches(self):
        """The workload's batches for the lean loop: (times, pod-group keys, exec times)
        as lists, and the requests per region index. A key ``(f * 16 + region) * 64 +
        cluster`` names a function's pods in a cluster (the trace's cluster, else the
        function's home); it is computed per batch with numpy, not per request."""
        ri_of = home_of = np.zeros(0, np.int64)
        for times, funcs, execs, clusters in self._batches(as_lists=False):
            top = int(funcs.max())
            if top >= ri_of.size:
                self._meta(top)  # registers regions in function order, as per request
                meta = np.asarray(self._fmeta, dtype=np.int64).reshape(-1, 2)
                ri_of, home_of = meta[:, 0].copy(), meta[:, 1].copy()
            ri = ri_of[funcs]
            bad = (clusters <= 0) | (clusters > self._clusters)
            cl = np.where(bad, home_of[funcs], clusters)
            keys = (funcs * 16 + ri) * 64 + cl
            yield times.tolist(), keys.tolist(), execs.tolist(), np.bincount(ri, minlength=16)

    def _run_lean(self, _ev) -> None:
        """The lean replay loop: :meth:`_request`'s warm path inlined (one call into the
        function's pods per request); cold starts and the rest go through the methods."""
        fps = self._fps
        waits = self._waits
        region_requests = self._region_requests
        slow = self._recording or self._rr.cross
        n = self.n_requests
        t = self._last_arrival
        for times, keys, execs, per_region in self._lean_batches():
            for r, count in enumerate(per_region.tolist()):
                region_requests[r] += count
            for t, k, e in zip(times, keys, execs, strict=False):  # equal lengths by construction
                fp = fps.get(k)
                if fp is None or slow:
                    self.n_requests = n
                    self._request(k >> 10, t, e, k & 63, counted=True)
                    n = self.n_requests
                    continue
                start = fp.request(t, e, t)
                if start < 0.0:  # no free pod: a cold start
                    pod = self._cold(fp, k >> 10, (k >> 6) & 15, k & 63, t, n, prewarmed=False)
                    start = fp.assign(pod, t, e, t)
                if start > t:
                    waits.append(start - t)
                n += 1
        self.n_requests = n
        self._last_arrival = t
        for fp in self._fps.values():
            fp.settle(INF)
        self.sim.completed(self.n_requests)
        end = self.params.horizon_s or self._last_arrival
        if end > self.env.now:
            call_later(self.env, end - self.env.now, lambda _ev: None)

    # -- results ----------------------------------------------------------------------------
    def finish(self) -> None:
        """Record the pods still alive (keep-alive beyond the end, or no time limit)."""
        if getattr(self, "_finished", False):
            return
        self._finished = True
        for fp in self._fps.values():
            fp.settle(INF)  # what no wake-up or request settled before the end
            for pod in fp.alive_pods():
                self.records.add(pod, self._region_names[pod.info[0]])

    def region_requests(self, ri: int) -> int:
        return self._region_requests[ri]

    @property
    def horizon(self) -> float:
        return self.params.horizon_s or self._last_arrival

    def summary(self) -> dict[str, float]:
        self.finish()
        return platform_summary(self)

    def tables(self) -> dict[str, pd.DataFrame]:
        self.finish()
        return {"cold_starts": self.records.cold_start_table(self.catalog, self._region_names)}

    def figures(self, out_dir: Path) -> list[Path]:
        from .figures import platform_figures

        self.finish()
        return platform_figures(self, Path(out_dir))

    @classmethod
    def sweep_figures(cls, table: pd.DataFrame, out_dir: Path) -> list[Path]:
        from .figures import policy_sweep_figures

        return policy_sweep_figures(table, Path(out_dir))


def wait_summary(waits: list[float], n: int) -> dict[str, float]:
    """Mean and p99 of added latency over ``n`` requests, of which ``waits`` are the
    non-zero ones (the rest waited 0)."""
    out = {"added_latency_s.mean": math.nan, "added_latency_s.p99": math.nan}
    if n == 0:
        return out
    w = np.sort(np.asarray(waits, dtype=float))
    out["added_latency_s.mean"] = float(w.sum() / n)
    zeros = n - w.size
    rank = 0.99 * (n - 1)
    if rank < zeros:
        out["added_latency_s.p99"] = 0.0
    else:
        full = np.concatenate([np.zeros(1), w]) if zeros else w
        pos = rank - zeros + (1 if zeros else 0)
        lo = int(math.floor(pos))
        hi = min(lo + 1, full.size - 1)
        out["added_latency_s.p99"] = float(full[lo] + (full[hi] - full[lo]) * (pos - lo))
    return out




class LazyTimers:
    """Timers for the lean engine: callbacks run in time order when the replay reaches
    their time (:meth:`run_until`), not as simulation events. The pools' refills use them:
    a refill due at or before a cold start's time is applied before that cold start takes
    a pod, as the SimPy engine's events would (the engines agree: tests)."""

    __slots__ = ("now", "heap", "seq")

    def __init__(self) -> None:
        self.now = 0.0
        self.heap: list[tuple[float, int, object]] = []
        self.seq = 0

    def schedule(self, delay: float, fn) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (self.now + delay, self.seq, fn))

    def run_until(self, t: float) -> None:
        heap = self.heap
        while heap and heap[0][0] <= t:
            self.now, _, fn = heapq.heappop(heap)
            fn()
        self.now = t


__all__ = ["LazyTimers", "Platform", "summarize", "wait_summary"]
