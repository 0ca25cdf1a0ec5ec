"""The streaming trace reader: typed chunks, errors naming file and line, lenient mode,
encodings, Parquet, sort order and bounded chunks."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from sim.errors import DataError
from sim.traces import Column, ReadStats, Schema, read_all, read_chunks

SCHEMA = Schema(
    (Column("t", "float", min=0.0), Column("n", "int", min=1), Column("name", "str")),
    sorted_by="t",
)


def write(tmp_path, text: str, name: str = "trace.csv", encoding: str = "utf-8"):
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def test_typed_columns_and_line_numbers(tmp_path):
    p = write(tmp_path, "t,n,name,extra\n0.5,3,a,x\n1.5,4,b,y\n")
    df = read_all(p, SCHEMA)
    assert list(df.columns) == ["t", "n", "name", "_line"]
    assert df["n"].dtype == np.int64 and df["t"].dtype == float
    assert list(df["_line"]) == [2, 3]


@pytest.mark.parametrize(
    "row,line,message",
    [
        ("0.5,x,a", 3, "n: not a number: 'x'"),
        ("0.5,0,a", 3, "n: must be >= 1, got 0"),
        ("0.5,2.5,a", 3, "n: must be a whole number"),
        ("-1,2,a", 3, "t: must be >= 0"),
        ("inf,2,a", 3, "t: must be a finite number"),
        ("0.5,2,", 3, "name: empty value"),
        ("0.1,2,a", 3, "t goes backwards (0.1 after 0.2)"),
    ],
)
def test_bad_row_names_file_and_line(tmp_path, row, line, message):
    p = write(tmp_path, f"t,n,name\n0.2,1,a\n{row}\n0.9,1,c\n")
    with pytest.raises(DataError) as exc:
        read_all(p, SCHEMA)
    assert exc.value.where == f"{p}:{line}"
    assert message in exc.value.message


def test_lenient_skips_and_counts(tmp_path):
    p = write(tmp_path, "t,n,name\n0.2,1,a\n0.3,x,b\n\n0.4,2,c\n0.1,1,d\n")
    stats = ReadStats()
    df = read_all(p, SCHEMA, lenient=True, stats=stats)
    assert list(df["name"]) == ["a", "c"]
    assert stats.bad_rows == 2 and stats.kept == 2 and stats.rows == 4
    assert any(":3:" in e or e.split(": ")[0].endswith(":3") for e in stats.examples)


def test_missing_column_suggests(tmp_path):
    p = write(tmp_path, "time,n,name\n0,1,a\n")
    with pytest.raises(DataError, match="missing column 't'") as exc:
        read_all(p, Schema((Column("t"),)))
    assert exc.value.where.endswith(":1")


def test_bom_and_non_utf8(tmp_path):
    p = write(tmp_path, "\ufefft,n,name\n0,1,a\n")
    assert list(read_all(p, SCHEMA)["name"]) == ["a"]
    bad = tmp_path / "latin.csv"
    bad.write_bytes("t,n,name\n0,1,caf\xe9\n".encode("latin-1"))
    with pytest.raises(DataError, match="not UTF-8"):
        read_all(bad, SCHEMA)


def test_empty_file_and_not_a_file(tmp_path):
    with pytest.raises(DataError, match="empty file"):
        read_all(write(tmp_path, ""), SCHEMA)
    with pytest.raises(DataError, match="not a regular file"):
        read_all(tmp_path, SCHEMA)
    with pytest.raises(DataError, match="not found"):
        read_all(tmp_path / "nope.csv", SCHEMA)


def test_gzip_and_parquet(tmp_path):
    text = "t,n,name\n0,1,a\n1,2,b\n"
    gz = tmp_path / "trace.csv.gz"
    gz.write_bytes(gzip.compress(text.encode()))
    assert list(read_all(gz, SCHEMA)["n"]) == [1, 2]
    pq = tmp_path / "trace.parquet"
    pd.DataFrame({"t": [0.0, 1.0, 0.5], "n": [1, 2, 3], "name": ["a", "b", "c"]}).to_parquet(pq)
    with pytest.raises(DataError, match="goes backwards") as exc:
        read_all(pq, SCHEMA)
    assert exc.value.where == f"{pq}:3"


def test_chunks_are_bounded_and_sort_order_crosses_chunks(tmp_path):
    rows = "".join(f"{i},1,x\n" for i in range(1000))
    p = write(tmp_path, "t,n,name\n" + rows + "5,1,x\n")
    sizes = []
    with pytest.raises(DataError, match="goes backwards") as exc:
        for chunk in read_chunks(p, SCHEMA, chunk_rows=128):
            sizes.append(len(chunk))
    assert max(sizes) == 128 and exc.value.where == f"{p}:1002"
