"""Recording speed: rows per second into a typed columnar table, and peak memory.

What it measures
    * ``recorder.rows_per_s``: rows of four columns (an int and three floats) appended one
      by one through :class:`sim.recorder.ColumnTable` (the generated appender), including
      the conversion to typed numpy chunks, per CPU second of the process (the machine may
      be shared; CPU time is what the loop costs);
    * ``recorder.baseline_table_rows_per_s``: the same rows into the older list-per-column
      :class:`sim.recorder.Table`, and ``recorder.baseline_list_rows_per_s``: a bare
      ``list.append`` of a tuple per row with no conversion (the floor of a Python loop) —
      both run in the same process; ``recorder.ratio_vs_table`` compares the first two;
    * ``recorder.batch_rows_per_s``: the same table filled by :meth:`ColumnTable.extend` in
      blocks of 65,536 rows (how vectorised producers record);
    * ``recorder.peak_rss_mb_20m``: peak resident memory of a child process that appends
      20 million rows one by one and writes them to Parquet (spilling past 2 million rows);
      quick mode uses 2 million rows and reports ``recorder.peak_rss_mb_2m``.
"""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np

from sim.recorder import ColumnTable, Table

SCHEMA = {"id": "int", "start_s": "float", "end_s": "float", "size": "float"}


def _rate(fn, n: int) -> float:
    t0 = time.process_time()
    fn(n)
    return n / (time.process_time() - t0)


def _columnar(n: int) -> None:
    t = ColumnTable("b", SCHEMA)
    row = t.append
    for i in range(n):
        row(i, 1.5, 2.5, 3.5)
    t.to_frame()


def _table(n: int) -> None:
    t = Table("b", list(SCHEMA))
    row = t.append
    for i in range(n):
        row(i, 1.5, 2.5, 3.5)
    t.to_frame()


def _bare_list(n: int) -> None:
    rows: list = []
    ap = rows.append
    for i in range(n):
        ap((i, 1.5, 2.5, 3.5))


def _batch(n: int) -> None:
    t = ColumnTable("b", SCHEMA, memory_rows=max(n * 4, 65_536))
    block = 65_536
    ids = np.arange(block)
    ones = np.ones(block)
    for _ in range(n // block):
        t.extend(ids, ones, ones, ones)
    t.to_frame()


_CHILD = """
import sys, tempfile, pathlib
from sim_bench.memory import own_peak_rss_mb
import pyarrow
pyarrow.set_cpu_count(1)
pyarrow.set_io_thread_count(1)
from sim.recorder import ColumnTable
n = int(sys.argv[1])
memory_rows = int(sys.argv[2])
with tempfile.TemporaryDirectory() as d:
    t = ColumnTable("rows", {"id": "int", "start_s": "float", "end_s": "float", "size": "float"},
                    spill_dir=d, memory_rows=memory_rows)
    row = t.append
    for i in range(n):
        row(i, i * 0.5, i * 0.5 + 1.0, 4096.0)
    t.write(pathlib.Path(d) / "rows.parquet")
print(own_peak_rss_mb())
"""


def peak_rss_mb(rows: int, memory_rows: int = 2_000_000) -> float:
    """Peak RSS (MB) of a fresh process recording ``rows`` rows and writing them.

    Arrow runs on one thread in the child (its allocator keeps a heap per thread, so the
    peak would otherwise grow with the machine's core count); the figure still includes the
    interpreter, numpy, pandas and pyarrow themselves (about 150-200 MB).
    """
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(rows), str(memory_rows)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def bench_recorder(quick: bool = False) -> dict[str, float]:
    n = 300_000 if quick else 2_000_000
    col = _rate(_columnar, n)
    tab = _rate(_table, n)
    bare = _rate(_bare_list, n)
    batch = _rate(_batch, n * 4)
    out = {
        "recorder.rows_per_s": col,
        "recorder.baseline_table_rows_per_s": tab,
        "recorder.baseline_list_rows_per_s": bare,
        "recorder.ratio_vs_table": col / tab,
        "recorder.batch_rows_per_s": batch,
    }
    if quick:
        out["recorder.peak_rss_mb_2m"] = peak_rss_mb(2_000_000)
    else:
        out["recorder.peak_rss_mb_20m"] = peak_rss_mb(20_000_000)
    return out
