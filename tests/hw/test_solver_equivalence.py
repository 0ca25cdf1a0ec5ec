"""The incremental solver equals the full re-solve on every shipped network scenario.

Each experiment file of ``experiments/hw/`` and ``experiments/nccl/`` runs twice: once as
shipped (incremental max-min, compiled kernel) and once with a flow network that re-solves
every active flow at every change; every metric must agree to 1e-9 relative.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from sim_models.hw import collective_model, flows_model
from sim_models.hw.flownet import FlowNetwork

from sim import experiment as experiment_mod
from sim.core import Simulation

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted((ROOT / "experiments" / "hw").glob("*.yaml")) + [
    ROOT / "experiments" / "nccl" / n for n in ("a100_2node.yaml", "latency_2gpu.yaml")
]


def _summary(path: Path, monkeypatch, incremental: bool) -> dict[str, float]:
    full = functools.partial(FlowNetwork, incremental=incremental)
    monkeypatch.setattr(flows_model, "FlowNetwork", full)
    monkeypatch.setattr(collective_model, "FlowNetwork", full)
    data = yaml.safe_load(path.read_text())
    overrides = []
    for key, values in (data.get("sweep") or {}).items():
        overrides.append(f"{key}={values[len(values) // 2]}")  # one point of each sweep
    data.pop("sweep", None)
    exp = experiment_mod.from_dict(
        data, source=str(path), experiment_dir=path.parent, overrides=overrides
    )
    model = exp.build_model(quick=True, seed=1)
    sim = Simulation(1)
    model.build(sim)
    sim.run()
    return model.summary()


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_incremental_equals_full_on_shipped_scenarios(path, monkeypatch):
    inc = _summary(path, monkeypatch, True)
    full = _summary(path, monkeypatch, False)
    assert inc.keys() == full.keys()
    for k, v in inc.items():
        w = full[k]
        if isinstance(v, float) and math.isnan(v):
            assert math.isnan(w), k
        else:
            np.testing.assert_allclose(v, w, rtol=1e-9, err_msg=k)


def test_benchmark_workload_incremental_equals_full():
    from sim_bench.bench_network import poisson_flows

    inc = poisson_flows(4, 400, 0.4)
    full = poisson_flows(4, 400, 0.4, incremental=False)
    assert not np.isnan(inc["fct_s"]).any() and inc["inflight"] > 1
    np.testing.assert_allclose(inc["fct_s"], full["fct_s"], rtol=1e-9)
