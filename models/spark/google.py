"""Google cluster-trace windows -> Spark job groups, with the UWFQ paper's scaling rules.

Input formats
    * WTA excerpt (``traces/google-2011-wta/``): one row per task of a workflow (a Google
      job) as the Workflow Trace Archive converts the Google 2011 trace: ``workflow_id``,
      ``ts_submit`` (ms), ``ts_submit_seconds``, ``task_id``, ``runtime`` (ms),
      ``resource_amount_requested`` (normalised CPUs), ``resource_run_time`` (their
      product), ``user_id``.
    * Google ClusterData2011 ``task_events`` files (no header; 13 columns: timestamp in
      microseconds, missing info, job id, task index, machine id, event type, user, scheduling
      class, priority, CPU request, memory request, disk request, different-machine
      restriction; schema: Reiss, Wilkes, Hellerstein, "Google cluster-usage traces: format
      + schema", 2011). :func:`read_task_events` turns them into WTA-style rows: a task's
      runtime is its last FINISH (event 4) minus its last SCHEDULE (event 1) before it, its
      CPU request the last one seen, its workflow's submit time the job's first SUBMIT
      (event 0); ``ts_submit`` = timestamp / 1000 (no offset removed [A]).

The paper's rules (``results/macro_bench_analysis.py`` and ``results/globals.py`` of the
artifact, commit 8d07df3) [P]
    1. users are renamed ``user_1, user_2, ...`` in first-seen order of the rows (the
       excerpts are sorted by ``resource_run_time``, largest first);
    2. per task: ``start = ts_submit_seconds - min(ts_submit_seconds)`` (truncated to whole
       milliseconds, the configs' ``startTimeMs``) and
       ``rt = SCALING * resource_run_time / 1000 / 32`` seconds; a workflow's length is the
       sum of its tasks' ``rt``;
    3. the homogeneous window drops workflows of at least 5 x the median length
       (FILTER_LARGE);
    4. every task becomes one Spark query submitted at ``start`` with
       ``task_runtime_s = 24 * rt`` (PARALLELIZATION_SCALING) seconds of executor time; the
       workflow's queries form one job group of ``job_runtime_s = 24 * sum(rt)``, and the
       scheduler is told ``4.3 * job_runtime_s`` (``LoopCustom.accountForUnderestimation``).
    Windows: heterogeneous ``ts_submit`` in [76,630,000; 77,130,000] ms with tasks of
    ``resource_type == core``, SCALING 2, no filter; homogeneous [1,473,800,000;
    1,474,300,000] ms (day 17 + 5,000 s), SCALING 20, FILTER_LARGE; both keep tasks with a
    positive CPU request.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import DataError
from sim.traces import Column, Schema, check_data_path, read_all

from .jobs import JobGroupSpec, QuerySpec, trace_oracle_tasks

#: The two windows of the paper: SCALING and whether FILTER_LARGE applies [P].
WINDOWS = {
    "hetero": {"scaling": 2.0, "filter_large_factor": None,
               "ts_submit_ms": (76_630_000, 77_130_000)},
    "homo": {"scaling": 20.0, "filter_large_factor": 5.0,
             "ts_submit_ms": (1_473_800_000, 1_474_300_000)},
}  # fmt: skip

PARALLELIZATION_SCALING = 24.0
ESTIMATE_FACTOR = 4.3
TRACE_CORES = 32

WTA_SCHEMA = Schema(
    (
        Column("workflow_id", "int"),
        Column("ts_submit", "float", min=0.0),
        Column("ts_submit_seconds", "float", min=0.0),
        Column("task_id", "int", required=False, default=0),
        Column("runtime", "float", min=0.0),
        Column("resource_amount_requested", "float", min=0.0),
        Column("resource_run_time", "float", min=0.0),
        Column("user_id", "str"),
    )
)


@dataclass
class TraceJob:
    """One workflow after scaling: its user, start and the runtimes of its Spark queries."""

    user: str
    workflow_id: int
    start_s: float
    task_runtimes_s: list[float]

    @property
    def job_runtime_s(self) -> float:
        return float(sum(self.task_runtimes_s))


def read_wta(path: str | Path) -> pd.DataFrame:
    """A WTA-format excerpt, checked row by row (file and line named on a bad row)."""
    return read_all(path, WTA_SCHEMA)


def scale_window(
    rows: pd.DataFrame,
    scaling: float,
    *,
    filter_large_factor: float | None = None,
    parallelization: float = PARALLELIZATION_SCALING,
    cores: int = TRACE_CORES,
    time_scale: float = 1.0,
) -> tuple[list[TraceJob], list[str]]:
    """Apply the paper's rules 1-4 to WTA rows; return the jobs (users in first-seen order,
    a user's workflows in first-seen order, tasks in row order) and every user name,
    including users whose workflows were all filtered out."""
    if rows.empty:
        return [], []
    t0 = float(rows["ts_submit_seconds"].min())
    names: dict[str, str] = {}
    jobs: dict[int, TraceJob] = {}
    order: list[int] = []
    for wf, sub, rrt, uid in zip(
        rows["workflow_id"].to_numpy(),
        rows["ts_submit_seconds"].to_numpy(dtype=float),
        rows["resource_run_time"].to_numpy(dtype=float),
        rows["user_id"].astype(str).to_numpy(),
        strict=True,
    ):
        user = names.setdefault(uid, f"user_{len(names) + 1}")
        rt = scaling * rrt / 1000.0 / cores
        job = jobs.get(int(wf))
        if job is None:
            start = int((sub - t0) * time_scale * 1000.0) / 1000.0  # startTimeMs: whole ms
            job = jobs[int(wf)] = TraceJob(user, int(wf), start, [])
            order.append(int(wf))
        job.task_runtimes_s.append(rt)
    result = [jobs[w] for w in order]
    if filter_large_factor is not None:
        lengths = np.array([j.job_runtime_s for j in result])
        cutoff = float(np.median(lengths)) * filter_large_factor
        result = [j for j in result if j.job_runtime_s < cutoff]
    by_user: dict[str, list[TraceJob]] = {u: [] for u in names.values()}
    for j in result:
        by_user[j.user].append(j)
    ordered = [j for u in names.values() for j in by_user[u]]
    for j in ordered:
        j.task_runtimes_s = [parallelization * r for r in j.task_runtimes_s]
    return ordered, list(names.values())


def job_groups(
    jobs: list[TraceJob], estimate_factor: float = ESTIMATE_FACTOR
) -> list[tuple[float, JobGroupSpec]]:
    """Each trace job as ``(start_s, job group)``: one query per task (work = its runtime,
    oracle partitioner count from the runtime fit), the size hint ``4.3 x job_runtime_s``."""
    out = []
    for j in jobs:
        queries = [
            QuerySpec(work_core_s=r, estimate_core_s=r, oracle_tasks=trace_oracle_tasks(r))
            for r in j.task_runtimes_s
        ]
        spec = JobGroupSpec(
            user=j.user,
            key=f"user:{j.user};workload:loop_custom_{j.workflow_id}_0;",
            job_class="custom",
            queries=queries,
            runtime_hint_core_s=estimate_factor * j.job_runtime_s,
            meta={"workflow_id": j.workflow_id, "job_runtime_s": j.job_runtime_s},
        )
        out.append((j.start_s, spec))
    return out


# -- Google 2011 task_events -----------------------------------------------------------

TASK_EVENT_COLUMNS = [
    "time_us", "missing", "job_id", "task_index", "machine_id", "event_type", "user",
    "scheduling_class", "priority", "cpu_request", "memory_request", "disk_request",
    "different_machine",
]  # fmt: skip
SUBMIT, SCHEDULE, FINISH = 0, 1, 4


def _task_event_chunks(path: Path, chunk_rows: int):
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as fh:
            reader = pd.read_csv(
                fh, header=None, names=TASK_EVENT_COLUMNS, dtype=str, keep_default_na=False,
                chunksize=chunk_rows,
            )  # fmt: skip
            line = 1
            for chunk in reader:
                yield chunk, line
                line += len(chunk)
    except (UnicodeDecodeError, OSError, pd.errors.ParserError) as exc:
        raise DataError(
            f"not a task_events CSV: {str(exc).splitlines()[0]}", where=str(path)
        ) from None


def read_task_events(
    paths: list[str | Path],
    start_s: float,
    period_s: float,
    *,
    chunk_rows: int = 500_000,
) -> pd.DataFrame:
    """WTA-style rows for the jobs first submitted in ``[start_s, start_s + period_s)``
    (trace seconds) from Google 2011 ``task_events`` files, streamed in chunks.

    Only finished tasks with a positive CPU request are kept. Rows come out sorted by
    ``resource_run_time``, largest first (the order of the paper's excerpts).
    """
    lo_us, hi_us = start_s * 1e6, (start_s + period_s) * 1e6
    job_submit: dict[int, float] = {}
    sched: dict[tuple[int, int], float] = {}
    done: dict[tuple[int, int], tuple[float, float, str]] = {}
    cpu: dict[tuple[int, int], float] = {}
    for p in paths:
        path = check_data_path(p, "task_events file")
        for chunk, line in _task_event_chunks(path, chunk_rows):
            t = pd.to_numeric(chunk["time_us"], errors="coerce").to_numpy(dtype=float)
            job = pd.to_numeric(chunk["job_id"], errors="coerce").to_numpy(dtype=float)
            idx = pd.to_numeric(chunk["task_index"], errors="coerce").to_numpy(dtype=float)
            ev = pd.to_numeric(chunk["event_type"], errors="coerce").to_numpy(dtype=float)
            bad = np.isnan(t) | np.isnan(job) | np.isnan(idx) | np.isnan(ev)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise DataError(
                    "time, job id, task index and event type must be numbers",
                    where=f"{path}:{line + i}",
                )
            c = pd.to_numeric(chunk["cpu_request"], errors="coerce").to_numpy(dtype=float)
            users = chunk["user"].to_numpy()
            for k in range(len(chunk)):
                key = (int(job[k]), int(idx[k]))
                e = int(ev[k])
                if not np.isnan(c[k]):
                    cpu[key] = c[k]
                if e == SUBMIT:
                    prev = job_submit.get(key[0])
                    if prev is None or t[k] < prev:
                        job_submit[key[0]] = t[k]
                elif e == SCHEDULE:
                    sched[key] = t[k]
                elif e == FINISH and key in sched:
                    done[key] = (sched[key], t[k], str(users[k]))
    rows = []
    for (job, task), (t_start, t_end, user) in done.items():
        sub = job_submit.get(job)
        if sub is None or not (lo_us <= sub < hi_us):
            continue
        req = cpu.get((job, task), 0.0)
        if req <= 0:
            continue
        runtime_ms = (t_end - t_start) / 1000.0
        rows.append((job, sub / 1000.0, sub / 1e6, task, runtime_ms, req, runtime_ms * req, user))
    frame = pd.DataFrame(rows, columns=[c.name for c in WTA_SCHEMA.columns])
    counts = frame.groupby("workflow_id")["task_id"].transform("size") if len(frame) else []
    frame.insert(3, "task_count", counts)
    return frame.sort_values("resource_run_time", ascending=False, kind="stable").reset_index(
        drop=True
    )


def write_wta(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write WTA-style rows as CSV (atomically), readable by the ``spark.google_window``
    workload."""
    from sim.results import write_csv

    return write_csv(Path(path), frame)
