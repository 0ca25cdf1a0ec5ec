"""Huawei 2025 release readers: the schema samples read, real rows keep their values, and
every bad input names the file and line (or is skipped and counted with lenient)."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest
from sim_models.serverless.traces import huawei
from sim_models.serverless.traces.huawei import Release

from sim.errors import DataError
from sim.traces import ReadStats, read_all


def test_notebook_cold_start_rows_keep_their_values(huawei_schema):
    path = huawei_schema / "notebook_rows" / "cold_start_R1_day00_head.csv"
    frame = huawei.add_function_keys(read_all(path, huawei.COLD_START_SCHEMA))
    assert len(frame) == 5
    first = frame.iloc[0]
    assert first["time"] == pytest.approx(0.104)
    assert first["funcID"] == "332---439---pool22-300-128"
    assert first["pod"] == 6319574 and first["memory_mb"] == 128 and first["cpu_limit_m"] == 300
    parts = frame[list(huawei.COLD_START_COMPONENTS)].sum(axis=1)
    # the release's total is the sum of the four components (to the printed 6 decimals)
    np.testing.assert_allclose(parts, frame["totalCost_cold_start"], atol=2e-6)


def test_notebook_rows_of_every_table_read(huawei_schema):
    nb = huawei_schema / "notebook_rows"
    two = read_all(nb / "cold_start_R2_day00_head_day30_tail.csv", huawei.COLD_START_SCHEMA)
    assert list(two["day"]) == [0] * 5 + [30] * 5
    req = read_all(nb / "per_request_R5_day30_head_tail.csv", huawei.per_request_schema(True))
    assert len(req) == 10
    assert req["time_frontend"].isna().sum() == 5  # unmatched in the frontend log
    np.testing.assert_allclose(
        req["totalCost_worker"], req["workerCost"] + req["runtimeCost"], atol=2e-6
    )
    minutes = pd.concat(huawei.read_minute_table(nb / "quantiles_R2_requests_visible_columns.csv"))
    assert minutes.shape == (10, 2 + 18 + 1)
    assert minutes["1263---582---pool23-400-256"].iloc[1] == 3.0
    rt = huawei.read_runtime_triggers(nb / "runtime_triggerType_R2_head_tail.csv")
    assert list(rt["runtime"][:3]) == ["Python3", "Node.js", "Java"]
    assert rt["sync"].iloc[0] and not rt["sync"].iloc[-1]
    assert rt["trigger_type"].iloc[5] == "APIG"


def test_synthetic_release_folder_layout(huawei_schema):
    rel = Release(huawei_schema / "synthetic")  # the folder holding cold_start_dataset/
    assert rel.root.name == "cold_start_dataset"
    assert rel.regions() == ["R1", "R2", "R3", "R4", "R5"]
    assert rel.regions("per_request") == ["R5"]
    for region in rel.regions("cold_start"):
        rows = sum(len(f) for f in rel.cold_starts(region))
        assert rows == 200
    assert sum(len(f) for f in rel.requests("R5", sorted_by_time=True)) == 200
    assert "num_cold_starts" in rel.quantile_folders("R2")
    counts = pd.concat(rel.minutes("R2", "requests"))
    assert counts.shape[0] == 200 and counts["time"].iloc[1] == 60
    assert rel.runtime_triggers("R2") is not None and rel.runtime_triggers("R1") is None


def test_pool_names_and_func_ids():
    pool = huawei.parse_pool("pool26-1000-1024")
    assert (pool.number, pool.cpu_limit_m, pool.memory_mb) == (26, 1000, 1024)
    assert pool.cpu_request_m == 500 and not pool.small
    assert huawei.parse_pool("pool23-400-256").small
    assert huawei.split_func_id("400---418---pool22-300-128") == (400, 418, "pool22-300-128")
    with pytest.raises(DataError, match="not a funcID"):
        huawei.split_func_id("400-418-pool22")
    with pytest.raises(DataError, match="not a pool name"):
        huawei.parse_pool("pool-300")


HEADER = ",".join(huawei.COLD_START_SCHEMA.names)
GOOD = "0,1.5,1,7,9,abc,0.3,0.1,0.1,0.0,0.1,pool22-300-128-0000000001"


def _release(tmp_path, rows: list[str], name="day_00.csv", header=HEADER):
    folder = tmp_path / "cold_start" / "R1"
    folder.mkdir(parents=True)
    (folder / name).write_text("\n".join([header, *rows]) + "\n")
    return Release(tmp_path)


@pytest.mark.parametrize(
    "bad,match",
    [
        ("0,x,1,7,9,abc,0.3,0.1,0.1,0.0,0.1,pool22-300-128-0000000001", "time: not a number"),
        ("0,1.6,1,7,9,abc,-0.3,0.1,0.1,0.0,0.1,pool22-300-128-0000000001", "must be >= 0"),
        ("0,1.6,1,7,9,abc,0.3,0.1,0.1,0.0,0.1,somepod", "podID"),
        ("0,0.5,1,7,9,abc,0.3,0.1,0.1,0.0,0.1,pool22-300-128-0000000001", "goes backwards"),
        ("0,1.6,1,7.5,9,abc,0.3,0.1,0.1,0.0,0.1,pool22-300-128-0000000001", "whole number"),
    ],
)
def test_bad_cold_start_row_names_file_and_line(tmp_path, bad, match):
    rel = _release(tmp_path, [GOOD, GOOD, bad, GOOD.replace("1.5", "9")])
    with pytest.raises(DataError, match=match) as exc:
        list(rel.cold_starts("R1"))
    assert exc.value.where.endswith("day_00.csv:4")
    stats = ReadStats()
    rows = sum(len(f) for f in rel.cold_starts("R1", lenient=True, stats=stats))
    assert (rows, stats.bad_rows, stats.kept) == (3, 1, 3)
    assert "day_00.csv:4" in stats.examples[0]


def test_missing_column_and_missing_folder(tmp_path):
    rel = _release(tmp_path, [GOOD], header=HEADER.replace("podID", "pod_id"))
    with pytest.raises(DataError, match="missing column 'podID'") as exc:
        list(rel.cold_starts("R1"))
    assert exc.value.where.endswith(":1")
    with pytest.raises(DataError, match="no cold_start files for region R9"):
        list(rel.cold_starts("R9"))
    with pytest.raises(DataError, match="not a folder in the release layout"):
        Release(tmp_path / "cold_start")
    with pytest.raises(DataError, match="trace folder not found"):
        Release(tmp_path / "nowhere")


def test_compressed_files_and_day_selection(tmp_path):
    folder = tmp_path / "cold_start" / "R2"
    folder.mkdir(parents=True)
    for day in (0, 1, 2):
        text = "\n".join([HEADER, GOOD.replace("0,1.5", f"{day},{day * 86400 + 1.5}")]) + "\n"
        with gzip.open(folder / f"day_{day:02d}.csv.gz", "wt") as fh:
            fh.write(text)
    rel = Release(tmp_path)
    frames = list(rel.cold_starts("R2", days=[1, 2]))
    assert [int(f["day"].iloc[0]) for f in frames] == [1, 2]


def test_minute_tables_check_their_header_and_folder_name(tmp_path):
    folder = tmp_path / "quantiles" / "R1" / "requests"
    folder.mkdir(parents=True)
    (folder / "day_00.csv").write_text("day,time,1---2---pool22-300-128\n0,0,3\n0,60,\n")
    rel = Release(tmp_path)
    frame = pd.concat(rel.minutes("R1", "requests"))
    assert frame["1---2---pool22-300-128"].isna().tolist() == [False, True]
    (folder / "day_01.csv").write_text("day,time,notafunction\n1,86400,3\n")
    with pytest.raises(DataError, match="is not a funcID") as exc:
        list(rel.minutes("R1", "requests"))
    assert exc.value.where.endswith("day_01.csv:1")
    with pytest.raises(DataError, match="unknown quantile folder 'runtimeCost_mean'"):
        list(rel.minutes("R1", "runtimeCost_mean"))
    huawei.check_quantile_folder("runtimeCost_quantile_099")


def test_runtime_table_rejects_bad_func_ids(tmp_path):
    path = tmp_path / huawei.RUNTIME_TRIGGER_FILE
    path.write_text("funcID,cpu_request,runtime,triggerType-invocationType\n"
                    "1---2---pool22-300-128,100,Python3,TIMER-A\nbroken,100,Java,APIG-S\n")  # fmt: skip
    with pytest.raises(DataError, match="funcID") as exc:
        huawei.read_runtime_triggers(path)
    assert exc.value.where.endswith(":3")
    stats = ReadStats()
    assert len(huawei.read_runtime_triggers(path, lenient=True, stats=stats)) == 1
    assert stats.bad_rows == 1
