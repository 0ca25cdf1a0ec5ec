"""The coldstart paper's claims: ids exactly as listed, sources, and the claim functions
read the right rows of an outcome."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from sim_models.serverless import claims

from sim.reproduce import Outcome, get_paper

EXPECTED = {
    "coldstart.fit.lognormal.mean_s": 3.24, "coldstart.fit.lognormal.sd_s": 7.10,
    "coldstart.fit.weibull_iat.mean_s": 1.25, "coldstart.fit.weibull_iat.sd_s": 3.66,
    "coldstart.utility_ratio.median": 4.0, "coldstart.utility_ratio.frac_below_1": 0.20,
}  # fmt: skip


def test_claim_ids_and_published_values():
    paper = get_paper("coldstart")
    ids = [c.id for c in paper.claims]
    for region in ("R1", "R2", "R3", "R4", "R5"):
        assert f"coldstart.median_s.{region}" in ids and f"coldstart.mean_s.{region}" in ids
    for p in ("ttl60", "ttl600", "hybrid_histogram", "faascache"):
        assert f"coldstart.policy.{p}.cold_start_rate" in ids
        assert f"coldstart.policy.{p}.wasted_gb_s" in ids
    by_id = {c.id: c for c in paper.claims}
    for cid, value in EXPECTED.items():
        assert by_id[cid].published == value
    assert "read off a figure" in by_id["coldstart.median_s.R2"].source
    assert by_id["coldstart.policy.ttl60.cold_start_rate"].published is None
    assert len(ids) == len(set(ids)) == 4 + 10 + 2 + 8


def test_claims_read_their_rows():
    table = pd.DataFrame({
        "status": ["ok", "ok"],
        "policies.keep_alive": [json.dumps(claims.POLICIES["ttl60"], sort_keys=True), "hybrid_histogram"],
        "cold_start_rate": [0.4, 0.05], "wasted_gb_s": [1.0, 9.0],
        "utility_ratio.median": [2.0, 1.0], "utility_ratio.frac_below_1": [0.3, 0.5],
    })  # fmt: skip
    oc = Outcome("policies", {}, table, out_dir=None)
    by_id = {c.id: c for c in get_paper("coldstart").claims}
    assert by_id["coldstart.policy.ttl60.cold_start_rate"].compute(oc) == 0.4
    assert by_id["coldstart.policy.hybrid_histogram.wasted_gb_s"].compute(oc) == 9.0
    assert by_id["coldstart.utility_ratio.median"].compute(oc) == 2.0
    with pytest.raises(KeyError):
        by_id["coldstart.policy.faascache.cold_start_rate"].compute(oc)


def test_sensitivity_experiments_named_by_claims_are_run():
    """A claim's source names the experiment that varies its driving assumption; that
    experiment is part of the reproduction and has its file."""
    from pathlib import Path

    paper = get_paper("coldstart")
    root = Path(__file__).resolve().parents[2] / "experiments" / "coldstart"
    named = {"tails", "stationarity", "function_scale", "placement", "concurrency"}
    sources = " ".join(c.source for c in paper.claims)
    for name in named:
        assert f"experiment {name}" in sources or f"experiments {name}" in sources, name
        assert name in paper.experiments and (root / f"{name}.yaml").is_file(), name
