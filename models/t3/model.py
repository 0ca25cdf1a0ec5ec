"""The T3 models: ``t3.sublayer`` (one tensor-parallel sub-layer under one configuration)
and ``t3.grid`` (many sub-layers x configurations side by side, with speedups, DRAM traffic,
end-to-end estimates and figures).

What they model: see :mod:`sim_models.t3.system` (the sub-layer and its configurations),
:mod:`sim_models.t3.fused` (T3's fused GEMM + reduce-scatter), :mod:`sim_models.t3.tracker`
(track & trigger) and :mod:`sim_models.t3.grid` (the grid and the end-to-end fold). The
configuration is a parameter (``configuration``; ``configurations`` for the grid); the
memory-controller policy follows it (``fcfs``, or ``threshold`` for ``t3_mca``, both
``hw.arbiter`` policies).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import Field, field_validator, model_validator
from sim_models.hw.catalog import transformer
from sim_models.hw.gemm import tile_grid
from sim_models.hw.tp_shapes import SUBLAYERS, sublayer_gemm

from sim.model import Model
from sim.registry import model

from .grid import Case, GridRun, breakdown, config_labels, end_to_end, summarize_grid
from .params import SystemParams, known_transformer
from .system import CONFIGURATIONS, SubLayerRun

Configuration = Literal["sequential", "t3", "t3_mca", "ideal_overlap", "ideal_rs_nmc", "cu_split",
                        "ideal_ar_overlap"]
Sublayer = Literal["op", "fc2", "fc1", "ip"]
MAX_RUNS = 4000  # sub-layer simulations in one grid


def _check_tiles(tname: str, sub: str, tp: int, tokens: int, tile: int) -> None:
    shape = sublayer_gemm(transformer(tname), sub, tp, tokens)
    n = len(tile_grid(shape, tile, tile))
    if n < tp:
        raise ValueError(
            f"{tname} {sub} at TP {tp} with {tokens} tokens has {n} output tiles of "
            f"{tile}x{tile}: fewer than the {tp} reduce-scatter chunks"
        )


@model("t3.sublayer", "T3: one TP sub-layer (GEMM + reduce-scatter + all-gather) under one configuration")
class SubLayer(Model):
    """One sub-layer of a transformer under one of T3's configurations."""

    class Params(SystemParams):
        transformer: str = Field("t-nlg-17b", description="transformer from the catalog")
        sublayer: Sublayer = Field("fc2", description="op | fc2 (forward), fc1 | ip (backward)")
        tp: int = Field(8, ge=1, le=64, description="tensor-parallel degree (ring size)")
        configuration: Configuration = Field("t3_mca", description=", ".join(CONFIGURATIONS))
        comm_cus: int = Field(8, ge=1, le=1023, description="CUs of the collective kernel (cu_split)")

        @field_validator("transformer")
        @classmethod
        def _t(cls, v: str) -> str:
            return known_transformer(v)

        @model_validator(mode="after")
        def _fits(self):
            _check_tiles(self.transformer, self.sublayer, self.tp, self.tokens, self.tile)
            if self.configuration == "cu_split":
                cus = self.knobs().gpu.compute_units
                if self.comm_cus >= cus:
                    raise ValueError(f"comm_cus must be below the GPU's {cus} CUs")
            return self

    def build(self, sim) -> None:
        p = self.params
        self.knobs = p.knobs()
        shape = sublayer_gemm(transformer(p.transformer), p.sublayer, p.tp, p.tokens)
        self.run = SubLayerRun(sim.env, shape, p.tp, p.configuration, self.knobs,
                               comm_cus=p.comm_cus, scope=self.scope,
                               record_timeline=p.timeline_bin_s > 0)  # fmt: skip
        self.run.start()

    def summary(self) -> dict[str, float]:
        r = self.run.result
        if r is None:
            return {"finished": 0.0}
        out = {"time_s": r.time_s, "gemm_s": r.gemm_s, "rs_end_s": r.rs_end_s, "ag_s": r.ag_s,
               "dram_bytes": r.dram_bytes}  # fmt: skip
        out.update({f"{k}_bytes": v for k, v in r.category_bytes().items()})
        out.update({k: float(v) for k, v in r.stats.items()})
        return out

    def tables(self) -> dict[str, pd.DataFrame]:
        r = self.run.result
        if r is None or not r.timeline:
            return {}
        return {"timeline": pd.DataFrame(r.timeline, columns=["t_s", "origin", "kind", "bytes"])}

    def figures(self, out_dir: Path) -> list[Path]:
        from .figures import dram_timeline

        r = self.run.result
        if r is None or not r.timeline:
            return []
        df = pd.DataFrame(r.timeline, columns=["t_s", "origin", "kind", "bytes"])
        df["case"], df["config"] = "sub-layer", self.params.configuration
        path = dram_timeline(df, self.params.timeline_bin_s, Path(out_dir) / "dram_timeline.png")
        return [path] if path else []


@model("t3.grid", "T3: sub-layers x configurations side by side; speedups, DRAM traffic, end to end")
class Grid(Model):
    """Every (transformer, TP, sub-layer) of the grid under every configuration."""

    class Params(SystemParams):
        transformers: list[str] = Field(["mega-gpt2-8.3b", "t-nlg-17b"], min_length=1, max_length=16)
        tps: list[int] = Field([8, 16], min_length=1, max_length=8)
        sublayers: list[Sublayer] = Field(list(SUBLAYERS), min_length=1, max_length=4)
        configurations: list[Configuration] = Field(list(CONFIGURATIONS), min_length=1, max_length=7)
        cu_split_cus: list[int] = Field([8, 16], min_length=1, max_length=8,
                                        description="k for each cu_split configuration")
        timeline: list[str] = Field([], max_length=8,
                                    description="sub-layers whose DRAM timeline is recorded, "
                                    "as transformer/tp/sublayer (with timeline_bin_s > 0)")
        end_to_end: bool = Field(True, description="fold sub-layers into layer times")
        other_fraction: float = Field(0.40, ge=0.0, le=0.95,
                                      description="share of a sequential layer's time in operations "
                                      "T3 does not change [A; T3 Sec. 6.3 reports 40-45%]")

        @field_validator("transformers")
        @classmethod
        def _ts(cls, v: list[str]) -> list[str]:
            return [known_transformer(t) for t in v]

        @field_validator("tps")
        @classmethod
        def _tps(cls, v: list[int]) -> list[int]:
            if any(not 1 <= t <= 64 for t in v):
                raise ValueError("every TP degree must be in 1..64")
            return v

        @model_validator(mode="after")
        def _grid(self):
            cus = self.knobs().gpu.compute_units
            if "cu_split" in self.configurations and any(not 1 <= k < cus for k in self.cu_split_cus):
                raise ValueError(f"cu_split_cus must be in 1..{cus - 1}")
            n = len(self.transformers) * len(self.tps) * len(self.sublayers) * len(
                config_labels(self.configurations, self.cu_split_cus))
            if n > MAX_RUNS:
                raise ValueError(f"{n} sub-layer runs in one grid; at most {MAX_RUNS}")
            for t in self.transformers:
                for tp in self.tps:
                    for s in self.sublayers:
                        _check_tiles(t, s, tp, self.tokens, self.tile)
            keys = {f"{t}/{tp}/{s}" for t in self.transformers for tp in self.tps for s in self.sublayers}
            for k in self.timeline:
                if k not in keys:
                    raise ValueError(f"timeline entry {k!r} is not in the grid "
                                     "(write transformer/tp/sublayer, e.g. t-nlg-17b/8/fc2)")
            return self

    def build(self, sim) -> None:
        p = self.params
        self.knobs = p.knobs()
        cases = [Case(t, tp, s) for t in p.transformers for tp in p.tps for s in p.sublayers]
        self.configs = config_labels(list(p.configurations), list(p.cu_split_cus))
        self.grid = GridRun(sim.env, cases, self.configs, self.knobs, p.tokens,
                            timeline_keys=set(p.timeline) if p.timeline_bin_s > 0 else set(),
                            scope=self.scope)  # fmt: skip
        self.grid.start()
        self._rows: pd.DataFrame | None = None

    # -- results ---------------------------------------------------------------------------
    def rows(self) -> pd.DataFrame:
        if self._rows is None:
            self._rows = self.grid.rows()
        return self._rows

    def e2e(self) -> pd.DataFrame:
        if not self.params.end_to_end:
            return pd.DataFrame()
        return end_to_end(self.rows(), self.knobs, self.params.tokens, self.params.other_fraction)

    def summary(self) -> dict[str, float]:
        rows = self.rows()
        out = summarize_grid(rows, self.e2e())
        out["runs"] = float(len(rows))
        out["tokens"] = float(self.params.tokens)
        return {k: v for k, v in out.items() if not (isinstance(v, float) and math.isnan(v))}

    def tables(self) -> dict[str, pd.DataFrame]:
        from .grid import per_case

        out = {"sublayers": per_case(self.rows())}
        e2e = self.e2e()
        if not e2e.empty:
            out["e2e"] = e2e
            out["breakdown"] = breakdown(self.rows(), e2e)
        tl = self.grid.timeline()
        if not tl.empty:
            out["timeline"] = tl
        return {k: v for k, v in out.items() if not v.empty}

    def figures(self, out_dir: Path) -> list[Path]:
        from . import figures

        return figures.grid_figures(self, Path(out_dir))

    @classmethod
    def sweep_figures(cls, table: pd.DataFrame, out_dir: Path) -> list[Path]:
        from . import figures

        return figures.sweep_figures(table, Path(out_dir))


def run_grid(params: Grid.Params) -> Grid:
    """Build and run a grid outside the runner (tests, benchmarks): the finished model."""
    from sim.core import Simulation

    m = Grid(params)
    sim = Simulation(0)
    m.attach(sim)
    m.build(sim)
    sim.run()
    return m


def run_sublayer(params: SubLayer.Params):
    """Build and run one sub-layer outside the runner; its :class:`SubLayerResult`."""
    from sim.core import Simulation

    m = SubLayer(params)
    sim = Simulation(0)
    m.attach(sim)
    m.build(sim)
    sim.run()
    return m.run.result


__all__ = ["Grid", "SubLayer", "run_grid", "run_sublayer"]
