"""The sensitivity figures of the reproduction render from sweep tables of the shape the
sweeps write (synthetic values; the models' own runs are tested elsewhere)."""

from __future__ import annotations

import itertools

import pandas as pd
from sim_models.c4 import figures


def test_gap_vs_batch_renders(tmp_path):
    rows = []
    for tok, pol, rep in itertools.product([2**19, 2**20, 2**22], ["ecmp", "ideal"], [0, 1]):
        comm = 0.2 if pol == "ideal" else 0.4
        compute = tok / 2**22 * 2.7
        rows.append({"params.tokens_per_iteration": tok, "policies.routing": pol,
                     "status": "ok", "iterations_per_s": 1 / (compute + comm) + rep * 1e-3,
                     "exposed_comm_share": comm / (compute + comm)})  # fmt: skip
    out = figures.training_sweep_figures(pd.DataFrame(rows), tmp_path)
    assert [p.name for p in out] == ["ecmp_gap_vs_batch.png"]
    assert out[0].stat().st_size > 10_000


def test_downtime_sensitivity_has_both_policies_and_the_reduction(tmp_path):
    rows = []
    for rate, det, med in itertools.product([0.5, 1.0], ["timeout_manual", "c4d"],
                                            [3600, 86400]):  # fmt: skip
        down = 0.01 * rate if det == "c4d" else 0.05 * rate * med / 3600
        rows.append({"params.rate_scale": rate, "policies.detection": det,
                     "policies.detection.params.manual_median_s": med, "status": "ok",
                     "downtime_fraction": down})  # fmt: skip
    out = figures.reliability_sweep_figures(pd.DataFrame(rows), tmp_path)
    assert [p.name for p in out] == ["downtime_sensitivity.png"]
    assert out[0].stat().st_size > 10_000
