"""Figures of the serverless package, made with :mod:`sim.plots`.

Per platform run: the CDF of cold-start time per region and the CDF of the pod utility
ratio. Per policy sweep: cold-start rate against wasted memory (the Pareto view of
"Serverless in the Wild" and FaasCache), one point per policy setting.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.plots import new_figure, save_figure
from sim.stats import ok_rows

from .results import utility_ratios


def platform_figures(platform, out_dir: Path) -> list[Path]:
    pods = platform.records.frame()
    if pods.empty:
        return []
    out = []
    ready = pods[pods["ready_s"].notna()]
    cs = (ready["ready_s"] - ready["created_s"]).to_numpy()
    fig, ax = new_figure()
    for ri, name in enumerate(platform._region_names):
        v = np.sort(cs[ready["region"].to_numpy() == ri])
        if v.size:
            ax.step(v, np.arange(1, v.size + 1) / v.size, where="post", label=name)
    ax.set_xscale("log")
    ax.set_xlabel("cold-start time (s)")
    ax.set_ylabel("CDF")
    ax.grid(True, alpha=0.3)
    ax.legend()
    out.append(save_figure(fig, out_dir / "cold_start_cdf.png"))
    ratios = np.sort(utility_ratios(pods))
    if ratios.size:
        fig, ax = new_figure()
        ax.step(np.clip(ratios, 1e-3, None), np.arange(1, ratios.size + 1) / ratios.size,
                where="post")  # fmt: skip
        ax.axvline(1.0, color="grey", lw=0.8, ls="--")
        ax.set_xscale("log")
        ax.set_xlabel("pod utility ratio ((lifetime - keep-alive) / cold-start time)")
        ax.set_ylabel("CDF over pods")
        ax.grid(True, alpha=0.3)
        out.append(save_figure(fig, out_dir / "utility_ratio_cdf.png"))
    return out


def policy_label(row: pd.Series) -> str:
    name = str(row.get("policies.keep_alive", "?"))
    for key in ("policies.keep_alive.params.seconds", "policies.keep_alive.seconds"):
        if key in row and pd.notna(row[key]):
            return f"{name} {float(row[key]):g}s"
    return name


#: Swept values drawn against the metrics they move (sensitivity of the assumptions).
SENSITIVITY = {
    "workload.params.function_scale": ("functions per region (share of the published count)",
                                       ["fit.weibull_iat.mean_s", "iat_s.mean"]),
    "workload.params.max_rate_per_s": ("cap of a function's mean rate (1/s)",
                                       ["cold_start_rate", "cold_starts"]),
    "params.concurrency": ("requests per pod", ["cold_start_rate", "wasted_gb_s"]),
    "workload.params.timer_jitter_s": ("largest timer delay in its minute (s)",
                                       ["cold_start_rate", "utility_ratio.median",
                                        "utility_ratio.frac_below_1"]),
    "params.hourly_sigma": ("log-sigma of the hourly cold-start factor",
                            ["fit.lognormal.mean_s", "fit.lognormal.sd_s"]),
    "params.sigma_scale": ("multiplier of the parts' log-sigmas",
                           ["fit.lognormal.mean_s", "fit.lognormal.sd_s", "cold_start_s.mean.R1",
                            "cold_start_s.mean.R3", "cold_start_s.p50.R3"]),
}  # fmt: skip


def _published(metric: str) -> float | None:
    """The published value of the claim ``coldstart.<metric>``, if there is one (§4.1,
    §4.5): drawn as a reference line in the sensitivity figures."""
    from sim_models.serverless.claims import PAPER

    try:
        return PAPER.published(f"coldstart.{metric}")
    except KeyError:
        return None


def sensitivity_figures(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    ok = ok_rows(table)
    out = []
    for key, (label, metrics) in SENSITIVITY.items():
        if key not in ok or ok[key].nunique() < 2:
            continue
        present = [m for m in metrics if m in ok]
        fig, axes = new_figure(4.0 * len(present), 3.2, ncols=len(present), squeeze=False)
        for ax, m in zip(axes[0], present, strict=True):
            g = ok.groupby(key)[m].mean()
            ax.plot(g.index.astype(float), g.to_numpy(), "o-", label="simulated")
            ref = _published(m)
            if ref is not None:
                ax.axhline(ref, color="0.4", ls="--", lw=1, label="published")
                ax.legend(fontsize=7)
            ax.set_xlabel(label)
            ax.set_ylabel(m)
            ax.grid(True, alpha=0.3)
        out.append(save_figure(fig, out_dir / f"sensitivity_{key.rsplit('.', 1)[-1]}.png"))
    if "policies.pool_sizing" in ok and ok["policies.pool_sizing"].nunique() > 1:
        fig, (ax1, ax2) = new_figure(9, 3.5, ncols=2)
        labels = ok["policies.pool_sizing"].astype(str).str.replace('"params": ', "").str[:40]
        x = np.arange(len(ok))
        ax1.bar(x - 0.2, ok["stage_pool_share"], 0.4, label="local pool")
        ax1.bar(x + 0.2, ok["stage_scratch_share"], 0.4, label="from scratch")
        ax1.set_xticks(x, labels, rotation=30, ha="right", fontsize=6)
        ax1.set_ylabel("share of cold starts")
        ax1.legend(fontsize=7)
        ax2.bar(x, ok["cold_start_s.mean"])
        ax2.set_xticks(x, labels, rotation=30, ha="right", fontsize=6)
        ax2.set_ylabel("mean cold-start time (s)")
        out.append(save_figure(fig, out_dir / "sensitivity_pools.png"))
    return out


def policy_sweep_figures(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    ok = ok_rows(table)
    figs = sensitivity_figures(table, out_dir)
    if ok.empty or "cold_start_rate" not in ok or "wasted_gb_s" not in ok:
        return figs
    if "policies.keep_alive" not in ok or ok["policies.keep_alive"].nunique() < 2:
        return figs
    fig, ax = new_figure()
    labels = ok.apply(policy_label, axis=1)
    for label in dict.fromkeys(labels):
        sel = ok[labels == label]
        ax.scatter(sel["wasted_gb_s"] / 3600.0, sel["cold_start_rate"], label=label, s=25)
    ax.set_xlabel("wasted memory (GB-hours of idle pods)")
    ax.set_ylabel("cold-start rate (cold starts / requests)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    return [*figs, save_figure(fig, out_dir / "pareto_cold_start_vs_wasted_memory.png")]
