"""Cold-start benchmarks: replay speed, memory at 20 million requests, single-function speed.

What it measures (CPU time of this process, ``time.process_time``, best of ``repeat``
runs: the machine is shared)
    * ``coldstart.replay_requests_per_s``: ``serverless.platform``'s lean replay engine
      (60 s TTL, unlimited pools) over a one-day trace of about 1 million requests made
      by the calibrated generator (Region 1's functions at 45 % of the published count),
      held in memory so that only the replay is timed; baselines in the same process:
      ``coldstart.replay_simpy_requests_per_s`` (the SimPy engine on the same trace, same
      pods) and ``coldstart.replay_ratio_lean_vs_simpy``;
    * ``coldstart.peak_rss_mb_20m``: peak resident memory of a child process that
      generates and replays 20 million requests (Region 1 over 9 days) with the lean
      engine, writing the pod table (quick: 2 million, ``coldstart.peak_rss_mb_2m``);
    * ``coldstart.single_function_requests_per_s``: ``serverless.single_function`` at
      arrival rate 0.9/s over 1e6 simulated seconds (SimFaaS's example), against a bare
      SimPy model written the textbook way (a process per request, instances in a list:
      ``coldstart.single_function_baseline_requests_per_s``) and the ratio.
"""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np


def _trace(days: float, scale: float):
    from sim_models.serverless.workloads import Synthetic

    wl = Synthetic(Synthetic.Params(regions=["R1"], hours=24 * days, function_scale=scale))
    batches = list(wl.batches())
    return wl.catalog, batches


class _InMemory:
    """The generated batches, replayed from memory (a workload)."""

    def __init__(self, catalog, batches):
        from sim.model import Workload

        class W(Workload):
            def batches(inner):
                return iter(batches)

        self.workload = W()
        self.workload.catalog = catalog


def _replay(catalog, batches, engine: str) -> tuple[float, int, float]:
    from sim_models.serverless.platform import Platform

    from sim.core import Simulation
    from sim.registry import get_policy

    wl = _InMemory(catalog, batches).workload
    pols = {"pool_sizing": get_policy("serverless.pool_sizing", "unlimited")()}
    m = Platform(Platform.Params(engine=engine, function_seed=1), policies=pols, workload=wl)
    sim = Simulation(1)
    m.attach(sim)
    m.build(sim)
    t0 = time.process_time()
    sim.run()
    m.finish()
    dt = time.process_time() - t0
    return m.n_requests / dt, m.n_requests, len(m.records.table)


def bench_replay(quick: bool, repeat: int = 2) -> dict[str, float]:
    catalog, batches = _trace(1.0, 0.1 if quick else 0.45)
    lean = max(_replay(catalog, batches, "lean")[0] for _ in range(repeat))
    rate, n, pods = _replay(catalog, batches, "lean")
    simpy = _replay(catalog, batches, "simpy")[0]
    return {
        "coldstart.replay_requests_per_s": lean,
        "coldstart.replay_requests": float(n),
        "coldstart.replay_pods": float(pods),
        "coldstart.replay_simpy_requests_per_s": simpy,
        "coldstart.replay_ratio_lean_vs_simpy": lean / simpy,
    }


_CHILD = """
import sys, tempfile, time
from sim_bench.memory import own_peak_rss_mb
from pathlib import Path
from sim.core import Simulation
from sim.registry import get_policy
from sim_models.serverless.platform import Platform
from sim_models.serverless.workloads import Synthetic
days, scale = float(sys.argv[1]), float(sys.argv[2])
wl = Synthetic(Synthetic.Params(regions=["R1"], hours=24 * days, function_scale=scale))
m = Platform(Platform.Params(engine="lean", function_seed=1),
             policies={"pool_sizing": get_policy("serverless.pool_sizing", "unlimited")()},
             workload=wl)
sim = Simulation(1)
m.attach(sim)
m.build(sim)
t0 = time.process_time()
sim.run()
m.finish()
with tempfile.TemporaryDirectory() as d:
    m.records.table.write(Path(d) / "pods.parquet")
print(m.n_requests, time.process_time() - t0,
      own_peak_rss_mb())
"""


def bench_memory(quick: bool) -> dict[str, float]:
    days, scale, label = (1.0, 1.0, "2m") if quick else (9.0, 1.0, "20m")
    out = subprocess.run([sys.executable, "-c", _CHILD, str(days), str(scale)],
                         capture_output=True, text=True, check=True)  # fmt: skip
    n, cpu, rss = out.stdout.split()[-3:]
    return {
        f"coldstart.peak_rss_mb_{label}": float(rss),
        f"coldstart.requests_{label}": float(n),
        f"coldstart.requests_per_s_{label}": float(n) / float(cpu),
    }


def _single_function_project(horizon: float) -> float:
    from sim_models.serverless.single_function import SingleFunction

    from sim.core import Simulation

    m = SingleFunction(SingleFunction.Params(arrival_rate=0.9, horizon_s=horizon))
    sim = Simulation(1)
    t0 = time.process_time()
    m.build(sim)
    sim.run()
    n = m.summary()["requests"]
    return n / (time.process_time() - t0)


def _single_function_baseline(horizon: float) -> float:
    """The textbook SimPy way: a process per request; idle instances in a list, the
    newest first; an expiry check per instance when it goes idle."""
    import simpy

    rng = np.random.default_rng(1)
    env = simpy.Environment()
    idle: list[dict] = []
    count = [0, 0]

    def expire(inst, since):
        yield env.timeout(600.0)
        if inst["idle_since"] == since and inst in idle:
            idle.remove(inst)

    def request():
        if idle:
            inst = idle.pop()
            service = rng.exponential(1.991)
        else:
            inst = {"idle_since": -1.0}
            service = rng.exponential(2.244)
            count[1] += 1
        yield env.timeout(service)
        inst["idle_since"] = env.now
        idle.append(inst)
        env.process(expire(inst, env.now))

    def source():
        while env.now < horizon:
            yield env.timeout(rng.exponential(1 / 0.9))
            count[0] += 1
            env.process(request())

    t0 = time.process_time()
    env.process(source())
    env.run(until=horizon)
    return count[0] / (time.process_time() - t0)


def bench_single_function(quick: bool) -> dict[str, float]:
    horizon = 1e5 if quick else 1e6
    project = max(_single_function_project(horizon) for _ in range(2))
    baseline = _single_function_baseline(horizon / 4)
    return {
        "coldstart.single_function_requests_per_s": project,
        "coldstart.single_function_baseline_requests_per_s": baseline,
        "coldstart.single_function_ratio_vs_baseline": project / baseline,
    }


def bench_coldstart(quick: bool) -> dict[str, float]:
    out = {}
    out.update(bench_single_function(quick))
    out.update(bench_replay(quick))
    out.update(bench_memory(quick))
    return out
