"""Figures of the queueing models: waiting-time CDF and mean wait against utilization, each
simulated against Erlang-C."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sim_models.queueing import theory

from sim.plots import new_figure, save_figure
from sim.stats import group_ci, ok_rows


def wait_vs_utilization(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """One line per server count: Erlang-C (line) and the sweep's mean waits (points with
    95% intervals when the sweep has replications)."""
    need = {"params.servers", "params.service_rate", "wait_s.mean", "offered_utilization"}
    if table.empty or not need <= set(table.columns):
        return []
    ok = ok_rows(table)
    fig, ax = new_figure()
    for (servers, mu), group in ok.groupby(["params.servers", "params.service_rate"]):
        stats = group_ci(group.groupby("offered_utilization")["wait_s.mean"])
        ax.errorbar(stats.index, stats["mean"], yerr=stats["ci95"], fmt="o", ms=4, capsize=2,
                    label=f"simulated, c={servers}")  # fmt: skip
        rho = np.linspace(0.05, min(0.97, float(stats.index.max()) + 0.02), 200)
        erl = [theory.mmc_mean_wait(int(servers), r * servers * mu, mu) for r in rho]
        ax.plot(rho, erl, "-", lw=1, label=f"Erlang-C, c={servers}")
    ax.set_xlabel("utilization ρ = λ / (c μ)")
    ax.set_ylabel("mean wait (s)")
    ax.set_yscale("log")
    ax.set_title("M/M/c mean wait: simulation vs Erlang-C")
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    return [save_figure(fig, Path(out_dir) / "wait_vs_utilization.png")]


def wait_cdf(
    waits: np.ndarray, erlang: tuple[int, float, float] | None, out_dir: Path
) -> list[Path]:
    """Empirical CDF of the waiting time; Erlang-C's CDF when ``erlang`` = (c, lambda, mu)."""
    from sim.recorder import cdf

    if len(waits) == 0:
        return []
    emp = cdf(waits)
    fig, ax = new_figure()
    ax.step(emp["value"], emp["cdf"], where="post", label="simulated")
    if erlang is not None:
        c, lam, mu = erlang
        pw = theory.erlang_c(c, lam, mu)
        t = np.linspace(0, float(emp["value"].max()), 200)
        ax.plot(t, 1 - pw * np.exp(-(c * mu - lam) * t), "--", label="Erlang-C")
    ax.set_xlabel("wait (s)")
    ax.set_ylabel("P(wait <= x)")
    ax.set_title("Waiting-time CDF")
    ax.legend()
    ax.grid(True, alpha=0.3)
    return [save_figure(fig, Path(out_dir) / "wait_cdf.png")]
