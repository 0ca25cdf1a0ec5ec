"""The shared pod life cycle: keep-alive, concurrency, pre-warm, routing, and the property
the lean replay relies on: settling lazily (only when the next request comes) gives the
same pods as settling at every event time."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sim_models.serverless.lifecycle import FunctionPods, Pod


def _drive(arrivals, execs, colds, keep, concurrency=1, eager=False, prewarm=None):
    """Run one function's requests through FunctionPods; return its pods' records."""
    pods: list[Pod] = []
    cold_iter = iter(colds)

    def rule(_fp, _pod, _t):
        return (keep, prewarm) if prewarm is not None else (keep, None)

    def on_prewarm(fp, t, keep_s):
        pod = Pod(len(pods), 0, t)
        pods.append(pod)
        fp.add_prewarmed(pod, t, keep_s, next(cold_iter))

    fp = FunctionPods(0, rule, concurrency, "newest", on_prewarm=on_prewarm)
    for t, e in zip(arrivals, execs, strict=True):
        if eager:  # settle at every pending event time before the arrival
            while fp.next_time() <= t:
                fp.settle(fp.next_time())
        pod = fp.acquire(t)
        if pod is None:
            pod = Pod(len(pods), 0, t)
            pods.append(pod)
            fp.add(pod, t, next(cold_iter))
        fp.assign(pod, t, e)
    fp.settle(math.inf)
    return [(p.created_s, p.ready_s, p.served, p.busy_s, p.deleted_s, p.prewarmed) for p in pods]


@pytest.mark.parametrize("concurrency", [1, 3])
@pytest.mark.parametrize("prewarm", [None, 20.0])
def test_lazy_and_eager_settling_give_identical_pods(concurrency, prewarm):
    rng = np.random.default_rng(7)
    n = 3000
    arrivals = np.cumsum(rng.exponential(15.0, n) * rng.choice([0.05, 1, 4], n))
    execs = rng.lognormal(0.0, 1.5, n)
    colds = rng.lognormal(0.0, 1.0, 2 * n)
    lazy = _drive(arrivals, execs, colds, 60.0, concurrency, eager=False, prewarm=prewarm)
    eager = _drive(arrivals, execs, colds, 60.0, concurrency, eager=True, prewarm=prewarm)
    assert lazy == eager
    assert len(lazy) > 50


def test_keepalive_resets_with_each_request_and_deletes_on_time():
    # requests at 0, 50, 100 (1 s each, cold start 2 s); keep-alive 60 s
    pods = _drive([0.0, 50.0, 100.0, 300.0], [1.0] * 4, [2.0, 2.0], 60.0)
    first, second = pods
    assert first[:4] == (0.0, 2.0, 3, 3.0)
    assert first[4] == pytest.approx(101.0 + 60.0)  # idle since the last end at 101
    assert second[0] == 300.0 and second[4] == pytest.approx(303.0 + 60.0)


def test_no_idle_gap_longer_than_keepalive():
    rng = np.random.default_rng(3)
    arrivals = np.cumsum(rng.exponential(40.0, 2000))
    execs = rng.exponential(2.0, 2000)
    colds = rng.exponential(1.0, 2000)
    keep = 60.0
    pods: list[Pod] = []
    gaps: list[float] = []

    def on_end(pod, start, end, tag):
        pass

    fp = FunctionPods(0, lambda *_: (keep, None), 1, "newest")
    last_end: dict[int, float] = {}
    for t, e in zip(arrivals, execs, strict=True):
        pod = fp.acquire(t)
        if pod is None:
            pod = Pod(len(pods), 0, t)
            pods.append(pod)
            fp.add(pod, t, float(colds[len(pods) - 1]))
        elif pod.index in last_end:
            gaps.append(t - last_end[pod.index])
        start = fp.assign(pod, t, float(e))
        last_end[pod.index] = start + float(e)
    assert gaps and max(gaps) < keep
    # each pod was created before (at) its first request and served at least one
    assert all(p.first_request_s >= p.created_s and p.served >= 1 for p in pods)


def test_concurrency_shares_a_pod_and_starting_pods_take_requests():
    fp = FunctionPods(0, lambda *_: (10.0, None), concurrency=2)
    pod = Pod(0, 0, 0.0)
    fp.add(pod, 0.0, None)  # start-up time not known yet (the platform's case)
    assert math.isnan(fp.assign(pod, 0.0, 1.0))
    assert fp.acquire(0.5) is pod  # a starting pod with a free slot takes a request
    fp.assign(pod, 0.5, 1.0)
    assert fp.acquire(0.6) is None  # both slots taken
    fp.ready(pod, 3.0)  # both waiting requests start at readiness
    fp.settle(4.0)
    assert pod.in_flight == 0 and pod.busy_s == pytest.approx(1.0)
    fp.settle(14.0)
    assert pod.deleted_s == pytest.approx(14.0)


def test_prewarm_unloads_and_reloads_and_an_arrival_cancels_it():
    made: list[Pod] = []

    def on_prewarm(fp, t, keep_s):
        pod = Pod(len(made), 0, t)
        made.append(pod)
        fp.add_prewarmed(pod, t, keep_s, 1.0)

    fp = FunctionPods(0, lambda *_: (30.0, 100.0), 1, on_prewarm=on_prewarm)
    pod = Pod(0, 0, 0.0)
    made.append(pod)
    fp.add(pod, 0.0, 1.0)
    fp.assign(pod, 0.0, 1.0)  # ends at 2: unloaded, pre-warm due at 102 for 30 s
    fp.settle(50.0)
    assert pod.deleted_s == 2.0 and len(made) == 1
    assert fp.acquire(120.0) is made[1]  # pre-warmed at 102, ready at 103, kept to 132
    assert made[1].created_s == 102.0 and made[1].prewarmed
    fp.assign(made[1], 120.0, 1.0)  # ends 121: unloaded again, pre-warm due at 221
    assert fp.acquire(150.0) is None  # an arrival before the pre-warm cancels it
    fp.settle(1000.0)
    assert len(made) == 2


def test_routing_random_needs_a_picker_and_bad_settings_fail():
    with pytest.raises(ValueError, match="pick"):
        FunctionPods(0, lambda *_: (1.0, None), routing="random")
    with pytest.raises(ValueError, match="routing"):
        FunctionPods(0, lambda *_: (1.0, None), routing="lifo")
    with pytest.raises(ValueError, match="concurrency"):
        FunctionPods(0, lambda *_: (1.0, None), concurrency=0)
