"""``spark.cluster``: a Spark application shared by several users, one scheduler in a slot.

What it models
    A standalone Spark application of ``executors x cores_per_executor`` cores (8 x 4 = 32
    in the paper's runs) serving users' job groups. Users submit job groups from a Spark
    workload (:mod:`.workloads`; open or closed loops); every query runs as the Spark jobs
    of :mod:`.cluster` (file listing, map stage, result stage) whose tasks are handed out
    in Spark's order under the ``scheduler`` policy (:mod:`.schedulers`), with job sizes
    from the ``estimator`` policy (:mod:`.estimators`). Runtime partitioning is the
    scheduler's ``partitioning`` switch (``<policy>_p``); ``partitioner`` chooses which rule
    it turns on. Any other workload (``poisson``, ``trace``) also drives it: each arrival is
    a one-query job of ``work_core_s`` core-seconds (or ``service_s`` seconds of the whole
    cluster), of user ``user`` (a numeric column) or ``user_1``; the oracle knows its size.

What it leaves out
    See :mod:`.cluster`: locality, speculation, failures, memory, shuffle transfer time,
    and driver contention between concurrent queries.

Parameters and where they come from
    Cores: the artifact's ``spark.cores.max = 32``, 8 executors x 4 cores
    (``results/globals.py``) [P]. The task count of a scan without partitioning is Spark's
    minimum partition number, the default parallelism (= cores) [D]. ``listing_tasks = 263``:
    Spark lists the input's partition folders with a distributed job of one task per
    folder when there are more than 32 of them (``spark.sql.sources.
    parallelPartitionDiscovery.threshold``); the input is partitioned by the 263 pickup
    zones of the NYC taxi zone map [D/A]. ``task_overhead_s``, ``driver_gap_s`` and
    ``skew_sigma`` are assumptions [A], fixed once for all experiments by
    :mod:`.calibration` (see NOTES.md for the rule and the values), with their sensitivity
    shown by ``experiments/uwfq/sensitivity.yaml``. ``id_offset = 24``: the artifact's
    warm-up of 8 queries took Spark job and stage ids 0-23 [A].
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import Field

from sim.core import Simulation
from sim.errors import ConfigError, DataError
from sim.events import call_later
from sim.model import Model, Params, Slot
from sim.registry import get_policy, model
from sim.workload import ArrivalFeed

from .cluster import DRIVER_GAP_S, SKEW_SIGMA, TASK_OVERHEAD_S, Cluster, ClusterConfig, GroupRun
from .estimators import DOMAIN as ESTIMATOR_DOMAIN
from .jobs import JobGroupSpec, QuerySpec
from .metrics import fairness, job_metrics
from .schedulers import DOMAIN as SCHEDULER_DOMAIN
from .workloads import Plan, SparkWorkload, Stream

JOB_COLUMNS = ["user", "key", "job_class", "stream", "submit_s", "end_s", "rt_s",
               "estimate_core_s", "work_core_s", "busy_core_s", "queries", "tasks"]  # fmt: skip
STAGE_COLUMNS = ["stage_id", "job_id", "group_seq", "kind", "tasks", "submit_s",
                 "first_launch_s", "end_s", "busy_core_s"]  # fmt: skip


class Driver:
    """Replays a plan's streams into a cluster: open loops on their timetable, closed loops
    on completions (next submission at ``max(previous submission + gap, completion)``)."""

    def __init__(self, env, cluster: Cluster, plan: Plan, on_group_done=None):
        self.env = env
        self.cluster = cluster
        self.on_group_done = on_group_done
        for stream in plan.streams:
            if not stream.groups:
                continue
            if stream.closed:
                call_later(env, max(0.0, stream.start_s - env.now), self._submit, (stream, 0))
            else:
                t = stream.start_s
                for i in range(len(stream.groups)):
                    call_later(env, max(0.0, t - env.now), self._submit, (stream, i))
                    t += stream.gaps_s[i]

    def _submit(self, ev) -> None:
        stream, i = ev.value
        spec = stream.groups[i]
        spec.meta.setdefault("stream", stream.name)
        if stream.closed:
            self.cluster.submit_group(spec, lambda g, s=stream, i=i: self._closed_done(g, s, i))
        else:
            self.cluster.submit_group(spec, self._done)

    def _closed_done(self, group: GroupRun, stream: Stream, i: int) -> None:
        self._done(group)
        if i + 1 < len(stream.groups):
            due = group.submit_s + stream.gaps_s[i]
            call_later(self.env, max(0.0, due - self.env.now), self._submit, (stream, i + 1))

    def _done(self, group: GroupRun) -> None:
        if self.on_group_done is not None:
            self.on_group_done(group)


def jobs_frame(cluster: Cluster) -> pd.DataFrame:
    """One row per finished job group."""
    rows = [
        (g.spec.user, g.spec.key, g.spec.job_class, g.spec.meta.get("stream", ""), g.submit_s,
         g.end_s, g.end_s - g.submit_s, g.estimate_core_s, g.spec.work_core_s, g.busy_core_s,
         len(g.spec.queries), g.tasks)
        for g in cluster.groups if g.end_s >= 0
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=JOB_COLUMNS)


def simulate_plan(plan: Plan, cfg: ClusterConfig, scheduler_name: str, scheduler_params: dict,
                  estimator_name: str, estimator_params: dict, partitioner: str,
                  seed: int) -> Cluster:  # fmt: skip
    """Run a plan to completion in a fresh simulation; return the cluster (its groups and
    stages). Used for reference runs and isolated runtimes."""
    sim = Simulation(seed)
    scope = sim.scope("spark.cluster")
    sched_cls = get_policy(SCHEDULER_DOMAIN, scheduler_name)
    sched = sched_cls(sched_cls.Params(**scheduler_params))
    sched.bind(scope.child("scheduler"))
    est_cls = get_policy(ESTIMATOR_DOMAIN, estimator_name)
    est = est_cls(est_cls.Params(**estimator_params))
    est.bind(scope.child("estimator"))
    partitioning = partitioner if sched.params.partitioning else "none"
    cluster = Cluster(sim.env, cfg, sched, est, scope.rng("tasks"), partitioning)
    Driver(sim.env, cluster, plan)
    sim.run()
    return cluster


#: Reference runs by content key (one per workload, configuration and seed in a process).
_REFERENCES: dict[str, pd.DataFrame] = {}
_MAX_REFERENCES = 32


@lru_cache(maxsize=256)
def _isolated_rt(cfg_json: str, job_class: str, seed: int) -> float:
    """Mean RT of two back-to-back jobs of ``job_class`` alone on the cluster, no
    partitioning: the base of the proportional slowdown (the artifact's individual runs)."""
    from .workloads import class_query

    cfg = ClusterConfig(**json.loads(cfg_json))
    q, _ = class_query(job_class, {})
    groups = [JobGroupSpec("individual", f"user:individual;workload:{job_class}_{i};",
                           job_class, [q]) for i in range(2)]  # fmt: skip
    plan = Plan([Stream("individual", job_class, groups, 0.0, [0.0, 0.0], True)], ["individual"])
    cluster = simulate_plan(plan, cfg, "fifo", {}, "oracle", {}, "oracle", seed)
    return float(jobs_frame(cluster)["rt_s"].mean())


@model(
    "spark.cluster", "Spark cluster shared by users: stages, tasks, a scheduler slot (UWFQ paper)"
)
class SparkCluster(Model):
    slots = {
        "scheduler": Slot(SCHEDULER_DOMAIN, "fair", "order in which task sets get free cores"),
        "estimator": Slot(ESTIMATOR_DOMAIN, "oracle", "job sizes for the size-based schedulers"),
    }
    workload_required = True

    class Params(Params):
        executors: int = Field(8, ge=1, le=100_000, description="executors")
        cores_per_executor: int = Field(4, ge=1, le=1024, description="task slots per executor")
        task_overhead_s: float = Field(
            TASK_OVERHEAD_S, ge=0, le=600, description="fixed cost of every task, seconds [A]"
        )
        listing_tasks: int = Field(
            263, ge=0, le=100_000, description="tasks of each query's file-listing job (0: none)"
        )
        listing_task_s: float | None = Field(
            None, ge=0, le=600, description="duration of a listing task (default: task_overhead_s)"
        )
        driver_gap_s: float = Field(
            DRIVER_GAP_S,
            ge=0,
            le=3600,
            description="driver time before a query's 2nd/3rd Spark job [A]",
        )
        result_stage: bool = Field(True, description="each query ends with a one-task result stage")
        result_work_core_s: float = Field(0.0, ge=0, le=1e6, description="work of the result task")
        skew_sigma: float = Field(
            SKEW_SIGMA,
            ge=0,
            le=5,
            description="lognormal shape of unpartitioned scan task sizes [A]",
        )
        task_cv: float = Field(
            0.1, ge=0, le=5, description="coefficient of variation of task times [A]"
        )
        min_partitions: int | None = Field(
            None, ge=1, le=100_000, description="Spark's minimum partition number (default: cores)"
        )
        partitioner: Literal["oracle", "runtime"] = Field(
            "oracle", description="what the partitioning switch turns on"
        )
        target_task_s: float = Field(
            0.5, gt=0, le=3600, description="runtime partitioner's task length"
        )
        aqe: bool = Field(
            True, description="adaptive execution: map and result stages as separate Spark jobs"
        )
        id_offset: int = Field(24, ge=0, le=10**9, description="first Spark job and stage id")
        fairness_reference: bool = Field(
            False, description="also run UJF (UJF-P for '-P') to report DVR/DSR against it"
        )
        reference_seed: int = Field(1, ge=0, le=2**62, description="seed of that reference run")
        slowdown_base: Literal["isolated", "none"] = Field(
            "isolated", description="isolated: RT / simulated isolated RT of the class; none: RT"
        )
        max_tasks: int = Field(
            50_000_000, ge=1, le=10**9, description="refuse plans with more tasks than this"
        )

    # -- build -----------------------------------------------------------------------------
    def config(self) -> ClusterConfig:
        p = self.params
        return ClusterConfig(
            cores=p.executors * p.cores_per_executor,
            task_overhead_s=p.task_overhead_s,
            listing_tasks=p.listing_tasks,
            listing_task_s=p.listing_task_s,
            driver_gap_s=p.driver_gap_s,
            result_work_core_s=p.result_work_core_s,
            result_stage=p.result_stage,
            skew_sigma=p.skew_sigma,
            task_cv=p.task_cv,
            min_partitions=p.min_partitions,
            partitioner=p.partitioner,
            target_task_s=p.target_task_s,
            aqe=p.aqe,
            id_offset=p.id_offset,
        )

    @property
    def partitioning(self) -> str:
        return self.params.partitioner if self.policies["scheduler"].params.partitioning else "none"

    def build(self, sim) -> None:
        self.cfg = self.config()
        sched = self.policies["scheduler"]
        est = self.policies["estimator"]
        self.cluster = Cluster(sim.env, self.cfg, sched, est, self.scope.rng("tasks"),
                               self.partitioning)  # fmt: skip
        self.plan: Plan | None = None
        if isinstance(self.workload, SparkWorkload):
            self.plan = self.workload.plan()
            self._check_size(self.plan)
            Driver(sim.env, self.cluster, self.plan, lambda g: sim.completed())
        else:
            self._users: set[str] = set()
            self.feed = ArrivalFeed(sim.env, self.workload.batches(), self._arrival)

    def _check_size(self, plan: Plan) -> None:
        cfg = self.cfg
        per_query = cfg.listing_tasks + 1 + max(cfg.spark_min_partitions, 222)
        total = 0
        for s in plan.streams:
            for g in s.groups:
                for q in g.queries:
                    total += per_query + int(q.work_core_s / self.params.target_task_s)
        if total > self.params.max_tasks:
            raise ConfigError(
                f"the workload needs about {total:,} tasks, more than max_tasks = "
                f"{self.params.max_tasks:,}; shorten the workload or raise params.max_tasks",
                where="params.max_tasks",
            )

    def _arrival(self, batch, i: int) -> None:
        cols = batch.columns
        if "work_core_s" in cols:
            work = float(cols["work_core_s"][i])
        elif "service_s" in cols:
            work = float(cols["service_s"][i]) * self.cfg.cores
        else:
            raise DataError(
                f"workload {self.workload.name!r} gives neither work_core_s nor service_s; "
                "spark.cluster needs one of them (or a spark.* workload)"
            )
        if not math.isfinite(work) or work < 0:
            raise DataError(f"job work must be a finite non-negative number, got {work}")
        user = f"user_{int(cols['user'][i])}" if "user" in cols else "user_1"
        self._users.add(user)
        n = self.cluster._seq + 1
        spec = JobGroupSpec(user, f"user:{user};workload:arrival_{n};", "custom",
                            [QuerySpec(work, work, None)], runtime_hint_core_s=work)  # fmt: skip
        self.cluster.submit_group(spec, lambda g: self.sim.completed())

    # -- results ---------------------------------------------------------------------------
    def jobs(self) -> pd.DataFrame:
        return jobs_frame(self.cluster)

    def stages(self) -> pd.DataFrame:
        return pd.DataFrame(self.cluster.stages, columns=STAGE_COLUMNS)

    def users(self) -> list[str]:
        if self.plan is not None:
            return list(self.plan.users)
        return sorted(getattr(self, "_users", set()))

    def isolated_rt_s(self, classes) -> dict[str, float]:
        if self.params.slowdown_base == "none":
            return {}
        from .jobs import JOB_CLASSES

        cfg_json = json.dumps(self.cfg.__dict__, sort_keys=True)
        return {c: _isolated_rt(cfg_json, c, self.params.reference_seed)
                for c in classes if c in JOB_CLASSES}  # fmt: skip

    def reference_jobs(self) -> pd.DataFrame | None:
        """The UJF (or UJF-P) run of the same plan, for DVR/DSR."""
        if not self.params.fairness_reference or self.plan is None:
            return None
        sched = self.policies["scheduler"]
        est = self.policies["estimator"]
        key_data = {
            "workload": self.workload.name,
            "workload_params": self.workload.params.model_dump(mode="json"),
            "cfg": self.cfg.__dict__,
            "scheduler": "ujf_p" if sched.params.partitioning else "ujf",
            "estimator": est.name,
            "estimator_params": est.params.model_dump(mode="json"),
            "partitioner": self.params.partitioner,
            "seed": self.params.reference_seed,
            "experiment_dir": str(self.context.experiment_dir),
            "run_seed": None if self.plan.deterministic else self.context.seed,
        }
        key = json.dumps(key_data, sort_keys=True, default=str)
        frame = _REFERENCES.get(key)
        if frame is None:
            cluster = simulate_plan(self.plan, self.cfg, key_data["scheduler"], {}, est.name,
                                    key_data["estimator_params"], self.params.partitioner,
                                    self.params.reference_seed)  # fmt: skip
            frame = jobs_frame(cluster)
            if len(_REFERENCES) >= _MAX_REFERENCES:
                _REFERENCES.pop(next(iter(_REFERENCES)))
            _REFERENCES[key] = frame
        return frame

    def summary(self) -> dict[str, float]:
        jobs = self.jobs()
        out = job_metrics(jobs, self.isolated_rt_s(set(jobs["job_class"])), self.users())
        ref = self.reference_jobs()
        if ref is not None:  # right after the RT bands and makespan
            head = dict(list(out.items())[:6])
            out = {**head, **fairness(jobs, ref), **out}
        c = self.cluster
        span = (c.last_end_s - c.first_submit_s) if c.first_submit_s is not None else 0.0
        out["tasks"] = float(c.tasks_launched)
        out["busy_core_s"] = float(c.busy_core_s)
        out["utilization"] = (
            float(c.busy_core_s / (self.cfg.cores * span)) if span > 0 else math.nan
        )
        return out

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"spark.cluster.jobs": self.jobs(), "spark.cluster.stages": self.stages()}

    def figures(self, out_dir: Path) -> list[Path]:
        from .figures import run_figures

        return run_figures(self.jobs(), Path(out_dir))

    @classmethod
    def sweep_figures(cls, table: pd.DataFrame, out_dir: Path) -> list[Path]:
        from .figures import sweep_figures

        return sweep_figures(table, Path(out_dir))
