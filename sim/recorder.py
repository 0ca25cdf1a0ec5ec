"""Probes, columnar buffers and summary statistics.

Models emit named probe values while they run; the recorder keeps them in growable
``array('d')`` buffers (no pandas in the event loop) and turns them into pandas objects only
when the run is over. Three kinds of buffer:

* a *probe*: one float per observation (``wait_s``), summarised by :func:`summarize`;
* a *table*: one row per record with named columns (``customers``: id, arrival, start, end);
* a *series*: ``(time, value)`` pairs, typically filled by :meth:`Recorder.sample` at a
  fixed interval (queue length every second).

Summary statistics: count, mean, p50, p90, p95, p99, p99.9, max, keyed
``<name>.<stat>`` (``wait_s.mean``, ``response_s.p99``). :func:`cdf` exports an empirical CDF.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Sequence
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


class Recorder:
    """Holds a run's probes, tables and series, created on first use by name."""

    def __init__(self) -> None:
        self.probes: dict[str, Probe] = {}
        self.tables: dict[str, Table] = {}
        self.series: dict[str, Series] = {}

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
        """All tables and series as DataFrames, plus one frame of all probes (if equal length)."""
        out = {name: t.to_frame() for name, t in self.tables.items()}
        out.update({name: s.to_frame() for name, s in self.series.items()})
        return out
