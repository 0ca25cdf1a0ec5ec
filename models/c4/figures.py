"""The c4 figures, made with :mod:`sim.plots` (Agg backend, atomic saves).

Sweep figures read the per-run tables a sweep writes (``runs/<run_id>/<table>.parquet``)
so that distributions (busbw over hash draws, port shares over NICs) are drawn from every
run, not only from the sweep table's summary columns.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sim_models.c4.params import JobParams

from sim.plots import new_figure, save_figure
from sim.stats import group_ci, ok_rows

POLICY_ORDER = ("ecmp", "c4p_static", "c4p", "ideal")
COLORS = {"ecmp": "tab:red", "c4p_static": "tab:orange", "c4p": "tab:blue", "ideal": "tab:green"}


def _ordered(names) -> list[str]:
    names = list(dict.fromkeys(names))
    return sorted(names, key=lambda n: (POLICY_ORDER.index(n) if n in POLICY_ORDER else 99, n))


def run_tables(table: pd.DataFrame, out_dir: Path, name: str) -> pd.DataFrame:
    """Concatenate ``runs/<run_id>/<name>.parquet`` of the finished runs, with the run's
    swept columns (``params.*``, ``policies.*``) attached."""
    ok = ok_rows(table)
    keep = [c for c in ok.columns if c.startswith(("params.", "policies."))] + ["run_id"]
    frames = []
    for _, row in ok.iterrows():
        path = Path(out_dir) / "runs" / str(row["run_id"]) / f"{name}.parquet"
        if not path.exists():
            continue
        df = pd.read_parquet(path)
        for c in keep:
            df[c] = row[c]
        frames.append(df)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


# -- c4.allreduce ----------------------------------------------------------------------------
def allreduce_sweep_figures(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    out: list[Path] = []
    if "policies.routing" not in table.columns:
        return out
    ops = run_tables(table, out_dir, "ops")
    if not ops.empty:
        out.append(failure_timeline(ops, out_dir / "failure_timeline.png"))
        return out
    draws = run_tables(table, out_dir, "draws")
    if not draws.empty and draws["params.gpus"].nunique() > 1:
        out.append(busbw_distribution(draws, out_dir / "busbw_distribution.png"))
    ports = run_tables(table, out_dir, "ports")
    if not ports.empty:
        big = ports[ports["params.gpus"] == ports["params.gpus"].max()]
        if "params.qps" in big.columns and big["params.qps"].nunique() > 1:
            big = big[big["params.qps"] == 2] if (big["params.qps"] == 2).any() else big
        out.append(port_balance(big, out_dir / "port_balance.png"))
    extra = [c for c in ("params.qps", "params.oversubscription", "params.placement")
             if c in table.columns and ok_rows(table)[c].nunique() > 1]  # fmt: skip
    for c in extra:
        out.append(busbw_vs_param(ok_rows(table), c, out_dir / f"busbw_vs_{c[7:]}.png"))
    return out


def busbw_distribution(draws: pd.DataFrame, path: Path) -> Path:
    """Busbw over hash draws per scale and policy: boxes (5-95%) and the mean."""
    fig, ax = new_figure(7.5, 4.2)
    scales = sorted(draws["params.gpus"].unique())
    pols = _ordered(draws["policies.routing"])
    width = 0.8 / len(pols)
    for j, pol in enumerate(pols):
        data, pos = [], []
        for i, g in enumerate(scales):
            v = draws[(draws["params.gpus"] == g) & (draws["policies.routing"] == pol)]
            if len(v):
                data.append(v["busbw_GBps"].to_numpy())
                pos.append(i + (j - (len(pols) - 1) / 2) * width)
        if not data:
            continue
        bp = ax.boxplot(data, positions=pos, widths=width * 0.9, whis=(5, 95),
                        patch_artist=True, showfliers=False)  # fmt: skip
        for box in bp["boxes"]:
            box.set(facecolor=COLORS.get(pol, "gray"), alpha=0.35)
        ax.plot(pos, [d.mean() for d in data], "o-", color=COLORS.get(pol, "gray"), ms=4,
                label=f"{pol} (mean)")  # fmt: skip
    ax.set_xticks(range(len(scales)))
    ax.set_xticklabels([str(int(s)) for s in scales])
    ax.set_xlabel("GPUs")
    ax.set_ylabel("all-reduce busbw (GB/s)")
    ax.axhline(50.0, color="k", lw=0.8, ls=":", label="NIC line rate (2 x 200 Gb/s)")
    ax.set_ylim(bottom=0)
    ax.set_title("All-reduce bus bandwidth over hash draws")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    return save_figure(fig, path)


def port_balance(ports: pd.DataFrame, path: Path) -> Path:
    """Share of each NIC's traffic on port 0, per policy (histogram over NICs), from the
    first draw of each run."""
    fig, ax = new_figure(6.5, 4.0)
    bins = np.linspace(0, 1, 21)
    for pol in _ordered(ports["policies.routing"]):
        s = ports[(ports["policies.routing"] == pol) & (ports["port"] == 0)]["share"].dropna()
        if len(s):
            ax.hist(s, bins=bins, histtype="step", lw=1.8, color=COLORS.get(pol, "gray"),
                    label=f"{pol} ({len(s)} NICs)")  # fmt: skip
    ax.set_xlabel("share of a NIC's sent bytes on port 0")
    ax.set_ylabel("NICs")
    n = int(ports["params.gpus"].max()) if "params.gpus" in ports.columns else 0
    ax.set_title(f"Traffic per bonded port, {n} GPUs: bond hash vs C4P")
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    return save_figure(fig, path)


def busbw_vs_param(table: pd.DataFrame, col: str, path: Path) -> Path:
    fig, ax = new_figure()
    for pol in _ordered(table["policies.routing"]):
        sub = table[table["policies.routing"] == pol]
        stats = group_ci(sub.groupby(col)["busbw_GBps.mean"])
        ax.errorbar(stats.index.astype(str), stats["mean"], yerr=stats["ci95"], marker="o",
                    capsize=3, color=COLORS.get(pol, "gray"), label=pol)  # fmt: skip
    ax.set_xlabel(col.removeprefix("params."))
    ax.set_ylabel("mean busbw (GB/s)")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    return save_figure(fig, path)


def failure_timeline(ops: pd.DataFrame, path: Path) -> Path:
    """Busbw of back-to-back all-reduces through a ToR uplink failure, per policy."""
    fig, ax = new_figure(7.0, 4.0)
    for pol in _ordered(ops["policies.routing"]):
        sub = ops[ops["policies.routing"] == pol].groupby("op")["busbw_GBps"].mean()
        ax.step(sub.index, sub.to_numpy(), where="post", color=COLORS.get(pol, "gray"),
                lw=1.8, label=pol)  # fmt: skip
    first_after = ops[ops["phase"].isin(["during", "after"])]["op"].min()
    if pd.notna(first_after):
        ax.axvline(first_after + 0.5, color="k", ls="--", lw=0.8, label="uplink fails")
    rep = ops[ops["phase"] == "repaired"]["op"].min()
    if pd.notna(rep):
        ax.axvline(rep, color="gray", ls=":", lw=0.8, label="uplink repaired")
    ax.set_xlabel("all-reduce operation (back to back)")
    ax.set_ylabel("busbw (GB/s)")
    ax.set_ylim(bottom=0)
    ax.set_title("Busbw through a ToR-spine link failure")
    ax.legend(fontsize=8, loc="lower left")
    ax.grid(True, alpha=0.3)
    return save_figure(fig, path)


def failure_timeline_single(ops: pd.DataFrame, out_dir: Path) -> Path | None:
    if ops.empty:
        return None
    ops = ops.copy()
    ops["policies.routing"] = "this run"
    return failure_timeline(ops, Path(out_dir) / "failure_timeline.png")


# -- c4.training -------------------------------------------------------------------------------
def training_sweep_figures(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    ok = ok_rows(table)
    if ok.empty or "policies.routing" not in ok.columns:
        return []
    out = []
    if (
        "params.tokens_per_iteration" in ok.columns
        and ok["params.tokens_per_iteration"].nunique() > 1
    ):
        return [gap_vs_batch(ok, out_dir / "ecmp_gap_vs_batch.png")]
    if "params.comm_share" in ok.columns and ok["params.comm_share"].nunique() > 1:
        out.append(speedup_vs_comm_share(ok, out_dir / "speedup_vs_comm_share.png"))
        natural = ok[ok["params.comm_share"].fillna(0.0) == 0.0]
        if not natural.empty:
            out.append(throughput_by_policy(natural, out_dir / "throughput_by_policy.png"))
        return out
    return [throughput_by_policy(ok, out_dir / "throughput_by_policy.png")]


def speedup_vs_comm_share(ok: pd.DataFrame, path: Path) -> Path:
    """Job throughput over ECMP's, per routing policy, against the exposed-communication
    share of an iteration on the ideal fabric."""
    fig, ax = new_figure(6.5, 4.0)
    natural = ok[ok["params.comm_share"].fillna(0.0) == 0.0]
    ok = ok[ok["params.comm_share"].fillna(0.0) > 0.0]
    base = ok[ok["policies.routing"] == "ecmp"].groupby("params.comm_share")["iterations_per_s"]
    base_mean = base.mean()
    if not natural.empty:  # the job sized from its model, at its own exposed share
        by = natural.groupby("policies.routing")
        share = float(by["exposed_comm_share"].mean().get("ideal", np.nan))
        rate = by["iterations_per_s"].mean()
        if "ecmp" in rate and "c4p" in rate and np.isfinite(share):
            ax.plot(share * 100, rate["c4p"] / rate["ecmp"], "*", ms=12, color="k",
                    label="22B job (sized from its model)")  # fmt: skip
    for pol in _ordered(ok["policies.routing"]):
        if pol == "ecmp":
            continue
        sub = ok[ok["policies.routing"] == pol]
        stats = group_ci(sub.groupby("params.comm_share")["iterations_per_s"])
        ratio = stats["mean"] / base_mean.reindex(stats.index)
        err = stats["ci95"] / base_mean.reindex(stats.index)
        style = {"ls": "--", "mfc": "none", "ms": 9} if pol == "ideal" else {}
        ax.errorbar(stats.index * 100, ratio, yerr=err, marker="o", capsize=3,
                    color=COLORS.get(pol, "gray"), label=f"{pol} / ecmp", **style)  # fmt: skip
    ax.axhline(1.0, color="k", lw=0.8)
    speedup = _published("c4.job_speedup.moderate")
    gap = _published("c4.ecmp_gap_512")
    ax.axhline(speedup, color="tab:blue", lw=0.8, ls=":",
               label=f"published: ~{speedup:g} (moderate comm.)")  # fmt: skip
    ax.axhline(1 / (1 - gap), color="tab:green", lw=0.8, ls=":",
               label=f"published 22B gap {gap:.0%}: ideal/ecmp = {1 / (1 - gap):.2f}")  # fmt: skip
    ax.set_xlabel("exposed communication on the ideal fabric (% of an iteration)")
    ax.set_ylabel("job throughput relative to ECMP")
    ax.set_title("Job speedup vs communication share")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def _published(claim_id: str) -> float:
    """A claim's published value, typed once in :mod:`sim_models.c4.claims`."""
    from sim_models.c4.claims import PAPER

    return PAPER.published(claim_id)


def _published_downtimes(ax) -> None:
    """Reference lines at the published downtime (%) before and with C4D."""
    before = _published("c4.downtime_fraction.baseline") * 100
    after = _published("c4.downtime_fraction.c4d") * 100
    ax.axhline(before, color="k", ls=":", lw=0.8, label=f"published, before C4D ({before:g}%)")
    ax.axhline(after, color="gray", ls=":", lw=0.8, label=f"published, with C4D ({after:g}%)")


def gap_vs_batch(ok: pd.DataFrame, path: Path) -> Path:
    """The ECMP gap (1 - ECMP / ideal iterations/s) against the global batch, with the
    ideal fabric's exposed-communication share at each point and the published ~0.30."""
    col = "params.tokens_per_iteration"
    rate = ok.groupby([col, "policies.routing"])["iterations_per_s"]
    mean = rate.mean().unstack()
    share = ok[ok["policies.routing"] == "ideal"].groupby(col)["exposed_comm_share"].mean()
    fig, ax = new_figure(6.5, 4.0)
    if "ecmp" in mean and "ideal" in mean:
        ecmp = ok[ok["policies.routing"] == "ecmp"]
        gaps = 1.0 - ecmp["iterations_per_s"] / ecmp[col].map(mean["ideal"])
        stats = group_ci(gaps.groupby(ecmp[col]))
        x = stats.index.to_numpy(dtype=float) / 2**20
        ax.errorbar(x, stats["mean"], yerr=stats["ci95"], marker="o", capsize=3,
                    color=COLORS["ecmp"], label="simulated: 1 - ecmp / ideal")  # fmt: skip
        for xi, g, t in zip(x, stats["mean"], stats.index, strict=True):
            sh = share.get(t, np.nan)
            if np.isfinite(sh):
                ax.annotate(f"{sh:.0%} comm.", (xi, g), textcoords="offset points",
                            xytext=(4, 6), fontsize=7)  # fmt: skip
    gap = _published("c4.ecmp_gap_512")
    ax.axhline(gap, color="k", ls=":", lw=0.8, label=f"published: ~{gap:g} (22B, 512 GPUs)")
    batch = JobParams.model_fields["tokens_per_iteration"].default / 2**20
    ax.axvline(batch, color="gray", ls="--", lw=0.8, label=f"assumed batch ({batch:g}M tokens)")
    ax.set_xscale("log", base=2)
    ticks = sorted(ok[col].unique() / 2**20)
    ax.set_xticks(ticks)
    ax.set_xticklabels([f"{t:g}" for t in ticks])
    ax.set_xlabel(
        "global batch (M tokens per iteration; compute scales with tokens / MFU)\n"
        "labels: exposed communication share on the ideal fabric"
    )
    ax.set_ylabel("ECMP gap (1 - ECMP / ideal throughput)")
    ax.set_ylim(bottom=0)
    ax.set_title("The 22B job's ECMP gap vs its global batch")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def throughput_by_policy(ok: pd.DataFrame, path: Path) -> Path:
    """Iterations/s per routing policy, relative to the ideal fabric, 95% intervals."""
    stats = group_ci(ok.groupby("policies.routing")["iterations_per_s"])
    ideal = stats["mean"].get("ideal", stats["mean"].max())
    order = _ordered(stats.index)
    fig, ax = new_figure(5.5, 3.8)
    ax.bar(order, [stats.loc[p, "mean"] / ideal for p in order],
           yerr=[stats.loc[p, "ci95"] / ideal for p in order], capsize=4,
           color=[COLORS.get(p, "gray") for p in order])  # fmt: skip
    for i, p in enumerate(order):
        ax.text(i, stats.loc[p, "mean"] / ideal + 0.02, f"{stats.loc[p, 'mean'] / ideal:.2f}",
                ha="center", fontsize=9)  # fmt: skip
    ax.set_ylim(0, 1.15)
    ax.set_ylabel("training throughput / ideal fabric")
    ax.set_title("The 22B job on 512 GPUs: throughput by routing policy")
    ax.grid(True, axis="y", alpha=0.3)
    return save_figure(fig, path)


# -- c4.reliability ----------------------------------------------------------------------------
PHASES = (("lost_work", "lost work (since checkpoint)", "tab:gray"),
          ("detection", "detection", "tab:red"),
          ("diagnosis", "diagnosis", "tab:orange"),
          ("isolation", "isolation", "tab:purple"),
          ("restart", "restart", "tab:blue"))  # fmt: skip
DETECTION_ORDER = ("timeout_manual", "c4d")


def _fault_bars(
    ax, row: pd.Series, y: float, unit: float, lost: bool = True, xmax: float | None = None
) -> None:
    """One fault as consecutive bars: lost work before it, then its handling phases."""
    t = -float(row.get("lost_work_s", 0.0) or 0.0) / unit if lost else 0.0
    for key, label, color in PHASES:
        if key == "lost_work" and not lost:
            continue
        d = float(row.get(f"{key}_s", 0.0) or 0.0) / unit
        if d > 0:
            ax.barh(y, d, left=t, color=color, edgecolor="k", lw=0.3, label=label,
                    hatch="//" if key == "lost_work" else None)  # fmt: skip
        t += d
    if xmax is not None and t > xmax:
        ax.text(xmax, y, f" {t:.0f} >", va="center", ha="right", fontsize=8, color="w")
    else:
        ax.text(t, y, f"  {t:.2f}" if t < 10 else f"  {t:.0f}", va="center", fontsize=8)


def fault_timeline(faults: pd.DataFrame, cfg, path: Path) -> Path | None:
    """The first harmful fault of a run, from the work it lost to the restart."""
    if faults.empty or not faults["harmful"].any():
        return None
    row = faults[faults["harmful"]].iloc[0]
    fig, ax = new_figure(7.0, 2.4)
    _fault_bars(ax, row, 0, 3600.0)
    ax.set_yticks([0])
    ax.set_yticklabels([f"{row['kind']}"])
    ax.axvline(0, color="k", lw=0.8)
    ax.set_xlabel("hours from the fault")
    _dedupe_legend(ax)
    return save_figure(fig, path)


def _dedupe_legend(ax) -> None:
    handles, labels = ax.get_legend_handles_labels()
    seen = {}
    for h, lab in zip(handles, labels, strict=True):
        seen.setdefault(lab, h)
    ax.legend(seen.values(), seen.keys(), fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))


def reliability_sweep_figures(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    ok = ok_rows(table)
    if ok.empty or "policies.detection" not in ok.columns:
        return []
    out: list[Path] = []
    swept = [c for c in ok.columns
             if (c.startswith("params.") or ".params." in c) and ok[c].nunique() > 1]  # fmt: skip
    if not swept:
        out.append(downtime_breakdown(ok, out_dir / "downtime_breakdown.png"))
        faults = run_tables(table, out_dir, "faults")
        if not faults.empty:
            out.append(fault_timelines(faults, out_dir / "fault_timeline.png"))
    if len(swept) == 2:
        x = next((c for c in swept if ".params." in c), swept[0])
        lines = next(c for c in swept if c != x)
        if ok["policies.detection"].nunique() > 1:
            out.append(downtime_sensitivity(ok, x, lines, out_dir / "downtime_sensitivity.png"))
        else:
            out.append(downtime_vs_param(ok, x, out_dir / "downtime_sensitivity.png", lines=lines))
    elif swept:
        for c in swept:
            out.append(downtime_vs_param(ok, c, out_dir / f"downtime_vs_{c.split('.')[-1]}.png"))
    return [p for p in out if p is not None]


def downtime_breakdown(ok: pd.DataFrame, path: Path) -> Path:
    """Stacked downtime parts per detection policy (share of wall-clock time), goodput."""
    pols = [p for p in DETECTION_ORDER if p in set(ok["policies.detection"])] + sorted(
        set(ok["policies.detection"]) - set(DETECTION_ORDER)
    )
    fig, ax = new_figure(6.5, 4.0)
    for i, pol in enumerate(pols):
        sub = ok[ok["policies.detection"] == pol]
        bottom = 0.0
        for key, label, color in PHASES:
            v = float(sub[f"downtime.{key}_fraction"].mean()) * 100
            ax.bar(i, v, bottom=bottom, color=color, edgecolor="k", lw=0.3, label=label,
                   hatch="//" if key == "lost_work" else None)  # fmt: skip
            bottom += v
        ci = group_ci(sub.groupby("policies.detection")["downtime_fraction"])["ci95"].iloc[0]
        ax.errorbar(i, bottom, yerr=ci * 100, color="k", capsize=4)
        gp = float(sub["goodput"].mean()) * 100
        ax.text(i, bottom + 1, f"{bottom:.2f}% down\ngoodput {gp:.1f}%", ha="center", fontsize=8)
    ax.set_xticks(range(len(pols)))
    ax.set_xticklabels(pols)
    ax.set_ylabel("error-induced downtime (% of wall-clock time)")
    ax.set_title("A month of a 512-GPU job: where the time goes")
    ax.set_ylim(0, max(5.0, ax.get_ylim()[1] * 1.15))
    _dedupe_legend(ax)
    return save_figure(fig, path)


def fault_timelines(faults: pd.DataFrame, path: Path) -> Path | None:
    """The first harmful fault of the same kind in one run per detection policy, phase by
    phase: all policies in hours (lost work drawn before the fault), then the handling
    alone in minutes."""
    faults = faults[faults["harmful"]]
    if faults.empty:
        return None
    pols = [p for p in DETECTION_ORDER if p in set(faults["policies.detection"])]
    # the same kind of fault for every policy: the most common kind they all met
    kinds = faults.groupby("kind")["policies.detection"].nunique()
    common = kinds[kinds == len(pols)].index
    kind = (
        faults[faults["kind"].isin(common)]["kind"].value_counts().index[0] if len(common) else None
    )
    rows = []
    for pol in pols:
        sub = faults[faults["policies.detection"] == pol]
        if kind is not None:
            sub = sub[sub["kind"] == kind]
        rows.append(sub.iloc[0])
    plt_fig, axes = new_figure(7.5, 1.6 + 1.2 * len(pols), nrows=2)
    labels = [f"{p}\n({kind or 'first fault'})" for p in pols]
    for ax, unit, xlabel, lost, xmax in (
        (axes[0], 3600.0, "hours from the fault (lost work before it)", True, None),
        (axes[1], 60.0, "minutes from the fault (handling only)", False, 60.0),
    ):
        for i, row in enumerate(rows):
            _fault_bars(ax, row, i, unit, lost=lost, xmax=xmax)
        ax.set_yticks(range(len(pols)))
        ax.set_yticklabels(labels, fontsize=8)
        ax.axvline(0, color="k", lw=0.8)
        ax.set_xlabel(xlabel)
    axes[1].set_xlim(0, 60)
    axes[0].set_title("One fault from injection to restart")
    _dedupe_legend(axes[0])
    return save_figure(plt_fig, path)


def downtime_vs_param(ok: pd.DataFrame, col: str, path: Path, lines: str | None = None) -> Path:
    """Downtime fraction against a swept parameter, one line per detection policy (or
    per value of ``lines``), with the published 31.19% and 1.16% for reference."""
    fig, ax = new_figure(6.5, 4.0)
    key = lines or "policies.detection"
    for val in sorted(set(ok[key]), key=str):
        sub = ok[ok[key] == val]
        stats = group_ci(sub.groupby(col)["downtime_fraction"])
        x = stats.index.to_numpy(dtype=float)
        label = f"{key.split('.')[-1]} = {val}" if lines else str(val)
        ax.errorbar(x / 3600 if col.endswith("_s") else x, stats["mean"] * 100,
                    yerr=stats["ci95"] * 100, marker="o", capsize=3, label=label)  # fmt: skip
    _published_downtimes(ax)
    name = col.split(".")[-1]
    ax.set_xlabel(name.removesuffix("_s") + " (h)" if col.endswith("_s") else name)
    ax.set_ylabel("error-induced downtime (%)")
    ax.set_title(f"Downtime vs {name}")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def downtime_sensitivity(ok: pd.DataFrame, x: str, lines: str, path: Path) -> Path:
    """Two panels against ``x`` (one line per value of ``lines``): the downtime with the
    baseline (solid) and with C4D (dashed); the overhead reduction, baseline minus C4D
    downtime of the same cell. Published values for reference."""
    fig, axes = new_figure(11.0, 4.0, ncols=2)
    hours = x.endswith("_s")
    colors = ["tab:green", "tab:blue", "tab:red", "tab:purple", "tab:brown"]
    means = ok.groupby([lines, x, "policies.detection"])["downtime_fraction"].mean().unstack()
    for k, val in enumerate(sorted(set(ok[lines]))):
        color = colors[k % len(colors)]
        for pol, style in (("timeout_manual", "-"), ("c4d", "--")):
            sub = ok[(ok[lines] == val) & (ok["policies.detection"] == pol)]
            if sub.empty:
                continue
            stats = group_ci(sub.groupby(x)["downtime_fraction"])
            xs = stats.index.to_numpy(dtype=float) / (3600 if hours else 1)
            axes[0].errorbar(xs, stats["mean"] * 100, yerr=stats["ci95"] * 100, ls=style,
                             marker="o", ms=4, capsize=3, color=color,
                             label=f"{pol}, {lines.split('.')[-1]} = {val:g}")  # fmt: skip
        if {"timeout_manual", "c4d"} <= set(means.columns):
            red = means.loc[val]
            red = red["timeout_manual"] - red["c4d"]
            xs = red.index.to_numpy(dtype=float) / (3600 if hours else 1)
            axes[1].plot(xs, red.to_numpy(), "o-", color=color,
                         label=f"{lines.split('.')[-1]} = {val:g}")  # fmt: skip
    _published_downtimes(axes[0])
    axes[0].set_ylabel("error-induced downtime (%)")
    axes[0].set_title("Downtime: baseline (solid) and C4D (dashed)")
    cut = _published("c4.overhead_reduction")
    axes[1].axhline(cut, color="k", ls=":", lw=0.8, label=f"published reduction (~{cut:g})")
    axes[1].set_ylabel("overhead reduction (baseline - C4D downtime)")
    axes[1].set_title("What C4D removes")
    name = x.split(".")[-1]
    ticks = sorted(set(ok[x].astype(float) / (3600 if hours else 1)))
    for ax in axes:
        ax.set_xlabel(name.removesuffix("_s") + " (h)" if hours else name)
        ax.set_xscale("log")
        ax.set_xticks(ticks)
        ax.set_xticklabels([f"{t:g}" for t in ticks])
        ax.minorticks_off()
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=6, ncol=2)
    axes[1].legend(fontsize=7)
    return save_figure(fig, path)


# -- c4.detector -------------------------------------------------------------------------------
def detector_sweep_figures(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    ok = ok_rows(table)
    if ok.empty or "params.noise" not in ok.columns or ok["params.noise"].nunique() < 2:
        return []
    return [detector_vs_noise(ok, out_dir / "detector_vs_noise.png")]


def detector_vs_noise(ok: pd.DataFrame, path: Path) -> Path:
    """Precision and recall of localisation, and the median detection delay, vs noise."""
    fig, ax = new_figure(6.5, 4.0)
    for col, label, color in (("precision", "precision", "tab:blue"),
                              ("recall", "recall", "tab:green"),
                              ("false_alarm_rate", "false-alarm rate (healthy runs)", "tab:red")):  # fmt: skip
        stats = group_ci(ok.groupby("params.noise")[col])
        ax.errorbar(stats.index, stats["mean"], yerr=stats["ci95"], marker="o", capsize=3,
                    color=color, label=label)  # fmt: skip
    ax.set_xlabel("telemetry noise (log-sd of throughput; timestamp sd / compute time)")
    ax.set_ylabel("fraction")
    ax.set_ylim(-0.02, 1.05)
    ax.grid(True, alpha=0.3)
    ax2 = ax.twinx()
    stats = group_ci(ok.groupby("params.noise")["detect_s.median"])
    ax2.plot(stats.index, stats["mean"], "k--", marker="s", ms=4, label="median detection delay")
    ax2.set_ylabel("median detection delay (s)")
    ax2.set_ylim(bottom=0)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=8, loc="lower left")
    ax.set_title("C4D localisation against telemetry noise")
    return save_figure(fig, path)
