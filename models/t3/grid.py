"""A grid of sub-layers x configurations simulated side by side in one run, and what is
computed from it: per-sub-layer speedups over ``sequential``, DRAM traffic by origin,
end-to-end estimates and the runtime breakdown.

Each (sub-layer, configuration) is an independent :class:`~sim_models.t3.system.SubLayerRun`
with its own GPU, memory and link, all started at time 0 in the same SimPy environment:
the simulations share nothing but the event queue, so each result is the one it would have
alone, and a whole grid costs one engine run. Sub-layers whose per-GPU GEMM and TP degree
are the same (FC-1's dgrad and FC-2 in GPT-style models) are simulated once.

End-to-end fold (:func:`end_to_end`) [A]
    A layer's time is the sum of its four all-reduce sub-layers (simulated, per
    configuration), its other GEMMs (forward IP and FC-1 for a prompt pass; plus the other
    dgrads and all weight gradients for training), timed by the same tiled GEMM model
    without communication, and the layer's remaining, not sliced-and-fused operations
    (attention's score/softmax/context, norms, element-wise ops), which T3 does not touch.
    Their time is not derived from first principles here: it is set so that they take
    ``other_fraction`` of the sequential layer time (T3's projection used a Transformer
    implementation where such operations took 40-45% of the time, Sec. 6.3). Every layer
    of a model is alike, so a layer's speedup is the model's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import simpy
from sim_models.hw.catalog import transformer
from sim_models.hw.gemm import plan_gemm, tile_order
from sim_models.hw.tp_shapes import SUBLAYER_PASS, SUBLAYERS, layer_gemms, sublayer_gemm

from sim.scope import Scope, scope_of

from .system import CATEGORIES, Knobs, SubLayerRun

SHORT = {
    "mega-gpt2-8.3b": "Mega-GPT-2",
    "t-nlg-17b": "T-NLG",
    "gpt-3-175b": "GPT-3",
    "palm-540b": "PaLM",
    "mt-nlg-530b": "MT-NLG",
}
SUBLAYER_NAMES = {"op": "OP", "fc2": "FC-2", "fc1": "FC-1", "ip": "IP"}


def short(name: str) -> str:
    return SHORT.get(name, name)


@dataclass(frozen=True)
class Case:
    transformer: str
    tp: int
    sublayer: str

    @property
    def label(self) -> str:
        return f"{short(self.transformer)}/TP{self.tp}/{SUBLAYER_NAMES.get(self.sublayer, self.sublayer)}"

    @property
    def key(self) -> str:
        return f"{self.transformer}/{self.tp}/{self.sublayer}"


def config_labels(configurations: list[str], cu_split_cus: list[int]) -> list[tuple[str, str, int]]:
    """(label, configuration, CUs for communication) per configuration; ``cu_split``
    expands into ``cu_split_<k>`` for each ``k``."""
    out = []
    for cfg in configurations:
        if cfg == "cu_split":
            out += [(f"cu_split_{k}", "cu_split", k) for k in cu_split_cus]
        else:
            out.append((cfg, cfg, 0))
    return out


class GridRun:
    """Every case under every configuration, started together in ``env``."""

    def __init__(
        self,
        env: simpy.Environment,
        cases: list[Case],
        configs: list[tuple[str, str, int]],
        knobs: Knobs,
        tokens: int,
        *,
        timeline_keys: set[str] = frozenset(),
        scope: Scope | None = None,
    ):
        self.env, self.cases, self.configs, self.knobs, self.tokens = env, cases, configs, knobs, tokens
        self.scope = scope_of(scope)
        self.runs: list[tuple[Case, str, SubLayerRun]] = []
        self._unique: dict[tuple, SubLayerRun] = {}
        for case in cases:
            shape = sublayer_gemm(transformer(case.transformer), case.sublayer, case.tp, tokens)
            for label, cfg, k in configs:
                timeline = case.key in timeline_keys
                # sub-layers with the same GEMM (e.g. GPT-style FC-1 and FC-2) share one run
                key = (shape, case.tp, cfg, k, timeline)
                run = self._unique.get(key)
                if run is None:
                    name = f"{case.transformer}.tp{case.tp}.{case.sublayer}.{label}"
                    run = SubLayerRun(env, shape, case.tp, cfg, knobs, comm_cus=k or 8,
                                      scope=self.scope.child(name),
                                      record_timeline=timeline)  # fmt: skip
                    self._unique[key] = run
                self.runs.append((case, label, run))

    @property
    def simulations(self) -> int:
        """Distinct sub-layer simulations (identical GEMMs are simulated once)."""
        return len(self._unique)

    def start(self) -> None:
        for run in self._unique.values():
            run.start()

    def rows(self) -> pd.DataFrame:
        out = []
        for case, label, run in self.runs:
            r = run.result
            if r is None:
                continue
            row = {
                "transformer": case.transformer, "tp": case.tp, "sublayer": case.sublayer,
                "case": case.label, "config": label, "tokens": self.tokens,
                "time_s": r.time_s, "gemm_s": r.gemm_s, "rs_end_s": r.rs_end_s, "ag_s": r.ag_s,
                "hbm_Bps": self.knobs.gpu.hbm_bandwidth_Bps,
            }  # fmt: skip
            row.update(r.category_bytes())
            row["dram_bytes"] = r.dram_bytes
            row.update(r.stats)
            out.append(row)
        return pd.DataFrame(out)

    def timeline(self) -> pd.DataFrame:
        rows = []
        for case, label, run in self.runs:
            if run.result is None:
                continue
            for t, origin, kind, nbytes in run.result.timeline:
                rows.append((case.label, label, t, origin, kind, nbytes))
        return pd.DataFrame(rows, columns=["case", "config", "t_s", "origin", "kind", "bytes"])


# -- analysis ---------------------------------------------------------------------------
def geomean(x) -> float:
    a = np.asarray(list(x), dtype=float)
    a = a[np.isfinite(a) & (a > 0)]
    return float(np.exp(np.log(a).mean())) if len(a) else math.nan


def per_case(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per (case, configuration) with ratios to the case's ``sequential`` run:
    ``speedup`` (time), ``dram_ratio`` (total DRAM bytes) and per-category ratios."""
    if rows.empty or "sequential" not in set(rows["config"]):
        return pd.DataFrame()
    base = rows[rows["config"] == "sequential"].set_index("case")
    out = rows.copy()
    b = base.loc[out["case"]]
    out["speedup"] = b["time_s"].to_numpy() / out["time_s"].to_numpy()
    out["dram_ratio"] = out["dram_bytes"].to_numpy() / b["dram_bytes"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        out["rs_reads_ratio"] = b["rs_read"].to_numpy() / out["rs_read"].to_numpy()
        out["gemm_reads_ratio"] = b["gemm_read"].to_numpy() / out["gemm_read"].to_numpy()
        gw = out["gemm_write"].to_numpy() + out["rs_write"].to_numpy()
        out["gemm_rs_writes_ratio"] = gw / (b["gemm_write"].to_numpy() + b["rs_write"].to_numpy())
    return out


def end_to_end(rows: pd.DataFrame, knobs: Knobs, tokens: int, other_fraction: float) -> pd.DataFrame:
    """Training-iteration and prompt-pass speedups per (transformer, TP, configuration); see
    the module docstring. Needs all four sub-layers of a (transformer, TP) for training and
    OP and FC-2 for the prompt pass."""
    out = []
    if rows.empty or "sequential" not in set(rows["config"]):
        return pd.DataFrame()
    for (tname, tp), grp in rows.groupby(["transformer", "tp"], sort=False):
        spec = transformer(tname)
        other_gemm = {"train": 0.0, "infer": 0.0}
        for g in layer_gemms(spec, tp, tokens):
            if g.all_reduce:
                continue
            order = tile_order(g.shape, "grouped", tile_m=knobs.tile, tile_n=knobs.tile,
                               l2_bytes=knobs.l2_bytes)  # fmt: skip
            t = plan_gemm(g.shape, knobs.gpu, tile_m=knobs.tile, tile_n=knobs.tile, order=order,
                          l2_bytes=knobs.l2_bytes).time_s  # fmt: skip
            other_gemm["train"] += t
            if g.pass_ == "fwd":
                other_gemm["infer"] += t
        t = grp.pivot_table(index="sublayer", columns="config", values="time_s", aggfunc="first")
        for phase, subs in (("train", list(SUBLAYERS)), ("infer", [s for s in SUBLAYERS
                                                                    if SUBLAYER_PASS[s] == "fwd"])):  # fmt: skip
            if not set(subs) <= set(t.index):
                continue
            seq = float(t.loc[subs, "sequential"].sum())
            base = seq + other_gemm[phase]
            rest = other_fraction / (1 - other_fraction) * base
            for cfg in t.columns:
                sub = float(t.loc[subs, cfg].sum())
                out.append({
                    "transformer": tname, "tp": tp, "phase": phase, "config": cfg,
                    "sublayers_s": sub, "other_gemms_s": other_gemm[phase], "other_ops_s": rest,
                    "layer_s": sub + other_gemm[phase] + rest,
                    "speedup": (base + rest) / (sub + other_gemm[phase] + rest),
                })  # fmt: skip
    return pd.DataFrame(out)


def breakdown(rows: pd.DataFrame, e2e: pd.DataFrame) -> pd.DataFrame:
    """Sequential training-layer time per (transformer, TP) split into the all-reduce
    sub-layers' GEMMs, their RS, their AG, and everything else (T3 Fig. 4)."""
    out = []
    if rows.empty or e2e.empty:
        return pd.DataFrame()
    seq = rows[rows["config"] == "sequential"]
    for (tname, tp), grp in seq.groupby(["transformer", "tp"], sort=False):
        e = e2e[(e2e["transformer"] == tname) & (e2e["tp"] == tp) & (e2e["phase"] == "train")
                & (e2e["config"] == "sequential")]  # fmt: skip
        if e.empty:
            continue
        e = e.iloc[0]
        gemm = grp["gemm_s"].sum()
        rs = (grp["rs_end_s"] - grp["gemm_s"]).sum()
        ag = grp["ag_s"].sum()
        other = e["other_gemms_s"] + e["other_ops_s"]
        total = gemm + rs + ag + other
        out.append({"transformer": tname, "tp": tp, "ar_gemms": gemm / total, "rs": rs / total,
                    "ag": ag / total, "other": other / total, "layer_s": total})  # fmt: skip
    return pd.DataFrame(out)


def summarize_grid(rows: pd.DataFrame, e2e: pd.DataFrame) -> dict[str, float]:
    """Flat metrics of a grid, claims' metrics first."""
    out: dict[str, float] = {}
    pc = per_case(rows)
    if pc.empty:
        return out
    configs = [c for c in dict.fromkeys(pc["config"]) if c != "sequential"]
    for cfg in configs:
        sp = pc.loc[pc["config"] == cfg, "speedup"]
        out[f"speedup.{cfg}.geomean"] = geomean(sp)
        out[f"speedup.{cfg}.max"] = float(sp.max())
        out[f"speedup.{cfg}.min"] = float(sp.min())
    for cfg in configs:
        sub = pc[pc["config"] == cfg]
        r = sub["dram_ratio"]
        out[f"dram_reduction.{cfg}.geomean"] = 1 - geomean(r)
        out[f"dram_reduction.{cfg}.max"] = 1 - float(r.min())
        out[f"rs_reads_ratio.{cfg}.geomean"] = geomean(sub["rs_reads_ratio"])
        for tp, g in sub.groupby("tp"):
            out[f"rs_reads_ratio.{cfg}.tp{tp}.geomean"] = geomean(g["rs_reads_ratio"])
        out[f"gemm_reads_ratio.{cfg}.geomean"] = geomean(sub["gemm_reads_ratio"])
        out[f"gemm_rs_writes_reduction.{cfg}.geomean"] = 1 - geomean(sub["gemm_rs_writes_ratio"])
    if "ideal_rs_nmc" in configs:  # the RS alone, Sequential / near-memory (Sec. 6.1.1)
        rs = rows.assign(rs_s=rows["rs_end_s"] - rows["gemm_s"])
        for tp, g in rs.groupby("tp"):
            piv = g.pivot_table(index="case", columns="config", values="rs_s")
            out[f"rs_speedup.ideal_rs_nmc.tp{tp}.geomean"] = geomean(piv["sequential"] / piv["ideal_rs_nmc"])
    # the CU-split study (Sec. 3.2, Fig. 6): potential against the ideal whole-AR overlap,
    # and how much the all-reduce and the GEMM slow down on their share of the CUs
    splits = [c for c in configs if c.startswith("cu_split")]
    seq = pc[pc["config"] == "sequential"].set_index("case")
    if "ideal_ar_overlap" in configs:
        ideal = pc[pc["config"] == "ideal_ar_overlap"].set_index("case")
        for cfg in splits:
            s = pc[pc["config"] == cfg].set_index("case")
            out[f"{cfg}.of_ideal.geomean"] = geomean(s["speedup"] / ideal.loc[s.index, "speedup"])
            out[f"ar_slowdown.{cfg}.geomean"] = geomean(s["ar_s"] / ideal.loc[s.index, "ar_s"])
    for cfg in splits + [c for c in ("t3", "t3_mca") if c in configs]:
        s = pc[pc["config"] == cfg].set_index("case")
        out[f"gemm_slowdown.{cfg}.geomean"] = geomean(s["gemm_s"] / seq.loc[s.index, "gemm_s"])
    # how busy DRAM is: the Sequential GEMM alone, and the fused GEMM + RS (contention needs
    # their sum near the bandwidth)
    if "hbm_Bps" in pc:
        g = (seq["gemm_read"] + seq["gemm_write"]) / (seq["hbm_Bps"] * seq["gemm_s"])
        out["dram_util.sequential_gemm.geomean"] = geomean(g)
        out["dram_util.sequential_gemm.max"] = float(g.max())
        for cfg in (c for c in ("t3", "t3_mca") if c in configs):
            s = pc[pc["config"] == cfg]
            u = (s["gemm_read"] + s["gemm_write"] + s["rs_read"] + s["rs_write"]) / (
                s["hbm_Bps"] * s["rs_end_s"])
            out[f"dram_util.{cfg}_fused.geomean"] = geomean(u)
            out[f"dram_util.{cfg}_fused.max"] = float(u.max())
    if not e2e.empty:
        for (phase, cfg), g in e2e.groupby(["phase", "config"], sort=False):
            if cfg == "sequential":
                continue
            out[f"e2e.{phase}.{cfg}.geomean"] = geomean(g["speedup"])
            out[f"e2e.{phase}.{cfg}.max"] = float(g["speedup"].max())
    mca = rows[rows["config"] == "t3_mca"]
    if not mca.empty:
        out["mca.threshold_bursts.mean"] = float(mca["mca_threshold_bursts"].mean())
        out["mca.forced_bursts.mean"] = float(mca["mca_forced_bursts"].mean())
        out["mca.max_comm_wait_s.max"] = float(mca["max_comm_wait_s"].max())
    t3 = rows[rows["config"].isin(["t3", "t3_mca"])]
    if not t3.empty:
        out["tracker.peak_entries.max"] = float(t3["tracker_peak_entries"].max())
        out["tracker.overflows.sum"] = float(t3["tracker_overflows"].sum())
    out["sublayers"] = float(pc["case"].nunique())
    for cat in CATEGORIES:
        out[f"{cat}.sequential.sum_bytes"] = float(rows.loc[rows["config"] == "sequential", cat].sum())
    return out
