"""The nccl validation package: claims registered, experiment files valid and small, and the
simulated points follow from the hardware and protocol model."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sim_models.hw.collective_model import CollectiveModel

from sim.core import Simulation

ROOT = Path(__file__).resolve().parents[2]
EXP = ROOT / "experiments" / "nccl"


def _run(name: str, **override):
    params = {**yaml.safe_load((EXP / f"{name}.yaml").read_text())["params"], **override}
    m = CollectiveModel(CollectiveModel.Params(**params))
    s = Simulation(1)
    m.build(s)
    s.run()
    return m, m.summary()


def test_paper_and_claims_registered():
    from sim.reproduce import get_paper

    paper = get_paper("nccl")
    ids = {c.id for c in paper.claims}
    assert "nccl.a100_2x8_4nic.busbw_4GiB" in ids and "nccl.latency_2gpu_8B_us" in ids
    for claim in paper.claims:
        assert claim.published and claim.source and (EXP / f"{claim.experiment}.yaml").exists()


def test_two_node_a100_cluster_fits_in_under_30_lines():
    text = (EXP / "a100_2node.yaml").read_text()
    assert len(text.splitlines()) < 30


def test_two_node_a100_plateau_is_four_nics():
    m, out = _run("a100_2node", message_bytes=2**32)
    assert m.algorithm == "ring" and m.costs.wire_factor == 1.0
    assert 95 < out["busbw_GBps"] <= 100.0 + 1e-9  # 4 x 25 GB/s less the fixed costs


def test_latency_floor_is_the_protocol_model():
    m, out = _run("latency_2gpu")
    # ring, LL: base 6.6 us + 2 steps x 2.7 us per network hop (NCCL tuning constants)
    assert (m.algorithm, m.costs.wire_factor) == ("ring", 2.0)
    assert out["time_s"] == pytest.approx(6.6e-6 + 2 * 2.7e-6, rel=1e-3)  # + 16 B on the wire


def test_channels_saturate_at_the_nics():
    got = [_run("channels", channels=c)[1]["busbw_GBps"] for c in (1, 4)]
    # Simple protocol: 30 steps x 14 us of fixed cost on a 20 ms transfer (about 2%)
    assert got[0] == pytest.approx(25, rel=0.03) and got[1] == pytest.approx(100, rel=0.03)
