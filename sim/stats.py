"""One source of truth for the statistics shown to users.

Every 95% confidence half-width in summary.json (``<metric>.ci95``), REPORT.md (``±``) and
figures (error bars) comes from :func:`ci95_halfwidth`: Student's t with ``n - 1`` degrees
of freedom (``scipy.stats.t``), never the normal 1.96, so the three always agree. Sweep
tables are filtered to finished runs by :func:`ok_rows`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd


def t_quantile(n: int, level: float = 0.95) -> float:
    """The two-sided ``level`` quantile of Student's t for a sample of ``n`` (dof n - 1)."""
    if n < 2:
        return math.nan
    from scipy.stats import t

    return float(t.ppf(0.5 + level / 2.0, n - 1))


def ci95_halfwidth(values: Iterable[float] | np.ndarray) -> float:
    """Half-width of the 95% confidence interval of the mean of ``values`` (finite values
    only; NaN with fewer than two)."""
    arr = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=float)
    arr = arr[np.isfinite(arr)]
    n = arr.size
    if n < 2:
        return math.nan
    return t_quantile(n) * float(arr.std(ddof=1)) / math.sqrt(n)


def mean_ci(values: Iterable[float] | np.ndarray) -> tuple[float, float]:
    """Mean of the finite values and its 95% half-width."""
    arr = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=float)
    fin = arr[np.isfinite(arr)]
    mean = float(fin.mean()) if fin.size else math.nan
    return mean, ci95_halfwidth(fin)


def group_ci(grouped: pd.core.groupby.SeriesGroupBy) -> pd.DataFrame:
    """Per group: ``mean``, ``ci95`` (half-width, 0 for a single value) and ``n``."""
    rows = {key: (*mean_ci(g.to_numpy()), int(g.notna().sum())) for key, g in grouped}
    out = pd.DataFrame.from_dict(rows, orient="index", columns=["mean", "ci95", "n"])
    out["ci95"] = out["ci95"].fillna(0.0)
    return out.sort_index()


def ok_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of a sweep table whose run finished (all rows of a table without status)."""
    if "status" not in table.columns:
        return table
    return table[table["status"] == "ok"]
