"""Sweeps: a factorial grid of overrides times replications, run on a local process pool or
on Dask, resumable.

Each run is one (grid point, replication). Its id is the content hash of what it simulates
(model, params, policy, workload, stop, base seed) plus the replication index, and its seed
derives from the base seed and that hash, so results do not depend on worker count, backend
or the order of execution. Layout::

    OUT/config.yaml              the experiment as read (with overrides)
    OUT/runs/<run_id>/...        one results folder per run (see sim.runner)
    OUT/runs/<run_id>/error.txt  instead of summary.json when the run failed
    OUT/sweep.parquet, .csv      one row per run: swept values, status, summary metrics
    OUT/*.png                    the model's sweep figures, if it defines ``sweep_figures``

A rerun skips every run whose ``summary.json`` exists and retries failed ones.
"""

from __future__ import annotations

import itertools
import os
import re
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import pandas as pd

from sim import experiment as experiment_mod
from sim.errors import ConfigError, UserError
from sim.results import read_json, write_csv, write_json, write_parquet, write_yaml


@dataclass
class RunSpec:
    """Everything a worker needs to run one run (plain data, picklable)."""

    index: int
    data: dict[str, Any]
    source: str
    experiment_dir: str
    replication: int
    point: dict[str, Any]
    quick: bool
    out_root: str
    run_id: str = ""
    max_wall_s: float | None = None
    error: str | None = None  # set when the grid point does not validate
    columns: dict[str, Any] = field(default_factory=dict)  # scalar params, for the table


@dataclass
class SweepResult:
    table: pd.DataFrame
    out_dir: Path
    ran: int = 0
    skipped: int = 0
    failed: int = 0
    figures: list[Path] = field(default_factory=list)


def iter_grid(sweep: dict[str, list[Any]]) -> Iterator[dict[str, Any]]:
    """The factorial grid of a sweep mapping, lazily, in file order (last key varies
    fastest)."""
    if not sweep:
        yield {}
        return
    keys = list(sweep)
    for combo in itertools.product(*sweep.values()):
        yield dict(zip(keys, combo, strict=True))


def grid_size(sweep: dict[str, list[Any]]) -> int:
    """Number of grid points, counted without building them."""
    n = 1
    for values in sweep.values():
        n *= len(values)
    return n


def grid(sweep: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """The factorial grid as a list (see :func:`iter_grid`)."""
    return list(iter_grid(sweep))


def _base(
    path: str | Path,
    overrides: tuple[str, ...] | list[str],
    seed: int | None,
    quick: bool,
) -> tuple[experiment_mod.Experiment, dict[str, Any]]:
    """The validated base experiment, and its data with quick and overrides applied once
    (and without ``quick``/``sweep``): each grid point then adds its own keys."""
    data, text = experiment_mod.read_yaml(path)
    origins: dict[str, str] = {}
    raw = experiment_mod.apply_overrides(
        data, overrides, seed=seed, quick=quick, source=str(path), origins=origins
    )
    base = experiment_mod.from_dict(
        raw,
        source=str(path),
        experiment_dir=Path(path).resolve().parent,
        yaml_text=text,
        origins=origins,
    )
    raw.pop("quick", None)
    raw.pop("sweep", None)
    return base, raw


def validate_all(
    path: str | Path,
    overrides: tuple[str, ...] | list[str] = (),
    seed: int | None = None,
    quick: bool = False,
) -> tuple[experiment_mod.Experiment, int]:
    """Validate an experiment file, every point of its sweep grid (lazily) and the data
    files each names; return the base experiment and the number of runs. The first point
    that fails raises a ConfigError naming the point's keys and values."""
    base, raw = _base(path, overrides, seed, quick)
    base.check_inputs()
    sweep = base.config.sweep
    if sweep:
        for point in iter_grid(sweep):
            label = ", ".join(f"{k}={experiment_mod._short(v, 40)}" for k, v in point.items())
            try:
                exp = experiment_mod.from_dict(
                    _with_point(raw, point), source=str(path), experiment_dir=base.experiment_dir
                )
                exp.check_inputs()
            except UserError as exc:
                raise ConfigError(f"sweep point {label}: {exc.message}", where=str(path)) from None
    return base, grid_size(sweep) * base.config.replications


def expand(
    path: str | Path,
    overrides: tuple[str, ...] | list[str] = (),
    seed: int | None = None,
    quick: bool = False,
    out_dir: str | Path = "results/sweep",
) -> tuple[experiment_mod.Experiment, list[RunSpec]]:
    """Read an experiment file and list its runs (grid x replications)."""
    base, raw = _base(path, overrides, seed, quick)
    sweep = base.config.sweep
    reps = base.config.replications
    specs: list[RunSpec] = []
    for point in grid(sweep):
        point_data = _with_point(raw, point)
        point_data["replications"] = 1
        try:
            exp = experiment_mod.from_dict(
                point_data, source=str(path), experiment_dir=base.experiment_dir
            )
            error = None
        except UserError as exc:
            exp, error = None, str(exc)
        columns = _param_columns(exp) if exp is not None else {}
        columns.update({k: _scalar(v) for k, v in point.items()})
        for rep in range(reps):
            run_id = exp.content_hash(rep) if exp is not None else _bad_id(point, rep)
            specs.append(
                RunSpec(
                    index=len(specs),
                    data=point_data,
                    source=str(path),
                    experiment_dir=str(base.experiment_dir),
                    replication=rep,
                    point=point,
                    quick=quick,
                    out_root=str(out_dir),
                    run_id=run_id,
                    error=error,
                    columns=columns,
                )
            )
    return base, specs


def _param_columns(exp: experiment_mod.Experiment) -> dict[str, Any]:
    """The model's scalar params as ``params.<name>`` columns of the sweep table, and each
    slot's policy as ``policies.<slot>``."""
    cols: dict[str, Any] = {}
    for key, value in exp.params.model_dump(mode="json").items():
        if isinstance(value, str | int | float | bool) or value is None:
            cols[f"params.{key}"] = value
    for slot, (cls, _params) in exp.slot_policies.items():
        cols[f"policies.{slot}"] = cls.name
    return cols


def _scalar(value: Any) -> Any:
    """A sweep value as a table cell: scalars as they are, anything else as JSON text."""
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    import json

    return json.dumps(value, sort_keys=True, default=str)


def _with_point(raw: dict[str, Any], point: dict[str, Any]) -> dict[str, Any]:
    import copy

    d = copy.deepcopy(raw)
    for key, value in point.items():
        experiment_mod.set_dotted(d, key, value, source="sweep")
    return d


def _bad_id(point: dict[str, Any], rep: int) -> str:
    import hashlib
    import json

    blob = json.dumps({"point": point, "rep": rep}, sort_keys=True, default=str)
    return "invalid-" + hashlib.sha256(blob.encode()).hexdigest()[:12]


def execute(spec: RunSpec) -> dict[str, Any]:
    """Run one spec (in a worker); return its row. Never raises for a failing run."""
    run_dir = Path(spec.out_root) / "runs" / spec.run_id
    row: dict[str, Any] = {"run_id": spec.run_id, "replication": spec.replication, **spec.columns}
    t0 = time.perf_counter()
    try:
        if spec.error:
            raise ConfigError(spec.error)
        exp = experiment_mod.from_dict(
            spec.data, source=spec.source, experiment_dir=Path(spec.experiment_dir)
        )
        from sim.runner import run_replication

        result = run_replication(exp, run_dir, spec.replication, spec.quick, spec.max_wall_s)
        (run_dir / "error.txt").unlink(missing_ok=True)
        row.update(status="ok", error="", seed=result.manifest["seed"])
        row.update(result.summary)
    except Exception as exc:  # a failing run is recorded; the sweep goes on
        run_dir.mkdir(parents=True, exist_ok=True)
        detail = str(exc) if isinstance(exc, UserError) else traceback.format_exc()
        (run_dir / "error.txt").write_text(detail, encoding="utf-8")
        row.update(status="failed", error=f"{type(exc).__name__}: {exc}".splitlines()[0])
    row["wall_time_s"] = time.perf_counter() - t0
    return row


def _finished_row(spec: RunSpec) -> dict[str, Any] | None:
    run_dir = Path(spec.out_root) / "runs" / spec.run_id
    summary_path = run_dir / "summary.json"
    if not summary_path.exists():
        return None
    try:
        summary = read_json(summary_path)
        manifest = read_json(run_dir / "manifest.json")
    except (OSError, ValueError):
        return None
    row = {"run_id": spec.run_id, "replication": spec.replication, **spec.columns}
    row.update(status="ok", error="", seed=manifest.get("seed"))
    row.update({k: (float("nan") if v is None else v) for k, v in summary.items()})
    row["wall_time_s"] = manifest.get("wall_time_s")
    return row


def _watch_parent(parent_pid: int) -> None:
    """Pool worker initializer: exit as soon as the sweep's main process is gone (killed
    with SIGKILL or by the out-of-memory killer), instead of running on as an orphan."""

    def watch() -> None:
        while True:
            if os.getppid() != parent_pid:
                os._exit(70)
            time.sleep(0.5)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def in_worker_processes(fn, calls: list[tuple], workers: int) -> Iterator[tuple[int, Any]]:
    """Run ``fn(*args)`` for each tuple of ``calls`` in ``workers`` spawned processes (each
    exits if this process dies) and yield ``(index, result)`` as they finish. On an
    interruption the queued calls are dropped; calls already running finish in their
    workers."""
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=get_context("spawn"),
        initializer=_watch_parent,
        initargs=(os.getpid(),),
    )
    finished = False
    try:
        futures = {pool.submit(fn, *args): i for i, args in enumerate(calls)}
        for fut in as_completed(futures):
            yield futures[fut], fut.result()
        finished = True
    finally:
        pool.shutdown(wait=finished, cancel_futures=not finished)


def _local_map(specs: list[RunSpec], workers: int) -> Iterator[dict[str, Any]]:
    if workers <= 1 or len(specs) <= 1:
        for spec in specs:
            yield execute(spec)
        return
    # runs are atomic: an interrupted sweep's finished runs count on resume
    for _, row in in_worker_processes(execute, [(s,) for s in specs], workers):
        yield row


DASK_ADDRESS = re.compile(
    r"^(?:(?:tcp|tls|ucx|ws|wss)://)?(?:\[[0-9a-fA-F:]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$"
)


def check_dask_address(address: str | None) -> str:
    """``local`` or a scheduler address ``[tcp://]host:port``; a UserError otherwise."""
    text = (address or "").strip()
    if not text:
        raise UserError("empty Dask address (use 'local' or tcp://host:port)", where="--dask")
    if text == "local":
        return text
    m = DASK_ADDRESS.match(text)
    if m is None or not 1 <= int(m.group(1)) <= 65535:
        shown = text if len(text) <= 60 else text[:57] + "..."
        raise UserError(
            f"malformed Dask address {shown!r} (use 'local' or tcp://host:port)", where="--dask"
        )
    return text


def _connect_dask(client_cls, address: str, timeout_s: float):
    """A Dask client for ``address``, or a UserError within about ``timeout_s``: refused,
    unreachable, or a server that accepts the connection but never speaks Dask (which
    would otherwise hang the client's handshake forever)."""
    box: dict[str, Any] = {}

    def connect() -> None:
        try:
            box["client"] = client_cls(address, timeout=f"{timeout_s}s")
        except BaseException as exc:  # reported below
            box["error"] = exc

    thread = threading.Thread(target=connect, name="dask-connect", daemon=True)
    thread.start()
    thread.join(timeout_s + 2.0)
    if "client" in box:
        return box["client"]
    exc = box.get("error")
    reason = (str(exc).splitlines()[0] if exc is not None and str(exc) else
              type(exc).__name__ if exc is not None else "no answer")  # fmt: skip
    raise UserError(
        f"no Dask scheduler answered at {address} within {timeout_s:g} s ({reason})",
        where="--dask",
    )


def _dask_map(
    specs: list[RunSpec], workers: int, address: str, timeout_s: float = 10.0
) -> Iterator[dict[str, Any]]:
    try:
        from dask.distributed import Client, LocalCluster
        from dask.distributed import as_completed as dask_as_completed
    except ImportError as exc:  # pragma: no cover - dask is a dependency
        raise UserError("the Dask backend needs dask[distributed] installed") from exc
    cluster = None
    if address == "local":
        cluster = LocalCluster(
            n_workers=max(1, workers),
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=40,
        )
        client = Client(cluster)
    else:
        client = _connect_dask(Client, check_dask_address(address), timeout_s)
    try:
        futures = client.map(execute, specs, pure=False)
        for fut in dask_as_completed(futures):
            yield fut.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run_sweep(
    path: str | Path,
    out_dir: str | Path,
    overrides: tuple[str, ...] | list[str] = (),
    workers: int = 1,
    dask: str | None = None,
    seed: int | None = None,
    quick: bool = False,
    progress: Callable[[int, int], None] | None = None,
    max_wall_s: float | None = None,
    dask_timeout_s: float = 10.0,
) -> SweepResult:
    """Run (or resume) the sweep of an experiment file; see the module docstring.
    ``max_wall_s`` bounds each run's wall time (an overrun is recorded as a failed run)."""
    if not 1 <= int(workers) <= 1024:
        raise UserError(f"workers must be between 1 and 1024, got {workers}", where="--workers")
    out = Path(out_dir)
    base, specs = expand(path, overrides, seed=seed, quick=quick, out_dir=out)
    for spec in specs:
        spec.max_wall_s = max_wall_s
    out.mkdir(parents=True, exist_ok=True)
    write_yaml(out / "config.yaml", {**base.resolved(), "sweep": base.config.sweep})
    rows: dict[int, dict[str, Any]] = {}
    todo: list[RunSpec] = []
    for spec in specs:
        done = _finished_row(spec)
        if done is not None:
            rows[spec.index] = done
        else:
            todo.append(spec)
    skipped = len(rows)
    total = len(specs)
    if progress:
        progress(len(rows), total)
    by_id = {(s.run_id, s.replication): s.index for s in todo}
    mapper = _dask_map(todo, workers, dask, dask_timeout_s) if dask else _local_map(todo, workers)
    t0 = time.perf_counter()
    try:
        for row in mapper:
            rows[by_id[(row["run_id"], row["replication"])]] = row
            if progress:
                progress(len(rows), total)
    finally:
        mapper.close()
    table = pd.DataFrame([rows[i] for i in sorted(rows)])
    failed = int((table["status"] != "ok").sum()) if "status" in table else 0
    write_parquet(out / "sweep.parquet", table)
    write_csv(out / "sweep.csv", table)
    figures: list[Path] = []
    hook = getattr(base.model_cls, "sweep_figures", None)
    if hook is not None and not table.empty:
        figures = list(hook(table, out))
    write_json(
        out / "manifest.json",
        {
            "experiment": base.config.name,
            "source": str(path),
            "runs": total,
            "ran": len(todo),
            "skipped": skipped,
            "failed": failed,
            "backend": f"dask:{dask}" if dask else f"local:{workers}",
            "wall_time_s": time.perf_counter() - t0,
            "figures": [p.name for p in figures],
        },
    )
    return SweepResult(table, out, ran=len(todo), skipped=skipped, failed=failed, figures=figures)
