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
    files merged in time order. A request arrives at ``time_frontend`` when the frontend
    log matched it, else at ``time_worker`` (the worker sees it when it starts on its pod,
    after any cold start); rows are re-sorted by arrival with ``max_lateness_s`` of
    look-back. Execution = ``runtimeCost``.
``serverless.huawei_minutes``
    The release's per-minute ``requests`` counts (31 days in the real release), placed in
    their minutes by :mod:`.placement`; execution times from ``runtimeCost_avg`` (and
    ``runtimeCost_std``) where present, else the region's calibrated median. A small
    replay (at most ``CACHE_MAX_REQUESTS`` requests) is kept in memory for the next run
    of the same process with the same parameters and unchanged files (a sweep's policies
    replay the same requests); a larger one streams every time.
``serverless.azure2019``
    Azure Functions 2019: per-minute invocation counts per function, placed like the
    Huawei minutes; execution times from the duration percentiles (the median of the
    30-second averages as the median, the spread from the 25th and 75th); memory from the
    application's allocated-memory median.
``serverless.azure2021``
    Azure Functions 2021: one row per invocation (arrival = end - duration).
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from collections.abc import Iterator

import numpy as np
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


def _window(params) -> tuple[float, float]:
    """(start, end) of the replay window in seconds since day 0 (end may be inf)."""
    start = (params.start_day or 0) * 86400.0 + params.start_hour * 3600.0
    end = start + params.hours * 3600.0 if params.hours else float("inf")
    return start, end


class _ReplayParams(Params):
    path: str = Field(min_length=1, max_length=4096, description="folder in the release layout")
    regions: list[str] = Field(default_factory=list, description="regions to replay (empty: all found)")  # fmt: skip
    start_day: int | None = Field(None, ge=0, le=100_000, description="first day (default: the first in the folder)")  # fmt: skip
    days: int | None = Field(None, ge=1, le=100_000, description="days to replay (default: all)")
    start_hour: float = Field(0.0, ge=0, lt=24, description="hour of day start_day the window opens")
    hours: float | None = Field(None, gt=0, le=24 * 100_000, description="window length (default: to the end)")  # fmt: skip
    lenient: bool = Field(False, description="skip and count bad rows instead of failing")


def _days(params) -> range | None:
    if params.start_day is None and params.days is None:
        return None
    first = params.start_day or 0
    return range(first, first + (params.days or 100_000))


@workload("serverless.huawei_requests", "replay the Huawei release's per_request table")
class HuaweiRequests(Workload):
    columns = COLUMNS

    class Params(_ReplayParams):
        chunk_rows: int = Field(200_000, ge=1_000, le=5_000_000, description="rows per chunk")
        max_lateness_s: float = Field(300.0, gt=0, le=86_400, description="arrival re-sorting look-back (s)")  # fmt: skip

    def __init__(self, params=None):
        super().__init__(params)
        from sim.traces import ReadStats

        self.stats = ReadStats()
        self.catalog = FunctionCatalog()
        self._runtime: dict[str, dict[str, tuple[str, str]]] = {}

    def _release(self):
        from .traces.huawei import Release

        rel = Release(self.context.resolve(self.params.path))
        regions = self.params.regions or rel.regions("per_request")
        for r in regions:
            table = rel.runtime_triggers(r, self.params.lenient, self.stats)
            self._runtime[r] = {} if table is None else {
                k: (rt, tr) for k, rt, tr in zip(table["funcID"], table["runtime"], table["trigger"], strict=True)
            }  # fmt: skip
        return rel, regions

    def batches(self) -> Iterator[Arrivals]:
        from .traces.streams import merge_sorted, reorder

        p = self.params
        rel, regions = self._release()
        start, end = _window(p) if (p.start_day is not None or p.hours) else (0.0, float("inf"))
        streams = []
        for r in regions:
            for part in rel.request_parts(r, _days(p)):
                streams.append(self._tagged(rel.request_file(part, p.lenient, self.stats,
                                                              p.chunk_rows, True), r))  # fmt: skip
        def with_arrival():
            for frame in merge_sorted(streams, "time_worker"):
                front = frame["time_frontend"].to_numpy(dtype=float)
                worker = frame["time_worker"].to_numpy(dtype=float)
                frame["arrival_s"] = np.where(np.isnan(front), worker, np.minimum(front, worker))
                yield frame

        for frame in reorder(with_arrival(), "arrival_s", p.max_lateness_s, str(rel.root),
                             p.lenient, self.stats):  # fmt: skip
            t = frame["arrival_s"].to_numpy()
            keep = (t >= start) & (t < end)
            if not keep.any():
                if t.size and t[0] >= end:
                    return
                continue
            frame = frame[keep]
            funcs = self._numbers(frame)
            yield Arrivals(frame["arrival_s"].to_numpy(), {
                "func": funcs, "exec_s": frame["runtimeCost"].to_numpy(dtype=float),
                "cluster": frame["clusterName"].to_numpy(dtype=np.int64)})  # fmt: skip

    @staticmethod
    def _tagged(frames, region):
        for f in frames:
            f["region"] = region
            yield f

    def _numbers(self, frame) -> np.ndarray:
        from .functions import FunctionInfo, home_cluster

        keys = (frame["region"] + "|" + frame["funcID"]).to_numpy()
        uniq, inverse = np.unique(keys, return_inverse=True)
        ids = np.empty(uniq.size, dtype=np.int64)
        first = {k: i for i, k in enumerate(keys)}
        for j, k in enumerate(uniq):
            region, key = k.split("|", 1)
            found = self.catalog.find(region, key)
            if found is None:
                row = frame.iloc[first[k]]
                rt, tr = self._runtime.get(region, {}).get(key, ("unknown", "unknown-unknown"))
                found = self.catalog.add(FunctionInfo(key, region, row["pool"], int(row["cpu_limit_m"]),
                                                      int(row["memory_mb"]), rt, tr, home_cluster(key)))  # fmt: skip
            ids[j] = found
        return ids[inverse]


#: Replays of per-minute tables kept for later runs in the same process (a sweep runs the
#: same replay under each policy): at most CACHE_ENTRIES of at most CACHE_MAX_REQUESTS.
CACHE_MAX_REQUESTS = 1_000_000
CACHE_ENTRIES = 3
_MINUTES_CACHE: OrderedDict[str, tuple] = OrderedDict()


@workload("serverless.huawei_minutes", "replay the Huawei release's per-minute request counts")
class HuaweiMinutes(Workload):
    columns = COLUMNS

    class Params(_ReplayParams):
        exec_sigma: float = Field(1.0, ge=0, le=5, description="log-sigma of execution times when no runtimeCost_std is given [A]")  # fmt: skip
        seed: int = Field(1, ge=0, le=2**63 - 1, description="seed of the placement in minutes")
        max_requests_per_minute: int = Field(100_000, ge=1, le=10**8, description="cap per function-minute (memory guard)")  # fmt: skip
        timer_jitter_s: float = Field(0.5, ge=0, le=30, description="largest delay of a timer firing after its minute starts (s) [A]")  # fmt: skip
        burst_gap_s: float = Field(0.05, gt=0, le=60, description="mean gap between the requests of a burst (s) [A]")  # fmt: skip

    def __init__(self, params=None):
        super().__init__(params)
        from sim.traces import ReadStats

        self.stats = ReadStats()
        self._catalog: FunctionCatalog | None = None
        self._cache_key: str | None = None
        self._cached: list[Arrivals] | None = None

    @property
    def catalog(self) -> FunctionCatalog:
        if self._catalog is None:
            self._setup()
        return self._catalog

    def _signature(self) -> str:
        """The cache key: parameters, root and the size and time of every file used."""
        p = self.params
        files = []
        for r in self.regions:
            for name in ("requests", "runtimeCost_avg", "runtimeCost_std"):
                files += self.rel.quantile_files(r, name, _days(p))
            rt = self.rel.runtime_trigger_path(r)
            if rt is not None:
                files.append(rt)
        stamp = [(str(f), os.stat(f).st_mtime_ns, os.stat(f).st_size) for f in files]
        return json.dumps([str(self.rel.root), p.model_dump(mode="json"), self.regions, stamp])

    def _setup(self):
        from .functions import FunctionInfo, home_cluster, stable_hash
        from .placement import placement_class
        from .traces.huawei import Release, minute_schema, parse_pool, split_func_id

        p = self.params
        self.rel = rel = Release(self.context.resolve(p.path))
        self.regions = p.regions or [r for r in rel.regions("quantiles")
                                     if rel.quantile_files(r, "requests")]  # fmt: skip
        if not self.regions:
            from sim.errors import DataError

            raise DataError("no quantiles/<region>/requests tables", where=str(rel.root))
        self._cache_key = self._signature()
        hit = _MINUTES_CACHE.get(self._cache_key)
        if hit is not None:  # the same replay as an earlier run: its functions too
            _MINUTES_CACHE.move_to_end(self._cache_key)
            self._catalog, self.by_region, self._cached, stats = hit
            self.stats.__dict__.update(stats, examples=list(stats["examples"]))
            return
        self._catalog = FunctionCatalog()
        self.by_region = {}
        for r in self.regions:
            files = rel.quantile_files(r, "requests", _days(p))
            if not files:
                from sim.errors import DataError

                raise DataError(f"no quantiles/{r}/requests files for the days asked", where=str(rel.root))
            keys: list[str] = []
            for f in files:  # every funcID that appears in any day's header
                for c in minute_schema(f).names[2:]:
                    keys.append(c)
            keys = list(dict.fromkeys(keys))
            table = rel.runtime_triggers(r, p.lenient, self.stats)
            rt = {} if table is None else dict(zip(table["funcID"], zip(table["runtime"], table["trigger"], strict=True), strict=True))  # fmt: skip
            ids, hashes, classes, median = [], [], [], []
            default = cal.REGION_WORKLOAD.get(r, cal.REGION_WORKLOAD["R2"]).exec_median_s
            for k in keys:
                _, _, pool_name = split_func_id(k)
                pool = parse_pool(pool_name)
                runtime, trigger = rt.get(k, ("unknown", "unknown-unknown"))
                ids.append(self._catalog.add(FunctionInfo(k, r, pool_name, pool.cpu_limit_m, pool.memory_mb,
                                                          runtime, trigger, home_cluster(k))))  # fmt: skip
                hashes.append(stable_hash(f"{r}/{k}"))
                classes.append(placement_class(trigger))
                median.append(default)
            self.by_region[r] = {
                "keys": keys, "col": {k: i for i, k in enumerate(keys)},
                "ids": np.array(ids, dtype=np.int64), "hashes": np.array(hashes, dtype=np.uint64),
                "classes": np.array(classes), "default_mean": np.array(median) * np.exp(p.exec_sigma**2 / 2),
            }  # fmt: skip

    def _region_minutes(self, r: str):
        """(minute, counts, exec mean, exec sigma) per minute of region ``r``."""
        p = self.params
        rel, info = self.rel, self.by_region[r]
        n = len(info["keys"])
        # minutes per chunk: a day, or fewer for very wide tables (memory guard)
        rows = int(max(60, min(1440, 20_000_000 // max(n, 1))))
        extra = {}
        for name in ("runtimeCost_avg", "runtimeCost_std"):
            if rel.quantile_files(r, name, _days(p)):
                extra[name] = rel.minutes(r, name, _days(p), p.lenient, self.stats, rows)
        cur = {name: None for name in extra}

        positions: dict[tuple, np.ndarray] = {}

        def dense(frame):
            cols = tuple(frame.columns)
            pos = positions.get(cols)
            if pos is None:
                pos = positions[cols] = np.array([info["col"].get(c, -1) for c in cols])
            take = pos >= 0
            out = np.full((len(frame), n), np.nan)
            out[:, pos[take]] = frame.to_numpy(dtype=float)[:, take]
            return out

        for frame in rel.minutes(r, "requests", _days(p), p.lenient, self.stats, rows):
            counts = np.nan_to_num(dense(frame), nan=0.0)
            counts = np.minimum(np.rint(counts), p.max_requests_per_minute).astype(np.int64)
            times = frame["time"].to_numpy(dtype=float)
            mean = np.tile(info["default_mean"], (len(frame), 1))
            sigma = np.full((len(frame), n), p.exec_sigma)
            for name, it in extra.items():
                sub = cur[name]
                if sub is None or not np.array_equal(sub["time"].to_numpy(dtype=float)[: len(times)], times):
                    sub = cur[name] = self._advance(it, times[0])
                if sub is None:
                    continue
                vals = dense(sub)[: len(times)]
                if name == "runtimeCost_avg":
                    ok = np.isfinite(vals) & (vals > 0)
                    mean[ok] = vals[ok]
                else:
                    ok = np.isfinite(vals) & (mean > 0)
                    cv2 = np.where(ok, (np.nan_to_num(vals) / mean) ** 2, 0.0)
                    sigma[ok] = np.sqrt(np.log1p(cv2[ok]))
            for j, t in enumerate(times):
                yield t, counts[j], mean[j], sigma[j]

    @staticmethod
    def _advance(it, t0):
        for sub in it:
            if len(sub) and sub["time"].iloc[-1] >= t0:
                return sub
        return None

    def batches(self) -> Iterator[Arrivals]:
        self.catalog  # noqa: B018
        if self._cached is not None:
            yield from self._cached
            return
        kept: list[Arrivals] | None = []
        size = 0
        for batch in self._batches():
            if kept is not None:
                size += len(batch)
                if size <= CACHE_MAX_REQUESTS:
                    for arr in (batch.time_s, *batch.columns.values()):
                        arr.flags.writeable = False  # shared with later runs: read-only
                    kept.append(batch)
                else:
                    kept = None
            yield batch
        if kept is not None:
            _MINUTES_CACHE[self._cache_key] = (self._catalog, self.by_region, kept, dict(self.stats.__dict__))
            while len(_MINUTES_CACHE) > CACHE_ENTRIES:
                _MINUTES_CACHE.popitem(last=False)

    def _batches(self) -> Iterator[Arrivals]:
        from .placement import expand_minute

        p = self.params
        start, end = _window(p) if (p.start_day is not None or p.hours) else (-1.0, float("inf"))
        streams = {r: self._region_minutes(r) for r in self.regions}
        heads = {r: next(s, None) for r, s in streams.items()}
        times, funcs, execs = [], [], []
        while any(h is not None for h in heads.values()):
            t = min(h[0] for h in heads.values() if h is not None)
            for r in self.regions:
                h = heads[r]
                if h is None or h[0] != t:
                    continue
                if start <= t < end:
                    info = self.by_region[r]
                    _, counts, mean, sigma = h
                    minute = int(round(t / 60.0))
                    tt, ff, ee = expand_minute(p.seed, minute, t, counts, info["ids"], info["hashes"],
                                               info["classes"], mean, sigma, p.timer_jitter_s,
                                               p.burst_gap_s)  # fmt: skip
                    times.append(tt)
                    funcs.append(ff)
                    execs.append(ee)
                heads[r] = next(streams[r], None)
            if t >= end:
                break
            if sum(len(x) for x in times) >= 50_000 or all(h is None for h in heads.values()):
                yield from self._flush(times, funcs, execs)
                times, funcs, execs = [], [], []
        yield from self._flush(times, funcs, execs)

    @staticmethod
    def _flush(times, funcs, execs):
        if not times:
            return
        t = np.concatenate(times)
        if not t.size:
            return
        f = np.concatenate(funcs)
        e = np.concatenate(execs)
        order = np.argsort(t, kind="stable")
        yield Arrivals(t[order], {"func": f[order], "exec_s": e[order],
                                  "cluster": np.zeros(t.size, np.int64)})  # fmt: skip


@workload("serverless.azure2019", "replay Azure Functions 2019 per-minute invocation counts")
class Azure2019(Workload):
    columns = COLUMNS

    class Params(Params):
        path: str = Field(min_length=1, max_length=4096, description="folder with the 2019 CSV files")
        days: list[int] = Field(default_factory=list, description="days (the dNN of the files; empty: all)")
        seed: int = Field(1, ge=0, le=2**63 - 1, description="seed of the placement in minutes")
        default_memory_mb: int = Field(128, ge=1, le=1_000_000, description="memory of an app without memory data")  # fmt: skip
        lenient: bool = Field(False, description="skip and count bad rows instead of failing")

    def __init__(self, params=None):
        super().__init__(params)
        from sim.traces import ReadStats

        self.stats = ReadStats()
        self.catalog = FunctionCatalog()
        self._hash: list[int] = []
        self._cls: list[int] = []
        self._median: list[float] = []
        self._sigma: list[float] = []

    def batches(self) -> Iterator[Arrivals]:
        from .functions import FunctionInfo, home_cluster, stable_hash
        from .placement import expand_minute, placement_class
        from .traces import azure

        p = self.params
        folder = self.context.resolve(p.path)
        inv = azure.day_files_2019(folder, "invocations")
        if p.days:
            inv = [f for f in inv if azure.day_number_2019(f) in set(p.days)]
        if not inv:
            from sim.errors import DataError

            raise DataError("no invocations_per_function_md.anon.dNN.csv files", where=str(folder))
        durs = {azure.day_number_2019(f): f for f in azure.day_files_2019(folder, "durations")}
        mems = {azure.day_number_2019(f): f for f in azure.day_files_2019(folder, "memory")}
        for path in inv:
            day = azure.day_number_2019(path)
            dur = azure.durations_2019(durs[day], p.lenient, self.stats) if day in durs else None
            mem = azure.memory_2019(mems[day], p.lenient, self.stats) if day in mems else None
            dur_of = {} if dur is None else {
                (a, f): (m, q25, q75) for a, f, m, q25, q75 in zip(
                    dur["HashApp"], dur["HashFunction"], dur["percentile_Average_50"],
                    dur["percentile_Average_25"], dur["percentile_Average_75"], strict=True)
            }  # fmt: skip
            mem_of = {} if mem is None else dict(zip(mem["HashApp"], mem["AverageAllocatedMb_pct50"], strict=True))
            cells = []  # (minute, func, count)
            for frame in azure.invocations_2019(path, p.lenient, self.stats):
                counts = frame[[str(m) for m in range(1, azure.MINUTES + 1)]].to_numpy(dtype=np.int64)
                ids = []
                for app, fn, trig in zip(frame["HashApp"], frame["HashFunction"], frame["Trigger"], strict=True):
                    key = f"{app}/{fn}"
                    i = self.catalog.find("azure", key)
                    if i is None:
                        mb = int(round(float(mem_of.get(app, p.default_memory_mb)))) or p.default_memory_mb
                        i = self.catalog.add(FunctionInfo(key, "azure", f"app-{mb}", 0, mb, "unknown", trig, home_cluster(key)))  # fmt: skip
                        self._hash.append(stable_hash(key))
                        self._cls.append(placement_class(trig))
                        med, q25, q75 = dur_of.get((app, fn), (100.0, 50.0, 200.0))
                        self._median.append(max(float(med), 0.001) / 1000.0)
                        self._sigma.append(float(np.log(max(q75, 1e-3) / max(q25, 1e-3)) / 1.349) if q75 > q25 > 0 else 1.0)
                    ids.append(i)
                r, m = np.nonzero(counts)
                cells.append((m, np.asarray(ids, dtype=np.int64)[r], counts[r, m]))
            if not cells:
                continue
            minute = np.concatenate([c[0] for c in cells])
            func = np.concatenate([c[1] for c in cells])
            cnt = np.concatenate([c[2] for c in cells])
            order = np.argsort(minute, kind="stable")
            minute, func, cnt = minute[order], func[order], cnt[order]
            hashes = np.asarray(self._hash, dtype=np.uint64)
            classes = np.asarray(self._cls)
            sig = np.asarray(self._sigma)
            mean = np.asarray(self._median) * np.exp(sig**2 / 2)
            bounds = np.flatnonzero(np.diff(minute)) + 1
            for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, minute.size], strict=True):
                f = func[lo:hi]
                m0 = (day - 1) * 1440 + int(minute[lo])
                t, ff, e = expand_minute(p.seed, m0, m0 * 60.0, cnt[lo:hi], f, hashes[f], classes[f],
                                         mean[f], sig[f])  # fmt: skip
                yield Arrivals(t, {"func": ff, "exec_s": e, "cluster": np.zeros(t.size, np.int64)})


@workload("serverless.azure2021", "replay Azure Functions 2021 invocations (one row each)")
class Azure2021(Workload):
    columns = COLUMNS

    class Params(Params):
        path: str = Field(min_length=1, max_length=4096, description="the invocation trace file")
        memory_mb: int = Field(128, ge=1, le=1_000_000, description="memory of every function's pods [A]")
        max_lateness_s: float = Field(3600.0, gt=0, le=1e7, description="re-sorting look-back (s)")
        lenient: bool = Field(False, description="skip and count bad rows instead of failing")

    def __init__(self, params=None):
        super().__init__(params)
        from sim.traces import ReadStats

        self.stats = ReadStats()
        self.catalog = FunctionCatalog()

    def batches(self) -> Iterator[Arrivals]:
        from .functions import FunctionInfo, home_cluster
        from .traces import azure

        p = self.params
        path = self.context.resolve(p.path)
        from sim.traces import check_data_path

        check_data_path(path, "Azure 2021 trace")
        for frame in azure.invocations_2021(path, p.lenient, self.stats, max_lateness_s=p.max_lateness_s):
            keys = (frame["app"] + "/" + frame["func"]).to_numpy()
            uniq, inverse = np.unique(keys, return_inverse=True)
            ids = np.empty(uniq.size, dtype=np.int64)
            for j, k in enumerate(uniq):
                i = self.catalog.find("azure", k)
                if i is None:
                    i = self.catalog.add(FunctionInfo(k, "azure", f"app-{p.memory_mb}", 0, p.memory_mb,
                                                      "unknown", "unknown", home_cluster(k)))  # fmt: skip
                ids[j] = i
            yield Arrivals(frame["arrival_s"].to_numpy(), {
                "func": ids[inverse], "exec_s": frame["duration"].to_numpy(dtype=float),
                "cluster": np.zeros(len(frame), np.int64)})  # fmt: skip
