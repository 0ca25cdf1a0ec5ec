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


def test_experiments_side_by_side_give_the_same_outcomes(tmp_path):
    """Whole experiments run in worker processes give the results of running them in order
    in this process (same seeds, same runs), and every experiment's time is reported."""
    from sim.reproduce import (
        _run_in_order,
        _run_side_by_side,
        default_experiments_root,
        get_paper,
    )

    paper = get_paper("quickstart")
    base = (default_experiments_root() / "quickstart" / "mmc.yaml").read_text()
    plan = []
    for name, servers in (("three", 3), ("four", 4), ("five", 5)):
        path = tmp_path / f"{name}.yaml"
        text = base.replace("servers: 3", f"servers: {servers}")
        text = text.replace("figures: true", "figures: false")
        path.write_text(text.replace("params.customers: 20000", "params.customers: 2000"))
        plan.append((paper, path))
    costs = [1, 3, 2]  # started out of plan order: results must still map back to it
    seen: list[str] = []
    in_order = _run_in_order(plan, tmp_path / "a", True, 1, None, None)
    side = _run_side_by_side(plan, costs, tmp_path / "b", True, 2, seen.append)
    assert sorted(side) == sorted(in_order) == [0, 1, 2]
    for i, (outcome, elapsed) in in_order.items():
        other, other_elapsed = side[i]
        assert other.name == outcome.name == plan[i][1].stem
        assert elapsed > 0 and other_elapsed > 0
        for key, value in outcome.summary.items():
            if key.endswith("wall_time_s") or "wall" in key:
                continue
            assert other.summary[key] == pytest.approx(value, rel=1e-12, nan_ok=True), key
    assert sum("done in" in line for line in seen) == len(plan)


def test_side_by_side_rule():
    from sim.reproduce import _side_by_side

    assert not _side_by_side([1] * 10, workers=1)  # one worker: in order
    assert not _side_by_side([1, 1, 1], workers=2)  # too few to keep two workers busy
    assert _side_by_side([4, 1, 1, 1, 1, 1, 1, 1], workers=2)
    assert not _side_by_side([40, 1, 1, 1, 1], workers=2)  # one sweep holds most runs


def test_report_metrics_choose_what_report_shows(tmp_path):
    """outputs.report_metrics picks the columns of a sweep's digest and the rows of a run's
    table in REPORT.md; a name the results lack is said, not dropped silently."""
    from sim.reproduce import Outcome, _paper_section, get_paper, sweep_digest

    table = pd.DataFrame(
        {"x": [1, 1, 2], "status": ["ok"] * 3, "a.mean": [1.0, 3.0, 5.0], "late.p99": [9.0] * 3}
    )
    default = sweep_digest(table, ["x"])
    assert "late.p99" not in default.columns and "a.mean" in default.columns
    chosen = sweep_digest(table, ["x"], only=["late.p99", "missing"])
    assert list(chosen.columns) == ["x", "runs ok", "late.p99"]
    run = Outcome("one", {"a.mean": 2.0, "late.p99": 9.0}, pd.DataFrame([{"a.mean": 2.0}]),
                  tmp_path, report_metrics=["late.p99", "nope"])  # fmt: skip
    text = _paper_section(get_paper("quickstart"), [], {"one": run}, tmp_path)
    assert "| late.p99 |" in text and "| a.mean |" not in text
    assert "Not in the results (outputs.report_metrics): nope." in text


def test_paper_published_value_by_claim_id():
    from sim.reproduce import get_paper

    paper = get_paper("quickstart")
    claim = paper.claims[0]
    assert paper.published(claim.id) == claim.published
    with pytest.raises(KeyError, match="no claim"):
        paper.published("no.such.claim")
