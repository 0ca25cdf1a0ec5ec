"""The c4 figures, made with :mod:`sim.plots` (Agg backend, atomic saves).

Sweep figures read the per-run tables a sweep writes (``runs/<run_id>/<table>.parquet``)
so that distributions (busbw over hash draws, port shares over NICs) are drawn from every
run, not only from the sweep table's summary columns.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

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
    if not ports.empty and draws["params.gpus"].nunique() == 1:
        out.append(port_balance(ports, out_dir / "port_balance.png"))
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
    """Share of each NIC's traffic on port 0, per policy (histogram over NICs)."""
    fig, ax = new_figure(6.5, 4.0)
    bins = np.linspace(0, 1, 21)
    for pol in _ordered(ports["policies.routing"]):
        s = ports[(ports["policies.routing"] == pol) & (ports["port"] == 0)]["share"].dropna()
        if len(s):
            ax.hist(s, bins=bins, histtype="step", lw=1.8, color=COLORS.get(pol, "gray"),
                    label=f"{pol} ({len(s)} NICs)")  # fmt: skip
    ax.set_xlabel("share of a NIC's sent bytes on port 0")
    ax.set_ylabel("NICs")
    ax.set_title("Traffic per bonded port: bond hash vs C4P")
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
        sub = ops[ops["policies.routing"] == pol].sort_values("op")
        ax.step(sub["op"], sub["busbw_GBps"], where="post", color=COLORS.get(pol, "gray"),
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
