"""Job-size estimators, policies of the slot ``estimator`` (domain ``spark.estimator``).

An estimator tells the size-based schedulers (CFQ, UWFQ, T-FIFO's grouping) how much
executor time (core-seconds) a job group needs, and the runtime partitioner how long a scan
runs. The cluster asks at every stage submission, so an estimate may change while a job
runs.

``oracle`` (what every run of the paper used, ``OraclePerformanceEstimator``)
    A job carrying its own runtime (the trace jobs' ``job.runtime`` = 4.3 x the workflow's
    nominal runtime) gets that; a job of a known class gets the class's pre-measured
    executor time (loop20 1.523 s, loop100 26.926 s, loop500 57.115 s, loop1000 131.115 s);
    anything else 1 s (``DEFAULT_STAGE_RUNTIME``).
``miss_probability`` (both estimators)
    The artifact's estimator learns of a stage from Spark's asynchronous listener bus, on
    which the stage's submission is posted just before its task set reaches the scheduler;
    a stage not registered yet gets the default 1,000 ms, and no job (UWFQ then treats it as
    a one-stage job, T-FIFO gives it the invalid job id -1). How often that happened in the
    paper's runs is unknown [U]; the model's default is never (0), and
    ``experiments/uwfq/sensitivity_estimator.yaml`` shows what a missed registration does.

``historic``
    The running mean of the measured executor time (sum of task durations) of the finished
    jobs of the same class; before the first one finishes, ``default_core_s`` (the
    artifact's 1 s default) or, with ``prior: oracle``, the oracle's value.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sim.model import Params, Policy
from sim.registry import policy

from .jobs import DEFAULT_ESTIMATE_CORE_S, JOB_CLASSES, JobGroupSpec

DOMAIN = "spark.estimator"


class Estimator(Policy):
    """Base: ``estimate(spec)`` in core-seconds; ``observe(spec, measured)`` after a job;
    ``stage_lookup(spec)``: the estimate a scheduler gets when a stage is submitted, or
    ``None`` when the stage is not registered yet (probability ``miss_probability``)."""

    def estimate(self, spec: JobGroupSpec) -> float:
        raise NotImplementedError

    def stage_lookup(self, spec: JobGroupSpec, kind: str = "") -> float | None:
        p = getattr(self.params, "miss_probability", 0.0)
        kinds = getattr(self.params, "miss_stages", "all")
        if p > 0 and (kinds == "all" or kind == kinds):
            rng = getattr(self, "_miss_rng", None)
            if rng is None:
                rng = self._miss_rng = self.scope.rng("miss")
            if rng.random() < p:
                return None
        return self.estimate(spec)

    def observe(self, spec: JobGroupSpec, measured_core_s: float) -> None:
        pass


class _MissParams(Params):
    miss_probability: float = Field(
        0.0, ge=0, le=1, description="chance a stage is not registered when scheduled [A]"
    )
    miss_stages: Literal["all", "listing"] = Field(
        "all", description="which stages can miss: all, or only the file-listing ones"
    )


class OracleParams(_MissParams):
    unknown_core_s: float = Field(
        DEFAULT_ESTIMATE_CORE_S, gt=0, le=1e9, description="estimate for an unknown class"
    )


def oracle_estimate(spec: JobGroupSpec, unknown_core_s: float = DEFAULT_ESTIMATE_CORE_S) -> float:
    """The oracle's estimate of a job group (see the module docstring)."""
    if spec.runtime_hint_core_s is not None:
        return float(spec.runtime_hint_core_s)
    cls = JOB_CLASSES.get(spec.job_class.lower())
    if cls is not None:
        return cls.oracle_estimate_core_s
    est = spec.meta.get("estimate_core_s")
    return float(est) if est is not None else unknown_core_s


@policy(DOMAIN, "oracle", "pre-measured size per job class (the paper's runs)")
class Oracle(Estimator):
    Params = OracleParams

    def estimate(self, spec: JobGroupSpec) -> float:
        return oracle_estimate(spec, self.params.unknown_core_s)


class HistoricParams(_MissParams):
    default_core_s: float = Field(
        DEFAULT_ESTIMATE_CORE_S, gt=0, le=1e9, description="estimate before any job finished"
    )
    prior: Literal["default", "oracle"] = Field(
        "default", description="what to say before the class has history"
    )


@policy(DOMAIN, "historic", "running mean of measured executor time per job class")
class Historic(Estimator):
    Params = HistoricParams

    def __init__(self, params=None):
        super().__init__(params)
        self._sum: dict[str, float] = {}
        self._n: dict[str, int] = {}

    def estimate(self, spec: JobGroupSpec) -> float:
        n = self._n.get(spec.job_class, 0)
        if n:
            return self._sum[spec.job_class] / n
        if self.params.prior == "oracle":
            return oracle_estimate(spec, self.params.default_core_s)
        return self.params.default_core_s

    def observe(self, spec: JobGroupSpec, measured_core_s: float) -> None:
        self._sum[spec.job_class] = self._sum.get(spec.job_class, 0.0) + measured_core_s
        self._n[spec.job_class] = self._n.get(spec.job_class, 0) + 1
