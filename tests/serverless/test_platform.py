"""serverless.platform: both engines give the same pods, sharding by function changes
nothing, the cold-start mechanism (pools, stages, scheduler, no-pool runtimes) behaves as
the paper describes, and invalid combinations are refused with the key named."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from serverless_helpers import RandomRequests, pods_by_function, run_platform
from sim_models.serverless.coldstart import POOL, SCRATCH, SEARCH

from sim.errors import ConfigError


@pytest.mark.parametrize("keep", [("ttl", {}), ("ttl", {"seconds": 600}), ("hybrid_histogram", {}),
                                  ("timer_aware", {})])  # fmt: skip
def test_lean_replay_gives_the_same_pods_as_the_simpy_platform(keep):
    wl = lambda: RandomRequests(requests=15_000)  # noqa: E731
    simpy = run_platform(wl(), "simpy", keep_alive=keep)
    lean = run_platform(wl(), "lean", keep_alive=keep)
    a, b = pods_by_function(simpy), pods_by_function(lean)
    assert len(a) > 500
    pd.testing.assert_frame_equal(a, b)
    sa, sb = simpy.summary(), lean.summary()
    for key in ("cold_starts", "requests", "wasted_gb_s", "added_latency_s.mean", "utility_ratio.median"):
        assert sa[key] == pytest.approx(sb[key], rel=1e-12), key


@pytest.mark.parametrize("reserved", [1, 4])
def test_lean_replay_with_static_pools_gives_the_same_pods(reserved):
    """Finite pools couple functions; the lean engine applies their refills in time order
    before each cold start, which gives the SimPy engine's pods, stages included."""
    pool = ("static", {"reserved": reserved})
    simpy = run_platform(RandomRequests(requests=15_000), "simpy", pool=pool)
    lean = run_platform(RandomRequests(requests=15_000), "lean", pool=pool)
    a, b = pods_by_function(simpy), pods_by_function(lean)
    assert (a["stage"] != POOL).sum() > 50  # the pools ran out now and then
    pd.testing.assert_frame_equal(a, b)


def test_auto_engine_is_lean_only_where_that_gives_the_same_pods():
    from sim_models.serverless.platform import LazyTimers  # noqa: F401 (public)

    ttl = run_platform(RandomRequests(requests=500), "auto", pool=("static", {}))
    assert not ttl._simpy and ttl._lazy is not None
    for kwargs in ({"keep_alive": ("faascache", {})}, {"pool": ("static", {}), "prewarm": "histogram"},
                   {"pool": ("predictive", {})}, {"scheduler_slots": 2}):  # fmt: skip
        assert run_platform(RandomRequests(requests=500), "auto", **kwargs)._simpy, kwargs


def test_sharding_by_function_is_identical_to_one_run():
    full = run_platform(RandomRequests(), "lean")
    parts = [run_platform(RandomRequests(), "lean", shard=k, shards=3) for k in range(3)]
    assert sum(p.n_requests for p in parts) == full.n_requests
    merged = pd.concat([pods_by_function(p) for p in parts])
    merged = merged.sort_values(["func", "created_s", "cluster"], kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(merged, pods_by_function(full))
    total = sum(p.summary()["wasted_gb_s"] for p in parts)
    assert total == pytest.approx(full.summary()["wasted_gb_s"], rel=1e-9)


def test_a_cold_start_is_the_sum_of_its_parts_and_the_request_waits_for_it():
    m = run_platform(RandomRequests(requests=3000))
    pods = m.records.frame()
    total = pods["ready_s"] - pods["created_s"]
    parts = pods[["alloc_s", "code_s", "deps_s", "sched_s"]].sum(axis=1)
    np.testing.assert_allclose(total, parts, rtol=1e-9, atol=1e-9)
    # with one request per pod at a time, the first request of a pod waits its whole start
    first = pods[pods["trigger_req"] >= 0]
    assert (first["first_request_s"] == first["created_s"]).all()
    s = m.summary()
    assert s["added_latency_s.mean"] == pytest.approx(
        total[pods["trigger_req"] >= 0].sum() / s["requests"], rel=1e-9)


def test_custom_runtime_has_no_pool_and_pools_run_out():
    # Custom functions always build pods from scratch (§4.4)
    m = run_platform(RandomRequests(requests=5000), pool=("static", {"reserved": 30}))
    pods = m.records.frame()
    runtime = np.array([m.catalog[f].runtime for f in pods["func"]])
    assert (pods.loc[runtime == "Custom", "stage"] == SCRATCH).all()
    assert (pods.loc[runtime != "Custom", "stage"] == POOL).mean() > 0.95
    # tiny pools with slow refills: the search widens, then pods are built from scratch
    tiny = run_platform(RandomRequests(requests=5000, hours=0.5),
                        pool=("static", {"reserved": 1, "refill_s": 600}))  # fmt: skip
    stages = tiny.records.frame()["stage"].value_counts()
    assert stages.get(SEARCH, 0) > 0 and stages.get(SCRATCH, 0) > stages.get(POOL, 0)
    assert tiny.summary()["cold_start_s.mean"] > m.summary()["cold_start_s.mean"]


def test_a_queueing_scheduler_lengthens_scheduling_with_load():
    free = run_platform(RandomRequests(requests=6000, hours=0.2))
    queued = run_platform(RandomRequests(requests=6000, hours=0.2), scheduler_slots=1)
    a, b = free.summary(), queued.summary()
    assert b["sched_s.mean"] > 1.5 * a["sched_s.mean"]


def test_faascache_keeps_pods_within_the_memory_budget():
    budget_gb = 1.0
    m = run_platform(RandomRequests(), keep_alive=("faascache", {"memory_budget_gb": budget_gb}))
    pods = m.records.frame()
    events = pd.concat([
        pd.DataFrame({"t": pods["created_s"], "mb": pods["memory_mb"]}),
        pd.DataFrame({"t": pods["deleted_s"].fillna(math.inf), "mb": -pods["memory_mb"]}),
    ]).sort_values(["t", "mb"])  # fmt: skip
    in_use = events["mb"].cumsum().max()
    # at most one pod over the budget (a new pod when nothing idle can be evicted)
    assert in_use <= budget_gb * 1024 + 128 * pods["func"].nunique()
    assert m.summary()["cold_start_rate"] > run_platform(
        RandomRequests(), keep_alive=("faascache", {"memory_budget_gb": 64})).summary()["cold_start_rate"]


def test_cross_region_routing_uses_a_warm_remote_pod():
    from sim_models.serverless.functions import FunctionCatalog, FunctionInfo

    from sim.model import Workload
    from sim.workload import Arrivals

    class TwoRegions(Workload):
        """One function deployed in R5 and R2: a request in R5 at 0 s, one in R2 at 10 s."""

        def __init__(self):
            super().__init__()
            self.catalog = FunctionCatalog()
            self.catalog.add(FunctionInfo("1---1---pool22-300-128", "R5", home_cluster=1))
            self.catalog.add(FunctionInfo("1---1---pool22-300-128", "R2", home_cluster=1))

        def batches(self):
            yield Arrivals(np.array([0.0, 10.0]), {"func": np.array([0, 1]),
                                                   "exec_s": np.array([1.0, 1.0])})  # fmt: skip

    home = run_platform(TwoRegions())
    assert home.summary()["remote_requests"] == 0 and home.summary()["cold_starts"] == 2
    cross = run_platform(TwoRegions(), region_routing=("cross_region", {"penalty_s": 0.05}))
    s = cross.summary()
    assert s["remote_requests"] == 1 and s["cold_starts"] == 1
    # the remote request waits only the network penalty
    first_cold = cross.records.frame()["ready_s"].iloc[0]
    assert s["added_latency_s.mean"] == pytest.approx((first_cold + 0.05) / 2)
    slow = run_platform(TwoRegions(), region_routing=("cross_region", {"penalty_s": 5.0}))
    assert slow.summary()["remote_requests"] == 0  # a 5 s penalty is worse than a cold start


def test_invalid_engine_and_shard_combinations_name_the_key():
    with pytest.raises(ConfigError, match="lean engine") as exc:
        run_platform(RandomRequests(requests=100), "lean", pool=("predictive", {}))
    assert exc.value.where == "params.engine"
    with pytest.raises(ConfigError, match="act at their own times"):
        run_platform(RandomRequests(requests=100), "lean", pool=("static", {}), prewarm="histogram")
    with pytest.raises(ConfigError, match="cannot be sharded"):
        run_platform(RandomRequests(requests=100), keep_alive=("faascache", {}), shards=2)
    with pytest.raises(ConfigError, match="pool_sizing: unlimited"):
        run_platform(RandomRequests(requests=100), pool=("static", {}), shards=2)
    from pydantic import ValidationError
    from sim_models.serverless.platform import Platform

    with pytest.raises(ValidationError, match="shard 2 is not below shards 2"):
        Platform.Params(shard=2, shards=2)
