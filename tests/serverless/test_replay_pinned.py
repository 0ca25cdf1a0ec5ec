"""Pinned per-pod results of the platform and single-function models on fixed inputs.

The replay's hot path (the lean loop, the pod life cycle, the cold-start draws) is tuned
for speed; these digests of the full per-pod tables guard that such tuning leaves every
pod exactly as it was (same creation, readiness, parts, requests served, busy time and
deletion). A deliberate change of the model's behaviour updates the digests, and says so
in its commit."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from serverless_helpers import RandomRequests, run_platform


def digest(frame) -> str:
    """SHA-256 of a frame's values, floats rounded to 9 significant digits."""
    h = hashlib.sha256()
    for name in frame.columns:
        col = frame[name].to_numpy()
        if col.dtype.kind == "f":
            col = np.array([float(f"{v:.9g}") for v in col])
        h.update(name.encode())
        h.update(np.ascontiguousarray(col).tobytes())
    return h.hexdigest()[:16]


CASES = {  # case -> run_platform's arguments
    "lean_ttl60": dict(engine="lean"),
    "lean_ttl600_c4_oldest": dict(
        engine="lean", keep_alive=("ttl", {"seconds": 600}), concurrency=4, routing="oldest"
    ),
    "simpy_static_pools": dict(pool=("static", {"reserved": 2})),
    "simpy_hybrid_prewarm": dict(keep_alive=("hybrid_histogram", {}), prewarm="histogram"),
    "simpy_faascache": dict(keep_alive=("faascache", {"memory_budget_gb": 1})),
}

PINNED = {
    "lean_ttl60": (6708, "855999a037957f6a"),
    "lean_ttl600_c4_oldest": (835, "28d03dcd13ee4cb2"),
    "simpy_static_pools": (6715, "0b3f7b4566724ffa"),
    "simpy_hybrid_prewarm": (1193, "cd16e01ad102aec1"),
    "simpy_faascache": (12688, "b10b126924ca266d"),
}

SINGLE_FUNCTION = {
    "cold_start_prob": 0.0340923308, "cold_starts": 614.0, "instance_lifespan_s.count": 539.0,
    "instance_lifespan_s.mean": 171.751346, "instances.mean": 5.20937885,
    "instances_idle.mean": 3.4498444, "instances_running.mean": 1.75953445, "rejected": 0.0,
    "rejection_prob": 0.0, "requests": 17795.0,
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
def test_pods_are_pinned(case):
    kwargs = CASES[case]
    m = run_platform(RandomRequests(functions=120, requests=20_000, hours=6.0, seed=1), **kwargs)
    pods = m.records.frame()
    got = (len(pods), digest(pods))
    assert got == PINNED[case]


def test_single_function_summary_is_pinned():
    from sim_models.serverless.single_function import SingleFunction

    from sim.core import Simulation

    m = SingleFunction(
        SingleFunction.Params(arrival_rate=0.9, horizon_s=20_000.0, keepalive_s=30.0)
    )
    sim = Simulation(3)
    m.build(sim)
    sim.run()
    s = m.summary()
    got = {k: float(f"{v:.9g}") for k, v in sorted(s.items())}
    assert got == SINGLE_FUNCTION
