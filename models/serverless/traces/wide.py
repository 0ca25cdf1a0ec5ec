"""Fast reading of wide numeric tables (thousands of columns) with the same checks.

The per-minute tables of the Huawei release have one column per function (2,418 in
Region 2) and Azure 2019's invocation table one per minute of the day (1,440).
:func:`sim.traces.read_chunks` checks cell by cell through pandas, which costs about a
millisecond per column and chunk: minutes per file here. :func:`wide_chunks` parses each
chunk with numeric dtypes in one pass and checks the schema's bounds, finiteness, whole
numbers and sort order on the whole array. On the first chunk with anything wrong (or a
cell that does not parse, or lenient reading asked for), it hands over to
:func:`~sim.traces.read_chunks` from that chunk on, so errors name the same file and line
and lenient mode skips and counts exactly as it would.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from sim.traces import ReadStats, Schema, check_data_path, read_chunks


def _problem(v: np.ndarray, numeric, sorted_col: int | None, last: float) -> bool:
    """Whether the numeric block ``v`` (rows x the schema's numeric columns) breaks the
    schema (checked on whole arrays)."""
    nan = np.isnan(v)
    nullable = np.array([c.nullable for c in numeric])
    if (nan & ~nullable).any():
        return True
    x = np.where(nan, 0.0, v)
    finite = np.array([c.finite for c in numeric])
    if (~np.isfinite(x) & finite).any():
        return True
    lo = np.array([-np.inf if c.min is None else c.min for c in numeric])
    hi = np.array([np.inf if c.max is None else c.max for c in numeric])
    with np.errstate(invalid="ignore"):
        if ((x < lo) & ~nan).any() or ((x > hi) & ~nan).any():
            return True
        ints = np.array([c.kind == "int" for c in numeric])
        if ints.any() and (x[:, ints] != np.floor(x[:, ints])).any():
            return True
    if sorted_col is not None and len(v):
        t = v[:, sorted_col]
        if (np.diff(t) < 0).any() or t[0] < last:
            return True
    return False


def wide_chunks(
    path: str | Path,
    schema: Schema,
    chunk_rows: int = 1440,
    lenient: bool = False,
    stats: ReadStats | None = None,
) -> Iterator[pd.DataFrame]:
    """Like :func:`sim.traces.read_chunks` (same columns, ``_line``, errors and lenient
    counting), fast for CSV files of many numeric columns without blank lines."""
    stats = stats if stats is not None else ReadStats()
    p = check_data_path(path)
    if lenient or p.name.lower().endswith((".parquet", ".pq")):
        yield from read_chunks(p, schema, chunk_rows, lenient, stats)
        return
    numeric = [c for c in schema.columns if c.kind != "str"]
    text = [c for c in schema.columns if c.kind == "str"]
    names = [c.name for c in numeric]
    all_names = list(schema.names)
    sorted_col = names.index(schema.sorted_by) if schema.sorted_by in names else None
    dtypes = (
        float if not text else {c.name: (str if c.kind == "str" else float) for c in schema.columns}
    )
    done = 0  # data rows handed out so far
    last = -math.inf
    try:
        reader = pd.read_csv(p, dtype=dtypes, chunksize=chunk_rows, skip_blank_lines=False,
                             encoding="utf-8-sig", keep_default_na=False, na_values=[""])  # fmt: skip
        with reader:
            for chunk in reader:
                cols = [str(c).strip() for c in chunk.columns]
                present = set(cols)
                if cols != all_names and (
                    any(c.name not in present for c in schema.columns if c.required)
                    or not all(n in present for n in names)
                ):
                    break
                if not text and cols == names:
                    v = chunk.to_numpy(dtype=float)
                else:
                    chunk.columns = cols
                    v = chunk[names].to_numpy(dtype=float)
                if _problem(v, numeric, sorted_col, last):
                    break
                lines = np.arange(done, done + len(v), dtype=np.int64) + 2
                if text:  # build the frame in one go (column by column inserts fragment it)
                    cols_out = {}
                    for c in schema.columns:
                        if c.kind == "str":
                            cols_out[c.name] = (
                                chunk[c.name].astype(str).str.strip().to_numpy(dtype=object)
                            )
                        else:
                            col = v[:, names.index(c.name)]
                            cols_out[c.name] = col.astype(np.int64) if c.kind == "int" else col
                    cols_out["_line"] = lines
                    out = pd.DataFrame(cols_out)
                else:
                    out = pd.DataFrame(v, columns=names)
                    for c in numeric:
                        if c.kind == "int":
                            out[c.name] = out[c.name].to_numpy().astype(np.int64)
                    out["_line"] = lines
                if sorted_col is not None and len(v):
                    last = float(v[-1, sorted_col])
                stats.rows += len(out)
                stats.kept += len(out)
                done += len(out)
                yield out
            else:
                return
    except (ValueError, TypeError, pd.errors.ParserError, UnicodeDecodeError):
        pass  # a cell that does not parse: the careful reader says where
    # the careful reader from the first row not handed out yet
    for frame in read_chunks(p, schema, chunk_rows, lenient, stats):
        if done:
            frame = frame[frame["_line"] >= done + 2]
            if not len(frame):
                continue
        yield frame
