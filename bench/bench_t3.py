"""T3 grid throughput: the main sub-layer grid of the T3 reproduction, timed in CPU seconds.

(a) ``t3.grid`` with the main experiment's parameters (Mega-GPT-2 and T-NLG, TP 8 and 16,
    four sub-layers, all seven configurations, end-to-end fold), built and run through the
    engine, no files written: ``t3.grid_s`` (CPU seconds of the simulation and its
    summary), events scheduled and events per CPU second;
(b) a baseline in the same process: bare SimPy timeouts, each with one plain callback, in a
    chain (the cheapest event pattern the engine offers), as events per CPU second.

``t3.event_cost_ratio`` = baseline events per second / grid events per second: how much
more a grid event costs than a bare timeout (the model's own Python work per event).
CPU time (``time.process_time``), best of ``repeats`` runs: the machine is shared.
Quick mode runs TP 8 only.
"""

from __future__ import annotations

import time

import simpy


def _grid(quick: bool) -> tuple[float, int]:
    from sim_models.t3.model import Grid, run_grid

    params = Grid.Params(tps=[8] if quick else [8, 16], cu_split_cus=[8, 16])
    t0 = time.process_time()
    m = run_grid(params)
    m.summary()
    return time.process_time() - t0, m.sim.events_scheduled


def _bare_timeouts(n: int) -> float:
    env = simpy.Environment()
    left = [n]

    def tick(_ev):
        left[0] -= 1
        if left[0] > 0:
            env.timeout(1e-9).callbacks.append(tick)

    env.timeout(1e-9).callbacks.append(tick)
    t0 = time.process_time()
    env.run()
    return n / (time.process_time() - t0)


def bench_t3(quick: bool = False, repeats: int = 3) -> dict[str, float]:
    runs = [_grid(quick) for _ in range(1 if quick else repeats)]
    cpu, events = min(runs)
    base = max(_bare_timeouts(100_000 if quick else 500_000) for _ in range(repeats))
    rate = events / cpu
    return {
        "t3.grid_s": cpu,
        "t3.grid_events": float(events),
        "t3.grid_events_per_s": rate,
        "t3.bare_timeouts_per_s": base,
        "t3.event_cost_ratio": base / rate,
    }
