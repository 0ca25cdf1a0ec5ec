"""Keep-alive, pre-warm and pool-sizing policies, one decision at a time."""

from __future__ import annotations

import pytest
from serverless_helpers import RandomRequests, policy, run_platform
from sim_models.serverless.functions import FunctionInfo
from sim_models.serverless.lifecycle import FunctionPods, Pod
from sim_models.serverless.policies.histogram import IdleHistogram


def _fp(ka):
    fp = FunctionPods(0, lambda *_: (60.0, None))
    ka.setup(fp, FunctionInfo("1---1---pool22-300-128"))
    return fp


def test_ttl():
    ka = policy("keep_alive", "ttl", seconds=42)
    assert ka.decide(_fp(ka), None, 0.0) == (42.0, None)


def test_idle_histogram_percentiles_and_cv():
    h = IdleHistogram(4 * 3600, 60)
    for it in [30.0] * 95 + [600.0] * 5:
        h.add(it)
    assert h.percentile_bins(5, 99) == (0, 10)
    assert h.cv() > 2
    h.add(5 * 3600.0)
    assert h.oob == 1 and h.recent_oob == [18000.0]


def test_hybrid_histogram_prewarms_a_periodic_function():
    ka = policy("keep_alive", "hybrid_histogram")
    fp = _fp(ka)
    assert ka.decide(fp, None, 0.0) == (4 * 3600.0, None)  # nothing seen: keep for the range
    fp.last_end_s = 6.0
    for k in range(20):  # idle times of ~10 minutes
        ka.on_arrival(fp, 600.0 * (k + 1) + 5)
        fp.last_end_s = 600.0 * (k + 1) + 6
    keep, prewarm = ka.decide(fp, None, 0.0)
    # idle times of 599 s fall in the bin [540, 600): pre-warm at its start minus 10 %,
    # keep until its end plus 10 %
    assert prewarm == pytest.approx(540 * 0.9)
    assert prewarm + keep == pytest.approx(600 * 1.1)


def test_timer_aware_detects_periods():
    ka = policy("keep_alive", "timer_aware", fallback_s=60, lead_s=10)
    fp = _fp(ka)
    for k in range(4):
        ka.on_arrival(fp, 300.0 * k)
    keep, prewarm = ka.decide(fp, None, 900.5)  # next expected at 1200
    assert prewarm == pytest.approx(1200 - 900.5 - 10)
    assert keep == pytest.approx(10 + 30)
    irregular = _fp(ka)
    for t in (0, 100, 500, 520):
        ka.on_arrival(irregular, t)
    assert ka.decide(irregular, None, 521) == (60.0, None)


def test_faascache_priority_grows_with_frequency_and_cost():
    ka = policy("keep_alive", "faascache")
    fp = _fp(ka)
    fp.arrivals = 10
    pod = Pod(0, 0, 0.0, memory_mb=128)
    pod.cold_start_s = 2.0
    assert ka.priority(fp, pod) == pytest.approx(10 * 2.0 / 128)
    ka.evicted(5.0)
    assert ka.priority(fp, pod) == pytest.approx(5.0 + 10 * 2.0 / 128)


def test_policies_trade_cold_starts_for_memory():
    runs = {name: run_platform(RandomRequests(requests=8000), keep_alive=keep).summary()
            for name, keep in {"ttl10": ("ttl", {"seconds": 10}), "ttl60": ("ttl", {}),
                               "ttl600": ("ttl", {"seconds": 600}),
                               "hybrid": ("hybrid_histogram", {})}.items()}  # fmt: skip
    assert runs["ttl10"]["cold_start_rate"] > runs["ttl60"]["cold_start_rate"] > runs["ttl600"]["cold_start_rate"]
    assert runs["ttl10"]["wasted_gb_s"] < runs["ttl60"]["wasted_gb_s"] < runs["ttl600"]["wasted_gb_s"]
    assert runs["hybrid"]["prewarm_pods"] > 0


def test_histogram_prewarm_on_top_of_ttl_and_predictive_pools():
    base = run_platform(RandomRequests(requests=8000)).summary()
    pre = run_platform(RandomRequests(requests=8000), prewarm="histogram").summary()
    assert pre["prewarm_pods"] > 0 and pre["cold_start_rate"] < base["cold_start_rate"]
    static = run_platform(RandomRequests(requests=8000, hours=1), pool=("static", {"reserved": 1})).summary()
    predictive = run_platform(RandomRequests(requests=8000, hours=1), pool=("predictive", {})).summary()
    assert predictive["stage_pool_share"] > static["stage_pool_share"]
