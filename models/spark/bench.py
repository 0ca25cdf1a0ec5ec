"""``sim bench`` group ``uwfq``: the homogeneous Google window under every scheduler.

Keys:
* ``uwfq.google_homo_s``: the slowest scheduler's CPU time (``time.process_time``) for one
  full run of the window (6,418 trace tasks -> 97 job groups, 207 queries, 61,000-84,000
  Spark tasks); target: under 5 s on one core;
* ``uwfq.google_homo_s.<scheduler>``: each scheduler's;
* ``uwfq.tasks_per_s``: simulated Spark tasks per CPU second, all schedulers together;
* ``uwfq.vs_heapq``: that rate over the rate of a bare ``heapq`` event loop handing the
  same number of tasks to 32 cores in FIFO order (the cost of the engine, Spark's hand-out
  and the schedulers relative to the cheapest possible loop, measured in the same process).
Timings on a shared machine are noisy: each is the minimum of ``repeats`` runs.
"""

from __future__ import annotations

import heapq
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HOMO = ROOT / "traces" / "google-2011-wta" / "macro_benchmarks_homo.csv"


def _run(scheduler: str, quick: bool) -> tuple[float, int]:
    from sim import experiment
    from sim.runner import simulate

    params = {"path": str(HOMO), "window": "homo"}
    if quick:
        params["until_s"] = 120.0
    exp = experiment.from_dict({
        "name": "bench", "model": "spark.cluster",
        "workload": {"name": "spark.google_window", "params": params},
        "policies": {"scheduler": scheduler},
    })  # fmt: skip
    t0 = time.process_time()
    model, _ = simulate(exp)
    return time.process_time() - t0, model.cluster.tasks_launched


def heapq_baseline(tasks: int, cores: int = 32, seed: int = 1) -> float:
    """CPU seconds of a bare heapq loop running ``tasks`` tasks of random length on
    ``cores`` cores in FIFO order."""
    import numpy as np

    durs = np.random.default_rng(seed).exponential(1.0, tasks).tolist()
    t0 = time.process_time()
    heap: list = []
    now, nxt = 0.0, 0
    for _ in range(min(cores, tasks)):
        heapq.heappush(heap, (durs[nxt], nxt))
        nxt += 1
    while heap:
        now, _i = heapq.heappop(heap)
        if nxt < tasks:
            heapq.heappush(heap, (now + durs[nxt], nxt))
            nxt += 1
    return time.process_time() - t0


def bench_uwfq(quick: bool = False, repeats: int = 2) -> dict[str, float]:
    from .schedulers import SCHEDULER_NAMES

    _run("fifo", True)  # warm-up: imports and caches
    out: dict[str, float] = {}
    total_t, total_n = 0.0, 0
    for name in SCHEDULER_NAMES:
        best, n = min(_run(name, quick) for _ in range(repeats))
        out[f"uwfq.google_homo_s.{name}"] = best
        total_t += best
        total_n += n
    out["uwfq.google_homo_s"] = max(
        v for k, v in out.items() if k.startswith("uwfq.google_homo_s.")
    )
    rate = total_n / total_t
    base = min(heapq_baseline(total_n // len(SCHEDULER_NAMES)) for _ in range(repeats))
    out["uwfq.tasks_per_s"] = rate
    out["uwfq.vs_heapq"] = rate / ((total_n // len(SCHEDULER_NAMES)) / base)
    return dict(sorted(out.items()))
