"""Figures of the Spark model, made with :mod:`sim.plots` (error bars: :mod:`sim.stats`).

One run: the response-time ECDF per user.

A sweep over schedulers (the ``experiments/uwfq`` files):
* ``rt_by_scheduler.png``: mean and small-job (80% shortest) response time per scheduler,
  95% intervals over replications, the authors' measured means as markers; beside it the
  deadline violation ratio against UJF (UJF-P), with the measured (``fairness.csv``);
* ``rt_by_user.png``: mean response time per user and scheduler (scenarios 1, 2, 4);
* ``rt_ecdf.png``: response-time ECDFs under Fair, UJF, CFQ and UWFQ (and their "-P"
  variants dashed): scenario 2, and scenario 1 with its infrequent small user
  ``user4_small``;
* ``vs_published.png`` and ``vs_published.csv``: every simulated value beside the measured
  one (mean, small-job and per-user/class RT, DVR, makespan), the +-25% band shaded.

A sweep over a model parameter (sensitivity): the small-job RT and mean RT against it per
scheduler. The isolated-runtime sweep: simulated against the runtimes the paper's tables
imply.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.ticker import NullFormatter

from sim.plots import new_figure, save_figure
from sim.recorder import cdf
from sim.stats import group_ci, ok_rows

from .published import ISOLATED_RT_S, TABLES

ECDF_POLICIES = ("fair", "ujf", "cfq", "uwfq")
#: scenarios whose sweeps draw per-user bars and RT ECDFs (where users differ)
USER_FIGURES = ("s1_2_large_2_small", "s2_2_power_2_small", "s4_4_super_small")
ECDF_FIGURES = ("s1_2_large_2_small", "s2_2_power_2_small")
COLORS = {"fair": "tab:blue", "ujf": "tab:orange", "cfq": "tab:green", "uwfq": "tab:red",
          "fifo": "tab:gray", "tfifo": "tab:purple", "random": "tab:brown"}  # fmt: skip


def run_figures(jobs: pd.DataFrame, out_dir: Path) -> list[Path]:
    """ECDF of response time per user of one run."""
    if jobs.empty:
        return []
    fig, ax = new_figure()
    users = list(dict.fromkeys(jobs["user"]))
    for user in users[:12]:
        emp = cdf(jobs.loc[jobs["user"] == user, "rt_s"])
        ax.step(emp["value"], emp["cdf"], where="post", label=user)
    ax.set_xlabel("job response time (s)")
    ax.set_ylabel("P(RT <= x)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    return [save_figure(fig, out_dir / "rt_ecdf_by_user.png")]


def scenario_of(out_dir: Path) -> str | None:
    """The scenario id of a sweep's results folder (from its config.yaml)."""
    import yaml

    path = Path(out_dir) / "config.yaml"
    if not path.exists():
        return None
    cfg = yaml.safe_load(path.read_text()) or {}
    wl = cfg.get("workload") or {}
    params = wl.get("params") or {}
    if wl.get("name") == "spark.scenario":
        return Path(str(params.get("scenario", ""))).stem
    if wl.get("name") == "spark.google_window":
        return f"google_{params.get('window', 'custom')}"
    return None


def _published(scenario: str | None, policy: str, key: str) -> float:
    v = TABLES.get(scenario or "", {}).get(policy, {}).get(key)
    return math.nan if v is None else float(v)


def sweep_figures(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    ok = ok_rows(table)
    if ok.empty:
        return []
    out_dir = Path(out_dir)
    scenario = scenario_of(out_dir)
    swept_params = [
        c
        for c in ok.columns
        if (c.startswith("params.") or (c.startswith("policies.") and ".params." in c))
        and ok[c].nunique() > 1
    ]
    figs: list[Path] = []
    if "workload.params.scenario" in ok and ok["workload.params.scenario"].nunique() > 1:
        figs.append(isolated_figure(ok, out_dir))
    elif swept_params:
        figs += sensitivity_figures(ok, swept_params[0], out_dir)
    elif "policies.scheduler" in ok and ok["policies.scheduler"].nunique() > 1:
        figs.append(rt_by_scheduler(ok, scenario, out_dir))
        if scenario in USER_FIGURES:
            figs.append(rt_by_user(ok, scenario, out_dir))
        if scenario in ECDF_FIGURES:
            figs.append(rt_ecdf(ok, scenario, out_dir))
        if scenario in TABLES:
            figs.append(vs_published(ok, scenario, out_dir))
    return [f for f in figs if f is not None]


def _policies(ok: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(ok["policies.scheduler"]))


def rt_by_scheduler(ok: pd.DataFrame, scenario: str | None, out_dir: Path) -> Path:
    """Mean and small-job RT per scheduler (left) and DVR against UJF (right)."""
    pols = _policies(ok)
    x = np.arange(len(pols))
    fig, (ax, ax2) = new_figure(13, 4, ncols=2, gridspec_kw={"width_ratios": [3, 2]})
    for off, metric, key, label in ((-0.2, "rt_s.mean", "mean_rt_s", "mean RT"),
                                    (0.2, "small_rt_s.mean", "small_rt_s", "small jobs (80% shortest)")):  # fmt: skip
        stats = group_ci(ok.groupby("policies.scheduler")[metric]).reindex(pols)
        ax.bar(
            x + off, stats["mean"], 0.4, yerr=stats["ci95"], capsize=2, label=f"{label}, simulated"
        )
        pub = [_published(scenario, p, key) for p in pols]
        ax.plot(x + off, pub, "k_", markersize=14, mew=2)
    ax.plot([], [], "k_", markersize=10, mew=2, label="measured (authors)")
    ax.set_xticks(x, pols, rotation=45, ha="right")
    ax.set_ylabel("response time (s)")
    ax.set_title(scenario or "")
    ax.legend(fontsize=8)
    ax.grid(True, axis="y", alpha=0.3)
    _dvr_panel(ax2, ok, scenario, out_dir)
    return save_figure(fig, out_dir / "rt_by_scheduler.png")


def rt_by_user(ok: pd.DataFrame, scenario: str | None, out_dir: Path) -> Path | None:
    cols = [c for c in ok.columns if c.startswith("rt_s.user.") and c.endswith(".mean")]
    if not cols or len(cols) > 8:
        return None
    pols = _policies(ok)
    x = np.arange(len(pols))
    w = 0.8 / len(cols)
    fig, ax = new_figure(9, 4)
    for i, c in enumerate(cols):
        user = c[len("rt_s.user.") : -len(".mean")]
        stats = group_ci(ok.groupby("policies.scheduler")[c]).reindex(pols)
        pos = x - 0.4 + w * (i + 0.5)
        ax.bar(pos, stats["mean"], w, yerr=stats["ci95"], capsize=1, label=user)
        ax.plot(pos, [_published(scenario, p, f"user.{user}") for p in pols], "k_", markersize=6)
    ax.set_xticks(x, pols, rotation=45, ha="right")
    ax.set_ylabel("mean response time (s)")
    ax.set_title(f"{scenario or ''}: per user (black: measured)")
    ax.legend(fontsize=7)
    ax.grid(True, axis="y", alpha=0.3)
    return save_figure(fig, out_dir / "rt_by_user.png")


def _jobs_of(ok: pd.DataFrame, policy: str, out_dir: Path) -> pd.DataFrame | None:
    rows = ok[ok["policies.scheduler"] == policy]
    if rows.empty or "run_id" not in rows:
        return None
    path = out_dir / "runs" / str(rows.iloc[0]["run_id"]) / "spark.cluster.jobs.parquet"
    return pd.read_parquet(path) if path.exists() else None


def rt_ecdf(ok: pd.DataFrame, scenario: str | None, out_dir: Path) -> Path | None:
    panels = [("all jobs", None)]
    if scenario == "s1_2_large_2_small":
        panels.append(("infrequent small user (user4_small)", "user4_small"))
    fig, axes = new_figure(5.5 * len(panels), 4, ncols=len(panels), squeeze=False)
    drawn = False
    for ax, (title, user) in zip(axes[0], panels, strict=True):
        for pol in ECDF_POLICIES:
            for suffix, style in (("", "-"), ("_p", "--")):
                jobs = _jobs_of(ok, pol + suffix, out_dir)
                if jobs is None:
                    continue
                if user is not None:
                    jobs = jobs[jobs["user"] == user]
                emp = cdf(jobs["rt_s"])
                ax.step(emp["value"], emp["cdf"], style, where="post", color=COLORS[pol],
                        label=pol + suffix)  # fmt: skip
                drawn = True
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("job response time (s)")
        ax.set_ylabel("P(RT <= x)")
        ax.set_title(f"{scenario or ''}: {title}", fontsize=9)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, ncol=2)
    if not drawn:
        import matplotlib.pyplot as plt

        plt.close(fig)
        return None
    return save_figure(fig, out_dir / "rt_ecdf.png")


def _dvr_panel(ax, ok: pd.DataFrame, scenario: str | None, out_dir: Path) -> None:
    from sim.results import write_csv

    from .metrics import sweep_fairness

    if "dvr" in ok:
        fair = ok.rename(columns={"policies.scheduler": "policy"})
    else:
        fair = sweep_fairness(ok, out_dir)
        write_csv(out_dir / "fairness.csv", fair)
    pols = [p for p in _policies(ok) if p not in ("ujf", "ujf_p")]
    stats = group_ci(fair[fair["policy"].isin(pols)].groupby("policy")["dvr"]).reindex(pols)
    x = np.arange(len(pols))
    ax.bar(x, stats["mean"], 0.6, yerr=stats["ci95"], capsize=2, label="simulated")
    ax.plot(x, [_published(scenario, p, "dvr") for p in pols], "k_", markersize=14, mew=2,
            label="measured (authors)")  # fmt: skip
    ax.set_xticks(x, pols, rotation=45, ha="right")
    ax.set_ylabel("DVR vs UJF (UJF-P for -P)")
    ax.set_title("mean lateness against user-fair sharing", fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(True, axis="y", alpha=0.3)


def comparison_table(ok: pd.DataFrame, scenario: str, out_dir: Path) -> pd.DataFrame:
    """Simulated (mean over replications) beside measured, one row per value."""
    keys = [("rt_s.mean", "mean_rt_s"), ("small_rt_s.mean", "small_rt_s"),
            ("rt_80_95_s.mean", "band80_95_s"), ("rt_95_100_s.mean", "top5_s"),
            ("makespan_s", "makespan_s"), ("dvr", "dvr")]  # fmt: skip
    rows = []
    if "dvr" not in ok and "run_id" in ok:
        from .metrics import sweep_fairness

        fair = sweep_fairness(ok, out_dir).set_index("run_id")["dvr"]
        ok = ok.assign(dvr=ok["run_id"].map(fair))
    for pol, grp in ok.groupby("policies.scheduler", sort=False):
        pub = TABLES.get(scenario, {}).get(pol, {})
        pairs = list(keys)
        pairs += [(f"rt_s.{k}.mean", k) for k in pub if k.startswith(("user.", "class."))]
        for sim_key, pub_key in pairs:
            measured = pub.get(pub_key)
            if sim_key not in grp or measured is None:
                continue
            simulated = float(grp[sim_key].mean())
            rows.append({"scenario": scenario, "policy": pol, "metric": pub_key,
                         "simulated": simulated, "measured": measured,
                         "ratio": simulated / measured if measured else math.nan})  # fmt: skip
    return pd.DataFrame(rows)


def vs_published(ok: pd.DataFrame, scenario: str, out_dir: Path) -> Path:
    from sim.results import write_csv

    comp = comparison_table(ok, scenario, out_dir)
    write_csv(out_dir / "vs_published.csv", comp)
    fig, ax = new_figure(5, 5)
    rt = comp[comp["metric"] != "dvr"]
    if not rt.empty:
        lo = max(0.1, float(min(rt["simulated"].min(), rt["measured"].min())) * 0.8)
        hi = float(max(rt["simulated"].max(), rt["measured"].max())) * 1.25
        line = np.array([lo, hi])
        ax.fill_between(line, line * 0.75, line * 1.25, color="0.9", label="+-25%")
        ax.plot(line, line, "k-", lw=0.8)
        for metric, marker in (("mean_rt_s", "o"), ("small_rt_s", "s"), ("makespan_s", "^")):
            sel = rt[rt["metric"] == metric]
            ax.scatter(sel["measured"], sel["simulated"], marker=marker, s=18, label=metric)
        other = rt[~rt["metric"].isin(["mean_rt_s", "small_rt_s", "makespan_s"])]
        ax.scatter(other["measured"], other["simulated"], marker=".", s=10, c="0.4",
                   label="bands, users, classes")  # fmt: skip
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
    ax.set_xlabel("measured by the authors (s)")
    ax.set_ylabel("simulated (s)")
    ax.set_title(f"{scenario}: simulated vs measured", fontsize=10)
    ax.legend(fontsize=7)
    ax.grid(True, alpha=0.3, which="both")
    return save_figure(fig, out_dir / "vs_published.png")


def sensitivity_figures(ok: pd.DataFrame, param: str, out_dir: Path) -> list[Path]:
    fig, axes = new_figure(10, 4, ncols=2)
    for ax, metric, label in ((axes[0], "small_rt_s.mean", "small-job RT (s)"),
                              (axes[1], "rt_s.mean", "mean RT (s)")):  # fmt: skip
        for pol, grp in ok.groupby("policies.scheduler", sort=False):
            stats = group_ci(grp.groupby(param)[metric])
            ax.errorbar(stats.index, stats["mean"], yerr=stats["ci95"], marker="o", capsize=2,
                        label=pol, color=COLORS.get(pol.removesuffix("_p")),
                        linestyle="--" if pol.endswith("_p") else "-")  # fmt: skip
        ax.set_xlabel(param.split(".params.")[-1].removeprefix("params."))
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    name = f"sensitivity_{param.split('.params.')[-1].removeprefix('params.')}.png"
    return [save_figure(fig, out_dir / name)]


def isolated_figure(ok: pd.DataFrame, out_dir: Path) -> Path:
    stats = group_ci(ok.groupby("workload.params.scenario")["rt_s.mean"])
    classes = [s.removeprefix("isolated_") for s in stats.index]
    x = np.arange(len(classes))
    fig, ax = new_figure(6, 4)
    ax.bar(x - 0.2, stats["mean"], 0.4, yerr=stats["ci95"], capsize=3, label="simulated")
    ax.bar(x + 0.2, [ISOLATED_RT_S.get(c, math.nan) for c in classes], 0.4,
           label="implied by the authors' tables")  # fmt: skip
    ax.set_xticks(x, classes)
    ax.set_yscale("log")
    ax.set_ylabel("isolated response time (s)")
    ax.legend(fontsize=8)
    ax.grid(True, axis="y", alpha=0.3)
    return save_figure(fig, out_dir / "isolated_rt.png")
