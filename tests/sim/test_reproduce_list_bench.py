"""The list, reproduce and bench commands."""

import json

import pandas as pd
import pytest

from sim.reproduce import CLAIM_COLUMNS


def test_list_shows_models_and_papers(cli):
    code, out, _ = cli("list")
    assert code == 0
    assert "queueing.mmc" in out and "quickstart" in out


def test_reproduce_list(cli):
    code, out, _ = cli("reproduce", "--list")
    assert code == 0 and "mmc_wait" in out


def test_reproduce_quickstart_writes_report_and_claims(cli, tmp_path):
    code, out, _ = cli("reproduce", "quickstart", "--quick", "--out", tmp_path)
    assert code == 0
    claims = pd.read_csv(tmp_path / "claims.csv")
    assert list(claims.columns) == CLAIM_COLUMNS
    row = claims.set_index("claim_id").loc["mmc_wait"]
    assert row["ratio"] == pytest.approx(row["simulated"] / row["published"])
    # quick run: 20k customers; Erlang-C within 15%
    assert 0.85 < row["ratio"] < 1.15
    report = (tmp_path / "REPORT.md").read_text()
    assert "| mmc_wait |" in report and "Quick mode" in report


def test_bench_quick_reports_ratios(cli, tmp_path):
    code, out, _ = cli("bench", "--quick", "--only", "mmc", "--out", tmp_path)
    assert code == 0
    data = json.loads((tmp_path / "bench.json").read_text())
    for key in ("mmc.project_customers_per_s", "mmc.simpy_customers_per_s",
                "mmc.heapq_customers_per_s", "mmc.ratio_vs_simpy", "mmc.ratio_vs_heapq"):  # fmt: skip
        assert data[key] > 0
    # The lean event pattern must not be slower than textbook SimPy.
    assert data["mmc.ratio_vs_simpy"] > 1.0


def test_bench_unknown_group(cli, tmp_path):
    code, _, err = cli("bench", "--only", "nope", "--out", tmp_path)
    assert code == 2 and "unknown benchmark" in err
