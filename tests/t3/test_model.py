"""The registered models from experiment files: validation, the grid, its outputs."""

from pathlib import Path

import pandas as pd
import pytest
from sim_models.t3.grid import end_to_end, geomean
from sim_models.t3.model import Grid, run_grid

from sim import experiment
from sim.errors import ConfigError
from sim.runner import run_experiment

ROOT = Path(__file__).resolve().parents[2]
MAIN = ROOT / "experiments" / "t3" / "sublayers.yaml"


def _sub(**params):
    base = {"transformer": "mega-gpt2-8.3b", "sublayer": "op", "tp": 8, "tokens": 1024}
    base.update(params)
    return experiment.from_dict({"name": "t", "model": "t3.sublayer", "params": base})


@pytest.mark.parametrize(
    "params, match",
    [
        ({"transformer": "gpt-4"}, "unknown transformer"),
        ({"configuration": "t4"}, "configuration"),
        ({"tp": 64, "tokens": 128}, "fewer than the 64"),
        ({"configuration": "cu_split", "comm_cus": 80}, "comm_cus"),
        ({"gpu": "h200"}, "unknown GPU"),
        ({"tokens": 10**9}, "tokens"),
        ({"mca_starvation_limit_s": 0}, "mca_starvation_limit_s"),
        ({"timeline_bin_s": 1e-12}, "timeline_bin_s"),
    ],
)
def test_bad_params_name_the_key(params, match):
    with pytest.raises(ConfigError, match=match):
        _sub(**params)


def test_grid_validation():
    with pytest.raises(ConfigError, match="timeline entry"):
        experiment.load(MAIN, ["params.timeline=[t-nlg-17b/8/qkv]", "params.timeline_bin_s=1e-6"])
    with pytest.raises(ConfigError, match="cu_split_cus"):
        experiment.load(MAIN, ["params.cu_split_cus=[0]"])
    with pytest.raises(ConfigError, match="every TP degree"):
        experiment.load(MAIN, ["params.tps=[128]"])


def test_sublayer_model_with_timeline(tmp_path):
    exp = _sub(configuration="t3_mca", timeline_bin_s=2e-6)
    res = run_experiment(exp, tmp_path)
    s = res.summary
    assert s["time_s"] > s["gemm_s"] > 0
    assert s["rs_read_bytes"] > 0 and s["mca_threshold_bursts"] >= 1
    assert (tmp_path / "timeline.parquet").exists() and (tmp_path / "dram_timeline.png").exists()
    tl = pd.read_parquet(tmp_path / "timeline.parquet")
    assert tl["bytes"].sum() == pytest.approx(s["dram_bytes"])


def test_grid_shares_identical_gemms_and_reports_claim_metrics():
    m = run_grid(Grid.Params(transformers=["mega-gpt2-8.3b"], tps=[8], tokens=1024,
                             configurations=["sequential", "ideal_overlap", "ideal_rs_nmc", "t3",
                                             "t3_mca", "ideal_ar_overlap", "cu_split"]))  # fmt: skip
    rows = m.rows()
    assert len(rows) == 4 * 8
    assert m.grid.simulations == 3 * 8  # FC-1 dgrad and FC-2 share one GEMM shape
    s = m.summary()
    for key in ("speedup.t3_mca.geomean", "speedup.ideal_overlap.max", "dram_reduction.t3_mca.geomean",
                "rs_reads_ratio.t3_mca.geomean", "gemm_reads_ratio.t3_mca.geomean",
                "e2e.train.t3_mca.geomean", "e2e.infer.t3_mca.max", "cu_split_8.of_ideal.geomean",
                "ar_slowdown.cu_split_8.geomean", "gemm_slowdown.cu_split_16.geomean"):  # fmt: skip
        assert key in s, key
    # published shape: NMC alone gains little; RS reads (2p-1)/(p-2) = 2.5x fewer at TP 8
    assert 1.0 < s["speedup.ideal_rs_nmc.geomean"] < 1.05
    assert s["rs_reads_ratio.t3_mca.tp8.geomean"] == pytest.approx(2.5, rel=0.02)
    assert s["speedup.t3_mca.geomean"] > 1.1
    assert 0.1 < s["dram_reduction.t3_mca.geomean"] < 0.4
    # the prompt pass has only the forward sub-layers
    e2e = m.e2e()
    assert set(e2e["phase"]) == {"train", "infer"}
    tables = m.tables()
    assert {"sublayers", "e2e", "breakdown"} <= set(tables)


def test_end_to_end_fold_arithmetic():
    """Speedup = (seq sub-layers + G + O) / (cfg sub-layers + G + O), O = f/(1-f) (seq + G)."""
    from sim_models.hw.catalog import gpu, link
    from sim_models.t3.system import Knobs

    g = gpu("t3_sim")
    knobs = Knobs(gpu=g, link=link("t3_ring"), l2_bytes=g.l2_bytes)
    rows = pd.DataFrame([
        {"transformer": "mega-gpt2-8.3b", "tp": 8, "sublayer": s, "config": c, "time_s": t}
        for s in ("op", "fc2", "fc1", "ip") for c, t in (("sequential", 2.0), ("t3", 1.0))
    ])  # fmt: skip
    e = end_to_end(rows, knobs, 1024, 0.5)
    tr = e[(e["phase"] == "train") & (e["config"] == "t3")].iloc[0]
    G = tr["other_gemms_s"]
    rest = 8.0 + G  # f / (1 - f) = 1
    assert tr["other_ops_s"] == pytest.approx(rest)
    assert tr["speedup"] == pytest.approx((8.0 + G + rest) / (4.0 + G + rest))
    inf = e[(e["phase"] == "infer") & (e["config"] == "t3")].iloc[0]
    assert inf["sublayers_s"] == pytest.approx(2.0)  # OP and FC-2 only
    assert geomean([1.0, 4.0]) == pytest.approx(2.0)


def test_main_experiment_quick_computes_every_claim(tmp_path):
    from sim.reproduce import get_paper, run_outcome

    paper = get_paper("t3")
    oc = run_outcome(MAIN, tmp_path, quick=True, workers=1)
    for claim in paper.claims:
        if claim.experiment != "sublayers":
            continue
        v = claim.compute(oc)
        assert v == v and v > 0, claim.id  # finite, positive
    figs = {p.name for p in oc.figures}
    assert {"speedups.png", "dram_by_origin.png", "runtime_breakdown.png", "cu_split.png",
            "end_to_end.png", "e2e_vs_other_fraction.png"} <= figs  # fmt: skip
