"""The paper's metrics: percentile bands, DVR/DSR against a reference, and the artifact's
user-substring matching (reported aside, never used for the claims)."""

import numpy as np
import pandas as pd
import pytest
from sim_models.spark.metrics import authors_matching, fairness, job_metrics, rt_bands


def test_bands_follow_the_artifacts_cuts():
    rt = np.arange(1, 21, dtype=float)  # n = 20: 16 shortest, then 3, then 1; worst 2
    b = rt_bands(rt)
    assert b["rt_s.mean"] == 10.5
    assert b["small_rt_s.mean"] == pytest.approx(np.mean(rt[:16]))
    assert b["rt_80_95_s.mean"] == pytest.approx(np.mean(rt[16:19]))
    assert b["rt_95_100_s.mean"] == 20.0
    assert b["worst10_rt_s.mean"] == 19.5


def frame(ends, submits=None, users=None, keys=None):
    n = len(ends)
    submits = submits or [0.0] * n
    return pd.DataFrame({
        "key": keys or [f"k{i}" for i in range(n)], "user": users or ["u"] * n,
        "job_class": ["c"] * n, "submit_s": submits, "end_s": ends,
        "rt_s": np.subtract(ends, submits),
    })  # fmt: skip


def test_dvr_and_dsr_against_a_reference():
    ref = frame([2.0, 4.0, 8.0])
    run = frame([3.0, 4.0, 4.0])  # +1/2 late, on time, -4/8 early
    f = fairness(run, ref)
    assert f["dvr"] == pytest.approx(0.5) and f["dvr_count"] == 1
    assert f["dsr"] == pytest.approx(np.mean([0.0, -0.5])) and f["dsr_count"] == 2
    # offsets from each run's first submission: a uniformly shifted run is not late
    shifted = frame([12.0, 14.0, 18.0], submits=[10.0] * 3)
    assert fairness(shifted, ref)["dvr_count"] == 0


def test_substring_matching_duplicates_like_the_artifact():
    users = [f"user_{i}" for i in range(1, 13)]
    keys = [f"user:{u};workload:loop_custom_{i}_0;" for i, u in enumerate(users)]
    jobs = frame(list(range(1, 13)), users=users, keys=keys)
    dup = authors_matching(jobs, users)
    # user_1 also collects user_10, user_11, user_12: 12 + 3 entries
    assert dup.size == 15
    m = job_metrics(jobs, users=users)
    assert m["jobs.authors_matching"] == 15
    assert m["rt_s.mean"] == pytest.approx(6.5)
    assert m["rt_s.mean.authors_matching"] == pytest.approx((78 + 10 + 11 + 12) / 15)


def test_slowdown_uses_isolated_runtimes():
    jobs = frame([2.0, 4.0])
    jobs["job_class"] = ["a", "b"]
    m = job_metrics(jobs, {"a": 1.0, "b": 2.0})
    assert m["slowdown.mean"] == pytest.approx(2.0)


def test_sweep_fairness_uses_the_first_ujf_run(tmp_path):
    from sim_models.spark.metrics import sweep_fairness

    def write(run_id, ends):
        d = tmp_path / "runs" / run_id
        d.mkdir(parents=True)
        frame(ends).to_parquet(d / "spark.cluster.jobs.parquet")

    write("u0", [2.0, 4.0])  # UJF, replication 0: the reference
    write("u1", [9.0, 9.0])  # UJF, replication 1: not the reference
    write("w0", [3.0, 4.0])  # UWFQ: job 0 is 50% late
    write("p0", [2.0, 2.0])  # UWFQ-P: no UJF-P run, no reference
    table = pd.DataFrame({
        "run_id": ["u0", "u1", "w0", "p0"], "replication": [0, 1, 0, 0],
        "policies.scheduler": ["ujf", "ujf", "uwfq", "uwfq_p"], "status": ["ok"] * 4,
    })  # fmt: skip
    f = sweep_fairness(table, tmp_path).set_index("run_id")
    assert f.loc["w0", "dvr"] == pytest.approx(0.5) and f.loc["w0", "dvr_count"] == 1
    assert f.loc["u0", "dvr_count"] == 0
    assert np.isnan(f.loc["p0", "dvr"])
