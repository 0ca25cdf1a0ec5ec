"""Recorder, summary statistics, CDFs, sampling and timeline export."""

import json

import numpy as np
import pytest
import simpy

from sim.recorder import Recorder, cdf, summarize
from sim.timeline import Timeline


def test_summarize_matches_numpy():
    x = np.arange(1, 1001, dtype=float)
    s = summarize(x, "wait_s")
    assert s["wait_s.count"] == 1000
    assert s["wait_s.mean"] == pytest.approx(500.5)
    assert s["wait_s.p50"] == pytest.approx(np.percentile(x, 50))
    assert s["wait_s.p99.9"] == pytest.approx(np.percentile(x, 99.9))
    assert s["wait_s.max"] == 1000


def test_summarize_empty_is_nan_not_error():
    s = summarize([], "x")
    assert s["x.count"] == 0 and np.isnan(s["x.mean"])


def test_cdf_is_monotone_and_thinned():
    df = cdf(np.random.default_rng(0).exponential(size=10_000), points=100)
    assert len(df) <= 100
    assert df["cdf"].is_monotonic_increasing and df["value"].is_monotonic_increasing
    assert df["cdf"].iloc[-1] == 1.0


def test_probe_table_series_and_sampling():
    env = simpy.Environment()
    rec = Recorder()
    p = rec.probe("x")
    for v in (1.0, 2.0, 3.0):
        p.record(v)
    t = rec.table("jobs", ["id", "size"])
    t.append(1, 10.0)
    with pytest.raises(ValueError):
        t.append(1)
    level = {"v": 0}

    def bump():
        while True:
            level["v"] += 1
            yield env.timeout(1.0)

    env.process(bump())
    rec.sample(env, "level", lambda: level["v"], interval_s=2.0, until_s=10)
    env.run(until=11)
    frames = rec.frames()
    assert list(frames["jobs"].columns) == ["id", "size"]
    assert list(frames["level"]["time_s"]) == [0, 2, 4, 6, 8, 10]
    assert rec.summary(["x"])["x.mean"] == 2.0


def test_timeline_chrome_trace(tmp_path):
    tl = Timeline(enabled=True)
    tl.span("gemm", 0.0, 1e-6, track="gpu0", args={"tile": 3})
    tl.span("rs", 1e-6, 3e-6, track="link0")
    path = tl.write(tmp_path / "trace.json")
    data = json.loads(path.read_text())
    xs = [e for e in data["traceEvents"] if e["ph"] == "X"]
    assert xs[0]["ts"] == 0 and xs[0]["dur"] == pytest.approx(1.0)
    assert {e["args"]["name"] for e in data["traceEvents"] if e["ph"] == "M"} == {"gpu0", "link0"}
    with pytest.raises(ValueError):
        tl.span("bad", 2.0, 1.0)


def test_timeline_disabled_records_nothing():
    tl = Timeline()
    tl.span("x", 0, 1)
    assert len(tl) == 0


# -- columnar tables ---------------------------------------------------------------------------
def test_column_table_rows_chunks_and_types():
    from sim.recorder import ColumnTable

    t = ColumnTable("jobs", {"id": "int", "t": "float", "ok": "bool", "name": "str"},
                    chunk_rows=4, memory_rows=8)  # fmt: skip
    row = t.append
    for i in range(10):
        row(i, i / 2, i % 2 == 0, f"j{i}")
    assert len(t) == 10
    df = t.to_frame()
    assert list(df["id"]) == list(range(10)) and df["id"].dtype == np.int64
    assert df["t"].iloc[-1] == 4.5 and list(df["ok"][:3]) == [True, False, True]
    assert df["name"].iloc[3] == "j3"
    with pytest.raises(TypeError):
        row(1, 2.0)  # wrong arity


def test_column_table_extend_and_spill_write(tmp_path):
    import pandas as pd

    from sim.recorder import ColumnTable

    t = ColumnTable("big", {"i": "int", "x": "float"}, chunk_rows=1000, memory_rows=5000,
                    spill_dir=tmp_path / "spill")  # fmt: skip
    for block in range(10):
        t.extend(np.arange(block * 1000, (block + 1) * 1000), np.ones(1000))
    t.append(10_000, 2.0)
    assert t.spilled_rows > 0 and len(t) == 10_001
    out = t.write(tmp_path / "big.parquet")
    back = pd.read_parquet(out)
    assert len(back) == 10_001 and back["i"].is_monotonic_increasing
    assert back["x"].sum() == 10_002.0
    assert not list((tmp_path / "spill").glob("*.parquet"))  # the spill file moved into place


def test_column_table_schema_checked():
    from sim.recorder import ColumnTable, Recorder

    with pytest.raises(ValueError, match="unknown kind"):
        ColumnTable("x", {"a": "complex"})
    rec = Recorder()
    rec.columns("x", {"a": "int"})
    with pytest.raises(ValueError, match="already exists"):
        rec.columns("x", {"a": "float"})


@pytest.mark.slow
def test_twenty_million_rows_stay_under_one_gigabyte():
    from sim_bench.bench_recorder import peak_rss_mb

    assert peak_rss_mb(20_000_000) < 1024


def test_memory_stays_bounded_when_rows_spill():
    """Ten times the rows, with spilling every 200k rows, costs little more memory: the
    growth is measured against the same child with 200k rows, so the size of the imported
    libraries (which varies between machines) does not enter."""
    from sim_bench.bench_recorder import peak_rss_mb

    small = peak_rss_mb(200_000, memory_rows=200_000)
    large = peak_rss_mb(2_000_000, memory_rows=200_000)
    assert large - small < 120, (small, large)


def test_child_peak_memory_is_its_own():
    """A child started while this process holds 300 MB reports its own, smaller peak (the
    benchmarks' memory figures must not inherit their driver's high-water mark)."""
    import subprocess
    import sys

    ballast = bytearray(300 * 2**20)
    ballast[::4096] = b"x" * len(ballast[::4096])  # touch every page
    code = "from sim_bench.memory import own_peak_rss_mb; print(own_peak_rss_mb())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert float(out.stdout) < 200
    del ballast
