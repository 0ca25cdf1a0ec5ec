"""Workloads: Poisson arrivals and trace replay through the Workload interface, consumed by
queueing.mmc, and the ArrivalFeed that plays batches into SimPy."""

from __future__ import annotations

import numpy as np
import pytest
import simpy

from sim import experiment
from sim.core import Simulation
from sim.errors import ConfigError, DataError
from sim.runner import run_experiment
from sim.workload import ArrivalFeed, Arrivals
from sim.workloads import PoissonArrivals, TraceReplay


def bound(workload, seed=1, experiment_dir=None):
    from sim.model import RunContext

    sim = Simulation(seed)
    ctx = RunContext(experiment_dir=experiment_dir) if experiment_dir else None
    workload.bind(sim.scope("test.workload"), ctx)
    return workload


def test_poisson_count_rate_and_batches():
    w = bound(PoissonArrivals(PoissonArrivals.Params(rate_per_s=4.0, count=100_000, batch=4096)))
    batches = list(w.batches())
    assert max(len(b) for b in batches) == 4096
    t = np.concatenate([b.time_s for b in batches])
    assert t.size == 100_000 and np.all(np.diff(t) >= 0)
    assert np.mean(np.diff(t)) == pytest.approx(0.25, rel=0.02)


def test_poisson_until_and_service_column():
    p = PoissonArrivals.Params(rate_per_s=10.0, until_s=50.0, service_mean_s=2.0)
    t = np.concatenate([b.time_s for b in bound(PoissonArrivals(p)).batches()])
    assert t.max() <= 50.0 and t.size == pytest.approx(500, rel=0.2)
    b = next(bound(PoissonArrivals(p)).batches())
    assert b.columns["service_s"].mean() == pytest.approx(2.0, rel=0.2)
    with pytest.raises(ValueError, match="count or until_s"):
        PoissonArrivals.Params(rate_per_s=1.0)


def test_arrival_feed_plays_in_order():
    env = simpy.Environment()
    seen = []
    batches = [Arrivals([0.5, 1.0]), Arrivals([1.0, 3.0], {"x": np.array([7, 8])})]
    ArrivalFeed(env, iter(batches), lambda b, i: seen.append((env.now, b.time_s[i])))
    env.run()
    assert seen == [(0.5, 0.5), (1.0, 1.0), (1.0, 1.0), (3.0, 3.0)]


def test_trace_replay_resolves_path_and_counts_skips(tmp_path):
    (tmp_path / "t.csv").write_text("when,service_s\n1,2\nbad,1\n3,1\n")
    w = TraceReplay(TraceReplay.Params(path="t.csv", time_column="when", time_scale=2.0,
                                       columns=["service_s"], lenient=True))  # fmt: skip
    bound(w, experiment_dir=tmp_path)
    (b,) = list(w.batches())
    assert list(b.time_s) == [2.0, 6.0] and list(b.columns["service_s"]) == [2.0, 1.0]
    assert w.skipped_rows == 1


MMC = {
    "name": "q",
    "model": "queueing.mmc",
    "params": {"servers": 1, "arrival_rate": 0.5, "customers": 10, "warmup_fraction": 0.0},
}


def test_mmc_replays_a_trace_exactly(tmp_path):
    (tmp_path / "arrivals.csv").write_text("time_s,service_s\n0,2\n1,2\n1.5,1\n10,1\n")
    exp = experiment.from_dict(
        {**MMC, "workload": {"name": "trace", "params": {"path": "arrivals.csv",
                                                          "columns": ["service_s"]}}},
        experiment_dir=tmp_path,
    )  # fmt: skip
    res = run_experiment(exp, None)
    # FIFO, one server: waits 0, 1, 2.5, 0
    assert res.summary["wait_s.count"] == 4
    assert res.summary["wait_s.mean"] == pytest.approx((0 + 1 + 2.5 + 0) / 4)
    assert res.summary["wait_s.max"] == pytest.approx(2.5)
    assert "wait_s.mean.theory" not in res.summary  # no closed form for a trace


def test_mmc_with_poisson_workload_matches_erlang_c():
    exp = experiment.from_dict(
        {**MMC, "params": {**MMC["params"], "customers": 200_000, "warmup_fraction": 0.05},
         "workload": {"name": "poisson", "params": {"rate_per_s": 0.5, "count": 200_000}}}
    )  # fmt: skip
    s = run_experiment(exp, None).summary
    assert s["wait_s.mean"] == pytest.approx(1.0, rel=0.08)  # M/M/1 at 0.5: W = 1 s


def test_bad_trace_row_is_a_user_error(tmp_path):
    (tmp_path / "a.csv").write_text("time_s\n0\n-3\n")
    exp = experiment.from_dict(
        {**MMC, "workload": {"name": "trace", "params": {"path": "a.csv"}}},
        experiment_dir=tmp_path,
    )
    with pytest.raises(DataError) as exc:
        run_experiment(exp, None)
    assert exc.value.where == f"{tmp_path / 'a.csv'}:3"


def test_workload_params_are_checked():
    with pytest.raises(ConfigError, match="workload.params.rate_per_s"):
        experiment.from_dict({**MMC, "workload": {"name": "poisson",
                                                  "params": {"rate_per_s": -1, "count": 3}}})  # fmt: skip
