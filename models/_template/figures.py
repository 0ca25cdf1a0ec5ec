"""The template's figures: made with :mod:`sim.plots` (Agg backend, atomic save) and error
bars from :mod:`sim.stats` (Student t), like every figure of the project."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sim.plots import new_figure, save_figure
from sim.recorder import cdf
from sim.stats import group_ci, ok_rows


def response_cdf(jobs: pd.DataFrame, path: Path) -> Path:
    """CDF of response time over the run's jobs."""
    emp = cdf(jobs["end_s"] - jobs["arrival_s"])
    fig, ax = new_figure()
    ax.step(emp["value"], emp["cdf"], where="post")
    ax.set_xlabel("response time (s)")
    ax.set_ylabel("P(response <= x)")
    ax.grid(True, alpha=0.3)
    return save_figure(fig, path)


def response_by_policy(table: pd.DataFrame, path: Path) -> Path | None:
    """Mean response time per dispatch policy over a sweep, with 95% intervals."""
    ok = ok_rows(table)
    if ok.empty or "policies.dispatch" not in ok or "response_s.mean" not in ok:
        return None
    stats = group_ci(ok.groupby("policies.dispatch")["response_s.mean"])
    fig, ax = new_figure()
    ax.bar(stats.index, stats["mean"], yerr=stats["ci95"], capsize=3)
    ax.set_ylabel("mean response time (s)")
    ax.set_xlabel("dispatch policy")
    return save_figure(fig, path)
