"""The registered ``collective`` model: params, validation, summary, experiment files."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
import yaml
from pydantic import ValidationError
from sim_models.hw.collective_model import CollectiveModel, busbw_figure, fat_tree_k
from sim_models.hw.collectives import closed_form

from sim.core import Simulation

ROOT = Path(__file__).resolve().parents[2]


def run_model(**params):
    m = CollectiveModel(CollectiveModel.Params(**params))
    s = Simulation(1)
    m.build(s)
    s.run()
    return m, m.summary()


def test_registered_name_and_alias():
    from sim.registry import get_model

    assert CollectiveModel.name == "hw.collective"
    assert get_model("collective") is CollectiveModel


def test_ring_on_ring_matches_closed_form():
    p, N, B_GBps, a = 8, 64e6, 12.5, 1e-6
    m, out = run_model(ranks=p, message_bytes=N, link_bandwidth_GBps=B_GBps, link_latency_s=a)
    ref = closed_form.ring_allreduce_time(p, N, B_GBps * 1e9, a)
    assert out["time_s"] == pytest.approx(ref, rel=1e-6)
    assert out["algbw_GBps"] == pytest.approx(N / ref / 1e9, rel=1e-6)
    assert out["busbw_GBps"] == pytest.approx(N / ref / 1e9 * 2 * (p - 1) / p, rel=1e-6)
    assert len(m.tables()["steps"]) == 2 * (p - 1)


def test_halving_doubling_on_switch_matches_closed_form():
    p, N, a = 16, 128e6, 2e-6
    _, out = run_model(
        ranks=p,
        message_bytes=N,
        algorithm="halving_doubling",
        topology="switch",
        link_bandwidth_GBps=25,
        link_latency_s=a,
    )
    ref = closed_form.halving_doubling_allreduce_time(p, N, 25e9, 2 * a)  # 2 hops per path
    assert out["time_s"] == pytest.approx(ref, rel=1e-6)


@pytest.mark.parametrize("collective", ["reduce_scatter", "all_gather"])
def test_ring_rs_ag_busbw_near_link_bandwidth(collective):
    _, out = run_model(collective=collective, ranks=8, message_bytes=1e9, topology="switch")
    assert out["busbw_GBps"] == pytest.approx(12.5, rel=0.01)


@pytest.mark.parametrize(
    "params",
    [
        dict(topology="leaf_spine", algorithm="hierarchical", ranks=16, gpus_per_node=4),
        dict(topology="fat_tree", algorithm="ring", ranks=32),
        dict(topology="fully_connected", algorithm="direct", ranks=8),
        dict(topology="switch", algorithm="tree", ranks=8, chunks=4),
        dict(topology="ring", algorithm="halving_doubling", ranks=8),
    ],
)
def test_every_topology_runs_and_is_bounded_by_link_bandwidth(params):
    _, out = run_model(message_bytes=64e6, **params)
    assert set(out) >= {"time_s", "algbw_GBps", "busbw_GBps"}
    assert out["time_s"] > 0
    # no algorithm beats the per-rank injection bandwidth except on fully connected
    if params["topology"] != "fully_connected":
        assert out["busbw_GBps"] <= 12.5 * (1 + 1e-9)
    assert 0 < out["link_utilization.max"] <= 1 + 1e-9


def test_fat_tree_k():
    assert fat_tree_k(16) == 4
    assert fat_tree_k(17) == 6
    assert fat_tree_k(1024) == 16


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(algorithm="halving_doubling", ranks=6, collective="all_gather"), "power-of-two"),
        (dict(algorithm="tree", collective="all_gather"), "allreduce only"),
        (dict(algorithm="hierarchical", ranks=10, gpus_per_node=4), "multiple of gpus_per_node"),
        (dict(topology="leaf_spine", ranks=12, gpus_per_node=8), "multiple of gpus_per_node"),
        (dict(topology="fully_connected", ranks=1024), "at most"),
        (dict(algorithm="ring", topology="torus"), "topology"),
        (dict(ranks=1), "ranks"),
    ],
)
def test_invalid_params_raise_clear_errors(params, message):
    with pytest.raises(ValidationError, match=message):
        CollectiveModel.Params(**params)


def test_summary_before_run_is_nan():
    m = CollectiveModel()
    assert math.isnan(m.summary()["time_s"])


def test_experiment_files_are_valid():
    one = yaml.safe_load((ROOT / "experiments/hw/allreduce.yaml").read_text())
    assert one["model"] == "hw.collective"
    CollectiveModel.Params(**one["params"])
    sweep = yaml.safe_load((ROOT / "experiments/hw/allreduce_sweep.yaml").read_text())
    assert set(sweep["sweep"]) == {"params.message_bytes", "params.topology"}
    for topo_name in sweep["sweep"]["params.topology"]:
        CollectiveModel.Params(**{**sweep["params"], "topology": topo_name})


def test_busbw_figure(tmp_path):
    df = pd.DataFrame(
        {
            "params.message_bytes": [1e3, 1e6, 1e9] * 2,
            "params.topology": ["ring"] * 3 + ["leaf_spine"] * 3,
            "busbw_GBps": [0.1, 5.0, 12.4, 0.05, 4.0, 12.3],
        }
    )
    out = busbw_figure(df, tmp_path / "busbw.png")
    assert out is not None and out.exists() and out.stat().st_size > 1000
    assert busbw_figure(pd.DataFrame({"x": [1]}), tmp_path / "none.png") is None


# -- GPU clusters ----------------------------------------------------------------------------
A100 = dict(topology="multi_rail", gpus_per_node=8, gpus_per_nic=2, link_bandwidth_GBps=25,
            nvlink_bandwidth_GBps=300, spines=1, link_latency_s=0, intra_latency_s=0)  # fmt: skip


def test_one_node_ring_runs_at_nvlink_bandwidth():
    _, out = run_model(ranks=8, message_bytes=2**30, **A100)
    assert out["busbw_GBps"] == pytest.approx(300, rel=1e-6)


def test_two_nodes_ring_is_bounded_by_the_nics_of_a_node():
    # four 25 GB/s NICs per node; four channels cross each node through different NICs
    _, one = run_model(ranks=16, message_bytes=2**30, channels=1, **A100)
    _, four = run_model(ranks=16, message_bytes=2**30, channels=4, **A100)
    assert one["busbw_GBps"] == pytest.approx(25, rel=0.01)
    assert four["busbw_GBps"] == pytest.approx(100, rel=0.01)


def test_dual_tor_with_routing_slot_and_both_executors():
    from sim_models.hw.routing_policies import ECMPRouting

    base = dict(topology="dual_tor", ranks=16, gpus_per_node=8, link_bandwidth_GBps=25,
                message_bytes=2**26, spines=2)  # fmt: skip
    results = []
    for executor in ("step", "rank"):
        m = CollectiveModel(CollectiveModel.Params(executor=executor, **base),
                            policies={"routing": ECMPRouting()})  # fmt: skip
        s = Simulation(3)
        m.build(s)
        s.run()
        results.append(m.summary())
    assert results[0]["time_s"] > 0 and results[1]["time_s"] <= results[0]["time_s"] * (1 + 1e-9)
    # a dual-ToR NIC has two 25 GB/s ports: one channel can exceed one port's rate
    assert results[0]["busbw_GBps"] > 25 * 0.5


def test_auto_picks_tree_for_small_and_ring_for_large_messages():
    small, s_out = run_model(ranks=8, message_bytes=8, algorithm="auto", protocol="auto", **A100)
    large, l_out = run_model(ranks=8, message_bytes=2**30, algorithm="auto", protocol="auto",
                             **A100)  # fmt: skip
    assert (small.algorithm, small.costs.wire_factor) == ("tree", 2.0)  # LL: half the wire
    assert large.algorithm == "ring" and large.costs.wire_factor == 1.0  # Simple
    # latency floor: tree LL base 6.8 us + 6 NVLink hops of 0.6 us (NCCL tuning constants)
    assert s_out["time_s"] == pytest.approx(6.8e-6 + 6 * 0.6e-6, rel=1e-3)
