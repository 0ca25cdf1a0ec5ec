"""The calibrated generator of Huawei-like serverless workloads.

What it makes, per region (constants and sources in :mod:`.calibration`)
    * functions: ``functions`` of them (default: the region's count read off Fig 1), each
      with a user (most users own one function, Fig 4), a resource configuration, a
      runtime and a trigger group (Region 2's mixes, Fig 8f, applied to every region [A]),
      a home cluster (a hash, §2.1) and an execution-time median (lognormal around the
      region's median, Fig 3b);
    * per-minute request counts (:meth:`Population.minute_counts`): timers fire on their
      period (minutes, cron-aligned); other functions are Poisson with a heavy-tailed mean
      rate (lognormal across functions, region-dependent, capped at ``max_rate_per_s``
      [A]) times a daily cycle peaking at the region's peak hour with a per-function
      peak-to-trough ratio (Figs 5, 6a), weekends at 1/1.3 of weekdays (§3.3: weekdays
      have about 30 % more pods) and the holiday of days 14-23 (§3.2, Fig 7: load falls
      except in R3, where it rises); bursty triggers (OBS, workflow) add bursts of several
      requests at once (Fig 6b, 8e) and have no steady rate [A];
    * requests: the counts placed in their minutes by :mod:`.placement` (the rule the
      per-minute replay uses too), with lognormal execution times.

    Cold starts are not drawn here: the generator's requests run through the platform
    model (``sim trace generate``), which writes the cold_start table.

Scale
    The real regions serve 1e8 to 4e10 requests a month; the generator caps each
    function's mean rate at ``max_rate_per_s`` (default 0.2/s, at which a 60 s keep-alive
    almost never expires) so a day of a region is a few million requests at most. A
    function above the cap keeps its pods warm either way; what the cap loses are the
    autoscaling cold starts of the busiest functions, which the bursts stand in for. The
    sensitivity of the cold-start rate to the cap is an experiment
    (``experiments/coldstart/sensitivity_rate_cap.yaml``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from sim.workload import Arrivals

from . import calibration as cal
from .functions import FunctionCatalog, FunctionInfo, home_cluster, stable_hash
from .placement import BURST, TIMER, UNIFORM, expand_minute, placement_class
from .traces.huawei import DAY_S, parse_pool

#: Log-sigma of one function's execution times around its median [A].
EXEC_SIGMA = 0.6
#: Weekend load relative to weekdays (§3.3: weekdays have ~30 % more pods).
WEEKEND_FACTOR = 1 / 1.3
#: Holiday (days 14-23, §3.2) load factor [read, Fig 7]: down in R1, R2, R4, R5; up in R3.
HOLIDAY = range(14, 24)
HOLIDAY_FACTOR = {"R1": 0.7, "R2": 0.7, "R3": 1.3, "R4": 0.7, "R5": 0.7}
#: Day 0 is a Monday [A] (days 13 and 24 are then working days, as in §3.2).
FIRST_WEEKDAY = 0


def _choice(rng: np.random.Generator, share: cal.Share, n: int) -> np.ndarray:
    w = np.asarray(share.weights, dtype=float)
    return np.asarray(share.values, dtype=object)[rng.choice(len(w), n, p=w / w.sum())]


@dataclass
class Population:
    """The functions of one region and their demand parameters."""

    region: str
    keys: list[str]
    infos: list[FunctionInfo]
    cls: np.ndarray  # placement class
    rate: np.ndarray  # mean requests per second (Poisson part), 0 for timers
    period_min: np.ndarray  # timer period in minutes (0: not a timer)
    phase_min: np.ndarray  # timer phase (minute of its first firing)
    amplitude: np.ndarray  # peak-to-trough ratio of the daily cycle
    bursts_per_day: np.ndarray
    burst_mean: float
    exec_median_s: np.ndarray
    hashes: np.ndarray  # uint64 keys of the counter-based random numbers
    peak_hour: float

    @property
    def size(self) -> int:
        return len(self.keys)

    def day_factor(self, day: int) -> float:
        weekday = (day + FIRST_WEEKDAY) % 7
        f = WEEKEND_FACTOR if weekday >= 5 else 1.0
        if day in HOLIDAY:
            f *= HOLIDAY_FACTOR.get(self.region, 1.0)
        return f

    def cycle(self, minutes: np.ndarray) -> np.ndarray:
        """Daily-cycle factor per (minute, function): mean 1, max/min = amplitude."""
        hour = (minutes % 1440) / 60.0
        c = np.cos(2 * np.pi * (hour - self.peak_hour) / 24.0)[:, None]
        a = (self.amplitude - 1) / (self.amplitude + 1)
        return 1.0 + a[None, :] * c

    def minute_counts(self, rng: np.random.Generator, first_minute: int,
                      minutes: int) -> np.ndarray:  # fmt: skip
        """Requests per (minute, function) for ``minutes`` minutes from ``first_minute``
        (minutes since the start of day 0)."""
        m = np.arange(first_minute, first_minute + minutes)
        days = m // 1440
        factor = np.array([self.day_factor(int(d)) for d in days])[:, None]
        lam = self.rate[None, :] * 60.0 * self.cycle(m) * factor
        counts = rng.poisson(lam).astype(np.int64)
        timers = self.period_min > 0
        if timers.any():
            p = self.period_min[timers]
            fire = ((m[:, None] - self.phase_min[timers][None, :]) % p[None, :]) == 0
            counts[:, timers] += fire
        bursty = self.bursts_per_day > 0
        if bursty.any():
            per_min = self.bursts_per_day[bursty][None, :] / 1440.0 * self.cycle(m)[:, bursty] * factor
            nb = rng.poisson(per_min)
            if nb.any():
                # a burst brings 1 + geometric(mean burst_mean - 1) requests
                p = 1.0 / max(self.burst_mean, 1.0)
                extra = np.zeros_like(nb)
                idx = np.nonzero(nb)
                for r, c_ in zip(*idx, strict=True):
                    extra[r, c_] = int(rng.geometric(p, nb[r, c_]).sum())
                counts[:, bursty] += extra
        return counts


def make_population(region: str, rng: np.random.Generator, functions: int | None = None,
                    max_rate_per_s: float = 0.2) -> Population:  # fmt: skip
    """Draw a region's functions (see the module docstring)."""
    wl = cal.REGION_WORKLOAD[region]
    n = int(functions if functions is not None else wl.functions)
    shares = dict(zip(cal.TRIGGERS.values, cal.TRIGGERS.weights, strict=True))
    other = sum(w for k, w in shares.items() if k != "TIMER-A")
    shares = {k: (wl.timer_share if k == "TIMER-A" else w / other * (1 - wl.timer_share))
              for k, w in shares.items()}  # fmt: skip
    triggers = _choice(rng, cal.Share(tuple(shares), tuple(shares.values())), n)
    runtimes = _choice(rng, cal.RUNTIMES, n)
    obs = np.array([t.startswith("OBS") for t in triggers])
    runtimes[obs & (rng.random(n) < cal.OBS_CUSTOM_SHARE)] = "Custom"
    pools = _choice(rng, cal.POOLS, n)
    # users: functions per user Zipf(2.2), so about 2/3 of users own one function and
    # almost all fewer than 20 (Fig 4: 60-90 % own one) [A]
    sizes: list[int] = []
    while sum(sizes) < n:
        sizes.append(int(min(rng.zipf(2.2), 50)))
    owner = rng.permutation(np.repeat(np.arange(len(sizes)), sizes)[:n])
    user_ids = rng.permutation(max(2 * len(sizes), 10))[owner]
    names = rng.permutation(max(3 * n, 10))[:n]
    keys = [f"{int(fn)}---{int(u)}---{pl}" for fn, u, pl in zip(names, user_ids, pools, strict=True)]
    # unique keys (a rare collision gets a new name)
    seen: set[str] = set()
    for i, k in enumerate(keys):
        while k in seen:
            names[i] = names[i] + 3 * n
            k = f"{int(names[i])}---{int(user_ids[i])}---{pools[i]}"
        keys[i] = k
        seen.add(k)
    cls = np.array([placement_class(t) for t in triggers])
    rate = np.minimum(rng.lognormal(math.log(wl.rate_median_per_s), wl.rate_sigma, n), max_rate_per_s)
    period = np.zeros(n, dtype=np.int64)
    timers = cls == TIMER
    period[timers] = _choice(rng, cal.TIMER_PERIODS_MIN, int(timers.sum())).astype(np.int64)
    rate[timers] = 0.0
    rate[cls == BURST] = 0.0  # bursty triggers: all their requests come in bursts [A]
    phase = np.where(period > 0, rng.integers(0, np.maximum(period, 1)), 0)
    amplitude = 1.0 + (wl.daily_amplitude - 1.0) * rng.random(n)
    bursts = np.where(cls == BURST, wl.bursts_per_day * rng.lognormal(0.0, 1.0, n), 0.0)
    exec_median = rng.lognormal(math.log(wl.exec_median_s), wl.exec_sigma, n)
    infos = []
    for k, rt, tr, pl in zip(keys, runtimes, triggers, pools, strict=True):
        pool = parse_pool(pl)
        infos.append(FunctionInfo(k, region, pl, pool.cpu_limit_m, pool.memory_mb, str(rt),
                                  str(tr), home_cluster(k)))  # fmt: skip
    hashes = np.array([stable_hash(f"{region}/{k}") for k in keys], dtype=np.uint64)
    return Population(region, keys, infos, cls, rate, period, phase, amplitude, bursts,
                      wl.burst_size_mean, exec_median, hashes, wl.peak_hour)  # fmt: skip


def requests(populations: list[Population], catalog_ids: list[np.ndarray], rng_for,
             first_minute: int, minutes: int, seed: int,
             chunk_minutes: int = 60) -> Iterator[tuple[Arrivals, list[np.ndarray]]]:  # fmt: skip
    """Requests of every region in time order, a chunk of minutes at a time, as Arrivals
    (``func`` = catalog number, ``exec_s``, ``cluster`` = 0: the home cluster), with the
    chunk's minute counts per region."""
    for start in range(first_minute, first_minute + minutes, chunk_minutes):
        n_min = min(chunk_minutes, first_minute + minutes - start)
        counts = [pop.minute_counts(rng_for(pop.region), start, n_min) for pop in populations]
        times, funcs, execs = [], [], []
        means = [pop.exec_median_s * math.exp(EXEC_SIGMA**2 / 2) for pop in populations]
        sigmas = [np.full(pop.size, EXEC_SIGMA) for pop in populations]
        for j in range(n_min):
            m = start + j
            for pop, ids, cnt, mean, sig in zip(populations, catalog_ids, counts, means, sigmas,
                                                strict=True):  # fmt: skip
                row = cnt[j]
                if not row.any():
                    continue
                t, f, e = expand_minute(seed, m, m * 60.0, row, ids, pop.hashes, pop.cls, mean, sig)
                times.append(t)
                funcs.append(f)
                execs.append(e)
        if not times:
            yield Arrivals(np.empty(0), {"func": np.empty(0, np.int64), "exec_s": np.empty(0),
                                         "cluster": np.empty(0, np.int64)}), counts  # fmt: skip
            continue
        t = np.concatenate(times)
        f = np.concatenate(funcs)
        e = np.concatenate(execs)
        order = np.argsort(t, kind="stable")
        yield Arrivals(t[order], {"func": f[order], "exec_s": np.round(e[order], 6),
                                  "cluster": np.zeros(t.size, np.int64)}), counts  # fmt: skip


def catalog_for(populations: list[Population]) -> tuple[FunctionCatalog, list[np.ndarray]]:
    catalog = FunctionCatalog()
    ids = []
    for pop in populations:
        ids.append(np.array([catalog.add(info) for info in pop.infos], dtype=np.int64))
    return catalog, ids


__all__ = ["DAY_S", "UNIFORM", "Population", "catalog_for", "make_population", "requests"]
