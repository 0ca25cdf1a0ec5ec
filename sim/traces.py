"""Reading data files: a streaming reader for large CSV/Parquet traces, and small-file helpers.

:func:`read_chunks` streams a trace in chunks of at most ``chunk_rows`` rows (memory stays
bounded however long the file), checks every row against a :class:`Schema` and yields
pandas DataFrames of typed columns. A bad row (a missing or non-numeric value, a number out
of bounds, a time going backwards) raises a :class:`~sim.errors.DataError` naming the file
and line (CSV) or row (Parquet). With ``lenient=True`` bad rows are skipped and counted in a
:class:`ReadStats` instead.

Formats: CSV (optionally gzip, bz2, zip, xz or zstd compressed, by file suffix; UTF-8 with or
without a byte-order mark) and Parquet (read in record batches with pyarrow). Line numbers
count the header as line 1 and assume no quoted field spans lines.

The small-file helpers (:func:`csv_rows`, :func:`require_columns`, :func:`csv_field`,
:func:`csv_number`) read hand-written CSV files (topologies, flow lists) row by row with the
same error messages.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from sim.errors import DataError, did_you_mean

Kind = Literal["float", "int", "str", "bool"]

#: Longest path accepted (most file systems refuse longer names anyway).
MAX_PATH_CHARS = 4096


@dataclass(frozen=True)
class Column:
    """One column of a trace: its name, kind and the values it accepts.

    ``required``: the column must be in the file (otherwise it is filled with ``default``).
    ``min``/``max``: inclusive bounds for numbers; ``finite``: refuse NaN and infinities.
    ``nullable``: an empty cell is allowed (NaN for numbers, "" for text).
    """

    name: str
    kind: Kind = "float"
    required: bool = True
    min: float | None = None
    max: float | None = None
    finite: bool = True
    nullable: bool = False
    default: Any = None


@dataclass(frozen=True)
class Schema:
    """The columns a reader checks; other columns in the file are ignored."""

    columns: tuple[Column, ...]
    #: a column whose values must not decrease from row to row (e.g. a time stamp)
    sorted_by: str | None = None

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise ValueError("schema has duplicate column names")
        if self.sorted_by is not None and self.sorted_by not in names:
            raise ValueError(f"sorted_by {self.sorted_by!r} is not a schema column")

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


@dataclass
class ReadStats:
    """What a read saw: rows read and kept, bad rows skipped (lenient mode) with the first
    few reasons."""

    rows: int = 0
    kept: int = 0
    bad_rows: int = 0
    examples: list[str] = field(default_factory=list)

    def note(self, where: str, reason: str) -> None:
        self.bad_rows += 1
        if len(self.examples) < 5:
            self.examples.append(f"{where}: {reason}")


def check_data_path(path: str | Path, what: str = "data file") -> Path:
    """``path`` as a Path if it names a readable regular file; a DataError otherwise."""
    text = str(path)
    if not text.strip():
        raise DataError(f"empty {what} path")
    if len(text) > MAX_PATH_CHARS or "\x00" in text:
        raise DataError(f"{what} path is too long or not a valid path", where=text[:80] + "...")
    p = Path(path)
    try:
        if not p.exists():
            raise DataError(f"{what} not found", where=text)
        if not p.is_file():
            raise DataError(f"{what} is not a regular file", where=text)
    except OSError as exc:  # e.g. name too long for the file system
        raise DataError(f"{what} cannot be opened: {exc.strerror or exc}", where=text) from None
    return p


def _format_of(path: Path, fmt: str) -> str:
    if fmt != "auto":
        return fmt
    suffixes = [s.lower() for s in path.suffixes]
    return "parquet" if ".parquet" in suffixes or ".pq" in suffixes else "csv"


def read_chunks(
    path: str | Path,
    schema: Schema,
    chunk_rows: int = 200_000,
    lenient: bool = False,
    stats: ReadStats | None = None,
    fmt: Literal["auto", "csv", "parquet"] = "auto",
) -> Iterator[pd.DataFrame]:
    """Stream ``path`` in checked, typed chunks (see the module docstring).

    Each yielded frame has exactly the schema's columns, in schema order, plus ``_line``
    (the CSV line, or the 1-based Parquet row, of each row) for messages downstream.
    """
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be positive")
    p = check_data_path(path)
    stats = stats if stats is not None else ReadStats()
    kind = _format_of(p, fmt)
    last = [-math.inf]  # last value of the sorted_by column, carried across chunks
    if kind == "parquet":
        raw_chunks = _parquet_chunks(p, schema, chunk_rows)
    else:
        raw_chunks = _csv_chunks(p, schema, chunk_rows)
    for raw, first_line, step in raw_chunks:
        yield _check_chunk(raw, first_line, step, p, schema, lenient, stats, last)


def _csv_chunks(p: Path, schema: Schema, chunk_rows: int):
    try:
        with p.open("rb") as fh:
            head = fh.read(3)
        encoding = "utf-8-sig" if head == b"\xef\xbb\xbf" else "utf-8"
        reader = pd.read_csv(
            p,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            chunksize=chunk_rows,
            encoding=encoding,
            encoding_errors="strict",
        )
        line = 2  # line 1 is the header
        with reader:
            header_checked = False
            for chunk in reader:
                if not header_checked:
                    _check_header(list(chunk.columns), schema, p)
                    header_checked = True
                yield chunk, line, 1
                line += len(chunk)
            if not header_checked:
                _check_header(list(reader._engine.names or []), schema, p)  # noqa: SLF001
    except UnicodeDecodeError as exc:
        raise DataError(
            f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})",
            where=str(p),
        ) from None
    except pd.errors.EmptyDataError:
        raise DataError("empty file (expected a header line)", where=str(p)) from None
    except pd.errors.ParserError as exc:
        raise DataError(f"malformed CSV: {str(exc).splitlines()[0]}", where=str(p)) from None


def _parquet_chunks(p: Path, schema: Schema, chunk_rows: int):
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(p)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(f"not a Parquet file: {str(exc).splitlines()[0]}", where=str(p)) from None
    names = pf.schema_arrow.names
    _check_header(names, schema, p)
    wanted = [c.name for c in schema.columns if c.name in names]
    row = 1
    for batch in pf.iter_batches(batch_size=chunk_rows, columns=wanted):
        frame = batch.to_pandas()
        yield frame, row, 1
        row += len(frame)


def _check_header(names: list[str], schema: Schema, p: Path) -> None:
    present = {str(n).strip() for n in names}
    for col in schema.columns:
        if col.required and col.name not in present:
            raise DataError(
                f"missing column {col.name!r}{did_you_mean(col.name, present)}; "
                f"the file has: {', '.join(list(map(str, names))[:12])}",
                where=f"{p}:1",
            )


def _check_chunk(
    raw: pd.DataFrame,
    first_line: int,
    step: int,
    p: Path,
    schema: Schema,
    lenient: bool,
    stats: ReadStats,
    last: list[float],
) -> pd.DataFrame:
    raw = raw.rename(columns=lambda c: str(c).strip())
    n = len(raw)
    lines = first_line + np.arange(n, dtype=np.int64) * step
    is_csv = all(_is_text(raw[c]) for c in raw.columns) if n else True
    # blank CSV lines: every cell empty
    blank = (raw == "").all(axis=1).to_numpy() if n and is_csv else np.zeros(n, dtype=bool)
    bad = np.zeros(n, dtype=bool)
    reasons: dict[int, str] = {}
    out: dict[str, Any] = {}
    for col in schema.columns:
        if col.name not in raw.columns:
            out[col.name] = np.full(n, col.default)
            continue
        values, col_bad, why = _convert(raw[col.name], col)
        out[col.name] = values
        new = col_bad & ~bad & ~blank
        for i in np.flatnonzero(new)[:5]:
            reasons[int(i)] = f"{col.name}: {why(i)}"
        bad |= col_bad
    bad &= ~blank
    frame = pd.DataFrame(out)
    frame["_line"] = lines
    if schema.sorted_by is not None and n:
        t = frame[schema.sorted_by].to_numpy(dtype=float)
        t_ok = np.where(bad | blank, np.nan, t)
        prev = np.fmax.accumulate(np.concatenate([[last[0]], t_ok]))[:-1]
        back = t_ok < prev
        for i in np.flatnonzero(back & ~bad)[:5]:
            reasons[int(i)] = (
                f"{schema.sorted_by} goes backwards ({t_ok[i]:g} after {prev[i]:g}); "
                "the file must be sorted"
            )
        bad |= back
        finite = t_ok[~np.isnan(t_ok) & ~back]
        if finite.size:
            last[0] = max(last[0], float(finite.max()))
    stats.rows += int((~blank).sum())
    if bad.any():
        first_bad = int(np.flatnonzero(bad)[0])
        where = f"{p}:{int(lines[first_bad])}"
        if not lenient:
            raise DataError(reasons.get(first_bad, "bad row"), where=where)
        for i in np.flatnonzero(bad):
            stats.note(f"{p}:{int(lines[i])}", reasons.get(int(i), "bad value"))
    keep = ~(bad | blank)
    stats.kept += int(keep.sum())
    if not keep.all():
        frame = frame[keep].reset_index(drop=True)
    return frame


def _is_text(series: pd.Series) -> bool:
    """Text cells: object dtype (pandas 2) or the string dtype pandas 3 gives ``dtype=str``."""
    return series.dtype == object or pd.api.types.is_string_dtype(series.dtype)


def _convert(series: pd.Series, col: Column):
    """Typed values of one column, a mask of bad cells and a reason for a bad cell."""
    n = len(series)
    if _is_text(series):
        text = series.astype(str).str.strip()
        empty = (text == "").to_numpy()
    else:
        text = None
        empty = series.isna().to_numpy()
    if col.kind == "str":
        values = (text if text is not None else series.astype(str)).to_numpy(dtype=object)
        bad = empty & (not col.nullable)
        return values, bad, lambda i: "empty value"
    if col.kind == "bool":
        if text is not None:
            low = text.str.lower()
            truth = low.isin(["1", "true", "yes", "t", "y"]).to_numpy()
            false = low.isin(["0", "false", "no", "f", "n"]).to_numpy()
            bad = ~(truth | false) & ~(empty & col.nullable)
            return truth, bad, lambda i: f"not a boolean: {_cell(series, i)}"
        vals = series.fillna(False).astype(bool).to_numpy()
        return vals, np.zeros(n, dtype=bool), lambda i: ""
    nums = pd.to_numeric(text if text is not None else series, errors="coerce").to_numpy(
        dtype=float
    )
    unparsed = np.isnan(nums) & ~empty
    if text is not None:  # "nan" typed in the file is a value, not a parse error
        unparsed &= ~text.str.lower().isin(["nan", "-nan", "+nan"]).to_numpy()
    bad = unparsed | (empty & (not col.nullable))
    msg: dict[str, str] = {}
    if col.finite:
        nonfinite = ~np.isfinite(nums) & ~empty
        bad |= nonfinite
        msg["finite"] = "must be a finite number"
    with np.errstate(invalid="ignore"):
        if col.min is not None:
            bad |= nums < col.min
        if col.max is not None:
            bad |= nums > col.max
        if col.kind == "int":
            frac = np.isfinite(nums) & (nums != np.floor(nums))
            bad |= frac

    def why(i: int) -> str:
        if empty[i]:
            return "empty value"
        v = nums[i]
        if np.isnan(v) and unparsed[i]:
            return f"not a number: {_cell(series, i)}"
        if col.finite and not np.isfinite(v):
            return f"must be a finite number, got {_cell(series, i)}"
        if col.min is not None and v < col.min:
            return f"must be >= {col.min:g}, got {v:g}"
        if col.max is not None and v > col.max:
            return f"must be <= {col.max:g}, got {v:g}"
        if col.kind == "int":
            return f"must be a whole number, got {_cell(series, i)}"
        return "bad value"

    if col.kind == "int":
        values = np.where(bad | ~np.isfinite(nums), 0, nums).astype(np.int64)
    else:
        values = nums
    return values, bad, why


def _is_text(series: pd.Series) -> bool:
    """Whether a column holds text cells (object or pandas string dtype)."""
    return pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)


def _cell(series: pd.Series, i: int, limit: int = 40) -> str:
    s = repr(series.iloc[int(i)])
    return s if len(s) <= limit else s[: limit - 3] + "..."


def read_all(
    path: str | Path, schema: Schema, lenient: bool = False, stats: ReadStats | None = None
) -> pd.DataFrame:
    """The whole (small) file as one checked frame; prefer :func:`read_chunks` for traces."""
    frames = list(read_chunks(path, schema, lenient=lenient, stats=stats))
    if not frames:
        return pd.DataFrame({c: [] for c in [*schema.names, "_line"]})
    return pd.concat(frames, ignore_index=True)


# -- small hand-written CSV files ----------------------------------------------------------


def csv_rows(fh, path: Path) -> Iterator[tuple[list[str], int]]:
    """Non-blank, non-comment (``#``) rows of an open CSV file, fields stripped, with the
    1-based line each row starts on."""
    reader = csv.reader(fh)
    start = 1
    try:
        for row in reader:
            line = start
            start = reader.line_num + 1
            cells = [c.strip() for c in row]
            if not any(cells) or cells[0].startswith("#"):
                continue
            yield cells, line
    except UnicodeDecodeError as exc:
        raise DataError(f"not UTF-8 text ({exc.reason})", where=str(path)) from None
    except csv.Error as exc:
        raise DataError(f"malformed CSV: {exc}", where=f"{path}:{reader.line_num}") from None


def open_text(path: Path):
    """Open a small text file as UTF-8 for :func:`csv_rows` (a byte-order mark is skipped)."""
    return Path(path).open(newline="", encoding="utf-8-sig")


def require_columns(
    header: Sequence[str], required: Sequence[str], path: Path, line: int
) -> dict[str, int]:
    """Column name -> index; a DataError naming every missing column."""
    idx = {name: i for i, name in enumerate(header)}
    missing = [c for c in required if c not in idx]
    if missing:
        hint = did_you_mean(missing[0], header) if len(missing) == 1 else ""
        raise DataError(
            f"missing column(s) {', '.join(missing)}{hint}; header is {','.join(header)}",
            where=f"{path}:{line}",
        )
    return idx


def csv_field(row: list[str], i: int, where: str) -> str:
    if i >= len(row):
        raise DataError(f"row has {len(row)} fields, expected at least {i + 1}", where=where)
    return row[i]


def csv_number(row: list[str], i: int, name: str, where: str) -> float:
    """A finite number from field ``i``; a DataError naming ``name`` otherwise."""
    text = csv_field(row, i, where)
    try:
        value = float(text)
    except ValueError:
        raise DataError(f"{name} is not a number: {text!r}", where=where) from None
    if not math.isfinite(value):
        raise DataError(f"{name} must be finite, got {text!r}", where=where)
    return value
