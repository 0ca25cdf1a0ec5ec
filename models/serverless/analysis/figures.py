"""The figures of ``sim trace stats`` (after the Huawei paper's Figs 10-17), from the
per-region data gathered by :mod:`.stats`. Every figure is drawn from whatever the folder
holds; a figure whose data is missing (no runtime table, no per_request table) is skipped.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.plots import new_figure, save_figure

from .stats import PARTS, SHORT, RegionData, sample_frame, spearman


def _cdf(ax, values, label, **kw):
    v = np.sort(np.asarray(values, dtype=float))
    v = v[np.isfinite(v)]
    if v.size:
        ax.step(v, np.arange(1, v.size + 1) / v.size, where="post", label=label, **kw)


def all_figures(data: list[RegionData], stats: dict, out: Path) -> list[Path]:
    paths = []
    for fn in (per_day, cold_start_cdf, gap_cdf, hourly_components, spearman_matrices,
               small_vs_large, by_runtime_and_trigger, requests_vs_cold_starts, utility_cdf):  # fmt: skip
        p = fn(data, stats, out)
        if p is not None:
            paths += p if isinstance(p, list) else [p]
    return paths


def per_day(data, stats, out):
    fig, ax = new_figure(7, 3.5)
    width = 0.8 / max(len(data), 1)
    for i, rd in enumerate(data):
        days = sorted(rd.day_counts)
        ax.bar(np.array(days) + i * width, [rd.day_counts[d] for d in days], width, label=rd.name)
    ax.set_xlabel("day")
    ax.set_ylabel("cold starts")
    ax.set_yscale("log")
    ax.legend(fontsize=7)
    return save_figure(fig, out / "cold_starts_per_day.png")


def cold_start_cdf(data, stats, out):
    from scipy import stats as st

    fig, ax = new_figure()
    pooled = []
    for rd in data:
        v = sample_frame(rd)["totalCost_cold_start"].to_numpy(dtype=float)
        pooled.append(v)
        _cdf(ax, v, rd.name)
    fit = stats["fit_lognormal"]
    if np.isfinite(fit["sigma"]):
        x = np.logspace(-4, 2.5, 300)
        ax.plot(x, st.lognorm.cdf(x, fit["sigma"], scale=np.exp(fit["mu"])), "k--",
                label=f"LogNormal fit (mean {fit['mean_s']:.2f} s, s.d. {fit['sd_s']:.2f} s)")  # fmt: skip
        ax.plot(x, st.lognorm.cdf(x, 1.326, scale=np.exp(0.2965)), ":", color="grey",
                label="paper's fit (mean 3.24 s, s.d. 7.10 s)")  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel("cold-start time (s)")
    ax.set_ylabel("CDF")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    return save_figure(fig, out / "cold_start_cdf.png")


def gap_cdf(data, stats, out):
    from scipy import stats as st

    fig, ax = new_figure()
    for rd in data:
        if rd.gaps:
            _cdf(ax, np.maximum(np.concatenate(rd.gaps), 5e-4), rd.name)
    fit = stats["fit_weibull_iat"]
    if np.isfinite(fit["shape"]):
        x = np.logspace(-4, 3, 300)
        ax.plot(x, st.weibull_min.cdf(x, fit["shape"], scale=fit["scale"]), "k--",
                label=f"Weibull fit (mean {fit['mean_s']:.2f} s, s.d. {fit['sd_s']:.2f} s)")  # fmt: skip
        ax.plot(x, st.weibull_min.cdf(x, 0.4176, scale=0.4217), ":", color="grey",
                label="paper's fit (mean 1.25 s, s.d. 3.66 s)")  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel("time between consecutive cold starts of a region (s)")
    ax.set_ylabel("CDF")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    return save_figure(fig, out / "cold_start_gap_cdf.png")


def hourly_components(data, stats, out):
    n = len(data)
    fig, axes = new_figure(7, 2.2 * n, nrows=n, squeeze=False)
    for ax, rd in zip(axes[:, 0], data, strict=True):
        hours = sorted(rd.hour_sums)
        if not hours:
            continue
        sums = np.array([rd.hour_sums[h] for h in hours])
        means = sums[:, 2:] / sums[:, :1]
        bottom = np.zeros(len(hours))
        for j, p in enumerate(PARTS):
            ax.bar(hours, means[:, j], bottom=bottom, width=1.0, label=SHORT[p])
            bottom += means[:, j]
        ax.set_ylabel(f"{rd.name}\nmean (s)")
        twin = ax.twinx()
        twin.plot(hours, sums[:, 0], "k-", lw=0.8)
        twin.set_ylabel("cold starts / h")
    axes[0, 0].legend(fontsize=7, ncol=4)
    axes[-1, 0].set_xlabel("hour since the start of day 0")
    return save_figure(fig, out / "hourly_components.png")


def spearman_matrices(data, stats, out):
    mats = [(rd.name, spearman(rd)) for rd in data]
    mats = [(n, m) for n, m in mats if not m.empty]
    if not mats:
        return None
    fig, axes = new_figure(3.2 * len(mats), 3.2, ncols=len(mats), squeeze=False)
    for ax, (name, m) in zip(axes[0], mats, strict=True):
        ax.imshow(m.to_numpy(), vmin=-1, vmax=1, cmap="coolwarm")
        ax.set_xticks(range(len(m)), m.columns, rotation=90, fontsize=7)
        ax.set_yticks(range(len(m)), m.index, fontsize=7)
        for i in range(len(m)):
            for j in range(len(m)):
                ax.text(j, i, f"{m.iat[i, j]:.1f}", ha="center", va="center", fontsize=6)
        ax.set_title(name)
    return save_figure(fig, out / "spearman.png")


def small_vs_large(data, stats, out):
    fig, ax = new_figure(7, 3.5)
    vals, labels = [], []
    for rd in data:
        s = sample_frame(rd)
        if not len(s):
            continue
        small = (s["cpu_limit_m"] <= 400) & (s["memory_mb"] <= 256)
        for lab, sel in (("small", small), ("large", ~small)):
            v = s.loc[sel, "totalCost_cold_start"].to_numpy(dtype=float)
            if v.size:
                vals.append(np.maximum(v, 1e-4))
                labels.append(f"{rd.name}\n{lab}")
    if not vals:
        return None
    ax.boxplot(vals, showfliers=False)
    ax.set_xticks(range(1, len(labels) + 1), labels, fontsize=7)
    ax.set_yscale("log")
    ax.set_ylabel("cold-start time (s)")
    return save_figure(fig, out / "small_vs_large_pools.png")


def _labels(rd: RegionData, keys, column: str) -> np.ndarray:
    table = rd.runtime.set_index("funcID")[column]
    return pd.Series(keys).map(table).fillna("unknown").to_numpy()


def by_runtime_and_trigger(data, stats, out):
    paths = []
    for column, fname in (("runtime", "by_runtime.png"), ("trigger", "by_trigger.png")):
        with_table = [rd for rd in data if rd.runtime is not None]
        if not with_table:
            return None
        fig, axes = new_figure(7, 3.5 * len(with_table), nrows=len(with_table), squeeze=False)
        for ax, rd in zip(axes[:, 0], with_table, strict=True):
            s = sample_frame(rd)
            lab = _labels(rd, s["funcID"].to_numpy(), column)
            for value in pd.Series(lab).value_counts().index[:10]:
                _cdf(ax, s.loc[lab == value, "totalCost_cold_start"], f"{value}")
            ax.set_xscale("log")
            ax.set_title(f"{rd.name}: cold-start time by {column}", fontsize=9)
            ax.set_ylabel("CDF")
            ax.legend(fontsize=6)
        axes[-1, 0].set_xlabel("cold-start time (s)")
        paths.append(save_figure(fig, out / fname))
    return paths


def requests_vs_cold_starts(data, stats, out):
    fig, ax = new_figure()
    drawn = False
    for rd in data:
        if not rd.requests_per_function:
            continue
        keys = list(rd.per_function)
        req = np.array([rd.requests_per_function.get(k, np.nan) for k in keys])
        cs = np.array([rd.per_function[k] for k in keys], dtype=float)
        ok = np.isfinite(req) & (req > 0)
        ax.scatter(req[ok], cs[ok], s=4, alpha=0.5, label=rd.name)
        drawn = True
    if not drawn:
        return None
    lim = ax.get_xlim()
    ax.plot([1, lim[1]], [1, lim[1]], "k:", lw=0.8, label="1 request = 1 cold start")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("requests per function")
    ax.set_ylabel("cold starts per function")
    ax.legend(fontsize=7)
    return save_figure(fig, out / "requests_vs_cold_starts.png")


def utility_cdf(data, stats, out):
    with_util = [rd for rd in data if rd.utility is not None and rd.utility.size]
    if not with_util:
        return None
    fig, ax = new_figure()
    for rd in with_util:
        _cdf(ax, np.maximum(rd.utility, 1e-3), rd.name)
        if rd.runtime is not None:
            lab = _labels(rd, rd.utility_keys, "runtime")
            for value in pd.Series(lab).value_counts().index[:5]:
                _cdf(ax, np.maximum(rd.utility[lab == value], 1e-3), f"{rd.name} {value}", lw=0.7)
    ax.axvline(1.0, color="grey", ls="--", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel(f"pod utility ratio (deletion = last request + {stats['keepalive_s']:g} s)")
    ax.set_ylabel("CDF over pods")
    ax.legend(fontsize=6)
    return save_figure(fig, out / "utility_ratio_cdf.png")
