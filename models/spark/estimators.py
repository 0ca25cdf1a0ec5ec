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
    """Base: ``estimate(spec)`` in core-seconds; ``observe(spec, measured)`` after a job."""

    def estimate(self, spec: JobGroupSpec) -> float:
        raise NotImplementedError

    def observe(self, spec: JobGroupSpec, measured_core_s: float) -> None:
        pass


class OracleParams(Params):
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


class HistoricParams(Params):
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
