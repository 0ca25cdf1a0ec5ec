"""The paper-package template works: three policy slots and a workload, run from YAML with
per-slot overrides and a sweep, against the M/M/1 closed form.

The template is skipped by discovery, so the test imports it into a throw-away registry.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from sim import experiment, registry
from sim.errors import ConfigError
from sim.runner import run_experiment
from sim.sweep import run_sweep

ROOT = Path(__file__).resolve().parents[2]
SWEEP = ROOT / "experiments" / "_template" / "dispatch_sweep.yaml"


@pytest.fixture
def template(monkeypatch):
    registry.discover()
    monkeypatch.setattr(registry, "_MODELS", dict(registry._MODELS))
    monkeypatch.setattr(registry, "_POLICIES", dict(registry._POLICIES))
    for name in ("policies", "model", "figures", "claims"):
        importlib.reload(importlib.import_module(f"sim_models._template.{name}"))
    return registry.get_model("template.dispatch")


def test_template_is_not_discovered():
    import subprocess
    import sys

    code = (
        "from sim import registry; registry.discover(); "
        "print(sorted(registry._MODELS)); print(sorted(registry.failures()))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    models, failures = out.stdout.strip().splitlines()
    assert "queueing.mmc" in models and "template." not in models
    assert failures == "[]"


def test_three_slots_with_defaults_and_per_slot_overrides(template):
    exp = experiment.load(
        SWEEP,
        [
            "policies.dispatch=shortest_queue",
            "policies.admission.name=queue_limit",
            "policies.admission.params.max_queue=3",
            "params.max_jobs=2000",
            "workload.params.count=2000",
        ],
    )
    resolved = exp.resolved()["policies"]
    assert resolved["dispatch"]["name"] == "shortest_queue"
    assert resolved["admission"] == {"name": "queue_limit", "params": {"max_queue": 3}}
    assert resolved["order"]["name"] == "fifo"
    result = run_experiment(exp, None)
    assert result.summary["response_s.count"] > 0


def test_slot_errors_name_the_key(template):
    with pytest.raises(ConfigError, match="no policy slot 'dispach'.*did you mean 'dispatch'"):
        experiment.load(SWEEP, ["policies.dispach=random"])
    with pytest.raises(ConfigError, match="unknown template.dispatch policy 'randon'") as exc:
        experiment.load(SWEEP, ["policies.dispatch=randon"])
    assert exc.value.where.startswith("--set policies.dispatch=randon")
    with pytest.raises(ConfigError, match="several policy slots"):
        experiment.load(SWEEP, ["policy=random"])


def test_sweep_over_a_slot_matches_mm1(template, tmp_path):
    res = run_sweep(SWEEP, tmp_path, workers=1)
    assert set(res.table["policies.dispatch"]) == {"round_robin", "shortest_queue", "random"}
    assert (res.table["status"] == "ok").all()
    by = res.table.groupby("policies.dispatch")["response_s.mean"].mean()
    # random dispatch: each server is an M/M/1 at load 0.5, mean response 2 s
    assert by["random"] == pytest.approx(2.0, rel=0.1)
    # joining the shortest queue beats random dispatch
    assert by["shortest_queue"] < by["random"]
    assert (tmp_path / "response_by_dispatch.png").exists()


def test_trace_workload_drives_the_template(template, tmp_path):
    trace = tmp_path / "jobs.csv"
    trace.write_text("t,service_s\n0,1\n0.5,1\n0.5,2\n4,1\n")
    exp = experiment.from_dict(
        {
            "name": "t",
            "model": "template.dispatch",
            "params": {"servers": 1},
            "workload": {"name": "trace", "params": {"path": str(trace), "time_column": "t",
                                                      "columns": ["service_s"]}},
            "policies": {"order": "smallest_first"},
        }
    )  # fmt: skip
    result = run_experiment(exp, tmp_path / "out")
    jobs = result.tables.get("template.dispatch.jobs")
    import pandas as pd

    jobs = pd.read_parquet(tmp_path / "out" / "template.dispatch.jobs.parquet")
    # one server: 0->1, then the 1 s job (arrived 0.5) before the 2 s one, then 4->5
    assert list(jobs["end_s"]) == [1.0, 2.0, 4.0, 5.0]
    assert result.summary["response_s.max"] == pytest.approx(3.5)
