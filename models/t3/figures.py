"""Figures of the T3 reproduction, drawn from simulation output with :mod:`sim.plots`.

Each mirrors a figure of T3 (Pati et al., ASPLOS'24): per-sub-layer speedups (Fig. 16),
DRAM traffic by origin normalised to sequential (Fig. 18), a DRAM-traffic timeline (Fig.
17), the runtime breakdown (Fig. 4), the CU-split study (Fig. 6), end-to-end estimates
(Sec. 6.3), and, over a sweep, any headline metric against the swept assumption.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.plots import new_figure, save_figure
from sim.stats import ok_rows

from .grid import geomean, per_case, short

ORDER = ["ideal_overlap", "ideal_rs_nmc", "t3", "t3_mca", "ideal_ar_overlap", "cu_split_8",
         "cu_split_16"]
NAMES = {
    "sequential": "Sequential",
    "ideal_overlap": "Ideal-GEMM-RS-Overlap",
    "ideal_rs_nmc": "Ideal-RS+NMC",
    "t3": "T3",
    "t3_mca": "T3-MCA",
    "ideal_ar_overlap": "Ideal GEMM-AR overlap",
}
CAT_COLORS = {
    "gemm_read": "#1f77b4", "gemm_write": "#aec7e8", "rs_read": "#d62728",
    "rs_write": "#ff9896", "ag_read": "#2ca02c", "ag_write": "#98df8a",
}  # fmt: skip


def _name(cfg: str) -> str:
    if cfg.startswith("cu_split_"):
        return f"{cfg.split('_')[-1]} CUs to AR"
    return NAMES.get(cfg, cfg)


def _configs(present) -> list[str]:
    present = [c for c in dict.fromkeys(present) if c != "sequential"]
    return [c for c in ORDER if c in present] + [c for c in present if c not in ORDER]


def speedups(pc: pd.DataFrame, path: Path, title: str = "Sub-layer speedup over Sequential") -> Path | None:
    """Fig. 16: speedup of every configuration per sub-layer, and the geomean."""
    if pc.empty:
        return None
    cfgs = _configs(pc["config"])
    cases = list(dict.fromkeys(pc["case"]))
    piv = pc.pivot_table(index="case", columns="config", values="speedup").reindex(cases)
    labels = cases + ["geomean"]
    fig, ax = new_figure(max(6.0, 0.55 * len(labels) + 2), 4.2)
    w = 0.8 / max(1, len(cfgs))
    x = np.arange(len(labels))
    for i, cfg in enumerate(cfgs):
        vals = list(piv[cfg].to_numpy()) + [geomean(piv[cfg])]
        ax.bar(x + (i - (len(cfgs) - 1) / 2) * w, vals, w, label=_name(cfg))
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_xticks(x, labels, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("speedup over Sequential")
    lo = float(np.nanmin(piv[cfgs].to_numpy())) if cfgs else 1.0
    ax.set_ylim(min(0.9, lo - 0.05), None)
    ax.set_title(title)
    ax.legend(fontsize=7, ncol=min(3, len(cfgs)))
    ax.grid(True, axis="y", alpha=0.3)
    return save_figure(fig, path)


def dram_breakdown(pc: pd.DataFrame, path: Path, config: str = "t3_mca") -> Path | None:
    """Fig. 18: DRAM bytes by origin per sub-layer, Sequential vs ``config``, normalised to
    Sequential's total."""
    if pc.empty or config not in set(pc["config"]):
        return None
    cats = list(CAT_COLORS)
    cases = list(dict.fromkeys(pc["case"]))
    fig, ax = new_figure(max(6.0, 0.7 * len(cases) + 2), 4.2)
    x = np.arange(len(cases))
    for j, cfg in enumerate(("sequential", config)):
        sub = pc[pc["config"] == cfg].set_index("case").reindex(cases)
        base = pc[pc["config"] == "sequential"].set_index("case").reindex(cases)["dram_bytes"]
        bottom = np.zeros(len(cases))
        for cat in cats:
            v = (sub[cat] / base).to_numpy()
            ax.bar(x + (j - 0.5) * 0.4, v, 0.38, bottom=bottom, color=CAT_COLORS[cat],
                   edgecolor="k" if j else "none", lw=0.4,
                   label=cat.replace("_", " ") if j == 0 else None)  # fmt: skip
            bottom += v
    ax.set_xticks(x, cases, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("DRAM bytes / Sequential total")
    ax.set_title(f"DRAM traffic by origin: Sequential (left) vs {_name(config)} (right, outlined)")
    ax.legend(fontsize=7, ncol=3)
    ax.grid(True, axis="y", alpha=0.3)
    return save_figure(fig, path)


def dram_timeline(tl: pd.DataFrame, bin_s: float, path: Path) -> Path | None:
    """Fig. 17: DRAM bandwidth over time by origin and direction, one panel per
    configuration (and case)."""
    if tl.empty:
        return None
    panels = list(dict.fromkeys(zip(tl["case"], tl["config"], strict=True)))
    fig, axes = new_figure(7.0, 2.2 * len(panels), nrows=len(panels), sharex=True, squeeze=False)
    for ax, (case, cfg) in zip(axes[:, 0], panels, strict=True):
        sub = tl[(tl["case"] == case) & (tl["config"] == cfg)].copy()
        sub["series"] = sub["origin"].str.replace("gemm.remote", "gemm") + "_" + sub["kind"]
        piv = sub.pivot_table(index="t_s", columns="series", values="bytes", aggfunc="sum")
        piv = piv.sort_index().fillna(0.0)
        for col in piv.columns:
            ax.plot(piv.index * 1e6, piv[col] / bin_s / 1e9, lw=1.0, label=col.replace("_", " "))
        ax.set_ylabel("GB/s")
        ax.set_title(f"{case}: {_name(cfg)}", fontsize=9)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=6, ncol=3, loc="upper right")
    axes[-1, 0].set_xlabel("time (us)")
    return save_figure(fig, path)


def runtime_breakdown(bd: pd.DataFrame, path: Path) -> Path | None:
    """Fig. 4: share of a sequential training layer in the all-reduce sub-layers' GEMMs,
    their RS, their AG, and everything else."""
    if bd.empty:
        return None
    labels = [f"{short(t)}\nTP{tp}" for t, tp in zip(bd["transformer"], bd["tp"], strict=True)]
    fig, ax = new_figure(max(5.0, 0.9 * len(labels) + 2), 4.0)
    bottom = np.zeros(len(bd))
    for col, name, color in (("ar_gemms", "AR-producing GEMMs", "#1f77b4"), ("rs", "RS", "#d62728"),
                             ("ag", "AG", "#2ca02c"), ("other", "other", "#bbbbbb")):  # fmt: skip
        v = bd[col].to_numpy()
        ax.bar(labels, v, bottom=bottom, label=name, color=color)
        bottom += v
    ax.set_ylabel("share of a training layer (Sequential)")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7)
    ax.set_title("Runtime breakdown")
    return save_figure(fig, path)


def cu_split(pc: pd.DataFrame, path: Path) -> Path | None:
    """Fig. 6: geomean potential speedup of overlapping the whole all-reduce with the GEMM,
    ideally and with k CUs given to the collective."""
    cfgs = [c for c in _configs(pc["config"]) if c.startswith("cu_split") or c == "ideal_ar_overlap"]
    if pc.empty or not any(c.startswith("cu_split") for c in cfgs):
        return None
    vals = [geomean(pc.loc[pc["config"] == c, "speedup"]) for c in cfgs]
    fig, ax = new_figure(5.0, 3.6)
    ax.bar([_name(c) for c in cfgs], vals, color=["#555555"] + ["#ff7f0e"] * (len(cfgs) - 1))
    for i, v in enumerate(vals):
        ax.text(i, v + 0.01, f"{v:.2f}x", ha="center", fontsize=8)
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_ylabel("geomean potential speedup over Sequential")
    ax.set_title("GEMM and all-reduce overlapped: ideal vs a CU split")
    ax.set_ylim(0.9, max(vals) + 0.1)
    return save_figure(fig, path)


def e2e_bars(e2e: pd.DataFrame, path: Path) -> Path | None:
    """End-to-end speedups per model and TP, training and prompt pass (Sec. 6.3)."""
    if e2e.empty:
        return None
    sub = e2e[e2e["config"].isin(["t3", "t3_mca"])]
    if sub.empty:
        return None
    sub = sub.assign(label=[f"{short(t)}/TP{tp}" for t, tp in zip(sub["transformer"], sub["tp"], strict=True)])
    piv = sub.pivot_table(index="label", columns=["phase", "config"], values="speedup", sort=False)
    fig, ax = new_figure(max(5.0, 1.1 * len(piv) + 2), 3.8)
    x = np.arange(len(piv))
    cols = list(piv.columns)
    w = 0.8 / len(cols)
    for i, col in enumerate(cols):
        ax.bar(x + (i - (len(cols) - 1) / 2) * w, piv[col], w, label=f"{col[0]}: {_name(col[1])}")
    ax.set_xticks(x, piv.index, fontsize=8)
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_ylim(0.95, None)
    ax.set_ylabel("speedup over Sequential")
    ax.set_title("End-to-end estimate (training iteration, prompt pass)")
    ax.legend(fontsize=7)
    return save_figure(fig, path)


def grid_figures(model, out_dir: Path) -> list[Path]:
    rows = model.rows()
    pc = per_case(rows)
    paths = [
        speedups(pc, out_dir / "speedups.png"),
        dram_breakdown(pc, out_dir / "dram_by_origin.png"),
        cu_split(pc, out_dir / "cu_split.png"),
    ]
    e2e = model.e2e()
    if not e2e.empty:
        from .grid import breakdown

        paths.append(runtime_breakdown(breakdown(rows, e2e), out_dir / "runtime_breakdown.png"))
        paths.append(e2e_bars(e2e, out_dir / "end_to_end.png"))
        paths.append(e2e_sensitivity(model, out_dir / "e2e_vs_other_fraction.png"))
    tl = model.grid.timeline()
    if not tl.empty:
        paths.append(dram_timeline(tl, model.params.timeline_bin_s, out_dir / "dram_timeline.png"))
    return [p for p in paths if p is not None]


def e2e_sensitivity(model, path: Path, fractions=(0.2, 0.3, 0.4, 0.5, 0.6)) -> Path | None:
    """End-to-end geomean speedups of T3 and T3-MCA against ``other_fraction``, the share of
    a sequential layer that T3 does not change (the fold's one assumption)."""
    from .grid import end_to_end

    rows = model.rows()
    curves: dict[tuple[str, str], list[float]] = {}
    for f in fractions:
        e = end_to_end(rows, model.knobs, model.params.tokens, f)
        if e.empty:
            return None
        for (phase, cfg), g in e.groupby(["phase", "config"]):
            if cfg in ("t3", "t3_mca", "ideal_overlap"):
                curves.setdefault((phase, cfg), []).append(geomean(g["speedup"]))
    if not curves:
        return None
    fig, ax = new_figure()
    for (phase, cfg), v in sorted(curves.items()):
        ax.plot(fractions, v, "o-" if phase == "train" else "s--", label=f"{phase}: {_name(cfg)}")
    ax.axvline(model.params.other_fraction, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("other_fraction: share of a sequential layer's time that T3 does not change")
    ax.set_ylabel("geomean end-to-end speedup")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    return save_figure(fig, path)


# -- sweeps ------------------------------------------------------------------------------


LOG2_X = ("params.tokens", "params.mca_threshold_max_bursts", "params.mca_threshold_max_entries",
          "params.rs_slice_bytes", "params.k_tile", "params.dma_reads_in_flight")
CONFIG_COLORS = {
    "ideal_overlap": "k", "ideal_rs_nmc": "#8c564b", "t3": "#1f77b4", "t3_mca": "#d62728",
    "ideal_ar_overlap": "#555555", "cu_split_8": "#ff7f0e", "cu_split_16": "#2ca02c",
}  # fmt: skip
STYLES = ["-", "--", ":", "-."]


def _x_axis(ax, x: str, values) -> None:
    if x in LOG2_X:
        ax.set_xscale("log", base=2)
    elif x == "params.l2_bytes":
        ax.set_xscale("symlog", linthresh=2**20)
    ax.set_xlabel(x.split(".", 1)[1])


def sweep_figures(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Geomean speedups against the swept parameters: each configuration's geomean against
    the first numeric swept parameter (a colour per configuration); a second swept
    parameter (numeric or not, e.g. ``dram_model``) gives one line style per value."""
    ok = ok_rows(table)
    swept = [c for c in ok.columns if c.startswith("params.") and ok[c].nunique() > 1]
    numeric = [c for c in swept if pd.api.types.is_numeric_dtype(ok[c])]
    metrics = [c for c in ok.columns if c.startswith("speedup.") and c.endswith(".geomean")]
    if ok.empty or not swept or not metrics:
        return []
    if not numeric:
        return [_categorical_sweep(ok, swept[0], metrics, Path(out_dir))]
    paths = []
    x = numeric[0]
    hue = next((c for c in swept if c != x), None)
    groups = list(ok.groupby(hue, sort=False)) if hue else [(None, ok)]
    fig, ax = new_figure()
    for m in metrics:
        cfg = m.split(".")[1]
        for i, (v, grp) in enumerate(groups):
            g = grp.groupby(x)[m].mean()
            label = _name(cfg) + (f", {hue.split('.', 1)[1]} = {v}" if hue else "")
            ax.plot(g.index, g, "o" + STYLES[i % len(STYLES)], color=CONFIG_COLORS.get(cfg),
                    label=label, ms=4)  # fmt: skip
    _x_axis(ax, x, ok[x])
    ax.set_ylabel("geomean sub-layer speedup over Sequential")
    lo, hi = ax.get_ylim()
    if hi - lo < 0.1:  # a flat result: show it flat, not magnified
        mid = (hi + lo) / 2
        ax.set_ylim(mid - 0.1, mid + 0.1)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=6, ncol=2 if hue else 1)
    paths.append(save_figure(fig, Path(out_dir) / f"sensitivity_{x.split('.', 1)[1]}.png"))
    data = [c for c in ok.columns if c.startswith(("gemm_reads_ratio.", "dram_reduction."))
            and c.endswith(".geomean") and ".t3" in c]  # fmt: skip
    if data and len(swept) <= 2:
        tables: list = []  # (value of the second parameter, table) with distinct bytes only
        for v, grp in groups:
            g = grp.groupby(x)[data].mean()
            if not any(g.shape == t.shape and np.allclose(g.to_numpy(), t.to_numpy(), equal_nan=True)
                       for _, t in tables):  # fmt: skip
                tables.append((v, g))
        if all(np.allclose(g.to_numpy(), g.to_numpy()[:1], equal_nan=True) for _, g in tables):
            return paths  # the bytes do not depend on the swept parameters: no figure
        fig, ax = new_figure()
        for i, (v, g) in enumerate(tables):
            for m in data:
                kind, cfg = m.split(".")[0], m.split(".")[1]
                label = f"{kind.replace('_', ' ')}: {_name(cfg)}"
                label += f", {hue.split('.', 1)[1]} = {v}" if hue and len(tables) > 1 else ""
                ax.plot(g.index, g[m], "o" + STYLES[i % len(STYLES)], label=label, ms=4)
        _x_axis(ax, x, ok[x])
        ax.set_ylabel("GEMM reads Sequential/config; DRAM reduction")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
        paths.append(save_figure(fig, Path(out_dir) / f"data_movement_{x.split('.', 1)[1]}.png"))
    return paths


def _categorical_sweep(ok: pd.DataFrame, x: str, metrics: list[str], out_dir: Path) -> Path:
    """Geomean speedups per value of a non-numeric swept parameter (e.g. ``dram_model``)."""
    g = ok.groupby(x, sort=False)[metrics].mean()
    cfgs = [m.split(".")[1] for m in metrics]
    fig, ax = new_figure(max(5.0, 1.2 * len(g) * len(cfgs) / 3 + 2), 3.8)
    w = 0.8 / len(metrics)
    pos = np.arange(len(g))
    for i, (m, cfg) in enumerate(zip(metrics, cfgs, strict=True)):
        vals = g[m].to_numpy()
        ax.bar(pos + (i - (len(metrics) - 1) / 2) * w, vals, w, label=_name(cfg),
               color=CONFIG_COLORS.get(cfg))  # fmt: skip
        for p_, v in zip(pos, vals, strict=True):
            ax.text(p_ + (i - (len(metrics) - 1) / 2) * w, v + 0.005, f"{v:.3f}", ha="center",
                    fontsize=6, rotation=90)  # fmt: skip
    ax.set_xticks(pos, [str(v) for v in g.index])
    ax.set_xlabel(x.split(".", 1)[1])
    ax.set_ylabel("geomean sub-layer speedup over Sequential")
    ax.set_ylim(0.95, float(np.nanmax(g.to_numpy())) + 0.1)
    ax.axhline(1.0, color="k", lw=0.8)
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=7)
    return save_figure(fig, out_dir / f"sensitivity_{x.split('.', 1)[1]}.png")
