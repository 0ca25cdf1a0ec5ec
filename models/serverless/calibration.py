"""Calibration of the Huawei-like platform and workload: every constant with its source.

Sources (Joosen et al., "Serverless Cold Starts and Where to Find Them", EuroSys 2025, and
its data release): a section (§), a figure read by eye ([read], about +-20 %), the
release's demo notebook outputs ([NB]), or an assumption ([A]) fixed by one rule for all
regions. NOTES.md lists them again with the marks used across the project.

Cold-start components (seconds) are lognormal: ``(median, sigma)`` of the log. Pod
allocation has three stages (§4.2, Fig 13b, Fig 15b): a pod from the local pool, a pod
found by the wider search, a pod built from scratch (empty pool, Custom and http runtimes).
Which stage a cold start reaches is decided by the platform's pools, not drawn here.
"""

from __future__ import annotations

from dataclasses import dataclass

REGIONS = ("R1", "R2", "R3", "R4", "R5")


@dataclass(frozen=True)
class LogNormal:
    """A lognormal given by its median and the sigma of its logarithm."""

    median: float
    sigma: float


@dataclass(frozen=True)
class ColdStartParams:
    """Component distributions of one region's cold starts."""

    #: pod allocation by stage: local pool, wider search, from scratch
    alloc_pool: LogNormal
    alloc_search: LogNormal
    alloc_scratch: LogNormal
    #: code deployment; a function's own factor (lognormal, sigma below) multiplies it
    code: LogNormal
    code_function_sigma: float
    #: share of functions with dependencies (layers), and their deployment time
    deps_share: float
    deps: LogNormal
    #: scheduling (networking, routing); queueing at the cluster scheduler comes on top
    sched: LogNormal
    #: large pods (> 400 mCPU or > 256 MB) deploy code and dependencies slower (Fig 13c,d)
    large_code_factor: float = 2.0
    large_deps_factor: float = 1.5
    #: scheduling of large pods relative to small ones (Fig 13e: shorter for small pods in
    #: R1, R3, R4; the reverse in R2, R5)
    large_sched_factor: float = 1.0


# Per-region components. Medians read off Figs 11, 13 and 15 and the notebook rows
# (cold_start_R1/R2/R5 heads and tails); sigmas [A] chosen so the per-region medians and
# means of the total match the Fig 10a / Fig 11 readings (see NOTES.md, "calibration").
COLD_START: dict[str, ColdStartParams] = {
    # R1: dependency deployment and scheduling dominate (Abstract, Fig 12a); median ~2.1 s
    "R1": ColdStartParams(
        alloc_pool=LogNormal(7e-4, 0.4),
        alloc_search=LogNormal(1.5e-2, 0.4),
        alloc_scratch=LogNormal(5.22, 0.6),
        code=LogNormal(0.0435, 1.2),
        code_function_sigma=1.0,
        deps_share=0.55,
        deps=LogNormal(1.13, 0.9),
        sched=LogNormal(0.87, 0.9),
        large_code_factor=3.0,
        large_deps_factor=1.5,
        large_sched_factor=1.3,
    ),
    # R2: pod allocation swings most (Abstract, §4.2); Custom pods from scratch at ~10 s
    "R2": ColdStartParams(
        alloc_pool=LogNormal(1.5e-4, 0.3),
        alloc_search=LogNormal(1.0e-2, 0.3),
        alloc_scratch=LogNormal(10.0, 0.45),
        code=LogNormal(0.07, 0.9),
        code_function_sigma=0.8,
        deps_share=0.25,
        deps=LogNormal(1.0, 0.7),
        sched=LogNormal(0.4, 1.0),
        large_code_factor=2.0,
        large_deps_factor=1.5,
        large_sched_factor=0.8,
    ),
    # R3: scheduling and code deployment (Fig 12c); median ~0.1 s, p90 ~0.45 s
    "R3": ColdStartParams(
        alloc_pool=LogNormal(2e-4, 0.3),
        alloc_search=LogNormal(8e-3, 0.3),
        alloc_scratch=LogNormal(2.1, 0.5),
        code=LogNormal(0.014, 0.9),
        code_function_sigma=0.6,
        deps_share=0.05,
        deps=LogNormal(0.21, 0.6),
        sched=LogNormal(0.049, 0.9),
        large_code_factor=4.0,
        large_deps_factor=2.0,
        large_sched_factor=1.5,
    ),
    # R4: pod allocation, then scheduling; median ~0.85 s, p90 ~3.5 s
    "R4": ColdStartParams(
        alloc_pool=LogNormal(3e-4, 0.3),
        alloc_search=LogNormal(1.2e-2, 0.4),
        alloc_scratch=LogNormal(3.95, 0.5),
        code=LogNormal(0.0395, 0.9),
        code_function_sigma=0.8,
        deps_share=0.3,
        deps=LogNormal(0.632, 0.8),
        sched=LogNormal(0.435, 0.9),
        large_code_factor=2.0,
        large_deps_factor=1.5,
        large_sched_factor=1.2,
    ),
    # R5: scheduling dominates (Fig 11); median ~0.45 s, p90 ~2 s
    "R5": ColdStartParams(
        alloc_pool=LogNormal(1.3e-4, 0.3),
        alloc_search=LogNormal(2.7e-2, 0.3),
        alloc_scratch=LogNormal(3.04, 0.5),
        code=LogNormal(0.00228, 1.0),
        code_function_sigma=0.8,
        deps_share=0.15,
        deps=LogNormal(0.608, 0.9),
        sched=LogNormal(0.304, 0.8),
        large_code_factor=2.0,
        large_deps_factor=1.5,
        large_sched_factor=0.9,
    ),
}

#: Runtimes without a pool of generic pods: built from scratch every time (§4.4, Fig 15:
#: Custom; http pods also start mostly in pod allocation, an HTTP server has to start).
NO_POOL_RUNTIMES = frozenset({"Custom", "http"})

#: Per-runtime multipliers of (code, deps, sched) [read, Fig 15, Region 2]: Node.js cold
#: starts are mostly scheduling; Go mostly code and dependency deployment.
RUNTIME_FACTORS: dict[str, tuple[float, float, float]] = {
    "Node.js": (0.6, 0.6, 2.0),
    "Go1.x": (3.0, 2.0, 0.6),
    "Java": (1.5, 1.2, 1.0),
}


@dataclass(frozen=True)
class Share:
    """A categorical distribution: values and their weights (normalised on use)."""

    values: tuple
    weights: tuple[float, ...]


#: Runtime of a function [NB: Region 2 cold starts per runtime; Fig 8f function shares].
#: Shares of functions: Python3 0.61, Java 0.18, Custom 0.01 [read, Fig 8f]; the rest split
#: in proportion to their cold-start counts [NB] [A]. Used for every region [A].
RUNTIMES = Share(
    ("Python3", "Java", "Node.js", "Python2", "Custom", "Go1.x", "PHP7.3", "http", "C#"),
    (0.61, 0.18, 0.08, 0.07, 0.01, 0.02, 0.015, 0.008, 0.002),
)

#: Trigger groups of functions, Region 2 [read, Fig 8f; §3.3: timers 42 % of triggers,
#: about 60 % of functions; APIG-S 23 %]. Used for every region [A].
TRIGGERS = Share(
    ("TIMER-A", "APIG-S", "unknown-unknown", "OBS-A", "workflow-S", "other-A", "other-S"),
    (0.56, 0.22, 0.08, 0.02, 0.02, 0.06, 0.04),
)

#: Resource configurations of functions, Region 2 [read, Fig 8f: 300-128 0.86,
#: 1000-1024 0.01; the rest spread over the pools the notebook shows [NB]] [A].
POOLS = Share(
    ("pool22-300-128", "pool23-400-256", "pool24-600-512", "pool26-1000-1024",
     "pool30-1800-2048", "pool34-3400-4096", "pool35-6600-8192"),
    (0.86, 0.06, 0.04, 0.01, 0.015, 0.01, 0.005),
)  # fmt: skip

#: OBS-triggered functions often use the Custom runtime (Fig 9) [read]: share of them.
OBS_CUSTOM_SHARE = 0.4


@dataclass(frozen=True)
class RegionWorkload:
    """What the generator needs to know about a region's functions and requests."""

    functions: int  # [read, Fig 1]
    #: median of per-function mean request rates of non-timer functions (1/s), and the
    #: sigma of their logarithm [A, calibrated: see NOTES.md]
    rate_median_per_s: float
    rate_sigma: float
    #: median execution time (s) [read, Fig 3b; §3.1: 4 ms (R5) to 100 ms (R1)] and sigma
    exec_median_s: float
    exec_sigma: float
    #: hour of the daily peak (UTC-like clock of the trace) [read, Fig 5]
    peak_hour: float
    #: peak-to-trough ratio of the daily cycle of busy functions [read, Fig 6a: < 60]
    daily_amplitude: float
    #: bursts per function per day for bursty triggers (OBS, workflow) and the mean burst
    #: size [A, calibrated to the cold starts per hour of Fig 11]
    bursts_per_day: float = 6.0
    burst_size_mean: float = 8.0
    #: share of timer functions (Region 2: ~56 %, Fig 8f) [A, calibrated per region]
    timer_share: float = 0.56
    #: cold starts per hour read off Fig 11 (a calibration target, not an input)
    target_cold_starts_per_hour: float = 0.0
    #: median / mean cold-start time read off Fig 10a and Fig 11 (targets, not inputs)
    target_median_s: float = 0.0
    target_mean_s: float = 0.0


REGION_WORKLOAD: dict[str, RegionWorkload] = {
    "R1": RegionWorkload(
        functions=2600, rate_median_per_s=0.000526, rate_sigma=4.0, exec_median_s=0.100,
        exec_sigma=1.0, peak_hour=14.0, daily_amplitude=3.0, bursts_per_day=16.43,
        timer_share=0.56, burst_size_mean=8.0, target_cold_starts_per_hour=9_400, target_median_s=2.1,
        target_mean_s=3.0,
    ),
    "R2": RegionWorkload(
        functions=2418, rate_median_per_s=8.55e-07, rate_sigma=4.0, exec_median_s=0.060,
        exec_sigma=1.4, peak_hour=9.0, daily_amplitude=3.0, bursts_per_day=7.39,
        timer_share=0.56, burst_size_mean=8.0, target_cold_starts_per_hour=2_800, target_median_s=0.8,
        target_mean_s=2.2,
    ),
    "R3": RegionWorkload(
        functions=240, rate_median_per_s=1.21e-05, rate_sigma=4.0, exec_median_s=0.010,
        exec_sigma=1.4, peak_hour=20.0, daily_amplitude=2.0, bursts_per_day=0.98,
        timer_share=0.3, burst_size_mean=8.0, target_cold_starts_per_hour=430, target_median_s=0.1,
        target_mean_s=0.25,
    ),
    "R4": RegionWorkload(
        functions=8000, rate_median_per_s=1.87e-08, rate_sigma=4.0, exec_median_s=0.030,
        exec_sigma=1.4, peak_hour=12.0, daily_amplitude=3.0, bursts_per_day=0.92,
        timer_share=0.15, burst_size_mean=8.0, target_cold_starts_per_hour=2_200, target_median_s=0.85,
        target_mean_s=1.3,
    ),
    "R5": RegionWorkload(
        functions=570, rate_median_per_s=1.39e-05, rate_sigma=4.0, exec_median_s=0.004,
        exec_sigma=1.4, peak_hour=3.0, daily_amplitude=3.0, bursts_per_day=29.18,
        timer_share=0.56, burst_size_mean=8.0, target_cold_starts_per_hour=1_100, target_median_s=0.45,
        target_mean_s=0.9,
    ),
}  # fmt: skip

#: Timer periods (minutes) and their weights [A]: cron-like, aligned to whole minutes;
#: most timers fire hourly or less often (Region 2: timers are ~56 % of functions but
#: ~31 % of cold starts, Fig 8e,f, i.e. ~15 cold starts per timer function per day).
TIMER_PERIODS_MIN = Share(
    (1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440),
    (0.05, 0.002, 0.006, 0.012, 0.02, 0.04, 0.15, 0.10, 0.08, 0.12, 0.14, 0.27),
)

#: Keep-alive of the platform: 60 s, reset by each request (§2.2).
KEEPALIVE_S = 60.0
#: Clusters per region (§2.1).
CLUSTERS = 4
#: Days of the trace and the holiday (§3.2): day 13 is the last working day before it.
TRACE_DAYS = 31

#: Small per-request overheads of the frontend path (s), lognormal [read, the notebook's
#: per_request rows of Region 5]: frontend, busProxy, read body, write response, worker.
REQUEST_OVERHEADS: dict[str, LogNormal] = {
    "frontendCost": LogNormal(5e-4, 0.8),
    "busCost": LogNormal(1.5e-3, 1.0),
    "readBodyCost": LogNormal(2.2e-5, 0.3),
    "writeRspCost": LogNormal(1.0e-5, 0.3),
    "workerCost": LogNormal(1.2e-4, 0.5),
}
