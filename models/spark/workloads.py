"""Workloads of the Spark model: who submits which job groups, when.

A Spark workload is a *plan*: users, each with one or more *streams* (a user thread of the
artifact's benchmark tool). A stream submits ``jobs`` job groups of one class, either in an
open loop (submit, wait a gap, submit the next) or a closed loop (submit, wait a gap, then
also wait for the job to finish). Gaps are exponential with mean ``60 / rate_per_min``
seconds (0 when the rate is 0: a burst, or back to back). The model replays the plan, so a
closed loop reacts to the simulated completion times.

``spark.scenario``
    A scenario file (YAML): the paper's four scenarios are bundled (``s1_2_large_2_small``,
    ``s2_2_power_2_small``, ``s3_4_large``, ``s4_4_super_small``, and ``isolated_loop20/
    100/1000``); any other file can be given by path. ``arrivals: authors`` replays the
    artifact's gaps exactly (``java.util.Random`` seeded with the hash of ``user +
    workload``, see :mod:`.java_random`), so every run sees the paper's arrival times;
    ``arrivals: random`` draws them from the run's random stream. Format::

        name: my_scenario
        description: ...
        classes:                       # optional: classes beyond the catalog
          etl: {work_core_s: 40, estimate_core_s: 45, oracle_tasks: 80}
        users:
          - name: alice
            streams:
              - {workload: etl, class: etl, jobs: 10, start_s: 0, loop: open, rate_per_min: 6}

``spark.google_window``
    A WTA-format Google trace excerpt turned into job groups by the paper's rules
    (:mod:`.google`); ``window: hetero|homo`` sets the paper's SCALING and FILTER_LARGE.
``spark.google_task_events``
    The same from Google 2011 ``task_events`` files: cut a window of job submissions first.
``spark.multi_user``
    A generator: ``users`` users with ``jobs_per_user`` jobs each, classes drawn from a mix,
    open or closed loops, per-user rates growing geometrically by ``rate_skew``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sim.errors import ConfigError
from sim.model import Params, Workload
from sim.registry import workload
from sim.workload import Arrivals

from .google import WINDOWS, job_groups, read_task_events, read_wta, scale_window
from .java_random import authors_gaps_s
from .jobs import JOB_CLASSES, JobGroupSpec, QuerySpec

MAX_JOBS = 1_000_000


@dataclass
class Stream:
    """One user thread: job groups submitted in order, with the gap after each."""

    user: str
    name: str
    groups: list[JobGroupSpec]
    start_s: float
    gaps_s: list[float]
    closed: bool


@dataclass
class Plan:
    """What a Spark workload asks the model to run."""

    streams: list[Stream]
    users: list[str]
    deterministic: bool = True
    label: str = ""
    meta: dict = field(default_factory=dict)

    @property
    def jobs(self) -> int:
        return sum(len(s.groups) for s in self.streams)


class SparkWorkload(Workload):
    """Base: :meth:`plan` gives the streams. ``batches`` gives the open-loop submissions only
    (a closed loop's times depend on the simulation)."""

    def plan(self) -> Plan:
        raise NotImplementedError

    def batches(self) -> Iterator[Arrivals]:
        times = []
        for s in self.plan().streams:
            if not s.closed:
                times += list(s.start_s + np.concatenate([[0.0], np.cumsum(s.gaps_s[:-1])]))
        if times:
            yield Arrivals(np.sort(np.asarray(times)))


def class_query(name: str, classes: dict) -> tuple[QuerySpec, dict]:
    """The query of one job of class ``name`` (catalog or the scenario's own classes)."""
    if name in classes:
        c = classes[name]
        q = QuerySpec(c.work_core_s, c.estimate_core_s, c.oracle_tasks)
        return q, {"estimate_core_s": c.estimate_core_s}
    from .jobs import job_class

    c = job_class(name)
    return QuerySpec(c.work_core_s, c.oracle_estimate_core_s, c.oracle_tasks), {}


# -- scenario files ------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class StreamFile(_Strict):
    workload: str = Field(min_length=1, max_length=200)
    job_class: str = Field(alias="class", min_length=1, max_length=100)
    jobs: int = Field(ge=1, le=MAX_JOBS)
    start_s: float = Field(0.0, ge=0, le=1e8)
    loop: Literal["open", "closed"] = "open"
    rate_per_min: float = Field(0.0, ge=0, le=1e6)
    queries_per_job: int = Field(1, ge=1, le=10_000)


class UserFile(_Strict):
    name: str = Field(min_length=1, max_length=200)
    streams: list[StreamFile] = Field(min_length=1)


class ClassFile(_Strict):
    work_core_s: float = Field(gt=0, le=1e8)
    estimate_core_s: float = Field(gt=0, le=1e8)
    oracle_tasks: int | None = Field(None, ge=1, le=100_000)


class ScenarioFile(_Strict):
    name: str = Field(min_length=1)
    description: str = ""
    classes: dict[str, ClassFile] = Field(default_factory=dict)
    users: list[UserFile] = Field(min_length=1)


BUNDLED = "sim_models.spark.scenarios"


def bundled_scenarios() -> list[str]:
    """Names of the scenario files shipped with the package."""
    return sorted(
        p.name[:-5] for p in resources.files(BUNDLED).iterdir() if p.name.endswith(".yaml")
    )


def load_scenario(ref: str, base_dir: Path | None = None) -> ScenarioFile:
    """A scenario by bundled name or by path; errors name the file, key and line."""
    path = Path(ref)
    if ref in bundled_scenarios():
        text = resources.files(BUNDLED).joinpath(f"{ref}.yaml").read_text(encoding="utf-8")
        source = f"scenario {ref}"
    else:
        if base_dir is not None and not path.is_absolute():
            path = base_dir / path
        if not path.is_file():
            from sim.errors import did_you_mean

            raise ConfigError(
                f"no scenario {ref!r}{did_you_mean(ref, bundled_scenarios())}; bundled: "
                f"{', '.join(bundled_scenarios())}, or give a YAML file's path",
                where="workload.params.scenario",
            )
        text = path.read_text(encoding="utf-8")
        source = str(path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"malformed YAML: {str(exc).splitlines()[0]}", where=source) from None
    try:
        spec = ScenarioFile.model_validate(data)
    except ValidationError as exc:
        from sim.experiment import line_of

        err = exc.errors()[0]
        keys = tuple(err["loc"])
        line = line_of(text, keys)
        where = f"{source}:{line}" if line else source
        raise ConfigError(f"{'.'.join(map(str, keys))}: {err['msg']}", where=where) from None
    for user in spec.users:
        for s in user.streams:
            if s.job_class not in spec.classes and s.job_class.lower() not in JOB_CLASSES:
                raise ConfigError(
                    f"user {user.name!r}: unknown job class {s.job_class!r}; catalog: "
                    f"{', '.join(JOB_CLASSES)}, or define it under classes:",
                    where=source,
                )
    return spec


def scenario_plan(spec: ScenarioFile, arrivals: str, rng=None) -> Plan:
    """The streams of a scenario; gaps from the artifact's seeding rule or from ``rng``."""
    streams = []
    for user in spec.users:
        for s in user.streams:
            if arrivals == "authors":
                gaps = authors_gaps_s(user.name + s.workload, s.rate_per_min, s.jobs)
            elif s.rate_per_min == 0:
                gaps = [0.0] * s.jobs
            else:
                gaps = list(rng.exponential(60.0 / s.rate_per_min, s.jobs))
            groups = []
            for i in range(s.jobs):
                q, meta = class_query(s.job_class, spec.classes)
                groups.append(
                    JobGroupSpec(
                        user=user.name,
                        key=f"user:{user.name};workload:{s.workload}_{i};",
                        job_class=s.job_class.lower() if not meta else s.job_class,
                        queries=[q] + [QuerySpec(q.work_core_s, q.estimate_core_s, q.oracle_tasks)
                                       for _ in range(s.queries_per_job - 1)],
                        meta=dict(meta),
                    )
                )  # fmt: skip
            streams.append(
                Stream(user.name, s.workload, groups, s.start_s, gaps, s.loop == "closed")
            )
    return Plan(streams, [u.name for u in spec.users], deterministic=arrivals == "authors",
                label=spec.name)  # fmt: skip


@workload("spark.scenario", "a multi-user scenario file (the UWFQ paper's four are bundled)")
class Scenario(SparkWorkload):
    class Params(Params):
        scenario: str = Field(
            min_length=1, max_length=4096, description="bundled scenario name or a YAML path"
        )
        arrivals: Literal["authors", "random"] = Field(
            "authors", description="authors: the artifact's seeded gaps; random: the run's stream"
        )

    def plan(self) -> Plan:
        spec = load_scenario(self.params.scenario, self.context.experiment_dir)
        rng = self.scope.rng("gaps") if self.params.arrivals == "random" else None
        return scenario_plan(spec, self.params.arrivals, rng)


# -- Google windows --------------------------------------------------------------------------


class _TraceScaling(Params):
    window: Literal["hetero", "homo", "custom"] = Field(
        "custom", description="hetero/homo: the paper's SCALING and FILTER_LARGE for that window"
    )
    scaling: float | None = Field(None, gt=0, le=1e6, description="SCALING (default: the window's)")
    filter_large_factor: float | None = Field(
        None, gt=0, le=1e6, description="drop workflows >= factor x median length"
    )
    parallelization_scaling: float = Field(
        24.0, gt=0, le=1e6, description="PARALLELIZATION_SCALING"
    )
    estimate_factor: float = Field(
        4.3, gt=0, le=1e6, description="size given to schedulers / nominal"
    )
    trace_cores: int = Field(32, ge=1, le=1_000_000, description="the divisor 32 of the rule")
    until_s: float | None = Field(
        None, gt=0, le=1e9, description="keep only workflows starting before this (seconds)"
    )

    def rules(self) -> tuple[float, float | None]:
        preset = WINDOWS.get(self.window, {})
        scaling = self.scaling if self.scaling is not None else preset.get("scaling", 1.0)
        filt = self.filter_large_factor
        if filt is None and self.window != "custom":
            filt = preset.get("filter_large_factor")
        return scaling, filt


def trace_plan(rows, p: _TraceScaling, label: str) -> Plan:
    scaling, filt = p.rules()
    jobs, users = scale_window(
        rows, scaling, filter_large_factor=filt,
        parallelization=p.parallelization_scaling, cores=p.trace_cores,
    )  # fmt: skip
    if p.until_s is not None:
        jobs = [j for j in jobs if j.start_s < p.until_s]
    streams = [
        Stream(spec.user, f"loop_custom_{spec.meta['workflow_id']}", [spec], start, [0.0], False)
        for start, spec in job_groups(jobs, p.estimate_factor)
    ]
    return Plan(streams, users, deterministic=True, label=label,
                meta={"scaling": scaling, "filter_large_factor": filt})  # fmt: skip


@workload("spark.google_window", "a Google trace window (WTA excerpt) with the paper's scaling")
class GoogleWindow(SparkWorkload):
    class Params(_TraceScaling):
        path: str = Field(min_length=1, max_length=4096, description="WTA-format excerpt CSV")

    def plan(self) -> Plan:
        rows = read_wta(self.context.resolve(self.params.path))
        return trace_plan(rows, self.params, label=f"google_{self.params.window}")


@workload("spark.google_task_events", "a window cut from Google 2011 task_events files")
class GoogleTaskEvents(SparkWorkload):
    class Params(_TraceScaling):
        paths: list[str] = Field(min_length=1, max_length=1000, description="task_events files")
        start_s: float = Field(ge=0, le=1e8, description="window start (trace seconds)")
        period_s: float = Field(500.0, gt=0, le=1e8, description="window length (seconds)")

    def plan(self) -> Plan:
        paths = [self.context.resolve(p) for p in self.params.paths]
        rows = read_task_events(paths, self.params.start_s, self.params.period_s)
        return trace_plan(rows, self.params, label="google_task_events")


# -- generator -------------------------------------------------------------------------------


@workload("spark.multi_user", "generated multi-user load: class mix, open or closed loops")
class MultiUser(SparkWorkload):
    class Params(Params):
        users: int = Field(4, ge=1, le=10_000, description="number of users")
        jobs_per_user: int = Field(10, ge=1, le=100_000, description="job groups per user")
        classes: list[str] = Field(default_factory=lambda: ["loop100"], min_length=1,
                                   description="job classes to draw from (catalog names)")  # fmt: skip
        class_weights: list[float] | None = Field(None, description="their probabilities")
        loop: Literal["open", "closed"] = "open"
        rate_per_min: float = Field(6.0, ge=0, le=1e6, description="user 0's job rate")
        rate_skew: float = Field(1.0, gt=0, le=100, description="user k's rate = rate x skew^k")
        start_spread_s: float = Field(
            0.0, ge=0, le=1e7, description="users start uniformly in [0, this]"
        )
        queries_per_job: int = Field(1, ge=1, le=1000, description="queries per job group")

    def plan(self) -> Plan:
        p = self.params
        if p.users * p.jobs_per_user > MAX_JOBS:
            raise ConfigError(f"users x jobs_per_user exceeds {MAX_JOBS}", where="workload.params")
        for c in p.classes:
            if c.lower() not in JOB_CLASSES:
                raise ConfigError(f"unknown job class {c!r}; catalog: {', '.join(JOB_CLASSES)}",
                                  where="workload.params.classes")  # fmt: skip
        w = np.ones(len(p.classes)) if p.class_weights is None else np.asarray(p.class_weights)
        if w.size != len(p.classes) or (w < 0).any() or w.sum() <= 0:
            raise ConfigError("class_weights: one non-negative weight per class, not all zero",
                              where="workload.params.class_weights")  # fmt: skip
        w = w / w.sum()
        rng = self.scope.rng("plan")
        streams = []
        for k in range(p.users):
            user = f"user_{k + 1}"
            rate = p.rate_per_min * p.rate_skew**k
            picks = rng.choice(len(p.classes), size=p.jobs_per_user, p=w)
            gaps = [0.0] * p.jobs_per_user if rate == 0 else list(
                rng.exponential(60.0 / rate, p.jobs_per_user))  # fmt: skip
            groups = []
            for i, ci in enumerate(picks):
                q, _ = class_query(p.classes[ci].lower(), {})
                groups.append(JobGroupSpec(user, f"user:{user};workload:generated_{i};",
                                           p.classes[ci].lower(),
                                           [q] * 1 + [QuerySpec(q.work_core_s, q.estimate_core_s,
                                                                q.oracle_tasks)
                                                      for _ in range(p.queries_per_job - 1)]))  # fmt: skip
            start = float(rng.uniform(0, p.start_spread_s)) if p.start_spread_s > 0 else 0.0
            streams.append(Stream(user, "generated", groups, start, gaps, p.loop == "closed"))
        return Plan(streams, [f"user_{k + 1}" for k in range(p.users)], deterministic=False,
                    label="multi_user")  # fmt: skip
