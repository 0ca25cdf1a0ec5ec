"""Runs and sweeps: results folder, determinism, worker-count independence, resume, failures,
the Dask backend on a real LocalCluster."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from sim.sweep import run_sweep

EXP = """\
name: t
model: queueing.mmc
seed: 11
replications: {reps}
params:
  servers: 2
  arrival_rate: 1.0
  customers: 3000
sweep:
  params.arrival_rate: [0.5, 1.0, 1.5]
"""


@pytest.fixture
def exp_file(tmp_path):
    def make(reps: int = 2, extra: str = ""):
        p = tmp_path / "sweep.yaml"
        p.write_text(EXP.format(reps=reps) + extra)
        return p

    return make


def test_run_writes_the_results_folder(cli, root, tmp_path):
    out = tmp_path / "out"
    code, stdout, _ = cli("run", root / "experiments/quickstart/mmc.yaml", "--quick",
                          "--out", out, "--trace")  # fmt: skip
    assert code == 0 and "wait_s.mean" in stdout
    for name in ("config.yaml", "manifest.json", "summary.json", "customers.parquet"):
        assert (out / name).exists(), name
    manifest = json.loads((out / "manifest.json").read_text())
    for key in ("package_version", "seed", "wall_time_s", "simulated_time_s", "event_count",
                "python_version", "simpy_version", "git_sha"):  # fmt: skip
        assert key in manifest
    assert manifest["event_count"] > 0
    assert not list(out.glob(".*.tmp")), "temporary files left behind"


def test_same_seed_same_summary(cli, root, tmp_path):
    exp = root / "experiments/quickstart/mmc.yaml"
    for name in ("a", "b"):
        assert cli("run", exp, "--quick", "--out", tmp_path / name)[0] == 0
    a = (tmp_path / "a" / "summary.json").read_text()
    b = (tmp_path / "b" / "summary.json").read_text()
    assert a == b
    assert cli("run", exp, "--quick", "--seed", "99", "--out", tmp_path / "c")[0] == 0
    assert (tmp_path / "c" / "summary.json").read_text() != a


def test_replications_give_mean_and_ci(cli, exp_file, tmp_path):
    p = exp_file(reps=3)
    assert cli("run", p, "--out", tmp_path / "r")[0] == 0
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["replications"] == 3 and "wait_s.mean.ci95" in summary
    per_rep = pd.read_parquet(tmp_path / "r" / "replications.parquet")
    assert len(per_rep) == 3 and per_rep["wait_s.mean"].nunique() == 3


def _metrics(table: pd.DataFrame) -> pd.DataFrame:
    drop = [c for c in table.columns if c == "wall_time_s"]
    return table.drop(columns=drop).reset_index(drop=True)


def test_sweep_identical_with_one_and_two_workers(exp_file, tmp_path):
    p = exp_file()
    one = run_sweep(p, tmp_path / "w1", workers=1)
    two = run_sweep(p, tmp_path / "w2", workers=2)
    assert len(one.table) == 6 and one.failed == 0
    pd.testing.assert_frame_equal(_metrics(one.table), _metrics(two.table))


def test_sweep_point_matches_single_run(exp_file, tmp_path, cli):
    p = exp_file(reps=1)
    res = run_sweep(p, tmp_path / "s", workers=1)
    code, _, _ = cli("run", p, "--set", "params.arrival_rate=1.0", "--out", tmp_path / "one")
    single = json.loads((tmp_path / "one" / "summary.json").read_text())
    row = res.table[res.table["params.arrival_rate"] == 1.0].iloc[0]
    assert row["wait_s.mean"] == pytest.approx(single["wait_s.mean"], rel=0, abs=0)


def test_sweep_resumes_after_interruption(exp_file, tmp_path):
    p = exp_file()
    out = tmp_path / "r"

    def interrupt(done, total):
        if done >= 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(p, out, workers=1, progress=interrupt)
    finished = list(out.glob("runs/*/summary.json"))
    assert len(finished) == 3
    mtimes = {f: f.stat().st_mtime_ns for f in finished}
    again = run_sweep(p, out, workers=1)
    assert again.skipped == 3 and again.ran == 3 and len(again.table) == 6
    assert all(f.stat().st_mtime_ns == t for f, t in mtimes.items()), "finished runs redone"
    third = run_sweep(p, out, workers=1)
    assert third.ran == 0 and third.skipped == 6
    pd.testing.assert_frame_equal(_metrics(again.table), _metrics(third.table))


def test_failing_run_is_recorded_and_sweep_continues(exp_file, tmp_path, cli):
    p = exp_file(reps=1)
    text = p.read_text().replace("[0.5, 1.0, 1.5]", "[0.5, 5.0, 1.5]")
    p.write_text(text)
    res = run_sweep(p, tmp_path / "f", workers=1)
    assert list(res.table["status"]) == ["ok", "failed", "ok"]
    assert "unstable" in res.table.loc[1, "error"]
    code, _, err = cli("sweep", p, "--out", tmp_path / "f2", "--workers", "1")
    assert code == 1 and "unstable" in err


def test_sweep_on_dask_local_cluster_matches_local(exp_file, tmp_path):
    pytest.importorskip("dask.distributed")
    p = exp_file(reps=1)
    local = run_sweep(p, tmp_path / "local", workers=1)
    dask = run_sweep(p, tmp_path / "dask", workers=2, dask="local")
    pd.testing.assert_frame_equal(_metrics(local.table), _metrics(dask.table))


def test_sweep_cli_draws_figure(cli, root, tmp_path):
    code, out, _ = cli("sweep", root / "experiments/quickstart/mmc_sweep.yaml", "--quick",
                       "--workers", "2", "--out", tmp_path / "s")  # fmt: skip
    assert code == 0
    assert (tmp_path / "s" / "wait_vs_utilization.png").exists()
    table = pd.read_parquet(tmp_path / "s" / "sweep.parquet")
    assert len(table) == 18 and (table["status"] == "ok").all()


def test_interrupted_parallel_sweep_stops_quickly_and_resumes(exp_file, tmp_path):

    p = exp_file(reps=4)
    out = tmp_path / "par"

    def interrupt(done, total):
        if done >= 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(p, out, workers=2, progress=interrupt)
    again = run_sweep(p, out, workers=2)
    assert again.skipped >= 1 and again.skipped + again.ran == 12
    assert (again.table["status"] == "ok").all()
