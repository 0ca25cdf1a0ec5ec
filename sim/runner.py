"""One resolved experiment -> one results folder.

The fixed lifecycle: build the model on a fresh :class:`~sim.core.Simulation`, run it, collect
the summary, tables and figures, and write them::

    OUT/config.yaml      the fully resolved configuration
    OUT/manifest.json    versions, git sha, seed, wall time, simulated time, event count
    OUT/<table>.parquet  the model's tables (and the recorder's series)
    OUT/<figure>.png     the model's figures
    OUT/trace.json       timeline spans, when outputs.trace is on
    OUT/summary.json     flat {metric: number}; written last, so it marks a finished run

With ``replications > 1``, each replication runs in ``OUT/rep-<i>/`` and ``OUT/summary.json``
holds the mean over replications, with ``<metric>.ci95`` half-widths (Student t), and
``OUT/replications.parquet`` one row per replication.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.core import Simulation
from sim.experiment import Experiment
from sim.results import (
    environment_info,
    write_json,
    write_parquet,
    write_yaml,
)
from sim.rng import derive_seed
from sim.stats import mean_ci


@dataclass
class RunResult:
    summary: dict[str, float]
    tables: dict[str, pd.DataFrame]
    manifest: dict[str, Any]
    out_dir: Path | None


def run_seed(exp: Experiment, replication: int) -> int:
    """A run's seed: derived from the base seed and the run's content hash, so it does not
    depend on the order in which runs execute."""
    return derive_seed(exp.config.seed, exp.content_hash(replication))


def simulate(exp: Experiment, replication: int = 0, quick: bool = False) -> tuple[Any, Simulation]:
    """Build and run one replication; return the model (for summary/tables) and simulation."""
    seed = run_seed(exp, replication)
    sim = Simulation(seed, trace=exp.config.outputs.trace)
    model = exp.build_model(quick=quick, seed=seed)
    model.attach(sim)
    model.build(sim)
    sim.run(duration_s=exp.config.stop.duration_s, count=exp.config.stop.count)
    return model, sim


def run_replication(
    exp: Experiment, out_dir: Path | None, replication: int = 0, quick: bool = False
) -> RunResult:
    """Run one replication and (if ``out_dir``) write its folder."""
    t0 = time.perf_counter()
    model, sim = simulate(exp, replication, quick)
    wall = time.perf_counter() - t0
    summary = {k: float(v) for k, v in model.summary().items()}
    keep = exp.config.outputs.metrics
    if keep:
        summary = {k: v for k, v in summary.items() if k in keep}
    tables = dict(model.tables()) if exp.config.outputs.tables else {}
    if exp.config.outputs.tables:
        for name, frame in sim.recorder.frames().items():
            tables.setdefault(name, frame)
    manifest = {
        **environment_info(),
        "experiment": exp.config.name,
        "source": exp.source,
        "model": exp.config.model,
        "replication": replication,
        "base_seed": exp.config.seed,
        "seed": sim.seed,
        "run_id": exp.content_hash(replication),
        "quick": quick,
        "wall_time_s": wall,
        "simulated_time_s": float(sim.now),
        "event_count": sim.events_scheduled,
        "events_per_s": sim.events_scheduled / wall if wall > 0 else None,
    }
    if out_dir is not None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        write_yaml(out_dir / "config.yaml", exp.resolved())
        for name, frame in tables.items():
            write_parquet(out_dir / f"{name}.parquet", frame)
        if exp.config.outputs.tables:
            for name, columnar in sim.recorder.columnar.items():
                if name not in tables:
                    columnar.write(out_dir / f"{name}.parquet")
        if exp.config.outputs.figures:
            manifest["figures"] = [p.name for p in model.figures(out_dir)]
        manifest["files"] = [p.name for p in model.files(out_dir)]
        if exp.config.outputs.trace:
            sim.timeline.write(out_dir / "trace.json")
        write_json(out_dir / "manifest.json", manifest)
        write_json(out_dir / "summary.json", summary)
    return RunResult(summary, tables, manifest, out_dir)


def combine_replications(summaries: list[dict[str, float]]) -> dict[str, float]:
    """Mean over replications plus a 95% Student-t half-width per metric
    (:func:`sim.stats.mean_ci`)."""
    keys = list(dict.fromkeys(k for s in summaries for k in s))
    n = len(summaries)
    out: dict[str, float] = {}
    for k in keys:
        vals = np.array([s.get(k, math.nan) for s in summaries], dtype=float)
        mean, half = mean_ci(vals)
        out[k] = mean
        if n > 1:
            out[f"{k}.ci95"] = half
    out["replications"] = float(n)
    return out


def run_experiment(
    exp: Experiment, out_dir: Path | None, quick: bool = False, progress=None
) -> RunResult:
    """Run every replication of ``exp``; write ``out_dir`` (see module docstring)."""
    reps = exp.config.replications
    if reps == 1:
        return run_replication(exp, out_dir, 0, quick)
    results = []
    for r in range(reps):
        sub = Path(out_dir) / f"rep-{r}" if out_dir is not None else None
        results.append(run_replication(exp, sub, r, quick))
        if progress is not None:
            progress(r + 1, reps)
    summary = combine_replications([r.summary for r in results])
    per_rep = pd.DataFrame([{"replication": i, **r.summary} for i, r in enumerate(results)])
    manifest = dict(results[0].manifest)
    manifest.update(
        replication=None,
        seeds=[r.manifest["seed"] for r in results],
        wall_time_s=sum(r.manifest["wall_time_s"] for r in results),
        event_count=sum(r.manifest["event_count"] for r in results),
    )
    if out_dir is not None:
        out_dir = Path(out_dir)
        write_yaml(out_dir / "config.yaml", exp.resolved())
        write_parquet(out_dir / "replications.parquet", per_rep)
        write_json(out_dir / "manifest.json", manifest)
        write_json(out_dir / "summary.json", summary)
    return RunResult(summary, {"replications": per_rep}, manifest, out_dir)
