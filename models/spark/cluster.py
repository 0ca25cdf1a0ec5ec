"""The Spark cluster engine: cores, job groups -> queries -> Spark jobs -> stages -> tasks, and
Spark's task hand-out.

What it models
    ``cores`` identical task slots (executors x cores per executor). A job group's queries
    start together; each query runs as a sequence of Spark jobs (see :mod:`.jobs`): the
    parallel file listing (``listing_tasks`` tasks that do nothing but the fixed per-task
    work), then after ``driver_gap_s`` of driver time the map job (the scan stage, or an
    explicit DAG in which a stage is submitted when its parents finish), then after
    ``driver_gap_s`` again the result job (one task). Every task costs
    ``task_overhead_s + its share of the stage's work``, times a lognormal factor of mean 1
    and coefficient of variation ``task_cv``; tasks are never preempted.

    Task hand-out follows Spark's ``TaskSchedulerImpl.resourceOffers``: whenever a core
    frees (a task ends) or a stage is submitted, the scheduler orders the task sets once,
    then walks them in that order and gives each as many free cores as it has tasks left
    before looking at the next one. The order is the scheduler policy's
    (:mod:`.schedulers`); it is recomputed at every round, never in the middle of one.
    When a task ends, its core is offered before the driver learns that the stage finished,
    so a child stage submitted at that instant waits for the next free core, as in Spark.

What it leaves out
    Locality and delay scheduling (every core suits every task, so which executor a task
    lands on cannot change the order of events: an idle core exists only when no task is
    pending, and a stage submission offers every idle core), speculation, failures, memory,
    shuffle transfer times and driver contention between concurrent queries.

Ids and names
    Spark jobs and stages are numbered in submission order from ``id_offset`` (the
    artifact's runs started after a warm-up of eight queries); a task set is named
    ``TaskSet_<stage id>.0``, which matters for the FAIR scheduler's tie-break on names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .jobs import JobGroupSpec, QuerySpec
from .partitioning import scan_task_sizes

#: Calibrated assumptions (see calibration.py and NOTES.md section 8).
TASK_OVERHEAD_S = 0.0237
DRIVER_GAP_S = 0.087
SKEW_SIGMA = 0.616


@dataclass(frozen=True)
class ClusterConfig:
    """The cluster's parameters (see :class:`sim_models.spark.model.SparkCluster.Params`)."""

    cores: int = 32
    task_overhead_s: float = TASK_OVERHEAD_S
    listing_tasks: int = 263
    listing_task_s: float | None = None
    driver_gap_s: float = DRIVER_GAP_S
    result_stage: bool = True
    result_work_core_s: float = 0.0
    skew_sigma: float = SKEW_SIGMA
    task_cv: float = 0.1
    min_partitions: int | None = None
    partitioner: str = "oracle"
    target_task_s: float = 0.5
    aqe: bool = True
    id_offset: int = 24
    max_tasks_per_stage: int = 100_000

    @property
    def spark_min_partitions(self) -> int:
        return self.min_partitions if self.min_partitions is not None else self.cores


class TaskSet:
    """One stage attempt (Spark's TaskSetManager): its tasks and scheduling state."""

    __slots__ = (
        "stage_id", "name", "job_id", "priority", "seq", "kind", "group", "query", "sjob",
        "index", "durs", "n_tasks", "launched", "running", "done", "deadline", "pool",
        "submit_s", "first_launch_s", "end_s", "version", "min_share", "weight",
        "finished_all", "busy_core_s",
    )  # fmt: skip

    def __init__(self, stage_id, job_id, seq, kind, group, query, sjob, index, durs):
        self.stage_id = stage_id
        self.name = f"TaskSet_{stage_id}.0"
        self.job_id = job_id
        self.priority = job_id
        self.seq = seq
        self.kind = kind
        self.group = group
        self.query = query
        self.sjob = sjob
        self.index = index
        self.durs = durs
        self.n_tasks = len(durs)
        self.launched = 0
        self.running = 0
        self.done = 0
        self.deadline = 0.0
        self.pool = None
        self.submit_s = 0.0
        self.first_launch_s = -1.0
        self.end_s = -1.0
        self.version = 0
        self.min_share = 0
        self.weight = 1
        self.finished_all = False
        self.busy_core_s = 0.0

    @property
    def pending(self) -> int:
        return self.n_tasks - self.launched

    @property
    def user(self) -> str:
        return self.group.spec.user

    def __repr__(self) -> str:
        return f"<{self.name} {self.kind} {self.done}/{self.n_tasks} run={self.running}>"


class GroupRun:
    """A submitted job group and what happened to it."""

    __slots__ = ("spec", "index", "submit_s", "end_s", "queries_left", "busy_core_s", "tasks",
                 "estimate_core_s", "on_done", "seq")  # fmt: skip

    def __init__(self, spec: JobGroupSpec, seq: int, submit_s: float, on_done):
        self.spec = spec
        self.seq = seq
        self.index = -1  # job-group index, assigned at its first Spark job
        self.submit_s = submit_s
        self.end_s = -1.0
        self.queries_left = len(spec.queries)
        self.busy_core_s = 0.0
        self.tasks = 0
        self.estimate_core_s = float("nan")
        self.on_done = on_done


class QueryRun:
    __slots__ = ("group", "spec", "phases", "next_phase")

    def __init__(self, group: GroupRun, spec: QuerySpec, phases):
        self.group = group
        self.spec = spec
        self.phases = phases  # list of Spark jobs, each a list of (kind, sizes, parents)
        self.next_phase = 0


class SparkJobRun:
    __slots__ = ("query", "job_id", "stages", "left", "waiting", "children")

    def __init__(self, query: QueryRun, job_id: int):
        self.query = query
        self.job_id = job_id
        self.stages: list[TaskSet] = []
        self.left = 0
        self.waiting: list[int] = []  # parents not yet finished, per stage
        self.children: list[list[int]] = []  # stages waiting for this one, per stage


class Cluster:
    """The engine; a model drives it with :meth:`submit_group`.

    ``scheduler`` is a :class:`~sim_models.spark.schedulers.SparkScheduler`, ``estimator``
    a :class:`~sim_models.spark.estimators.Estimator`; ``rng`` a numpy Generator for task
    noise; ``partitioning`` the scan-splitting rule (``none``, ``oracle``, ``runtime``).
    """

    def __init__(self, env, config: ClusterConfig, scheduler, estimator, rng, partitioning):
        self.env = env
        self.cfg = config
        self.scheduler = scheduler
        self.estimator = estimator
        self.rng = rng
        self.partitioning = partitioning
        self.free = config.cores
        self.next_job_id = config.id_offset
        self.next_stage_id = config.id_offset
        self.next_group_index = 0
        self._seq = 0
        self.groups: list[GroupRun] = []
        self.stages: list[tuple] = []  # one row per finished stage
        self.busy_core_s = 0.0
        self.tasks_launched = 0
        self.first_submit_s: float | None = None
        self.last_end_s = 0.0
        self._noise = np.empty(0)
        self._noise_i = 0
        cv = float(config.task_cv)
        self._noise_sigma = float(np.sqrt(np.log1p(cv * cv))) if cv > 0 else 0.0
        scheduler.setup(self)

    # -- submission ----------------------------------------------------------------------
    def submit_group(self, spec: JobGroupSpec, on_done: Callable[[GroupRun], None] | None = None):
        """Submit a job group now: all its queries start at once."""
        now = self.env.now
        self._seq += 1
        group = GroupRun(spec, self._seq, now, on_done)
        group.estimate_core_s = self.estimator.estimate(spec)
        self.groups.append(group)
        if self.first_submit_s is None:
            self.first_submit_s = now
        if not spec.queries:
            self._group_done(group)
            return group
        for qspec in spec.queries:
            self._start_query(QueryRun(group, qspec, self._phases(group, qspec)))
        return group

    def _phases(self, group: GroupRun, q: QuerySpec) -> list[list[tuple]]:
        cfg = self.cfg
        phases: list[list[tuple]] = []
        if cfg.listing_tasks > 0:
            extra = 0.0 if cfg.listing_task_s is None else cfg.listing_task_s - cfg.task_overhead_s
            phases.append([("listing", np.full(cfg.listing_tasks, max(extra, 0.0)), ())])
        if q.stages:
            dag = [("stage", np.full(max(1, int(n)), w / max(1, int(n))), tuple(p))
                   for n, w, p in q.stages]  # fmt: skip
        else:
            sizes = scan_task_sizes(
                q.work_core_s,
                partitioning=self.partitioning,
                min_partitions=cfg.spark_min_partitions,
                skew_sigma=cfg.skew_sigma,
                oracle_count=q.oracle_tasks,
                estimate_core_s=q.estimate_core_s,
                target_task_s=cfg.target_task_s,
                max_tasks=cfg.max_tasks_per_stage,
            )
            dag = [("scan", sizes, ())]
        if not cfg.result_stage:
            phases.append(dag)
        elif cfg.aqe:
            phases += [dag, [("result", np.full(1, cfg.result_work_core_s), ())]]
        else:
            used = {p for _, _, parents in dag for p in parents}
            sinks = tuple(i for i in range(len(dag)) if i not in used)
            phases.append([*dag, ("result", np.full(1, cfg.result_work_core_s), sinks)])
        return phases

    def _start_query(self, query: QueryRun) -> None:
        self._submit_spark_job(query)

    def _submit_spark_job(self, query: QueryRun) -> None:
        phase = query.phases[query.next_phase]
        query.next_phase += 1
        group = query.group
        if group.index < 0:
            group.index = self.next_group_index
            self.next_group_index += 1
        job = SparkJobRun(query, self.next_job_id)
        self.next_job_id += 1
        job.children = [[] for _ in phase]
        for i, (kind, sizes, parents) in enumerate(phase):
            ts = TaskSet(self.next_stage_id, job.job_id, 0, kind, group, query, job, i,
                         self._durations(sizes))  # fmt: skip
            self.next_stage_id += 1
            job.stages.append(ts)
            job.waiting.append(len(parents))
            for p in parents:
                job.children[p].append(i)
        job.left = len(phase)
        for ts in job.stages:
            if job.waiting[ts.index] == 0:
                self._submit_stage(ts)

    def _durations(self, sizes: np.ndarray) -> list[float]:
        n = sizes.size
        base = sizes + self.cfg.task_overhead_s
        if self._noise_sigma > 0:
            if self._noise_i + n > self._noise.size:
                block = max(65_536, n)
                s = self._noise_sigma
                self._noise = self.rng.lognormal(-0.5 * s * s, s, block)
                self._noise_i = 0
            base = base * self._noise[self._noise_i : self._noise_i + n]
            self._noise_i += n
        return base.tolist()

    def _submit_stage(self, ts: TaskSet) -> None:
        now = self.env.now
        self._seq += 1
        ts.seq = self._seq
        ts.submit_s = now
        self.scheduler.stage_submitted(ts, now)
        self._offer()

    # -- hand-out --------------------------------------------------------------------------
    def _offer(self) -> None:
        """One offer round over the free cores."""
        k = self.free
        if k <= 0:
            return
        sched = self.scheduler
        if k == 1:
            ts = sched.first()
            if ts is not None:
                self._launch(ts, 1)
            return
        for ts in sched.ordered():
            n = min(k, ts.n_tasks - ts.launched)
            if n > 0:
                self._launch(ts, n)
                k -= n
                if k == 0:
                    break

    def _launch(self, ts: TaskSet, n: int) -> None:
        env = self.env
        now = env.now
        if ts.first_launch_s < 0:
            ts.first_launch_s = now
        start = ts.launched
        durs = ts.durs
        done = self._task_done
        for i in range(start, start + n):
            d = durs[i]
            ev = env.timeout(d, ts)
            ev.callbacks.append(done)
            ts.busy_core_s += d
        ts.launched = start + n
        ts.running += n
        self.free -= n
        self.tasks_launched += n
        self.scheduler.tasks_started(ts, n, ts.launched == ts.n_tasks)

    def _task_done(self, ev) -> None:
        ts = ev.value
        ts.running -= 1
        ts.done += 1
        self.free += 1
        finished = ts.done == ts.n_tasks
        if finished:
            ts.finished_all = True
        self.scheduler.task_finished(ts, finished)
        self._offer()
        if finished:
            self._stage_done(ts)

    # -- completion ------------------------------------------------------------------------
    def _stage_done(self, ts: TaskSet) -> None:
        now = self.env.now
        ts.end_s = now
        group = ts.group
        group.busy_core_s += ts.busy_core_s
        group.tasks += ts.n_tasks
        self.busy_core_s += ts.busy_core_s
        self.stages.append((ts.stage_id, ts.job_id, group.seq, ts.kind, ts.n_tasks,
                            ts.submit_s, ts.first_launch_s, now, ts.busy_core_s))  # fmt: skip
        ts.durs = None  # free memory
        job = ts.sjob
        job.left -= 1
        for c in job.children[ts.index]:
            job.waiting[c] -= 1
            if job.waiting[c] == 0:
                self._submit_stage(job.stages[c])
        if job.left == 0:
            query = job.query
            if query.next_phase < len(query.phases):
                gap = self.cfg.driver_gap_s
                if gap > 0:
                    ev = self.env.timeout(gap, query)
                    ev.callbacks.append(self._next_phase)
                else:
                    self._submit_spark_job(query)
            else:
                self._query_done(query)

    def _next_phase(self, ev) -> None:
        self._submit_spark_job(ev.value)

    def _query_done(self, query: QueryRun) -> None:
        group = query.group
        group.queries_left -= 1
        if group.queries_left == 0:
            self._group_done(group)

    def _group_done(self, group: GroupRun) -> None:
        now = self.env.now
        group.end_s = now
        self.last_end_s = max(self.last_end_s, now)
        self.estimator.observe(group.spec, group.busy_core_s)
        if group.on_done is not None:
            group.on_done(group)
