"""One resolved experiment -> one results folder.

The fixed lifecycle: build the model on a fresh :class:`~sim.core.Simulation`, run it, collect
the summary, tables and figures, and write them::

    OUT/config.yaml      the fully resolved configuration
    OUT/manifest.json    versions, git sha, seed, wall time, simulated time, event count
    OUT/<table>.parquet  the model's tables (and the recorder's series and columnar tables)
    OUT/<figure>.png     the model's figures
    OUT/trace.json       timeline spans, when outputs.trace is on
    OUT/summary.json     flat {metric: number}; written last, so it marks a finished run

With ``replications > 1``, each replication runs in ``OUT/rep-<i>/`` and ``OUT/summary.json``
holds the mean over replications, with ``<metric>.ci95`` half-widths (Student t), and
``OUT/replications.parquet`` one row per replication.

A results folder is never half-written: the run writes into a staging folder beside ``OUT``
(``.OUT.staging-<pid>``) and swaps it into place when complete, so a run killed at any
moment leaves either the previous finished folder or none — never a new config.yaml next to
an old summary.json, never stale ``rep-<i>/`` folders. Staging folders of killed runs are
removed by the next run into the same place.

Metrics that come out NaN (a statistic of zero observations: no completed flow, no waiting
customer) are written as ``null`` in summary.json; manifest.json lists them under
``nan_metrics`` with the reason. numpy's floating-point warnings are not shown to users.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import signal
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.core import Simulation
from sim.errors import RunError
from sim.experiment import Experiment
from sim.results import environment_info, write_json, write_parquet, write_yaml
from sim.rng import derive_seed
from sim.stats import mean_ci

#: Extra wall time a run gets beyond its limit before a timer interrupts even a single long
#: computation (the event-count check in sim.events catches the usual runaway first).
ALARM_GRACE_S = 5.0


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


@contextlib.contextmanager
def quiet_numerics() -> Iterator[None]:
    """No numpy floating-point warnings reach the user (NaN results are reported in
    manifest.json instead)."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


@contextlib.contextmanager
def wall_alarm(max_wall_s: float | None) -> Iterator[None]:
    """On the main thread, interrupt a run that overruns ``max_wall_s`` by
    :data:`ALARM_GRACE_S` even inside one long computation (SIGALRM)."""
    usable = (
        max_wall_s is not None
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return

    def on_alarm(_signum, _frame):
        raise RunError(f"the run exceeded its wall-time limit of {max_wall_s:g} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, max_wall_s + ALARM_GRACE_S)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def simulate(
    exp: Experiment, replication: int = 0, quick: bool = False, max_wall_s: float | None = None
) -> tuple[Any, Simulation]:
    """Build and run one replication; return the model (for summary/tables) and simulation."""
    seed = run_seed(exp, replication)
    sim = Simulation(seed, trace=exp.config.outputs.trace)
    model = exp.build_model(quick=quick, seed=seed)
    try:
        with wall_alarm(max_wall_s):
            model.attach(sim)
            model.build(sim)
            sim.run(
                duration_s=exp.config.stop.duration_s,
                count=exp.config.stop.count,
                max_wall_s=max_wall_s,
            )
    except RunError as exc:
        raise RunError(f"model {exp.config.model!r}: {exc.message}", where=exp.source) from None
    return model, sim


# -- staging ---------------------------------------------------------------------------------


def _staging_prefix(out_dir: Path) -> str:
    return f".{out_dir.name}.staging-"


def clean_stale_staging(out_dir: Path) -> None:
    """Remove staging folders left by killed runs into ``out_dir`` (whose process is gone)."""
    parent = out_dir.parent
    if not parent.is_dir():
        return
    for stale in parent.glob(_staging_prefix(out_dir) + "*"):
        pid_text = stale.name.rsplit("-", 1)[-1]
        if pid_text.isdigit() and _alive(int(pid_text)) and int(pid_text) != os.getpid():
            continue  # another live run is writing it
        shutil.rmtree(stale, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def staged(out_dir: Path) -> Iterator[Path]:
    """A fresh staging folder beside ``out_dir``; on success it replaces ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_staging(out_dir)
    stage = out_dir.parent / f"{_staging_prefix(out_dir)}{os.getpid()}"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir()
    try:
        yield stage
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    _swap_into_place(stage, out_dir)


def _swap_into_place(stage: Path, out_dir: Path) -> None:
    """Replace ``out_dir`` by ``stage``: the old folder's completion marker goes first, so
    no moment exists at which an old summary.json sits beside new files."""
    if out_dir.exists():
        (out_dir / "summary.json").unlink(missing_ok=True)
        trash = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
        shutil.rmtree(trash, ignore_errors=True)
        os.replace(out_dir, trash)
        os.replace(stage, out_dir)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(stage, out_dir)


# -- one replication -------------------------------------------------------------------------


def _nan_reasons(summary: dict[str, float]) -> dict[str, str]:
    reasons = {}
    for key, value in summary.items():
        if not math.isfinite(value):
            base = key.rsplit(".", 1)[0]
            count = summary.get(f"{base}.count")
            if count == 0:
                reasons[key] = f"no observations of {base}"
            elif math.isnan(value):
                reasons[key] = "not defined for this run (NaN)"
            else:
                reasons[key] = "infinite"
    return reasons


def run_replication(
    exp: Experiment,
    out_dir: Path | None,
    replication: int = 0,
    quick: bool = False,
    max_wall_s: float | None = None,
) -> RunResult:
    """Run one replication and (if ``out_dir``) write its folder (staged, then swapped in)."""
    t0 = time.perf_counter()
    with quiet_numerics():
        model, sim = simulate(exp, replication, quick, max_wall_s)
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
        "model": exp.model_cls.name,
        "replication": replication,
        "base_seed": exp.config.seed,
        "seed": sim.seed,
        "run_id": exp.content_hash(replication),
        "quick": quick,
        "wall_time_s": wall,
        "simulated_time_s": float(sim.now),
        "event_count": sim.events_scheduled,
        "events_per_s": sim.events_scheduled / wall if wall > 0 else None,
        "nan_metrics": _nan_reasons(summary),
    }
    if out_dir is not None:
        with staged(Path(out_dir)) as stage, quiet_numerics():
            write_yaml(stage / "config.yaml", exp.resolved())
            for name, frame in tables.items():
                write_parquet(stage / f"{name}.parquet", frame)
            if exp.config.outputs.tables:
                for name, columnar in sim.recorder.columnar.items():
                    if name not in tables:
                        columnar.write(stage / f"{name}.parquet")
            if exp.config.outputs.figures:
                manifest["figures"] = [p.name for p in model.figures(stage)]
            manifest["files"] = [p.name for p in model.files(stage)]
            if exp.config.outputs.trace:
                sim.timeline.write(stage / "trace.json")
            write_json(stage / "manifest.json", manifest)
            write_json(stage / "summary.json", summary)
    return RunResult(summary, tables, manifest, out_dir)


def combine_replications(summaries: list[dict[str, float]]) -> dict[str, float]:
    """Mean over replications plus a 95% Student-t half-width per metric
    (:func:`sim.stats.mean_ci`)."""
    keys = list(dict.fromkeys(k for s in summaries for k in s))
    n = len(summaries)
    out: dict[str, float] = {}
    with quiet_numerics():
        for k in keys:
            vals = np.array([s.get(k, math.nan) for s in summaries], dtype=float)
            mean, half = mean_ci(vals)
            out[k] = mean
            if n > 1:
                out[f"{k}.ci95"] = half
    out["replications"] = float(n)
    return out


def run_experiment(
    exp: Experiment,
    out_dir: Path | None,
    quick: bool = False,
    progress=None,
    max_wall_s: float | None = None,
) -> RunResult:
    """Run every replication of ``exp``; write ``out_dir`` (see module docstring).
    ``max_wall_s`` bounds each replication's wall time."""
    reps = exp.config.replications
    if reps == 1:
        return run_replication(exp, out_dir, 0, quick, max_wall_s)
    results = []
    stage_ctx = staged(Path(out_dir)) if out_dir is not None else contextlib.nullcontext(None)
    with stage_ctx as stage:
        for r in range(reps):
            sub = Path(stage) / f"rep-{r}" if stage is not None else None
            results.append(run_replication(exp, sub, r, quick, max_wall_s))
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
            nan_metrics=_nan_reasons(summary),
        )
        if stage is not None:
            write_yaml(stage / "config.yaml", exp.resolved())
            write_parquet(stage / "replications.parquet", per_rep)
            write_json(stage / "manifest.json", manifest)
            write_json(stage / "summary.json", summary)
    return RunResult(summary, {"replications": per_rep}, manifest, out_dir)
