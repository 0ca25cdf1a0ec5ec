"""What a Spark job is made of in this model: job classes, queries and job groups.

Vocabulary (Spark's own, as the UWFQ artifact uses it)
    * a *job group* is what a user submits and waits for: one benchmark job iteration, or
      one Google-trace workflow. It is the "job" of UWFQ and of every response-time metric;
    * a *query* is one Spark SQL action inside a job group (``scan -> UDF -> sum ->
      take(10)``). A Google workflow has one query per trace task, all submitted at once;
    * Spark runs a query as a sequence of *Spark jobs*: the parallel file listing that
      ``spark.read().parquet`` launches for an input with more than 32 partition folders,
      then (adaptive query execution on) the map stage as its own job, then the result
      stage. Each Spark job has a DAG of *stages*; a stage is a set of *tasks*.

Job classes (the artifact's micro-benchmarks, ``src/main/java/jobs/implementations/udf/``)
    ``loopN`` applies a UDF looping ``N`` times (``sqrt``) over every row. The scheduler's
    size estimate is the oracle's pre-measured executor time (``OraclePerformanceEstimator``
    seeds); the runtime partitioner's task count is the ``OraclePartitioner`` table.

How much CPU a job really needs (the work of its scan stage)
    The artifact calibrated its synthetic UDF as ``iterations = 3.216105 * r^1.221352`` for a
    job of ``r`` seconds of executor time (``UdfContainer.java``); the oracle partitioner's
    notes give "loop1000 111 s, loop100 15-30 s, loop20 1-16 s" for the same quantity. The
    model inverts the fit for every class: ``work = (iterations / 3.216105)^(1/1.221352)``
    core-seconds (loop20 4.47, loop100 16.7, loop500 62.3, loop1000 109.9), and a trace job
    of nominal runtime ``r`` needs ``r`` core-seconds. One rule for all jobs [D]; the oracle
    estimates (1.5, 26.9, 57.1, 131.1 core-s) are what the schedulers *believe*.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: The artifact's UDF calibration (``UdfContainer.convertRuntime``): iterations = A * r^B.
UDF_FIT_A = 3.216105
UDF_FIT_B = 1.221352

#: The oracle partitioner's fit for trace jobs (``OraclePartitioner.runtimeToAmount``):
#: tasks = floor(4 + 1.832672 * r^1.012495) for a job of nominal runtime r seconds.
TRACE_TASKS_A = 4.0
TRACE_TASKS_B = 1.832672
TRACE_TASKS_C = 1.012495

#: Estimate the oracle gives a job of an unknown class (``JobProfile.DEFAULT_STAGE_RUNTIME``,
#: 1,000 ms), in core-seconds.
DEFAULT_ESTIMATE_CORE_S = 1.0


def udf_work_core_s(iterations: float) -> float:
    """Executor time (core-seconds) of a query whose UDF loops ``iterations`` times per row:
    the inverse of the artifact's calibration ``iterations = 3.216105 r^1.221352``."""
    return (max(float(iterations), 1e-9) / UDF_FIT_A) ** (1.0 / UDF_FIT_B)


def trace_oracle_tasks(runtime_s: float) -> int:
    """The oracle partitioner's task count for a trace job of nominal runtime ``runtime_s``
    (before Spark's minimum partition count is applied)."""
    return int(TRACE_TASKS_A + TRACE_TASKS_B * max(runtime_s, 0.0) ** TRACE_TASKS_C)


@dataclass(frozen=True)
class JobClass:
    """A kind of query: its real work, what the oracle estimator believes, and the task count
    the oracle partitioner gives it (``None``: the partitioner's default of 32)."""

    name: str
    work_core_s: float
    oracle_estimate_core_s: float
    oracle_tasks: int | None = None
    description: str = ""


def _loop(name: str, iterations: int, estimate_ms: int, tasks: int | None) -> JobClass:
    return JobClass(
        name=name,
        work_core_s=udf_work_core_s(iterations),
        oracle_estimate_core_s=estimate_ms / 1000.0,
        oracle_tasks=tasks,
        description=f"scan + UDF looping {iterations} times per row + sum (two stages)",
    )


#: The artifact's job classes. Estimates: ``JobProfileContainer.setupOracle`` (ms of total
#: executor time); task counts: ``OraclePartitioner`` (loop500 is not listed there: 32).
JOB_CLASSES: dict[str, JobClass] = {
    c.name: c
    for c in (
        _loop("loop20", 20, 1_523, 16),
        _loop("loop100", 100, 26_926, 40),
        _loop("loop500", 500, 57_115, None),
        _loop("loop1000", 1000, 131_115, 222),
    )
}


def job_class(name: str) -> JobClass:
    """A catalog class by name (case-insensitive, ``Loop100`` works too)."""
    key = name.lower()
    if key not in JOB_CLASSES:
        from sim.errors import ConfigError

        raise ConfigError(
            f"unknown job class {name!r}; known: {', '.join(JOB_CLASSES)} "
            "(or give work_core_s and estimate_core_s in the scenario's classes block)"
        )
    return JOB_CLASSES[key]


@dataclass(slots=True)
class QuerySpec:
    """One Spark SQL query of a job group.

    ``work_core_s``: executor time of its scan stage. ``estimate_core_s``: the size a
    runtime partitioner believes the scan has. ``oracle_tasks``: the oracle partitioner's
    task count (``None``: its default). ``stages``: an explicit DAG for the map job instead
    of the standard single scan stage, as ``(tasks, work_core_s, parents)`` per stage.
    """

    work_core_s: float
    estimate_core_s: float
    oracle_tasks: int | None = None
    stages: tuple[tuple[int, float, tuple[int, ...]], ...] | None = None


@dataclass(slots=True)
class JobGroupSpec:
    """What a user submits: queries that run at once and count as one job.

    ``key`` is Spark's job-group id (``user:<user>;workload:<name>_<i>;`` in the artifact),
    ``job_class`` names the class for per-class metrics and the estimators, and
    ``runtime_hint_core_s`` is a size carried by the job itself (the trace jobs'
    ``job.runtime`` property), which the oracle estimator returns as is.
    """

    user: str
    key: str
    job_class: str
    queries: list[QuerySpec]
    runtime_hint_core_s: float | None = None
    meta: dict = field(default_factory=dict)

    @property
    def work_core_s(self) -> float:
        return sum(q.work_core_s for q in self.queries)
