"""From per-minute request counts to requests: where in its minute each request falls,
and how long it runs.

Per-minute tables (the Huawei release's ``quantiles/<region>/requests``, Azure 2019's
invocation counts) say how many requests a function had in each minute, not when. This
module places them by one rule per trigger class [A], used both by the generator (which
makes its requests this way from its own minute counts) and by the per-minute replay, so
a replay of generated counts is statistically the same trace:

* ``uniform`` (APIG, unknown and other triggers): independent uniform times in the minute
  (a Poisson process within the minute);
* ``timer`` (TIMER): cron-like firings at the start of the minute plus a small delay
  (up to ``TIMER_JITTER_S``); ``c`` firings in one minute are spread evenly;
* ``burst`` (OBS, workflow: asynchronous events and call chains, the bursty groups of
  Fig 6b and Fig 8e): the minute's requests arrive as one burst starting at a uniform
  time, with exponential gaps of mean ``BURST_GAP_S``.

Execution times are lognormal with the function's (or the function-minute's) mean and a
log-sigma, so that a minute's mean execution time is what the table says.

Random numbers are counter based (SplitMix64 of seed, function, minute and request
index), so a function's requests do not depend on which other functions are replayed or
in which shard.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

UNIFORM, TIMER, BURST = 0, 1, 2

#: Largest delay of a timer firing after its minute starts (s) [A].
TIMER_JITTER_S = 0.5
#: Mean gap between the requests of a burst (s) [A].
BURST_GAP_S = 0.05

_M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def placement_class(trigger: str) -> int:
    """The placement rule of a trigger label (Huawei ``TIMER-A``, Azure ``timer`` ...)."""
    t = str(trigger).upper()
    if t.startswith("TIMER"):
        return TIMER
    if t.startswith(("OBS", "WORKFLOW", "ORCHESTRATION", "STORAGE", "QUEUE", "EVENT")):
        return BURST
    return UNIFORM


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser on uint64 arrays."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def uniforms(seed: int, keys: np.ndarray, minute: np.ndarray, index: np.ndarray,
             salt: int) -> np.ndarray:  # fmt: skip
    """Uniforms in (0, 1), a pure function of (seed, key, minute, index, salt)."""
    with np.errstate(over="ignore"):
        x = _mix(np.uint64(seed & 0xFFFFFFFFFFFFFFFF) ^ np.uint64(salt * 0x9E3779B97F4A7C15 % 2**64))
        x = _mix(x ^ keys.astype(np.uint64))
        x = _mix(x ^ (minute.astype(np.uint64) * np.uint64(0xD1B54A32D192ED03)))
        x = _mix(x ^ index.astype(np.uint64))
    return ((x >> np.uint64(11)).astype(np.float64) + 0.5) / float(2**53)


def expand_minute(
    seed: int,
    minute: int,
    start_s: float,
    counts: np.ndarray,
    funcs: np.ndarray,
    keys: np.ndarray,
    classes: np.ndarray,
    exec_mean_s: np.ndarray,
    exec_sigma: np.ndarray,
    timer_jitter_s: float = TIMER_JITTER_S,
    burst_gap_s: float = BURST_GAP_S,
):
    """Requests of one minute starting at ``start_s``: for each function ``funcs[j]`` with
    ``counts[j] > 0``, its placement class, execution-time mean and log-sigma. Returns
    ``(times, funcs, exec_s)`` sorted by time (ties by function then index).
    ``timer_jitter_s`` and ``burst_gap_s`` replace the module's assumptions (sensitivity
    studies)."""
    counts = np.asarray(counts, dtype=np.int64)
    nz = counts > 0
    if not nz.any():
        return np.empty(0), np.empty(0, np.int64), np.empty(0)
    counts, funcs, keys = counts[nz], funcs[nz], keys[nz]
    classes, exec_mean_s, exec_sigma = classes[nz], exec_mean_s[nz], exec_sigma[nz]
    n = int(counts.sum())
    group = np.repeat(np.arange(counts.size), counts)
    first = np.cumsum(counts) - counts
    k = np.arange(n) - first[group]
    gkeys = keys[group]
    m = np.full(n, minute, dtype=np.int64)
    u = uniforms(seed, gkeys, m, k, 1)
    cls = classes[group]
    c = counts[group].astype(float)
    offset = 60.0 * u  # uniform
    timer = cls == TIMER
    if timer.any():
        offset[timer] = (k[timer] * 60.0 / c[timer]) + timer_jitter_s * u[timer]
    burst = cls == BURST
    if burst.any():
        start = 60.0 * uniforms(seed, gkeys[burst], m[burst], np.zeros(int(burst.sum()), np.int64), 2)
        gaps = -burst_gap_s * np.log(u[burst])
        gaps[k[burst] == 0] = 0.0
        csum = np.cumsum(gaps)
        g_first = first[group[burst]]
        # cumulative gap within each burst: subtract the running sum at the burst's start
        idx_first = np.searchsorted(np.flatnonzero(burst), g_first)
        offset[burst] = np.minimum(start + csum - csum[idx_first], 59.999)
    z = ndtri(uniforms(seed, gkeys, m, k, 3))
    sig = exec_sigma[group]
    # a lognormal with mean exec_mean: mu = ln(mean) - sigma^2 / 2
    exec_s = exec_mean_s[group] * np.exp(sig * z - 0.5 * sig * sig)
    times = start_s + offset
    order = np.lexsort((k, funcs[group], times))
    return times[order], funcs[group][order], exec_s[order]
