"""Validation of the iteration cost model against measured per-operator profiles.

What it does
    Reads a Vidur-format ``mlp.csv`` (microsoft/vidur ``data/profiling/compute/<gpu>/<model>/``,
    MIT license): one row per (token count, tensor-parallel degree) with the median CUDA time
    in milliseconds of each operator of one layer. The linear-layer time of an iteration is
    ``layers x (attn_pre_proj + attn_post_proj + mlp_up_proj + mlp_down_proj)`` (the four
    GEMMs; all-reduces are not in the files). :func:`compare_linear` sets it beside
    :meth:`sim_models.llm.costmodel.StepCostModel.linear_s` at every profiled point;
    :func:`fit_efficiency` re-derives a GPU's bandwidth and FLOP/s fractions the way the
    catalog states them (least squares of the log error on a 0.01 grid); :func:`figure`
    draws the comparison.

Token counts measured twice (powers of two from 2,048 up in the Llama-3-8B file) are
averaged.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import DataError

LINEAR_OPS = ("attn_pre_proj", "attn_post_proj", "mlp_up_proj", "mlp_down_proj")
SMALL_OPS = ("input_layernorm", "post_attention_layernorm", "attn_rope", "mlp_act", "add")
REQUIRED = ("num_tokens", "num_tensor_parallel_workers")


def load_profile(path: str | Path) -> pd.DataFrame:
    """Per (tp, tokens): ``linear_layer_s`` and ``small_layer_s`` (one layer, seconds)."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"no profile file {p}")
    try:
        raw = pd.read_csv(p)
    except Exception as exc:  # pandas raises many kinds on a malformed file
        raise DataError(f"{p}: not a readable CSV ({exc})") from None
    cols = [*REQUIRED, *(f"time_stats.{op}.median" for op in LINEAR_OPS + SMALL_OPS)]
    missing = [c for c in cols if c not in raw.columns]
    if missing:
        raise DataError(f"{p}: missing column(s) {', '.join(missing)} (a Vidur mlp.csv?)")
    frame = pd.DataFrame(
        {
            "tp": raw["num_tensor_parallel_workers"].astype(int),
            "tokens": raw["num_tokens"].astype(int),
            "linear_layer_s": sum(raw[f"time_stats.{op}.median"] for op in LINEAR_OPS) * 1e-3,
            "small_layer_s": sum(raw[f"time_stats.{op}.median"] for op in SMALL_OPS) * 1e-3,
        }
    )
    bad = ~np.isfinite(frame[["linear_layer_s", "small_layer_s"]]).all(axis=1) | (frame.tokens < 1)
    if bad.any():
        line = int(np.flatnonzero(bad.to_numpy())[0]) + 2
        raise DataError(f"{p}, line {line}: non-finite time or token count < 1")
    return frame.groupby(["tp", "tokens"], as_index=False).mean()


def compare_linear(profile: pd.DataFrame, model: str, gpu: str, efficiency=None) -> pd.DataFrame:
    """Measured vs modelled linear time per iteration at every profiled point."""
    from sim_models.llm.costmodel import StepCostModel

    rows = []
    for tp, grp in profile.groupby("tp"):
        cm = StepCostModel(model, gpu, tp=int(tp), efficiency=efficiency, table_tokens=1)
        layers = cm.model.layers
        for tokens, measured in zip(grp.tokens, grp.linear_layer_s, strict=True):
            rows.append((int(tp), int(tokens), layers * measured, cm.linear_s(int(tokens))))
    out = pd.DataFrame(rows, columns=["tp", "tokens", "measured_s", "model_s"])
    out["ratio"] = out["model_s"] / out["measured_s"]
    return out


def error_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per tensor-parallel degree: points, median and max of |model / measured - 1|."""
    err = (table["ratio"] - 1).abs()
    return (
        table.assign(err=err)
        .groupby("tp")
        .agg(points=("err", "size"), median_error=("err", "median"), max_error=("err", "max"))
        .reset_index()
    )


def fit_efficiency(
    profile: pd.DataFrame, model: str, gpu: str, *, tp: int = 1, step: float = 0.01
) -> tuple[float, float]:
    """(bandwidth_fraction, flops_fraction) minimising the mean squared log error of the
    linear time at ``tp``, the kernel floor as catalogued (the catalog's rule)."""
    from sim_models.hw.catalog import gpu as gpu_spec
    from sim_models.hw.catalog import kernel_efficiency, transformer
    from sim_models.hw.kernels import gemm_time_s

    spec, tr = gpu_spec(gpu), transformer(model)
    base = kernel_efficiency(gpu)
    sub = profile[profile.tp == tp]
    tokens = sub.tokens.to_numpy()
    measured = np.log(tr.layers * sub.linear_layer_s.to_numpy())
    def score(bw: float, fl: float) -> float:
        eff = replace(base, bandwidth_fraction=bw, flops_fraction=fl)
        model_s = tr.layers * sum(
            gemm_time_s(tokens, n, k, spec, eff) for _, n, k in tr.linear_layers(tp)
        )
        return float(np.mean((np.log(model_s) - measured) ** 2))

    # coarse grid (5 steps) over [0.5, 0.95], then the fine grid around the coarse optimum
    coarse = np.round(np.arange(0.5, 0.95 + 1e-9, 5 * step), 4)
    _, bw0, fl0 = min((score(b, f), b, f) for b in coarse for f in coarse)
    fine_bw = np.round(np.arange(max(0.5, bw0 - 5 * step), min(1.0, bw0 + 5 * step) + 1e-9, step), 4)
    fine_fl = np.round(np.arange(max(0.5, fl0 - 5 * step), min(1.0, fl0 + 5 * step) + 1e-9, step), 4)
    _, bw, fl = min((score(float(b), float(f)), float(b), float(f)) for b in fine_bw for f in fine_fl)
    return bw, fl


def figure(table: pd.DataFrame, path: str | Path, title: str = "") -> Path:
    """Measured and modelled linear time per iteration against tokens (left) and their
    ratio (right), one series per tensor-parallel degree."""
    from sim.plots import new_figure, save_figure

    fig, axes = new_figure(10.0, 4.0, ncols=2)
    left, right = axes
    for tp, grp in table.groupby("tp"):
        (line,) = left.plot(grp.tokens, grp.measured_s * 1e3, ".", ms=3, label=f"measured, TP {tp}")
        left.plot(grp.tokens, grp.model_s * 1e3, "-", color=line.get_color(), lw=1,
                  label=f"model, TP {tp}")  # fmt: skip
        right.plot(grp.tokens, grp.ratio, "-", color=line.get_color(), lw=1, label=f"TP {tp}")
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlabel("tokens in the iteration")
    left.set_ylabel("linear layers per iteration (ms)")
    left.legend(fontsize=7, ncol=2)
    right.set_xscale("log")
    right.axhspan(0.8, 1.2, color="0.9", zorder=0)
    right.axhline(1.0, color="k", lw=0.5)
    right.set_xlabel("tokens in the iteration")
    right.set_ylabel("model / measured")
    right.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    return save_figure(fig, Path(path))
