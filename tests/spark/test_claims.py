"""The paper's claims: ids exactly as specified, published values from the authors'
tables, and claims computed from a sweep table."""

import math

import pandas as pd
import pytest
from sim_models.spark.claims import SCENARIOS, sweep_mean
from sim_models.spark.schedulers import SCHEDULER_NAMES

from sim.reproduce import Outcome, get_paper

POLICIES = ["fifo", "fair", "ujf", "cfq", "uwfq", "tfifo", "random"]


def test_claim_ids_are_exactly_the_specified_ones():
    paper = get_paper("uwfq")
    ids = {c.id for c in paper.claims}
    expected = set()
    for sc in ["s1_2_large_2_small", "s2_2_power_2_small", "s3_4_large", "s4_4_super_small",
               "google_hetero", "google_homo"]:  # fmt: skip
        for p in POLICIES + [f"{p}_p" for p in POLICIES]:
            expected |= {f"uwfq.{sc}.{p}.mean_rt_s", f"uwfq.{sc}.{p}.small_rt_s"}
            if p not in ("ujf", "ujf_p"):
                expected.add(f"uwfq.{sc}.{p}.dvr")
    expected |= {
        "uwfq.small_rt_reduction.google_homo.uwfq_p_vs_ujf_p",
        "uwfq.small_rt_reduction.google_homo.uwfq_p_vs_fair",
        "uwfq.small_rt_reduction.google_hetero.uwfq_p_vs_fair",
    }
    assert ids == expected
    assert set(SCHEDULER_NAMES) == set(POLICIES) | {f"{p}_p" for p in POLICIES}


def test_published_values():
    claims = {c.id: c for c in get_paper("uwfq").claims}
    assert claims["uwfq.small_rt_reduction.google_homo.uwfq_p_vs_ujf_p"].published == pytest.approx(
        0.737, abs=5e-4
    )
    assert claims["uwfq.small_rt_reduction.google_homo.uwfq_p_vs_fair"].published == pytest.approx(
        0.786, abs=5e-4
    )
    assert claims[
        "uwfq.small_rt_reduction.google_hetero.uwfq_p_vs_fair"
    ].published == pytest.approx(0.941, abs=5e-4)
    assert claims["uwfq.google_homo.uwfq_p.small_rt_s"].published == pytest.approx(6.0524)
    assert claims["uwfq.s2_2_power_2_small.uwfq.mean_rt_s"].published == pytest.approx(29.4353)
    assert claims["uwfq.google_hetero.fair.dvr"].published == pytest.approx(10.6493)
    # not measured by the authors: empty
    for cid in ("uwfq.s1_2_large_2_small.fifo.mean_rt_s", "uwfq.google_homo.tfifo.small_rt_s",
                "uwfq.google_hetero.random_p.dvr", "uwfq.s3_4_large.cfq_p.dvr"):  # fmt: skip
        assert claims[cid].published is None, cid
    for c in claims.values():
        assert c.experiment in SCENARIOS and c.source


def test_claims_compute_from_a_sweep_table(tmp_path):
    table = pd.DataFrame({
        "policies.scheduler": ["uwfq_p", "uwfq_p", "ujf_p", "fair"],
        "status": ["ok"] * 4, "small_rt_s.mean": [2.0, 4.0, 12.0, 30.0],
        "rt_s.mean": [5.0, 7.0, 20.0, 40.0], "dvr": [0.1, 0.3, math.nan, 2.0],
    })  # fmt: skip
    oc = Outcome("google_homo", {}, table, tmp_path)
    claims = {c.id: c for c in get_paper("uwfq").claims}
    assert claims["uwfq.google_homo.uwfq_p.mean_rt_s"].compute(oc) == 6.0
    assert claims["uwfq.google_homo.uwfq_p.dvr"].compute(oc) == pytest.approx(0.2)
    assert claims["uwfq.small_rt_reduction.google_homo.uwfq_p_vs_ujf_p"].compute(oc) == 0.75
    assert claims["uwfq.small_rt_reduction.google_homo.uwfq_p_vs_fair"].compute(oc) == 0.9
    with pytest.raises(ValueError):
        sweep_mean(oc, "cfq", "rt_s.mean")
