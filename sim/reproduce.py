"""Reproductions: a paper's experiments -> its claims -> REPORT.md and claims.csv.

A paper package declares a :class:`Paper` with its :class:`Claim` objects and registers it
with :func:`register_paper` (the registry's discovery imports it). Each claim names the
experiment it is computed from (a file in ``experiments/<paper>/``), the published value
where known with its source, a unit, and a function from that experiment's results to the
simulated value. ``sim reproduce PAPER`` runs the paper's experiments (sweeps included) and
writes::

    OUT/REPORT.md      claims table (published vs simulated, ratio), per-experiment results,
                       figures; readable on GitHub
    OUT/claims.csv     paper,claim_id,description,published,simulated,unit,ratio,experiment
    OUT/<paper>/<experiment>/...   each experiment's results folder

With more than one worker, whole experiments run side by side in worker processes (each
runs its own sweep points one after another), largest grid first, so that a machine's cores
stay busy through the many small experiments of ``sim reproduce all``; with one worker they
run in order in this process. Claims are computed here, once every experiment is back.
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim import experiment as experiment_mod
from sim.errors import UnknownNameError, UserError, did_you_mean
from sim.results import atomic_write_text, write_csv
from sim.stats import mean_ci, ok_rows

CLAIM_COLUMNS = [
    "paper",
    "claim_id",
    "description",
    "published",
    "simulated",
    "unit",
    "ratio",
    "experiment",
]


@dataclass
class Outcome:
    """One experiment's results as a claim sees them."""

    name: str
    summary: dict[str, float]
    table: pd.DataFrame  # sweep rows, or one row for a plain run
    out_dir: Path
    figures: list[Path] = field(default_factory=list)
    swept: list[str] = field(default_factory=list)
    report_metrics: list[str] | None = None  # the experiment's outputs.report_metrics

    def metric(self, key: str) -> float:
        if key in self.summary:
            return float(self.summary[key])
        if key in self.table.columns and len(self.table):
            return float(self.table[key].mean())
        raise KeyError(f"experiment {self.name!r} has no metric {key!r}")


@dataclass
class Claim:
    id: str
    description: str
    experiment: str
    unit: str
    compute: Callable[[Outcome], float]
    published: float | None = None
    source: str = ""


@dataclass
class Paper:
    id: str
    title: str
    claims: list[Claim]
    section: str = ""
    experiments: list[str] | None = None  # default: every *.yaml in experiments/<id>/

    def published(self, claim_id: str) -> float | None:
        """The published value of one of this paper's claims (for reference lines in
        figures, so a number is typed once, in its claim)."""
        for claim in self.claims:
            if claim.id == claim_id:
                return claim.published
        raise KeyError(f"paper {self.id!r} has no claim {claim_id!r}")


_PAPERS: dict[str, Paper] = {}


def register_paper(paper: Paper) -> Paper:
    ids = [c.id for c in paper.claims]
    if len(ids) != len(set(ids)):
        raise ValueError(f"paper {paper.id!r} has duplicate claim ids")
    _PAPERS[paper.id] = paper
    return paper


def papers() -> dict[str, Paper]:
    from sim.registry import discover

    discover()
    return dict(sorted(_PAPERS.items()))


def get_paper(name: str) -> Paper:
    known = papers()
    if name not in known:
        raise UnknownNameError(f"unknown paper {name!r}{did_you_mean(name, known)}; "
                               f"known: {', '.join(known) or 'none'}")  # fmt: skip
    return known[name]


def default_experiments_root() -> Path:
    cwd = Path.cwd() / "experiments"
    if cwd.is_dir():
        return cwd
    return Path(__file__).resolve().parent.parent / "experiments"


def experiment_files(paper: Paper, root: Path) -> list[Path]:
    folder = root / paper.id
    if paper.experiments is not None:
        files = [folder / f"{name}.yaml" for name in paper.experiments]
    else:
        files = sorted(folder.glob("*.yaml"))
    missing = [str(f) for f in files if not f.exists()]
    if missing or not files:
        raise UserError(f"no experiment files for paper {paper.id!r}: {missing or folder}")
    return files


def run_outcome(path: Path, out_dir: Path, quick: bool, workers: int, progress=None) -> Outcome:
    from sim.runner import run_experiment
    from sim.sweep import run_sweep

    exp = experiment_mod.load(path, quick=quick)
    shown = exp.config.outputs.report_metrics
    if exp.config.sweep:
        res = run_sweep(path, out_dir, quick=quick, workers=workers, progress=progress)
        ok = ok_rows(res.table)
        numeric = ok.select_dtypes("number").mean(numeric_only=True).to_dict()
        return Outcome(path.stem, numeric, res.table, out_dir, res.figures,
                       list(exp.config.sweep), shown)  # fmt: skip
    result = run_experiment(exp, out_dir, quick=quick)
    figs = sorted(out_dir.glob("*.png"))
    return Outcome(path.stem, result.summary, pd.DataFrame([result.summary]), out_dir, figs,
                   report_metrics=shown)  # fmt: skip


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def reproduce(
    names: list[str],
    out_dir: str | Path,
    quick: bool = False,
    workers: int = 1,
    experiments_root: Path | None = None,
    progress: Callable[[str], None] | None = None,
    sweep_progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Run the papers' experiments and write REPORT.md and claims.csv; return the claims.

    ``progress(message)`` is called before and after each experiment (with its place in the
    whole run and its wall time); ``sweep_progress(done, total)`` during a sweep."""
    out = Path(out_dir)
    root = experiments_root or default_experiments_root()
    selected = list(papers().values()) if names == ["all"] else [get_paper(n) for n in names]
    plan = [(paper, path) for paper in selected for path in experiment_files(paper, root)]
    rows: list[dict[str, Any]] = []
    sections: list[str] = []
    timings: list[tuple[str, str, float]] = []
    costs = [_grid_cost(path, quick) for _, path in plan]
    side_by_side = _side_by_side(costs, workers)
    if side_by_side:
        results = _run_side_by_side(plan, costs, out, quick, workers, progress)
    else:
        results = _run_in_order(plan, out, quick, workers, progress, sweep_progress)
    # claims and the report see a paper's experiments in the order its package lists them
    for i, (paper, path) in enumerate(plan):
        timings.append((paper.id, path.stem, results[i][1]))
    for paper in selected:
        outcomes = {path.stem: results[i][0] for i, (pp, path) in enumerate(plan) if pp is paper}
        paper_rows = []
        for claim in paper.claims:
            try:
                simulated = float(claim.compute(outcomes[claim.experiment]))
                note = ""
            except Exception as exc:  # report, do not hide, a claim that cannot be computed
                simulated, note = math.nan, f"{type(exc).__name__}: {exc}"
            ratio = (
                simulated / claim.published
                if claim.published not in (None, 0) and math.isfinite(simulated)
                else math.nan
            )
            row = {
                "paper": paper.id,
                "claim_id": claim.id,
                "description": claim.description,
                "published": claim.published,
                "simulated": simulated,
                "unit": claim.unit,
                "ratio": ratio,
                "experiment": claim.experiment,
            }
            rows.append(row)
            paper_rows.append((row, claim, note))
        sections.append(_paper_section(paper, paper_rows, outcomes, out))
    table = pd.DataFrame(rows, columns=CLAIM_COLUMNS)
    write_csv(out / "claims.csv", table)
    report = "# Reproduction report\n\n" + (
        "Quick mode: shortened runs; numbers are indicative only.\n\n" if quick else ""
    )
    times = pd.DataFrame(timings, columns=["paper", "experiment", "wall_s"])
    side = "side by side" if side_by_side else "in order, sweep points side by side"
    footer = ["## Run times", "", f"Wall time of each experiment ({workers} worker(s), experiments "
              f"{side}); {times['wall_s'].sum():.0f} s in all.", "", _markdown_table(times), ""]  # fmt: skip
    atomic_write_text(out / "REPORT.md", report + "\n".join([*sections, *footer]))
    return table


def _timed_outcome(
    path: Path, out_dir: Path, quick: bool, workers: int = 1, progress=None
) -> tuple[Outcome, float]:
    """One experiment and its wall time (in a worker process: ``workers`` = 1, its sweep
    points one after another)."""
    t0 = time.perf_counter()
    outcome = run_outcome(path, out_dir, quick, workers, progress=progress)
    return outcome, time.perf_counter() - t0


def _side_by_side(costs: list[int], workers: int) -> bool:
    """Whole experiments in parallel when there are enough of them to keep ``workers``
    busy and no single sweep holds half the runs (that one is better split by points)."""
    total = sum(max(1, c) for c in costs)
    return workers > 1 and len(costs) >= 2 * workers and max(costs, default=0) * 2 <= total


def _grid_cost(path: Path, quick: bool) -> int:
    """Runs in an experiment (grid points x replications), to start the largest first."""
    from sim.sweep import grid_size

    try:
        exp = experiment_mod.load(path, quick=quick)
    except UserError:  # reported when the experiment itself runs
        return 0
    return grid_size(exp.config.sweep or {}) * max(1, exp.config.replications)


def _done(progress, done: int, plan, i: int, elapsed: float) -> None:
    if progress:
        paper, path = plan[i]
        progress(f"[{done}/{len(plan)}] {paper.id}: {path.name} done in {elapsed:.1f} s")


def _run_in_order(plan, out, quick, workers, progress, sweep_progress):
    """Experiments one after another here, each sweep's points ``workers`` at a time;
    ``{plan index: (outcome, wall time)}``."""
    results: dict[int, tuple[Outcome, float]] = {}
    for i, (paper, path) in enumerate(plan):
        if progress:
            progress(f"[{i + 1}/{len(plan)}] {paper.id}: {path.name} ...")
        out_dir = out / paper.id / path.stem
        results[i] = _timed_outcome(path, out_dir, quick, workers, progress=sweep_progress)
        _done(progress, i + 1, plan, i, results[i][1])
    return results


def _run_side_by_side(plan, costs, out, quick, workers, progress):
    """Whole experiments ``workers`` at a time in worker processes, largest grid first;
    ``{plan index: (outcome, wall time)}``."""
    from sim.sweep import in_worker_processes

    order = sorted(range(len(plan)), key=lambda i: -costs[i])
    if progress:
        progress(f"running {len(plan)} experiments, {workers} at a time (largest sweeps first)")
    calls = [(plan[i][1], out / plan[i][0].id / plan[i][1].stem, quick) for i in order]
    results: dict[int, tuple[Outcome, float]] = {}
    for done, (k, result) in enumerate(in_worker_processes(_timed_outcome, calls, workers), 1):
        results[order[k]] = result
        _done(progress, done, plan, order[k], result[1])
    return results


def _paper_section(paper: Paper, rows, outcomes: dict[str, Outcome], out: Path) -> str:
    lines = [f"## {paper.id}: {paper.title}", ""]
    if paper.section:
        lines += [f"Claims and sources: {paper.section}.", ""]
    lines += [
        "| claim | description | published | simulated | unit | ratio | source |",
        "|---|---|---|---|---|---|---|",
    ]
    for row, claim, note in rows:
        sim_txt = _fmt(row["simulated"]) or f"not computed ({note})"
        lines.append(
            f"| {claim.id} | {claim.description} | {_fmt(row['published'])} | {sim_txt} | "
            f"{claim.unit} | {_fmt(row['ratio'])} | {claim.source} |"
        )
    lines.append("")
    for name, oc in outcomes.items():
        lines += [f"### Experiment `{name}`", ""]
        if oc.swept:
            lines.append(_markdown_table(sweep_digest(oc.table, oc.swept, only=oc.report_metrics)))
        elif oc.report_metrics:
            keys = [k for k in oc.report_metrics if k in oc.summary]
        else:
            keys = [k for k in oc.summary if not k.endswith(".ci95")][:20]
        if not oc.swept:
            values = [oc.summary[k] for k in keys]
            lines.append(_markdown_table(pd.DataFrame({"metric": keys, "value": values})))
        absent = [k for k in oc.report_metrics or [] if k not in oc.summary and k not in oc.table]
        if absent:
            lines += ["", f"Not in the results (outputs.report_metrics): {', '.join(absent)}."]
        lines.append("")
        for fig in oc.figures:
            target = out / "figures" / f"{paper.id}-{name}-{fig.name}"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(fig, target)
            lines += [f"![{fig.stem}](figures/{target.name})", ""]
    return "\n".join(lines)


HIDDEN_COLUMNS = {"run_id", "replication", "status", "error", "seed", "wall_time_s"}


def sweep_digest(
    table: pd.DataFrame, swept: list[str], max_metrics: int = 8, only: list[str] | None = None
) -> pd.DataFrame:
    """One row per grid point: the swept values, the finished runs, and the main metrics
    (means, and plain metrics; or the metrics named in ``only`` that the table has)
    averaged over replications, with a 95% half-width."""
    ok = ok_rows(table)
    numeric = [c for c in ok.select_dtypes("number").columns if c not in swept]
    if only:
        metrics = [c for c in only if c in numeric]
    else:
        main = [c for c in numeric if c not in HIDDEN_COLUMNS and not c.startswith("params.")]
        main = [c for c in main if c.endswith((".mean", ".mean.theory")) or "." not in c]
        metrics = main[:max_metrics]
    if ok.empty:
        return pd.DataFrame({"runs ok": [0]})
    g = ok.groupby(swept, sort=False)
    out = g.size().rename("runs ok").reset_index()
    for m in metrics:
        stats = [mean_ci(grp[m].to_numpy()) for _, grp in g]
        out[m] = [_fmt(a) + (f" ± {b:.2g}" if np.isfinite(b) and b > 0 else "") for a, b in stats]
    return out


def _markdown_table(df: pd.DataFrame) -> str:
    header = "| " + " | ".join(str(c) for c in df.columns) + " |"
    sep = "|" + "---|" * len(df.columns)
    body = ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([header, sep, *body])
