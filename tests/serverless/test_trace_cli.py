"""``sim trace generate`` and ``sim trace stats``: they run end to end, draw the figures
from any folder in the release layout (the schema samples included), count skipped rows
with --lenient, and bad input exits 2 with one line naming the file and line or option."""

from __future__ import annotations

import json
import shutil

import pytest


@pytest.fixture(scope="module")
def small_trace(tmp_path_factory):
    from sim.cli import main

    out = tmp_path_factory.mktemp("trace")
    code = main(["trace", "generate", "huawei", "--region", "R3,R5", "--hours", "2",
                 "--functions", "120", "--seed", "2", "--out", str(out), "--compress"])  # fmt: skip
    assert code == 0
    return out


def test_generate_and_stats(small_trace, tmp_path, cli):
    code, out, _err = cli("trace", "stats", small_trace, "--out", tmp_path / "s")
    assert code == 0
    assert "pooled LogNormal fit" in out and "Pod deletion times are not in the release" in out
    stats = json.loads((tmp_path / "s" / "stats.json").read_text())
    assert set(stats["regions"]) == {"R3", "R5"}
    assert stats["regions"]["R5"]["components_sum_mismatches"] == 0
    assert "utility_ratio_median" in stats["regions"]["R5"]
    figures = {p.name for p in (tmp_path / "s").glob("*.png")}
    assert {"cold_start_cdf.png", "cold_start_gap_cdf.png", "hourly_components.png", "spearman.png",
            "by_runtime.png", "by_trigger.png", "requests_vs_cold_starts.png",
            "utility_ratio_cdf.png", "small_vs_large_pools.png", "cold_starts_per_day.png"} <= figures  # fmt: skip


def test_stats_on_the_schema_samples(huawei_schema, tmp_path, cli):
    code, out, _ = cli("trace", "stats", huawei_schema / "synthetic", "--out", tmp_path)
    assert code == 0 and "R1:" in out and "R5:" in out


def test_stats_bad_row_exits_2_or_is_counted(small_trace, tmp_path, cli):
    folder = tmp_path / "copy"
    shutil.copytree(small_trace, folder)
    import gzip

    path = next((folder / "cold_start" / "R5").glob("*.csv.gz"))
    with gzip.open(path, "rt") as fh:
        lines = fh.read().splitlines()
    lines[3] = lines[3].replace(",", ",x", 1)
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join(lines) + "\n")
    code, _out, err = cli("trace", "stats", folder, "--out", tmp_path / "s", "--no-figures")
    errors = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert code == 2 and len(errors) == 1 and f"{path}:4" in errors[0]
    code, out, _ = cli("trace", "stats", folder, "--out", tmp_path / "s", "--lenient", "--no-figures")
    assert code == 0 and "skipped 1 bad rows" in out and "and 0 figures" in out
    assert (tmp_path / "s" / "stats.json").is_file()


@pytest.mark.parametrize(
    "args,where",
    [
        (["--region", "R9"], "--region"),
        (["--hours", "-1"], "--hours"),
        (["--per-request-fraction", "2"], "--per-request-fraction"),
        (["--metrics", "runtimeCost_mean"], "--metrics"),
    ],
)
def test_generate_bad_options_exit_2(args, where, tmp_path, cli):
    code, _out, err = cli("trace", "generate", "huawei", *args, "--out", tmp_path)
    assert code == 2 and where in err


def test_stats_missing_folder_exits_2(tmp_path, cli):
    code, _out, err = cli("trace", "stats", tmp_path / "nothing")
    assert code == 2 and "trace folder not found" in err
