"""``sim trace stats``: the Huawei paper's statistics and figures from any folder in the
release's layout (the real release or a generated one).

Per region, the cold_start table is streamed once: counts per day and per hour, hourly
means of the total and its four parts (Fig 11), per-minute means for the Spearman
correlations (Fig 12), gaps between consecutive cold starts (Fig 10c,d) and, for the
distributions (Fig 10a,b, 13, 15, 16), a uniform subsample of at most ``max_rows`` rows
(every row when fewer). Figures: cold starts per region and day; CDFs of cold-start time
and of the gaps per region with the pooled LogNormal and Weibull fits (fitted mean and
s.d. in the legend); hourly mean cold-start time stacked by part with the count; Spearman
matrices; small vs large pools; by runtime and by trigger (regions with a runtime table);
requests vs cold starts per function; pod utility ratio CDFs.

Pod deletion times are not in the release. Like the release's maintainers suggest, a pod
is taken to die ``keepalive_s`` (60 s) after the end of its last request in the
per_request table, so the utility ratio is (last request end - readiness) / cold-start
time, readiness being the cold start's time plus its duration [A: the ``time`` column is
taken as the start of the cold start]. Pods with no request in the per_request table
(other days; Region 1 keeps only the top 100 pods per function) are left out.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.results import atomic_write_text
from sim.traces import ReadStats

from ..traces.huawei import COLD_START_COMPONENTS, DAY_S, Release
from .fits import gaps_by_region, lognormal_fit, weibull_fit

PARTS = ("podAllocationCost", "deployCodeCost", "deployDependencyCost", "schedulingCost")
SHORT = {"podAllocationCost": "pod", "deployCodeCost": "code", "deployDependencyCost": "dep",
         "schedulingCost": "sched", "totalCost_cold_start": "total"}  # fmt: skip


@dataclass
class RegionData:
    name: str
    rows: int = 0
    day_counts: dict[int, int] = field(default_factory=dict)
    hour_sums: dict[int, np.ndarray] = field(default_factory=dict)  # hour -> [n, total, 4 parts]
    minute_sums: dict[int, np.ndarray] = field(default_factory=dict)
    gaps: list[np.ndarray] = field(default_factory=list)
    sample: list[pd.DataFrame] = field(default_factory=list)
    keep_p: float = 1.0
    kept: int = 0
    last_time: float = math.nan
    mismatches: int = 0
    per_function: dict[str, int] = field(default_factory=dict)
    utility: np.ndarray | None = None
    utility_keys: np.ndarray | None = None
    requests_per_function: dict[str, float] = field(default_factory=dict)
    runtime: pd.DataFrame | None = None


@dataclass
class StatsReport:
    out: Path
    stats: dict
    figures: list[Path]
    lines: list[str]
    bad_rows: int


def _accumulate(d: dict[int, np.ndarray], keys: np.ndarray, values: np.ndarray) -> None:
    uk, inv = np.unique(keys, return_inverse=True)
    sums = np.zeros((uk.size, values.shape[1]))
    np.add.at(sums, inv, values)
    for k, s in zip(uk.tolist(), sums, strict=True):
        acc = d.get(k)
        if acc is None:
            d[k] = s
        else:
            acc += s


def _read_region(rel: Release, rd: RegionData, lenient: bool, stats: ReadStats, max_rows: int,
                 rng: np.random.Generator, pod_last: dict | None) -> None:  # fmt: skip
    pods_seen = []
    for frame in rel.cold_starts(rd.name, lenient=lenient, stats=stats):
        n = len(frame)
        if not n:
            continue
        rd.rows += n
        t = frame["time"].to_numpy(dtype=float)
        total = frame["totalCost_cold_start"].to_numpy(dtype=float)
        parts = frame[list(PARTS)].to_numpy(dtype=float)
        rd.mismatches += int((np.abs(parts.sum(axis=1) - total) > 1e-3).sum())
        days = frame["day"].to_numpy()
        for d, c in zip(*np.unique(days, return_counts=True), strict=True):
            rd.day_counts[int(d)] = rd.day_counts.get(int(d), 0) + int(c)
        vals = np.column_stack([np.ones(n), total, parts])
        _accumulate(rd.hour_sums, (t // 3600).astype(np.int64), vals)
        _accumulate(rd.minute_sums, (t // 60).astype(np.int64), vals)
        prev = rd.last_time
        g = np.diff(t) if math.isnan(prev) else np.diff(np.concatenate([[prev], t]))
        rd.gaps.append(g.astype(np.float64))
        rd.last_time = float(t[-1])
        for k, c in zip(*np.unique(frame["funcID"].to_numpy(), return_counts=True), strict=True):
            rd.per_function[k] = rd.per_function.get(k, 0) + int(c)
        keep = rng.random(n) < rd.keep_p
        if keep.any():
            cols = ["time", "totalCost_cold_start", *PARTS, "funcID", "cpu_limit_m", "memory_mb"]
            rd.sample.append(frame.loc[keep, cols].reset_index(drop=True))
            rd.kept += int(keep.sum())
        while rd.kept > max_rows:  # halve the sampling rate and thin what is kept
            rd.keep_p /= 2
            rd.sample = [s[rng.random(len(s)) < 0.5] for s in rd.sample]
            rd.kept = sum(len(s) for s in rd.sample)
        if pod_last is not None:
            hit = frame["podID"].isin(pod_last.keys()).to_numpy()
            if hit.any():
                pods_seen.append(frame.loc[hit, ["podID", "time", "totalCost_cold_start", "funcID"]])
    if pod_last is not None and pods_seen:
        seen = pd.concat(pods_seen, ignore_index=True).drop_duplicates("podID", keep="first")
        last = seen["podID"].map(pod_last).to_numpy(dtype=float)
        ready = seen["time"].to_numpy() + seen["totalCost_cold_start"].to_numpy()
        cs = seen["totalCost_cold_start"].to_numpy()
        ok = cs > 0
        rd.utility = (last[ok] - ready[ok]) / cs[ok]
        rd.utility_keys = seen["funcID"].to_numpy()[ok]


def _pod_last_end(rel: Release, region: str, lenient: bool, stats: ReadStats) -> dict | None:
    if not rel.files("per_request", region):
        return None
    last: dict[str, float] = {}
    for frame in rel.requests(region, lenient=lenient, stats=stats, keys=False):
        end = frame["time_worker"].to_numpy() + frame["totalCost_worker"].to_numpy()
        g = pd.Series(end).groupby(frame["podID"].to_numpy()).max()
        for k, v in g.items():
            if v > last.get(k, -math.inf):
                last[k] = float(v)
    return last


def _requests_per_function(rel: Release, region: str, lenient: bool, stats: ReadStats) -> dict:
    out: dict[str, float] = {}
    if rel.quantile_files(region, "requests"):
        for frame in rel.minutes(region, "requests", lenient=lenient, stats=stats):
            sums = frame.drop(columns=["day", "time", "_line"]).sum(skipna=True)
            for k, v in sums.items():
                out[k] = out.get(k, 0.0) + float(v)
    elif rel.files("per_request", region):
        for frame in rel.requests(region, lenient=lenient, stats=stats):
            for k, v in frame["funcID"].value_counts().items():
                out[k] = out.get(k, 0.0) + float(v)
    return out


def trace_stats(folder, out: Path, regions=None, lenient: bool = False, keepalive_s: float = 60.0,
                max_rows: int = 2_000_000, progress=None, figures: bool = True) -> StatsReport:  # fmt: skip
    """Read ``folder`` (release layout), write ``out``/stats.json and figures."""
    from . import figures as figs

    rel = Release(folder)
    regions = regions or rel.regions("cold_start")
    if not regions:
        from sim.errors import DataError

        raise DataError("no cold_start/<region> folders", where=str(rel.root))
    read = ReadStats()
    rng = np.random.default_rng(12345)
    data: list[RegionData] = []
    for r in regions:
        if progress:
            progress(f"reading {r}")
        rd = RegionData(r)
        pod_last = _pod_last_end(rel, r, lenient, read)
        _read_region(rel, rd, lenient, read, max_rows, rng, pod_last)
        rd.requests_per_function = _requests_per_function(rel, r, lenient, read)
        rd.runtime = rel.runtime_triggers(r, lenient, read)
        data.append(rd)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    stats = summarize(data, keepalive_s)
    stats["bad_rows_skipped"] = read.bad_rows
    stats["note"] = (f"Pod deletion times are not in the release: deletion = last request end + "
                     f"{keepalive_s:g} s keep-alive (as the release's maintainers suggest).")  # fmt: skip
    atomic_write_text(out / "stats.json", json.dumps(stats, indent=2, default=float))
    paths = figs.all_figures(data, stats, out) if figures else []
    lines = _lines(stats, read, out, paths)
    return StatsReport(out, stats, paths, lines, read.bad_rows)


def sample_frame(rd: RegionData) -> pd.DataFrame:
    if not rd.sample:
        return pd.DataFrame(columns=["time", "totalCost_cold_start", *PARTS, "funcID"])
    return pd.concat(rd.sample, ignore_index=True)


def spearman(rd: RegionData) -> pd.DataFrame:
    """Spearman correlations of per-minute means: total, the parts and the count."""
    from scipy import stats as st

    if len(rd.minute_sums) < 3:
        return pd.DataFrame()
    sums = np.array(list(rd.minute_sums.values()))
    n = sums[:, 0]
    cols = {"total": sums[:, 1] / n}
    for j, p in enumerate(PARTS):
        cols[SHORT[p]] = sums[:, 2 + j] / n
    cols["#cs"] = n
    frame = pd.DataFrame(cols)
    rho = st.spearmanr(frame.to_numpy()).statistic
    rho = np.atleast_2d(rho)
    if rho.shape != (len(cols), len(cols)):
        return pd.DataFrame()
    return pd.DataFrame(rho, index=list(cols), columns=list(cols))


def summarize(data: list[RegionData], keepalive_s: float) -> dict:
    out: dict = {"regions": {}}
    pooled_total, gap_times, gap_regions = [], [], []
    for rd in data:
        s = sample_frame(rd)
        total = s["totalCost_cold_start"].to_numpy(dtype=float)
        gaps = np.concatenate(rd.gaps) if rd.gaps else np.empty(0)
        reg = {
            "cold_starts": rd.rows,
            "days": {str(k): v for k, v in sorted(rd.day_counts.items())},
            "median_s": float(np.median(total)) if total.size else math.nan,
            "mean_s": float(total.mean()) if total.size else math.nan,
            "p90_s": float(np.percentile(total, 90)) if total.size else math.nan,
            "gap_median_s": float(np.median(gaps)) if gaps.size else math.nan,
            "cold_starts_per_hour": rd.rows / max(len(rd.hour_sums), 1),
            "components_sum_mismatches": rd.mismatches,
        }
        for p in PARTS:
            reg[f"{SHORT[p]}_mean_s"] = float(s[p].mean()) if len(s) else math.nan
        sm = s[s["cpu_limit_m"] <= 400] if "cpu_limit_m" in s else s
        small = (s["cpu_limit_m"] <= 400) & (s["memory_mb"] <= 256) if len(s) else pd.Series(dtype=bool)
        if len(s):
            reg["small_median_s"] = float(s.loc[small, "totalCost_cold_start"].median())
            reg["large_median_s"] = float(s.loc[~small, "totalCost_cold_start"].median())
        del sm
        rho = spearman(rd)
        reg["spearman"] = {} if rho.empty else {f"{a}~{b}": float(rho.loc[a, b])
                                                for a in rho.index for b in rho.columns if a < b}  # fmt: skip
        if rd.utility is not None and rd.utility.size:
            reg["utility_ratio_median"] = float(np.median(rd.utility))
            reg["utility_ratio_frac_below_1"] = float((rd.utility < 1).mean())
            reg["utility_pods"] = int(rd.utility.size)
        out["regions"][rd.name] = reg
        pooled_total.append(total)
        if gaps.size:
            gap_times.append(gaps)
            gap_regions.append(np.full(gaps.size, len(gap_regions)))
    pooled = np.concatenate(pooled_total) if pooled_total else np.empty(0)
    out["fit_lognormal"] = lognormal_fit(pooled)
    gaps = np.concatenate(gap_times) if gap_times else np.empty(0)
    out["fit_weibull_iat"] = weibull_fit(gaps)
    out["published"] = {"lognormal": {"mean_s": 3.24, "sd_s": 7.10},
                        "weibull_iat": {"mean_s": 1.25, "sd_s": 3.66}}  # fmt: skip
    out["keepalive_s"] = keepalive_s
    return out


def _lines(stats: dict, read: ReadStats, out: Path, paths: list[Path]) -> list[str]:
    lines = []
    for name, reg in stats["regions"].items():
        util = ""
        if "utility_ratio_median" in reg:
            util = (f", utility ratio median {reg['utility_ratio_median']:.2f} "
                    f"({reg['utility_ratio_frac_below_1']:.0%} below 1)")  # fmt: skip
        lines.append(f"{name}: {reg['cold_starts']:,} cold starts, median {reg['median_s']:.3g} s, "
                     f"mean {reg['mean_s']:.3g} s, median gap {reg['gap_median_s']:.3g} s{util}")  # fmt: skip
    ln, wb = stats["fit_lognormal"], stats["fit_weibull_iat"]
    lines.append(f"pooled LogNormal fit of cold-start time: mean {ln['mean_s']:.3g} s, s.d. {ln['sd_s']:.3g} s "
                 "(paper: 3.24, 7.10)")  # fmt: skip
    lines.append(f"pooled Weibull fit of gaps between cold starts: mean {wb['mean_s']:.3g} s, s.d. "
                 f"{wb['sd_s']:.3g} s (paper: 1.25, 3.66)")  # fmt: skip
    lines.append(stats["note"])
    if read.bad_rows:
        lines.append(f"skipped {read.bad_rows:,} bad rows (--lenient); first: {read.examples[0]}")
    lines.append(f"written: {out / 'stats.json'} and {len(paths)} figures")
    return lines


__all__ = ["COLD_START_COMPONENTS", "DAY_S", "StatsReport", "gaps_by_region", "trace_stats"]
