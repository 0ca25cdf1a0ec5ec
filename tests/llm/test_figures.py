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
