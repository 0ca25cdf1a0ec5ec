"""Sweep figures: each assumed parameter's sweep gets its sensitivity figure."""

import pandas as pd
import pytest
from sim_models.llm.figures import RULE, SENSITIVITY, sweep_figures


def _table(key, values, group=None):
    rows = []
    for g in [None] if group is None else ["global", "per_conversation"]:
        for v in values:
            for fast in (False, True):
                row = {"status": "ok", key: v, "params.fastswitch": fast,
                       "ttft_s.p95": 2.0 if fast else 8.0, "ttft_s.p99": 3.0 if fast else 9.0,
                       "ttft_s.p99.9": 4.0 if fast else 10.0, "tbt_s.p99.9": 0.1 if fast else 1.0,
                       "throughput_tokens_per_s": 120.0 if fast else 100.0}  # fmt: skip
                if g is not None:
                    row[RULE] = g
                rows.append(row)
    return pd.DataFrame(rows)


@pytest.mark.parametrize("key,label,name,logx", SENSITIVITY)
def test_each_sensitivity_sweep_draws_its_figure(tmp_path, key, label, name, logx):
    group = RULE if key.endswith("update_frequency") else None
    values = [0.5, 0.8, 1.0] if not logx else [1.0, 2.0, 8.0]
    paths = sweep_figures(_table(key, values, group), tmp_path)
    assert [p.name for p in paths] == [name] and paths[0].stat().st_size > 1000


def test_scheduler_sweep_draws_the_comparison_with_readable_labels(tmp_path):
    from sim_models.llm.figures import SCHEDULER, scheduler_label

    choices = ['{"name": "fcfs"}', '{"name": "vtc", "params": {"preemptive": true}}',
               '{"name": "priority", "params": {"pattern": "random", "seed": 12}}']  # fmt: skip
    assert [scheduler_label(c) for c in choices] == ["fcfs", "vtc (preemptive)", "priority (random)"]
    table = _table(SCHEDULER, choices).assign(preemptions=5.0, requests=10.0,
                                                 token_rate_jain=0.9, **{"token_rate.p1_over_p50": 0.5})  # fmt: skip
    paths = sweep_figures(table, tmp_path)
    assert [p.name for p in paths] == ["schedulers.png"]


def test_token_rate_fairness_is_one_for_even_progress_and_low_for_starvation():
    import numpy as np
    from sim_models.llm.serving import token_rate_fairness

    even = token_rate_fairness(np.full(100, 50.0), np.full(100, 5.0))
    assert even["token_rate_jain"] == pytest.approx(1.0)
    assert even["token_rate.p1_over_p50"] == pytest.approx(1.0)
    starved = token_rate_fairness(np.full(100, 50.0), np.r_[1.0, np.full(99, 1e4)])
    assert starved["token_rate_jain"] < 0.02  # one request got (almost) all the service
    assert np.isnan(token_rate_fairness(np.zeros(0), np.zeros(0))["token_rate_jain"])
