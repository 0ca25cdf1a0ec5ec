"""The registered model c4.allreduce: busbw over draws, port balance, a link failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim import experiment
from sim.errors import ConfigError
from sim.runner import run_experiment

ROOT = Path(__file__).resolve().parents[2]
FILE = ROOT / "experiments" / "c4" / "busbw_scale.yaml"


def _run(*overrides, out=None):
    exp = experiment.load(FILE, list(overrides), quick=True)
    return run_experiment(exp, out)


def test_ecmp_halves_busbw_and_c4p_keeps_line_rate():
    ecmp = _run("params.gpus=64", "policies.routing=ecmp", "params.draws=3").summary
    c4p = _run("params.gpus=64", "policies.routing=c4p", "params.draws=3").summary
    ideal = _run("params.gpus=64", "policies.routing=ideal", "params.draws=3").summary
    assert ecmp["line_rate_GBps"] == pytest.approx(50.0)
    # 2 QPs per connection: some connection has both on one port in practically every draw
    assert ecmp["busbw_GBps.mean"] == pytest.approx(25.0, rel=0.01)
    assert c4p["busbw_GBps.mean"] == pytest.approx(50.0, rel=0.01)
    assert ideal["busbw_GBps.mean"] >= c4p["busbw_GBps.mean"]
    assert c4p["port_imbalance.mean"] == 0.0 and ecmp["port_imbalance.mean"] > 0.1


def test_more_qps_let_ecmp_vary_between_draws():
    s = _run("params.gpus=16", "policies.routing=ecmp", "params.draws=20", "params.qps=8").summary
    assert s["busbw_GBps.max"] > s["busbw_GBps.min"]
    assert s["busbw_GBps.min"] >= 25.0 * 0.99 and s["busbw_GBps.max"] <= 50.0


@pytest.mark.parametrize("routing", ["ecmp", "c4p_static", "c4p"])
def test_link_failure_mode(routing, tmp_path):
    res = _run("params.gpus=128", "params.placement=scattered", "params.cluster_nodes=32",
               "params.mode=failure", "params.ops=6", "params.fail_after_op=2",
               "params.repair_after_op=4", f"policies.routing={routing}",
               out=tmp_path)  # fmt: skip
    s = res.summary
    assert {"busbw_before_GBps", "busbw_after_GBps", "busbw_repaired_GBps"} <= set(s)
    assert (tmp_path / "failure_timeline.png").exists()
    if routing == "c4p":
        assert s["busbw_after_GBps"] >= 0.99 * s["busbw_before_GBps"] - 25.0
        assert s["busbw_repaired_GBps"] == pytest.approx(s["busbw_before_GBps"])


def test_bad_params_name_the_key():
    with pytest.raises(ConfigError, match="multiple of 8"):
        _run("params.gpus=20")
    with pytest.raises(ConfigError, match="fail_after_op"):
        _run("params.mode=failure", "params.ops=3", "params.fail_after_op=5")
    with pytest.raises(ConfigError, match="cluster_nodes"):
        _run("params.gpus=64", "params.cluster_nodes=4")
