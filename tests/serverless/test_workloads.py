"""The replay workloads drive the platform: Huawei per_request and per-minute tables (the
schema samples), Azure 2019 per-minute counts and Azure 2021 invocations."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from serverless_helpers import run_platform
from sim_models.serverless.workloads import Azure2019, Azure2021, HuaweiMinutes, HuaweiRequests

from sim.model import RunContext


def _bound(wl, folder=None):
    wl.context = RunContext(experiment_dir=folder) if folder else RunContext()
    return wl


def test_huawei_schema_samples_replay(huawei_schema):
    synthetic = huawei_schema / "synthetic"
    req = run_platform(_bound(HuaweiRequests(HuaweiRequests.Params(path=str(synthetic)))))
    assert req.summary()["requests"] == 200 and req.summary()["cold_starts"] >= 1
    capped = HuaweiMinutes.Params(path=str(synthetic), regions=["R2"], max_requests_per_minute=5)
    minutes = run_platform(_bound(HuaweiMinutes(capped)), engine="lean")
    counts = minutes.summary()["requests"]
    assert counts > 100  # the sample's per-minute counts (capped), placed in their minutes


def _azure_2019(folder):
    header = "HashOwner,HashApp,HashFunction,Trigger," + ",".join(str(m) for m in range(1, 1441))
    rows = []
    for i, (trig, every) in enumerate([("timer", 10), ("http", 1), ("queue", 30)]):
        cells = [0] * 1440
        for m in range(0, 1440, every):
            cells[m] = 1 if trig == "timer" else 3
        rows.append(",".join(["o", f"a{i}", f"f{i}", trig, *map(str, cells)]))
    (folder / "invocations_per_function_md.anon.d01.csv").write_text(
        "\n".join([header, *rows]) + "\n"
    )
    cols = ",".join(f"percentile_Average_{q}" for q in (0, 1, 25, 50, 75, 99, 100))
    dur = [f"o,a{i},f{i},100,10,1,900,1,2,50,100,200,800,900" for i in range(3)]
    (folder / "function_durations_percentiles.anon.d01.csv").write_text(
        f"HashOwner,HashApp,HashFunction,Average,Count,Minimum,Maximum,{cols}\n"
        + "\n".join(dur)
        + "\n"
    )
    pct = ",".join(f"AverageAllocatedMb_pct{q}" for q in (1, 5, 25, 50, 75, 95, 99, 100))
    mem = [f"o,a{i},100,150,100,110,120,{256 * (i + 1)},160,170,180,190" for i in range(3)]
    (folder / "app_memory_percentiles.anon.d01.csv").write_text(
        f"HashOwner,HashApp,SampleCount,AverageAllocatedMb,{pct}\n" + "\n".join(mem) + "\n"
    )


def test_azure_2019_through_the_platform(tmp_path):
    _azure_2019(tmp_path)
    wl = _bound(Azure2019(Azure2019.Params(path=str(tmp_path))))
    m = run_platform(wl)
    s = m.summary()
    assert s["requests"] == 144 + 3 * 1440 + 3 * 48
    # the 10-minute timer cold-starts on every firing under a 60 s keep-alive
    pods = m.records.frame()
    timer = [i for i in range(len(wl.catalog)) if wl.catalog[i].trigger == "timer"][0]
    assert (pods["func"] == timer).sum() == 144
    assert {wl.catalog[i].memory_mb for i in range(3)} == {256, 512, 768}


def test_azure_2021_through_the_platform(tmp_path):
    path = tmp_path / "trace.txt"
    rng = np.random.default_rng(1)
    ends = np.sort(rng.uniform(100, 400, 500))
    rows = [f"app{i % 7},f{i % 3},{e:.3f},{d:.3f}" for i, (e, d) in
            enumerate(zip(ends, rng.exponential(0.5, 500), strict=True))]  # fmt: skip
    path.write_text("app,func,end_timestamp,duration\n" + "\n".join(rows) + "\n")
    wl = _bound(Azure2021(Azure2021.Params(path=str(path))))
    s = run_platform(wl).summary()
    assert s["requests"] == 500 and len(wl.catalog) == 21
    assert 21 <= s["cold_starts"] < 500
    with pytest.raises(Exception, match="Azure 2021 trace not found"):
        run_platform(_bound(Azure2021(Azure2021.Params(path=str(tmp_path / "none.txt")))))


def test_minutes_replay_cache_gives_the_same_runs(tmp_path):
    """A second run of the same per-minute replay comes from memory and gives the same
    pods; a change of parameters or of a file is a different replay."""
    import shutil

    from sim_models.serverless import workloads

    src = Path(__file__).resolve().parents[2] / "traces" / "huawei-sample"
    folder = tmp_path / "sample"
    for sub in ("quantiles/R5", "runtime_triggerType/R5"):
        shutil.copytree(src / sub, folder / sub)
    workloads._MINUTES_CACHE.clear()
    params = HuaweiMinutes.Params(
        path=str(folder), regions=["R5"], start_day=0, start_hour=10, hours=0.5
    )

    def run(p):
        wl = _bound(HuaweiMinutes(p))
        m = run_platform(wl, engine="lean")
        return wl, m.records.frame(), m.summary()["requests"]

    first, pods1, n1 = run(params)
    assert first._cached is None and len(workloads._MINUTES_CACHE) == 1
    again, pods2, n2 = run(params)
    assert again._cached is not None  # from memory
    assert n1 == n2 > 0
    pd.testing.assert_frame_equal(pods1, pods2)
    other, _, n3 = run(params.model_copy(update={"hours": 0.25}))
    assert other._cached is None and 0 < n3 < n1
    table = next((folder / "quantiles" / "R5" / "requests").iterdir())
    os.utime(table, ns=(1, 1))  # the file changed: read again
    changed, _, _ = run(params)
    assert changed._cached is None
    workloads._MINUTES_CACHE.clear()
