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
