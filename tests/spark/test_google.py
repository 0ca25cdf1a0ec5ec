"""The Google windows with the paper's scaling rules: job counts and totals as published,
on the shipped excerpts (and on the shared copy when present); the task_events loader."""

from pathlib import Path

import numpy as np
import pytest
from sim_models.spark.google import (
    WINDOWS,
    job_groups,
    read_task_events,
    read_wta,
    scale_window,
)

from sim.errors import DataError

TRACES = Path(__file__).resolve().parents[2] / "traces" / "google-2011-wta"

# (window file, jobs, Spark jobs, sum of job_runtime_s, median, max): the paper's configs
EXPECTED = {
    "hetero": (125, 824, 9_583, 6.1, 1_823),
    "homo": (97, 207, 14_434, 75.7, 793),
}


def _check(path: Path, window: str):
    rules = WINDOWS[window]
    jobs, users = scale_window(read_wta(path), rules["scaling"],
                               filter_large_factor=rules["filter_large_factor"])  # fmt: skip
    n_jobs, n_spark, total, median, biggest = EXPECTED[window]
    lengths = np.array([j.job_runtime_s for j in jobs])
    assert len(jobs) == n_jobs
    assert sum(len(j.task_runtimes_s) for j in jobs) == n_spark
    assert lengths.sum() == pytest.approx(total, abs=0.5)
    assert np.median(lengths) == pytest.approx(median, abs=0.05)
    assert lengths.max() == pytest.approx(biggest, abs=0.5)
    return jobs, users


@pytest.mark.parametrize("window", ["hetero", "homo"])
def test_shipped_windows_match_the_papers_configs(window):
    jobs, users = _check(TRACES / f"macro_benchmarks_{window}.csv", window)
    assert users[0] == "user_1" and len(users) == (27 if window == "hetero" else 25)
    groups = job_groups(jobs)
    start, spec = groups[0]
    assert spec.runtime_hint_core_s == pytest.approx(4.3 * sum(q.work_core_s for q in spec.queries))
    assert all(q.oracle_tasks >= 4 for _, g in groups for q in g.queries)
    assert min(s for s, _ in groups) < 0.01


@pytest.mark.parametrize("window", ["hetero", "homo"])
def test_shared_copy_matches_too(shared_data, window):
    path = shared_data / "google-2011-wta-excerpts" / f"macro_benchmarks_{window}.csv"
    if not path.exists():
        pytest.skip("shared excerpt absent")
    _check(path, window)


def test_first_rows_become_the_papers_first_jobs():
    # the paper's homo config starts with user_1's workflow 6389146041: one Spark job of
    # 246.928 s at 6 ms (after FILTER_LARGE)
    jobs, _ = scale_window(read_wta(TRACES / "macro_benchmarks_homo.csv"), 20.0,
                           filter_large_factor=5.0)  # fmt: skip
    first = jobs[0]
    assert (first.user, first.workflow_id) == ("user_1", 6389146041)
    assert first.task_runtimes_s == pytest.approx([246.92848884], rel=1e-9)
    assert first.start_s == pytest.approx(0.006, abs=1e-9)


def test_bad_wta_row_names_file_and_line(tmp_path):
    p = tmp_path / "w.csv"
    p.write_text(
        "workflow_id,ts_submit,ts_submit_seconds,task_id,runtime,resource_amount_requested,"
        "resource_run_time,user_id\n1,1000,1.0,0,10,0.1,1.0,7\n2,1000,1.0,0,ten,0.1,1.0,7\n"
    )
    with pytest.raises(DataError, match=r"w\.csv:3.*runtime"):
        read_wta(p)


def _events(tmp_path):
    # job 1 (user u1): submitted at 10 s, two tasks; job 2 submitted at 900 s (outside);
    # job 3: no CPU request
    rows = [
        (10_000_000, 1, 0, 0, "u1", 0.5), (10_000_000, 1, 1, 0, "u1", 0.25),
        (11_000_000, 1, 0, 1, "u1", ""), (12_000_000, 1, 1, 1, "u1", ""),
        (21_000_000, 1, 0, 4, "u1", ""), (42_000_000, 1, 1, 4, "u1", ""),
        (900_000_000, 2, 0, 0, "u2", 0.5), (901_000_000, 2, 0, 1, "u2", ""),
        (911_000_000, 2, 0, 4, "u2", ""),
        (20_000_000, 3, 0, 0, "u3", 0.0), (21_000_000, 3, 0, 1, "u3", ""),
        (22_000_000, 3, 0, 4, "u3", ""),
    ]  # fmt: skip
    lines = [f"{t},,{j},{i},m,{e},{u},0,0,{c},0.1,0.0,0" for t, j, i, e, u, c in rows]
    p = tmp_path / "part-00000-of-00500.csv"
    p.write_text("\n".join(lines) + "\n")
    return p


def test_task_events_window(tmp_path):
    frame = read_task_events([_events(tmp_path)], start_s=0.0, period_s=500.0)
    assert list(frame["workflow_id"]) == [1, 1]
    # task 1 ran 30 s at 0.25 CPU (7,500), task 0 ran 10 s at 0.5 (5,000): larger first
    assert list(frame["task_id"]) == [1, 0]
    assert frame["resource_run_time"].tolist() == pytest.approx([7_500.0, 5_000.0])
    assert frame["ts_submit_seconds"].tolist() == [10.0, 10.0]
    jobs, users = scale_window(frame, 1.0)
    assert users == ["user_1"] and len(jobs) == 1


def test_task_events_bad_row(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("10,,1,0,m,0,u,0,0,0.5,0.1,0,0\nsoon,,1,0,m,1,u,0,0,,0.1,0,0\n")
    with pytest.raises(DataError, match=r"bad\.csv:2"):
        read_task_events([p], 0.0, 100.0)


def test_cli_cut_window_then_replay(cli, tmp_path):
    events = _events(tmp_path)
    out = tmp_path / "excerpt.csv"
    code, stdout, _ = cli("spark", "cut-window", str(events), "--start-s", "0", "--period-s",
                          "500", "--out", str(out))  # fmt: skip
    assert code == 0 and "2 tasks of 1 jobs" in stdout
    code, stdout, _ = cli("spark", "window", str(out), "--scaling", "1")
    import json

    summary = json.loads(stdout)
    assert summary["job_groups"] == 1 and summary["spark_queries"] == 2
    code, _, err = cli("spark", "cut-window", str(tmp_path / "none.csv"), "--start-s", "0",
                       "--out", str(out))  # fmt: skip
    assert code == 2 and "not found" in err


def test_cli_lists_scenarios(cli):
    code, out, _ = cli("spark", "scenarios")
    assert code == 0 and "s2_2_power_2_small: 184 jobs, 4 users" in out
