"""A small Python API for notebooks: run experiments and load results folders.

    import sim.api as sa
    res = sa.run("experiments/quickstart/mmc.yaml", "params.servers=4", quick=True)
    res.summary["wait_s.mean"]; res.tables["customers"]
    sw = sa.sweep("experiments/quickstart/mmc_sweep.yaml", out="results/sweep")
    sw.table.groupby("params.arrival_rate")["wait_s.mean"].mean()
    old = sa.load("results/mmc")       # a results folder written earlier
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sim import experiment
from sim.results import read_json
from sim.runner import RunResult, run_experiment
from sim.sweep import SweepResult, run_sweep


def run(
    path: str | Path,
    *overrides: str,
    out: str | Path | None = None,
    quick: bool = False,
    seed: int | None = None,
) -> RunResult:
    """Run an experiment file (with ``KEY=VALUE`` overrides); write ``out`` if given."""
    exp = experiment.load(path, list(overrides), seed=seed, quick=quick)
    return run_experiment(exp, Path(out) if out else None, quick=quick)


def sweep(
    path: str | Path,
    *overrides: str,
    out: str | Path = "results/sweep",
    workers: int = 1,
    dask: str | None = None,
    quick: bool = False,
) -> SweepResult:
    """Run (or resume) an experiment's sweep; see :func:`sim.sweep.run_sweep`."""
    return run_sweep(path, out, list(overrides), workers=workers, dask=dask, quick=quick)


@dataclass
class Results:
    """A results folder read back: summary, manifest, config and its Parquet tables."""

    path: Path
    summary: dict[str, Any]
    manifest: dict[str, Any]
    config: dict[str, Any]
    tables: dict[str, pd.DataFrame]


def load(out_dir: str | Path) -> Results:
    """Read a run's results folder (or a sweep's: its table is ``tables['sweep']``)."""
    import yaml

    p = Path(out_dir)
    if not p.is_dir():
        raise FileNotFoundError(f"{p} is not a results folder")
    summary = read_json(p / "summary.json") if (p / "summary.json").exists() else {}
    manifest = read_json(p / "manifest.json") if (p / "manifest.json").exists() else {}
    config = yaml.safe_load((p / "config.yaml").read_text()) if (p / "config.yaml").exists() else {}
    tables = {f.stem: pd.read_parquet(f) for f in sorted(p.glob("*.parquet"))}
    return Results(p, summary, manifest, config, tables)
