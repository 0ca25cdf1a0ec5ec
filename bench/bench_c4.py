"""Benchmarks of the c4 package (``sim bench``, group ``c4``).

What it measures (CPU seconds, ``time.process_time``, best of ``repeat``; the machine is
shared, so wall time is noisy)
    * ``c4.ecmp_draws_512_s``: 100 ECMP hash draws of a 256 MB all-reduce on 512 GPUs
      (model ``c4.allreduce``: fabric, routing of 1,024 QPs per draw, flow simulation);
      target under 60 s. ``--quick``: 10 draws (key ``c4.ecmp_draws_512_quick_s``).
    * ``c4.month_512_s``: a simulated month of the 512-GPU job with faults and C4D
      (model ``c4.reliability``: a flow-level diagnosis probe per fault, the rest
      fast-forwarded); target under 60 s. ``--quick``: 5 days.
    * ``c4.fluid_vs_per_rank_speedup``: one 512-GPU all-reduce (64-node rail rings) run
      by the fluid ring of ``sim_models.c4.comm`` against the per-rank executor of
      ``sim_models.hw.collectives`` (126 steps) on the same routes, in this process: the
      ratio of their CPU times, and ``c4.fluid_vs_per_rank_time_ratio`` the ratio of the
      simulated times (1 up to one latency per step).
"""

from __future__ import annotations

import time

from sim import experiment
from sim.runner import run_experiment


def _cpu(fn, repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.process_time()
        fn()
        best = min(best, time.process_time() - t)
    return best


def _run(data: dict) -> dict:
    return run_experiment(experiment.from_dict(data), None).summary


def bench_ecmp_draws(quick: bool = False) -> float:
    draws = 10 if quick else 100
    data = {"name": "bench", "model": "c4.allreduce", "seed": 1,
            "params": {"gpus": 512, "draws": draws}, "policies": {"routing": "ecmp"}}  # fmt: skip
    return _cpu(lambda: _run(data))


def bench_month(quick: bool = False) -> float:
    data = {"name": "bench", "model": "c4.reliability", "seed": 2,
            "params": {"gpus": 512, "days": 5 if quick else 30},
            "policies": {"detection": "c4d"}}  # fmt: skip
    return _cpu(lambda: _run(data))


def bench_fluid_vs_per_rank() -> dict[str, float]:
    from sim_models.c4.comm import RingCollective, Routes
    from sim_models.c4.fabric import Fabric, FabricSpec
    from sim_models.c4.routing import C4PRouting
    from sim_models.hw.collectives import run_collective

    from sim.core import Simulation

    sim = Simulation(3)
    fab = Fabric(FabricSpec(nodes=64), sim.env)
    pol = C4PRouting()
    pol.bind(sim.scope("bench"))
    pol.setup(fab.G)
    routes = Routes(fab, pol)
    ring = RingCollective(fab, routes, "r", list(range(64)), range(8), 1, lambda i, g: i * 8 + g)
    S = 256e6
    out: dict[str, float] = {}

    def fluid():
        done = []
        t0 = sim.env.now
        ring.start(S, done.append)
        sim.env.run()
        out["fluid"] = done[0] - t0

    def per_rank():
        # the 8 rails' rings as one schedule-free run each, on the same paths
        paths = {(c.src, c.dst): routes.edges(ring.keys[c.index]) for c in ring.conns}
        procs = []
        for g in range(8):
            hosts = [fab.nic(n, g) for n in range(64)]
            procs.append(sim.env.process(run_collective(
                fab.net, hosts, lambda a, b: paths[(a, b)], "allreduce", "ring", S,
                executor="rank")))  # fmt: skip
        t0 = sim.env.now
        sim.env.run()
        out["rank"] = max(p.value.end_s for p in procs) - t0

    t_fluid = _cpu(fluid, 3)
    t_rank = _cpu(per_rank, 1)
    return {
        "c4.fluid_allreduce_512_s": t_fluid,
        "c4.per_rank_allreduce_512_s": t_rank,
        "c4.fluid_vs_per_rank_speedup": t_rank / t_fluid,
        "c4.fluid_vs_per_rank_time_ratio": out["fluid"] / out["rank"],
    }


def bench_c4(quick: bool = False) -> dict[str, float]:
    """The ``c4`` group of ``sim bench``."""
    out = {}
    key = "c4.ecmp_draws_512_quick_s" if quick else "c4.ecmp_draws_512_s"
    out[key] = bench_ecmp_draws(quick)
    out["c4.month_512_quick_s" if quick else "c4.month_512_s"] = bench_month(quick)
    out.update(bench_fluid_vs_per_rank())
    return out
