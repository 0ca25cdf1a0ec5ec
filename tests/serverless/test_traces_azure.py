"""Azure Functions 2019 and 2021 readers, and the time-order helpers they rely on."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sim_models.serverless.traces import azure
from sim_models.serverless.traces.streams import merge_sorted, reorder

from sim.errors import DataError
from sim.traces import ReadStats


def _invocations(path, rows):
    header = "HashOwner,HashApp,HashFunction,Trigger," + ",".join(str(m) for m in range(1, 1441))
    lines = [header]
    for owner, app, fn, trig, counts in rows:
        cells = [0] * 1440
        for minute, c in counts.items():
            cells[minute - 1] = c
        lines.append(",".join([owner, app, fn, trig, *map(str, cells)]))
    path.write_text("\n".join(lines) + "\n")


def test_invocations_2019(tmp_path):
    path = tmp_path / "invocations_per_function_md.anon.d01.csv"
    _invocations(path, [("o", "a", "f1", "timer", {1: 1, 61: 1}), ("o", "a", "f2", "http", {5: 7})])
    frame = pd.concat(azure.invocations_2019(path))
    assert list(frame["HashFunction"]) == ["f1", "f2"]
    assert int(frame["5"].iloc[1]) == 7 and int(frame[[str(m) for m in range(1, 1441)]].sum().sum()) == 9
    assert azure.day_number_2019(path) == 1
    assert azure.day_files_2019(tmp_path, "invocations") == [path]


def test_invocations_2019_bad_trigger_and_count(tmp_path):
    path = tmp_path / "invocations_per_function_md.anon.d02.csv"
    _invocations(path, [("o", "a", "f1", "cron", {1: 1}), ("o", "a", "f2", "http", {1: 1})])
    with pytest.raises(DataError, match="Trigger: 'cron'") as exc:
        list(azure.invocations_2019(path))
    assert exc.value.where.endswith(":2")
    stats = ReadStats()
    assert sum(len(f) for f in azure.invocations_2019(path, lenient=True, stats=stats)) == 1
    assert stats.bad_rows == 1
    text = path.read_text().replace("http,1,", "http,-1,")
    path.write_text(text)
    with pytest.raises(DataError, match="must be >= 0"):
        list(azure.invocations_2019(path, lenient=False))


def test_durations_and_memory_2019(tmp_path):
    d = tmp_path / "function_durations_percentiles.anon.d01.csv"
    cols = ",".join(f"percentile_Average_{q}" for q in azure.DURATION_PERCENTILES)
    d.write_text(f"HashOwner,HashApp,HashFunction,Average,Count,Minimum,Maximum,{cols}\n"
                 "o,a,f1,100,10,1,900,1,2,50,90,120,800,900\n"
                 "o,a,f2,100,10,1,900,1,2,50,40,120,800,900\n")  # fmt: skip
    with pytest.raises(DataError, match="must not decrease") as exc:
        azure.durations_2019(d)
    assert exc.value.where.endswith(":3")
    assert len(azure.durations_2019(d, lenient=True)) == 1
    m = tmp_path / "app_memory_percentiles.anon.d01.csv"
    pct = ",".join(f"AverageAllocatedMb_pct{q}" for q in azure.MEMORY_PERCENTILES)
    m.write_text(f"HashOwner,HashApp,SampleCount,AverageAllocatedMb,{pct}\n"
                 "o,a,100,150,100,110,120,150,160,170,180,190\n")  # fmt: skip
    assert float(azure.memory_2019(m)["AverageAllocatedMb_pct50"].iloc[0]) == 150


def test_invocations_2021_in_arrival_order(tmp_path):
    path = tmp_path / "AzureFunctionsInvocationTraceForTwoWeeksJan2021.txt"
    # the dataset description's own sample rows: end-time order is not arrival order
    path.write_text("app,func,end_timestamp,duration\n"
                    "a1,f1,5160.142570018768,0.134\na2,f2,5161.280997037888,0.013\n"
                    "a3,f3,5241.567729949951,42.356\na4,f4,5253.883348941803,42.372\n"
                    "a5,f5,5219.518173933029,0.108\na6,f6,5220.1072909832,0.093\n")  # fmt: skip
    frame = pd.concat(azure.invocations_2021(path, chunk_rows=2))
    assert np.all(np.diff(frame["arrival_s"].to_numpy()) >= 0)
    assert list(frame["app"]) == ["a1", "a2", "a3", "a4", "a5", "a6"]
    with path.open("a") as fh:  # a long invocation ends late: its arrival is far behind
        fh.write("a7,f7,5300.0,200.0\n")
    frame = pd.concat(azure.invocations_2021(path, chunk_rows=2))
    assert list(frame["app"])[0] == "a7"
    with pytest.raises(DataError, match="behind a later row") as exc:
        list(azure.invocations_2021(path, chunk_rows=2, max_lateness_s=5))
    assert exc.value.where.endswith(":8")
    stats = ReadStats()
    rows = sum(len(f) for f in azure.invocations_2021(path, lenient=True, stats=stats,
                                                      chunk_rows=2, max_lateness_s=5))  # fmt: skip
    assert (rows, stats.bad_rows) == (6, 1)


def _stream(times, chunk):
    for i in range(0, len(times), chunk):
        yield pd.DataFrame({"t": times[i : i + chunk], "src": len(times)})


def test_merge_sorted_is_a_stable_sorted_merge():
    rng = np.random.default_rng(1)
    parts = [np.sort(rng.uniform(0, 100, n)) for n in (50, 7, 0, 120)]
    merged = pd.concat(merge_sorted([_stream(p, 13) for p in parts], "t"), ignore_index=True)
    assert len(merged) == 177
    np.testing.assert_array_equal(merged["t"].to_numpy(), np.sort(np.concatenate(parts)))


def test_reorder_sorts_with_bounded_lateness():
    rng = np.random.default_rng(2)
    base = np.sort(rng.uniform(0, 1000, 500))
    jitter = base - rng.uniform(0, 10, 500)
    frames = (pd.DataFrame({"t": jitter[i : i + 37], "_line": np.arange(i, min(i + 37, 500)) + 2})
              for i in range(0, 500, 37))  # fmt: skip
    out = pd.concat(reorder(frames, "t", 10.0), ignore_index=True)
    np.testing.assert_array_equal(out["t"].to_numpy(), np.sort(jitter))
