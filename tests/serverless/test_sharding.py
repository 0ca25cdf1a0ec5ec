"""Sharding a replay by function across the sweep backends gives the results of one run
(the process pool always; Dask's local cluster in the slow suite)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sim_models.serverless.shards import ADDITIVE, combine_shards

from sim import experiment
from sim.runner import run_experiment
from sim.sweep import run_sweep

ROOT = Path(__file__).resolve().parents[2]
FILE = ROOT / "experiments" / "coldstart" / "sharded_replay.yaml"
WINDOW = ["workload.params.start_day=0", "workload.params.start_hour=8", "workload.params.hours=1"]


def _one_run() -> dict[str, float]:
    exp = experiment.load(FILE, [*WINDOW, "params.shards=1", "params.shard=0"])
    exp.config.sweep = {}
    return run_experiment(exp, None).summary


def _check(combined: dict[str, float], single: dict[str, float]) -> None:
    assert combined["shards"] == 4
    for key in ADDITIVE:
        assert combined[key] == pytest.approx(single[key], rel=1e-9, abs=1e-9), key
    assert combined["cold_start_rate"] == pytest.approx(single["cold_start_rate"], rel=1e-12)
    assert combined["added_latency_s.mean"] == pytest.approx(single["added_latency_s.mean"], rel=1e-9)


def test_shards_on_the_process_pool_add_up_to_one_run(tmp_path):
    res = run_sweep(FILE, tmp_path, WINDOW, workers=2)
    assert (res.table["status"] == "ok").all()
    _check(combine_shards(res.table), _one_run())


@pytest.mark.slow
def test_shards_on_dask_add_up_to_one_run(tmp_path):
    res = run_sweep(FILE, tmp_path, WINDOW, workers=2, dask="local")
    assert (res.table["status"] == "ok").all()
    _check(combine_shards(res.table), _one_run())
