"""Distribution fits of §4.1 of the Huawei paper: cold-start times pooled over regions
follow a LogNormal (mean 3.24 s, s.d. 7.10 s) and the gaps between consecutive cold starts
of a region, pooled over regions, a Weibull (mean 1.25 s, s.d. 3.66 s).

Fits are maximum likelihood with ``scipy.stats`` (location fixed at 0); the reported
numbers are the fitted distribution's mean and standard deviation. Gaps of zero (several
cold starts at the same instant, one request causing several) cannot enter a Weibull
likelihood; they count as half the release's time resolution, 0.5 ms [A]. Fits use at
most ``max_points`` values (an evenly spaced subsample of the sorted values), which
changes the fitted moments by far less than their published precision.
"""

from __future__ import annotations

import math

import numpy as np

#: Half the release's time resolution (timestamps in ms): the value a zero gap counts as.
ZERO_GAP_S = 5e-4
MAX_POINTS = 200_000


def _subsample(values: np.ndarray, max_points: int) -> np.ndarray:
    v = np.sort(np.asarray(values, dtype=float))
    if v.size > max_points:
        idx = np.linspace(0, v.size - 1, max_points).round().astype(np.int64)
        v = v[idx]
    return v


def lognormal_fit(values, max_points: int = MAX_POINTS) -> dict[str, float]:
    """LogNormal MLE: ``mean_s``, ``sd_s`` of the fitted distribution, ``mu``, ``sigma``."""
    from scipy import stats

    v = _subsample(values, max_points)
    v = v[v > 0]
    if v.size < 2:
        return {"mean_s": math.nan, "sd_s": math.nan, "mu": math.nan, "sigma": math.nan}
    sigma, _loc, scale = stats.lognorm.fit(v, floc=0)
    mean = scale * math.exp(sigma**2 / 2)
    sd = mean * math.sqrt(math.expm1(sigma**2))
    return {"mean_s": mean, "sd_s": sd, "mu": math.log(scale), "sigma": sigma}


def weibull_fit(gaps, max_points: int = MAX_POINTS) -> dict[str, float]:
    """Weibull MLE (location 0): ``mean_s``, ``sd_s``, ``shape``, ``scale``."""
    from scipy import special, stats

    v = _subsample(gaps, max_points)
    v = np.where(v <= 0, ZERO_GAP_S, v)
    if v.size < 2:
        return {"mean_s": math.nan, "sd_s": math.nan, "shape": math.nan, "scale": math.nan}
    k, _loc, lam = stats.weibull_min.fit(v, floc=0)
    g1 = special.gamma(1 + 1 / k)
    g2 = special.gamma(1 + 2 / k)
    return {"mean_s": lam * g1, "sd_s": lam * math.sqrt(max(g2 - g1 * g1, 0.0)),
            "shape": k, "scale": lam}  # fmt: skip


def gaps_by_region(times: np.ndarray, regions: np.ndarray) -> np.ndarray:
    """Gaps between consecutive cold starts within each region, pooled."""
    out = []
    for r in np.unique(regions):
        t = np.sort(times[regions == r])
        if t.size > 1:
            out.append(np.diff(t))
    return np.concatenate(out) if out else np.empty(0)
