"""Figures of the serving engine: per run (latency distributions, a timeline of context
switches) and per sweep (tail latencies by system, load, mechanism, sensitivity).

All made with :mod:`sim.plots`; sweep error bars are Student-t 95% intervals
(:func:`sim.stats.group_ci`) when a grid point has several replications.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from sim_models.llm.claims import ABSTRACT_RANGE

from sim.plots import new_figure, save_figure
from sim.stats import ok_rows

FASTSWITCH_KEYS = ("params.fastswitch", "params.block_groups", "params.async_swap",
                   "params.kv_reuse")  # fmt: skip
PATTERN = "policies.scheduler.params.pattern"
TAILS = (("ttft_s.p95", "TTFT P95"), ("ttft_s.p99", "TTFT P99"), ("ttft_s.p99.9", "TTFT P99.9"),
         ("tbt_s.p99.9", "TBT P99.9"))  # fmt: skip


def system_label(row) -> str:
    """'vLLM', 'FastSwitch', or the mechanisms switched on (ablations)."""
    on = [name for name, key in (("groups", "params.block_groups"), ("async", "params.async_swap"),
                                 ("reuse", "params.kv_reuse")) if bool(row.get(key, False))]  # fmt: skip
    if bool(row.get("params.fastswitch", False)) or len(on) == 3:
        label = "FastSwitch"
    else:
        label = "vLLM" if not on else "+".join(on)
    reuse = bool(row.get("params.fastswitch", False)) or "reuse" in on
    if reuse and not bool(row.get("params.reuse_history", True)):
        label += " (no history reuse)"
    return label


def with_system(table: pd.DataFrame) -> pd.DataFrame:
    ok = ok_rows(table).copy()
    ok["system"] = [system_label(r) for r in ok.to_dict("records")]
    return ok


# -- one run --------------------------------------------------------------------------------
def run_figures(frames: dict, out_dir: Path) -> list[Path]:
    out = [latency_cdfs(frames["requests"], frames["tbt"], out_dir / "latency_cdfs.png")]
    if "iterations" in frames and len(frames["iterations"]):
        out.append(storm_timeline(frames["iterations"], out_dir / "switch_timeline.png"))
    return out


def latency_cdfs(requests: pd.DataFrame, tbt: np.ndarray, path: Path) -> Path:
    """TTFT and TBT complementary CDFs (log scale: the tails are the point)."""
    fig, axes = new_figure(10.0, 3.6, ncols=2)
    for ax, values, label in ((axes[0], (requests.first_token_s - requests.arrival_s).to_numpy(),
                               "time to first token (s)"), (axes[1], np.asarray(tbt),
                                                           "time between tokens (s)")):  # fmt: skip
        v = np.sort(values[np.isfinite(values)])
        if v.size:
            ccdf = 1.0 - np.arange(v.size) / v.size
            ax.step(v, ccdf, where="post")
            ax.set_xscale("symlog", linthresh=max(1e-3, float(np.median(v))))
        ax.set_yscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("P(X > x)")
        ax.grid(True, alpha=0.3)
    return save_figure(fig, path)


def storm_timeline(iters: pd.DataFrame, path: Path, window_s: float | None = None) -> Path:
    """Around the iteration with the most swap-outs in a 10 s window: requests swapped
    out/in per iteration, swapped queue length and synchronous swap time."""
    t = iters.start_s.to_numpy()
    outs = iters.swap_out.to_numpy()
    if window_s is None:
        window_s = 10.0
    if outs.sum() > 0:
        csum = np.concatenate([[0], np.cumsum(outs)])
        j = np.searchsorted(t, t + window_s)
        centre = int(np.argmax(csum[j] - csum[: len(t)]))
    else:
        centre = 0
    lo = t[centre] - 0.2 * window_s
    sel = (t >= lo) & (t <= lo + window_s)
    w = iters[sel]
    fig, axes = new_figure(8.0, 6.0, nrows=3, sharex=True)
    axes[0].bar(w.start_s, w.swap_out, width=0.02, color="C3", label="swapped out")
    axes[0].bar(w.start_s, -w.swap_in, width=0.02, color="C2", label="swapped in (below 0)")
    axes[0].set_ylabel("requests")
    axes[0].legend(fontsize=7)
    axes[1].step(w.start_s, w.swapped, where="post", label="swapped")
    axes[1].step(w.start_s, w.decode + w.prefill, where="post", label="in the batch")
    axes[1].set_ylabel("requests")
    axes[1].legend(fontsize=7)
    axes[2].plot(w.start_s, w.swap_s * 1e3, ".", ms=3)
    axes[2].set_ylabel("sync swap (ms)")
    axes[2].set_xlabel("simulated time (s)")
    fig.suptitle("a preemption storm: the busiest 10 s of context switches")
    return save_figure(fig, path)


# -- sweeps ---------------------------------------------------------------------------------
RATE = "workload.params.rate_per_s"
RULE = "policies.scheduler.params.update_rule"
SCHEDULER = "policies.scheduler"  # a swept policy choice: {name, params} (JSON in tables)
# Assumed parameters with a sensitivity sweep: swept key, axis label, figure file, log x axis.
SENSITIVITY = (
    ("params.call_overhead_s", "per-copy call overhead (s)", "sensitivity_call_overhead.png",
     True),
    ("params.link_efficiency", "achievable share of the PCIe 4.0 x16 rate",
     "sensitivity_link_efficiency.png", False),
    ("params.overhead_s", "fixed per-iteration overhead (s)", "sensitivity_iteration_overhead.png",
     True),
    ("workload.params.think_time_mean_s", "mean think time between turns (s)",
     "sensitivity_think_time.png", True),
    ("policies.scheduler.params.update_frequency",
     "priority updates per iteration (per conversation)", "sensitivity_priority_update.png", True),
    ("policies.scheduler.params.levels", "priority levels", "sensitivity_levels.png", True),
)  # fmt: skip


def sweep_figures(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    ok = with_system(table)
    if ok.empty:
        return []
    out = []
    cols = set(ok.columns)
    swept = [key for key, *_ in SENSITIVITY if key in cols and ok[key].nunique() > 1]
    if RATE in cols and ok[RATE].nunique() > 1:
        out.append(load_sweep(ok, out_dir / "tail_vs_load.png"))
    elif SCHEDULER in cols and ok[SCHEDULER].astype(str).nunique() > 1:
        out.append(scheduler_comparison(ok, out_dir / "schedulers.png"))
    elif swept:
        key, label, name, logx = next(s for s in SENSITIVITY if s[0] == swept[0])
        group = RULE if RULE in cols and ok[RULE].nunique() > 1 else None
        out.append(sensitivity(ok, key, label, out_dir / name, logx=logx, group=group))
    elif ok["system"].nunique() > 2:
        out.append(ablation(ok, out_dir / "ablation.png"))
    elif ok["system"].nunique() == 2:
        out.append(tail_bars(ok, out_dir / "tail_latency.png"))
    return [p for p in out if p is not None]


def tail_bars(ok: pd.DataFrame, path: Path) -> Path:
    """Tail TTFT and TBT per system (bars), one panel per priority pattern."""
    patterns = sorted(ok[PATTERN].unique()) if PATTERN in ok else ["-"]
    fig, axes = new_figure(5.0 * len(patterns), 3.8, ncols=len(patterns), squeeze=False)
    for ax, pat in zip(axes[0], patterns, strict=True):
        sub = ok[ok[PATTERN] == pat] if PATTERN in ok else ok
        systems = [s for s in ("vLLM", "FastSwitch") if s in set(sub.system)]
        x = np.arange(len(TAILS))
        width = 0.8 / max(1, len(systems))
        for i, sysname in enumerate(systems):
            vals = [sub[sub.system == sysname][k].mean() for k, _ in TAILS]
            ax.bar(x + i * width, vals, width, label=sysname)
        ax.set_xticks(x + width * (len(systems) - 1) / 2, [lbl for _, lbl in TAILS], fontsize=8)
        ax.set_yscale("log")
        ax.set_ylabel("seconds")
        ax.set_title(f"priority pattern: {pat}")
        ax.legend(fontsize=8)
    return save_figure(fig, path)


def load_sweep(ok: pd.DataFrame, path: Path) -> Path:
    """Tail latencies and their vLLM / FastSwitch ratio against the arrival rate."""
    rate = "workload.params.rate_per_s"
    fig, axes = new_figure(10.0, 3.8, ncols=2)
    for sysname, grp in ok.groupby("system"):
        g = grp.groupby(rate).mean(numeric_only=True)
        axes[0].plot(g.index, g["ttft_s.p99"], "o-", label=f"{sysname} TTFT P99")
        axes[0].plot(g.index, g["tbt_s.p99.9"], "s--", label=f"{sysname} TBT P99.9")
    axes[0].set_xlabel("conversations per second")
    axes[0].set_ylabel("seconds")
    axes[0].set_yscale("log")
    axes[0].legend(fontsize=7)
    by = ok.groupby(["system", rate]).mean(numeric_only=True)
    if {"vLLM", "FastSwitch"} <= set(ok.system):
        v, f = by.loc["vLLM"], by.loc["FastSwitch"]
        for key, label in TAILS:
            axes[1].plot(v.index, v[key] / f[key], "o-", label=label)
        axes[1].plot(v.index, f["throughput_tokens_per_s"] / v["throughput_tokens_per_s"], "k:",
                     label="throughput (FastSwitch / vLLM)")  # fmt: skip
        axes[1].axhspan(*ABSTRACT_RANGE, color="0.9", zorder=0, label="published range")
        axes[1].set_yscale("log")
    axes[1].set_xlabel("conversations per second")
    axes[1].set_ylabel("speedup (vLLM / FastSwitch)")
    axes[1].legend(fontsize=7)
    return save_figure(fig, path)


def ablation(ok: pd.DataFrame, path: Path) -> Path:
    """Each mechanism alone and together: tail latencies and copies per block moved."""
    order = ["vLLM", "groups", "async", "reuse", "groups+async", "groups+reuse", "async+reuse",
             "FastSwitch (no history reuse)", "FastSwitch"]  # fmt: skip
    systems = [s for s in order if s in set(ok.system)]
    systems += sorted(set(ok.system) - set(systems))
    g = ok.groupby("system").mean(numeric_only=True).loc[systems]
    fig, axes = new_figure(11.0, 3.8, ncols=2)
    x = np.arange(len(systems))
    width = 0.2
    for i, (key, label) in enumerate(TAILS):
        axes[0].bar(x + i * width, g[key], width, label=label)
    axes[0].set_xticks(x + 1.5 * width, systems, rotation=30, fontsize=8)
    axes[0].set_yscale("log")
    axes[0].set_ylabel("seconds")
    axes[0].legend(fontsize=7)
    axes[1].bar(x, g["copies_per_block"], color="C4")
    axes[1].set_xticks(x, systems, rotation=30, fontsize=8)
    axes[1].set_ylabel("copies per KV block moved")
    ax2 = axes[1].twinx()
    ax2.plot(x, g["stall_share.mean"], "ko-", label="mean stall share")
    ax2.set_ylabel("share of latency stalled")
    ax2.legend(fontsize=7)
    return save_figure(fig, path)


def sensitivity(
    ok: pd.DataFrame, key: str, label: str, path: Path, logx: bool = True, group: str | None = None
) -> Path:
    """What one assumed parameter changes: tail latencies per system (left) and the
    vLLM / FastSwitch speedups with the throughput gain (right), against the parameter;
    one line style per value of ``group`` (e.g. the priority update rule) when given."""
    fig, axes = new_figure(11.0, 4.0, ncols=2)
    groups = [(None, ok)] if group is None else list(ok.groupby(group, sort=True))
    styles = ("-", "--", ":", "-.")
    for gi, (gval, sub) in enumerate(groups):
        ls = styles[gi % len(styles)]
        tag = "" if gval is None else f" [{gval}]"
        for si, (sysname, grp) in enumerate(sub.groupby("system")):
            g = grp.groupby(key).mean(numeric_only=True)
            axes[0].plot(g.index, g["ttft_s.p99"], "o" + ls, color=f"C{2 * si}",
                         label=f"{sysname} TTFT P99{tag}")  # fmt: skip
            axes[0].plot(g.index, g["tbt_s.p99.9"], "s" + ls, color=f"C{2 * si + 1}",
                         label=f"{sysname} TBT P99.9{tag}")  # fmt: skip
        by = sub.groupby(["system", key]).mean(numeric_only=True)
        if {"vLLM", "FastSwitch"} <= set(sub.system):
            v, f = by.loc["vLLM"], by.loc["FastSwitch"]
            for mi, (metric, what) in enumerate(TAILS):
                axes[1].plot(v.index, v[metric] / f[metric], "o" + ls, color=f"C{mi}",
                             label=f"{what}{tag}")  # fmt: skip
            axes[1].plot(v.index, f["throughput_tokens_per_s"] / v["throughput_tokens_per_s"],
                         "x" + ls, color="k", label=f"throughput, FastSwitch / vLLM{tag}")  # fmt: skip
    axes[1].axhspan(*ABSTRACT_RANGE, color="0.9", zorder=0, label="published range")
    ticks = sorted(ok[key].unique())
    for ax in axes:
        ax.set_xlabel(label)
        ax.set_yscale("log")
        if logx:
            ax.set_xscale("log")
        ax.set_xticks(ticks, [f"{v:g}" for v in ticks])
        ax.set_xticks([], minor=True)
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("seconds")
    axes[1].set_ylabel("speedup, vLLM / FastSwitch")
    axes[0].legend(fontsize=6)
    axes[1].legend(fontsize=6)
    return save_figure(fig, path)


def scheduler_label(choice) -> str:
    """'fcfs', 'vtc', 'vtc (preemptive)', 'priority (random)' from a policy choice."""
    if isinstance(choice, str):
        try:
            choice = json.loads(choice)
        except ValueError:
            return choice
    if not isinstance(choice, dict):
        return str(choice)
    params = choice.get("params") or {}
    extra = [str(params["pattern"])] if "pattern" in params else []
    if params.get("preemptive"):
        extra.append("preemptive")
    return choice.get("name", "?") + (f" ({', '.join(extra)})" if extra else "")


def scheduler_comparison(ok: pd.DataFrame, path: Path) -> Path:
    """Schedulers side by side, vLLM and FastSwitch: tail latencies, context switches per
    request, and how evenly requests progress (the slowest 1% of per-request token rates
    against the median; Jain's index in the legend)."""
    ok = ok.assign(scheduler=[scheduler_label(c) for c in ok[SCHEDULER]])
    names = list(dict.fromkeys(ok.scheduler))
    systems = [s for s in ("vLLM", "FastSwitch") if s in set(ok.system)]
    g = ok.groupby(["scheduler", "system"]).mean(numeric_only=True)

    def values(sysname, metric):
        return [g.loc[(n, sysname), metric] if (n, sysname) in g.index else np.nan
                for n in names]  # fmt: skip

    fig, axes = new_figure(14.0, 4.0, ncols=3)
    x = np.arange(len(names))
    width = 0.8 / (2 * max(1, len(systems)))
    tails = (("ttft_s.p99", "TTFT P99"), ("tbt_s.p99.9", "TBT P99.9"))
    for si, sysname in enumerate(systems):
        for mi, (metric, what) in enumerate(tails):
            axes[0].bar(x + (2 * si + mi) * width, values(sysname, metric), width,
                        label=f"{sysname} {what}", color=f"C{2 * si + mi}")  # fmt: skip
        per_req = np.array(values(sysname, "preemptions")) / np.array(values(sysname, "requests"))
        axes[1].bar(x + si * 2 * width, per_req, 2 * width, label=sysname, color=f"C{2 * si}")
        jain = np.nanmean(values(sysname, "token_rate_jain"))
        axes[2].bar(x + si * 2 * width, values(sysname, "token_rate.p1_over_p50"), 2 * width,
                    label=f"{sysname} (Jain's index {jain:.2f} on average)", color=f"C{2 * si}")  # fmt: skip
    axes[0].set_xticks(x + width * (2 * len(systems) - 1) / 2, names, rotation=20, fontsize=8)
    axes[0].set_yscale("log")
    axes[0].set_ylabel("seconds")
    for ax in axes[1:]:
        ax.set_xticks(x + width * (len(systems) - 1), names, rotation=20, fontsize=8)
    axes[1].set_ylabel("preemptions per request")
    axes[2].set_ylabel("slowest 1% token rate / median")
    axes[2].set_ylim(0, 1)
    for ax in axes:
        ax.legend(fontsize=7)
    return save_figure(fig, path)
