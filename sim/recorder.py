"""Probes, columnar buffers and summary statistics.

Models emit named probe values while they run; the recorder keeps them in growable
``array('d')`` buffers (no pandas in the event loop) and turns them into pandas objects only
when the run is over. Four kinds of buffer:

* a *probe*: one float per observation (``wait_s``), summarised by :func:`summarize`;
* a *table*: one row per record with named columns (``customers``: id, arrival, start, end);
* a *series*: ``(time, value)`` pairs, typically filled by :meth:`Recorder.sample` at a
  fixed interval (queue length every second);
* a *columnar table* (:class:`ColumnTable`): typed columns for millions of rows. Rows are
  appended through a generated function (one list ``extend`` per row), converted to numpy
  chunks every ``chunk_rows`` rows and, past ``memory_rows``, spilled to a Parquet file, so
  a 20-million-row recording stays within bounded memory. Vectorised producers append whole
  numpy columns with :meth:`ColumnTable.extend`.

Summary statistics: count, mean, p50, p90, p95, p99, p99.9, max, keyed
``<name>.<stat>`` (``wait_s.mean``, ``response_s.p99``). :func:`cdf` exports an empirical CDF.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from array import array
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import simpy

PERCENTILES: tuple[tuple[str, float], ...] = (
    ("p50", 50.0),
    ("p90", 90.0),
    ("p95", 95.0),
    ("p99", 99.0),
    ("p99.9", 99.9),
)


def summarize(values: Iterable[float] | np.ndarray, name: str) -> dict[str, float]:
    """Summary statistics of ``values`` keyed ``<name>.<stat>``.

    Empty input gives ``count`` 0 and NaN for the other statistics.
    """
    arr = np.asarray(values, dtype=float)
    out: dict[str, float] = {f"{name}.count": float(arr.size)}
    if arr.size == 0:
        for stat in ("mean", *(p for p, _ in PERCENTILES), "max"):
            out[f"{name}.{stat}"] = float("nan")
        return out
    out[f"{name}.mean"] = float(arr.mean())
    qs = np.percentile(arr, [q for _, q in PERCENTILES])
    for (label, _), q in zip(PERCENTILES, qs, strict=True):
        out[f"{name}.{label}"] = float(q)
    out[f"{name}.max"] = float(arr.max())
    return out


def cdf(values: Iterable[float] | np.ndarray, points: int | None = 1000) -> pd.DataFrame:
    """Empirical CDF as a DataFrame with columns ``value`` and ``cdf``.

    With ``points`` set, the CDF is thinned to at most that many evenly spaced ranks (the
    last point, cdf = 1, is always kept), so that a million observations export small.
    """
    arr = np.sort(np.asarray(values, dtype=float))
    n = arr.size
    if n == 0:
        return pd.DataFrame({"value": [], "cdf": []})
    probs = np.arange(1, n + 1) / n
    if points is not None and n > points:
        idx = np.unique(np.linspace(0, n - 1, points).round().astype(int))
        arr, probs = arr[idx], probs[idx]
    return pd.DataFrame({"value": arr, "cdf": probs})


class Probe:
    """A growable buffer of floats. ``record`` is the hot path: one array append."""

    __slots__ = ("name", "_buf", "record")

    def __init__(self, name: str):
        self.name = name
        self._buf = array("d")
        self.record = self._buf.append  # bound method: no extra Python frame per call

    def __len__(self) -> int:
        return len(self._buf)

    def values(self) -> np.ndarray:
        return np.frombuffer(self._buf, dtype=float).copy() if len(self._buf) else np.empty(0)

    def extend(self, values: Iterable[float]) -> None:
        self._buf.extend(values)


class Table:
    """Rows of named columns, stored column by column."""

    def __init__(self, name: str, columns: Sequence[str]):
        if len(set(columns)) != len(columns):
            raise ValueError(f"table {name!r}: duplicate column names")
        self.name = name
        self.columns = tuple(columns)
        self._cols: list[list[Any]] = [[] for _ in columns]

    def append(self, *values: Any) -> None:
        if len(values) != len(self._cols):
            raise ValueError(
                f"table {self.name!r} has {len(self._cols)} columns, got {len(values)} values"
            )
        for col, v in zip(self._cols, values, strict=True):
            col.append(v)

    def __len__(self) -> int:
        return len(self._cols[0]) if self._cols else 0

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({c: v for c, v in zip(self.columns, self._cols, strict=True)})


class Series:
    """``(time, value)`` pairs."""

    __slots__ = ("name", "_t", "_v")

    def __init__(self, name: str):
        self.name = name
        self._t = array("d")
        self._v = array("d")

    def record(self, t: float, value: float) -> None:
        self._t.append(t)
        self._v.append(value)

    def __len__(self) -> int:
        return len(self._t)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"time_s": np.asarray(self._t), self.name: np.asarray(self._v)})


#: Column kinds of a :class:`ColumnTable` and their numpy dtypes.
COLUMN_KINDS: dict[str, Any] = {
    "float": np.float64,
    "f8": np.float64,
    "int": np.int64,
    "i8": np.int64,
    "bool": np.bool_,
    "str": object,
}


class ColumnTable:
    """Typed columns for high-volume recording (see the module docstring).

    ``schema`` maps column names to kinds (``float``, ``int``, ``bool``, ``str``). Append a
    row with ``table.append(v1, v2, ...)`` (positional, in schema order; in hot loops hold
    ``row = table.append`` once), or whole columns with :meth:`extend`. Rows are buffered in
    a flat list and converted to typed numpy chunks every ``chunk_rows`` rows; once more than
    ``memory_rows`` rows are held, chunks go to a Parquet file in ``spill_dir`` (a temporary
    folder by default). :meth:`write` produces the final Parquet file without loading the
    spilled rows back; :meth:`to_frame` loads everything (for small tables).
    """

    def __init__(
        self,
        name: str,
        schema: dict[str, str],
        chunk_rows: int = 65_536,
        memory_rows: int = 2_000_000,
        spill_dir: str | Path | None = None,
    ):
        if not schema:
            raise ValueError(f"table {name!r} needs at least one column")
        for col, kind in schema.items():
            if kind not in COLUMN_KINDS:
                raise ValueError(
                    f"table {name!r}: column {col!r} has unknown kind {kind!r} "
                    f"(kinds: {', '.join(COLUMN_KINDS)})"
                )
        if chunk_rows < 1 or memory_rows < chunk_rows:
            raise ValueError("need 1 <= chunk_rows <= memory_rows")
        self.name = name
        self.schema = dict(schema)
        self.columns = tuple(schema)
        self.chunk_rows = int(chunk_rows)
        self.memory_rows = int(memory_rows)
        self._spill_dir = Path(spill_dir) if spill_dir is not None else None
        self._k = len(schema)
        self._flat: list[Any] = []
        self._chunks: list[dict[str, np.ndarray]] = []
        self._chunk_len = 0  # rows in self._chunks
        self._spilled_rows = 0
        self._writer = None
        self._spill_path: Path | None = None
        self._tmpdir: str | None = None
        self.append = self._make_appender()

    # -- appending ------------------------------------------------------------------------
    def _make_appender(self) -> Callable[..., None]:
        args = ", ".join(f"c{i}" for i in range(self._k))
        src = (
            f"def append({args}, _ext=_ext, _flat=_flat, _lim=_lim, _flush=_flush, _len=len):\n"
            f"    _ext(({args},))\n"
            f"    if _len(_flat) >= _lim:\n"
            f"        _flush()\n"
        )
        ns: dict[str, Any] = {
            "_ext": self._flat.extend,
            "_flat": self._flat,
            "_lim": self.chunk_rows * self._k,
            "_flush": self._flush,
        }
        exec(compile(src, f"<ColumnTable {self.name}>", "exec"), ns)  # noqa: S102
        fn = ns["append"]
        fn.__doc__ = f"Append one row ({', '.join(self.columns)})."
        return fn

    def extend(self, *columns: Iterable[Any] | np.ndarray, **named: Any) -> None:
        """Append whole columns (positional in schema order, or by name); all columns of
        the table must be given, with equal lengths."""
        if named:
            if columns:
                raise TypeError("give the columns positionally or by name, not both")
            missing = [c for c in self.columns if c not in named]
            if missing or len(named) != self._k:
                raise ValueError(f"table {self.name!r}: give every column {self.columns}")
            columns = tuple(named[c] for c in self.columns)
        if len(columns) != self._k:
            raise ValueError(f"table {self.name!r} has {self._k} columns, got {len(columns)}")
        arrs = [np.asarray(c) for c in columns]
        n = len(arrs[0])
        if any(len(a) != n for a in arrs):
            raise ValueError(f"table {self.name!r}: columns of unequal length")
        if n == 0:
            return
        self._flush()
        chunk = {
            c: np.asarray(a, dtype=COLUMN_KINDS[self.schema[c]])
            for c, a in zip(self.columns, arrs, strict=True)
        }
        self._add_chunk(chunk, n)

    def _flush(self) -> None:
        flat = self._flat
        if not flat:
            return
        k = self._k
        n = len(flat) // k
        chunk = {}
        for j, col in enumerate(self.columns):
            kind = self.schema[col]
            values = flat[j::k]
            if kind in ("float", "f8"):
                chunk[col] = np.frombuffer(array("d", values), dtype=np.float64)
            elif kind in ("int", "i8"):
                chunk[col] = np.frombuffer(array("q", values), dtype=np.int64)
            else:
                chunk[col] = np.array(values, dtype=COLUMN_KINDS[kind])
        flat.clear()
        self._add_chunk(chunk, n)

    def _add_chunk(self, chunk: dict[str, np.ndarray], n: int) -> None:
        self._chunks.append(chunk)
        self._chunk_len += n
        if self._chunk_len > self.memory_rows:
            self._spill()

    def _spill(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self._writer is None:
            folder = self._spill_dir
            if folder is None:
                self._tmpdir = tempfile.mkdtemp(prefix="sim-spill-")
                folder = Path(self._tmpdir)
            folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{self.name}.", suffix=".parquet", dir=folder)
            os.close(fd)
            self._spill_path = Path(tmp)
            self._writer = pq.ParquetWriter(tmp, self._arrow_schema())
        for chunk in self._chunks:
            self._writer.write_table(pa.table(self._arrow_columns(chunk)))
        self._spilled_rows += self._chunk_len
        self._chunks.clear()
        self._chunk_len = 0

    def _arrow_schema(self):
        import pyarrow as pa

        types = {"float": pa.float64(), "f8": pa.float64(), "int": pa.int64(), "i8": pa.int64(),
                 "bool": pa.bool_(), "str": pa.string()}  # fmt: skip
        return pa.schema([(c, types[k]) for c, k in self.schema.items()])

    def _arrow_columns(self, chunk: dict[str, np.ndarray]) -> dict[str, Any]:
        import pyarrow as pa

        schema = self._arrow_schema()
        return {c: pa.array(chunk[c], type=schema.field(c).type) for c in self.columns}

    # -- reading --------------------------------------------------------------------------
    def __len__(self) -> int:
        return self._spilled_rows + self._chunk_len + len(self._flat) // self._k

    @property
    def spilled_rows(self) -> int:
        return self._spilled_rows

    def write(self, path: str | Path) -> Path:
        """Write every row to the Parquet file ``path`` (atomically) and release the
        buffers; spilled rows are not loaded back into memory."""
        from sim.results import write_parquet

        self._flush()
        path = Path(path)
        if self._writer is None:
            return write_parquet(path, self.to_frame())
        self._spill()
        self._writer.close()
        self._writer = None
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        try:
            from sim.results import FILE_MODE

            shutil.move(str(self._spill_path), tmp)
            os.chmod(tmp, FILE_MODE)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._cleanup()
        return path

    def to_frame(self) -> pd.DataFrame:
        """All rows as a DataFrame (spilled rows are read back)."""
        self._flush()
        frames = []
        if self._writer is not None:
            import pyarrow.parquet as pq

            self._writer.close()
            self._writer = None
            frames.append(pq.read_table(self._spill_path).to_pandas())
            self._cleanup()
            self._spilled_rows = 0
        if self._chunks:
            frames.append(
                pd.DataFrame(
                    {c: np.concatenate([ch[c] for ch in self._chunks]) for c in self.columns}
                )
            )
        if not frames:
            return pd.DataFrame(
                {c: np.empty(0, dtype=COLUMN_KINDS[k]) for c, k in self.schema.items()}
            )
        out = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
        self._chunks = [{c: out[c].to_numpy() for c in self.columns}]
        self._chunk_len = len(out)
        return out

    def _cleanup(self) -> None:
        if self._spill_path is not None:
            self._spill_path.unlink(missing_ok=True)
            self._spill_path = None
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def __del__(self) -> None:  # a table dropped without write(): remove its spill file
        try:
            if self._writer is not None:
                self._writer.close()
            self._cleanup()
        except Exception:
            pass


class Recorder:
    """Holds a run's probes, tables and series, created on first use by name."""

    def __init__(self) -> None:
        self.probes: dict[str, Probe] = {}
        self.tables: dict[str, Table] = {}
        self.series: dict[str, Series] = {}
        self.columnar: dict[str, ColumnTable] = {}

    def probe(self, name: str) -> Probe:
        p = self.probes.get(name)
        if p is None:
            p = self.probes[name] = Probe(name)
        return p

    def record(self, name: str, value: float) -> None:
        """Convenience: append ``value`` to probe ``name`` (prefer a held Probe in hot loops)."""
        self.probe(name).record(value)

    def table(self, name: str, columns: Sequence[str]) -> Table:
        t = self.tables.get(name)
        if t is None:
            t = self.tables[name] = Table(name, columns)
        elif tuple(columns) != t.columns:
            raise ValueError(f"table {name!r} already exists with columns {t.columns}")
        return t

    def columns(self, name: str, schema: dict[str, str], **kwargs: Any) -> ColumnTable:
        """The typed columnar table ``name`` (created on first use; see
        :class:`ColumnTable` for ``chunk_rows``, ``memory_rows`` and ``spill_dir``)."""
        t = self.columnar.get(name)
        if t is None:
            t = self.columnar[name] = ColumnTable(name, schema, **kwargs)
        elif dict(schema) != t.schema:
            raise ValueError(f"table {name!r} already exists with schema {t.schema}")
        return t

    def timeseries(self, name: str) -> Series:
        s = self.series.get(name)
        if s is None:
            s = self.series[name] = Series(name)
        return s

    def sample(
        self,
        env: simpy.Environment,
        name: str,
        fn: Callable[[], float],
        interval_s: float,
        until_s: float | None = None,
    ):
        """Start a process that records ``fn()`` into series ``name`` every ``interval_s``.

        The sampler stops at ``until_s`` if given; otherwise it runs as long as the
        simulation does (so a run stopped only by an empty event queue needs ``until_s``).
        """
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        series = self.timeseries(name)

        def sampler():
            while until_s is None or env.now <= until_s:
                series.record(env.now, float(fn()))
                yield env.timeout(interval_s)

        return env.process(sampler())

    def values(self, name: str) -> np.ndarray:
        p = self.probes.get(name)
        return p.values() if p is not None else np.empty(0)

    def summary(self, names: Iterable[str] | None = None) -> dict[str, float]:
        """Summary statistics of the named probes (all probes when ``names`` is None)."""
        out: dict[str, float] = {}
        for name in names if names is not None else sorted(self.probes):
            out.update(summarize(self.values(name), name))
        return out

    def frames(self) -> dict[str, pd.DataFrame]:
        """All tables and series as DataFrames (columnar tables are written by the runner
        with :meth:`ColumnTable.write`, not loaded here)."""
        out = {name: t.to_frame() for name, t in self.tables.items()}
        out.update({name: s.to_frame() for name, s in self.series.items()})
        return out
