"""``serverless.single_function``: one function under the scale-per-request model of the
analytical literature and of SimFaaS (Mahmoudi and Khazaei, "SimFaaS: A Performance
Simulator for Serverless Computing Platforms", CLOSER 2021).

What it models
    Poisson arrivals at ``arrival_rate`` (1/s) for ``horizon_s`` simulated seconds. An
    arrival goes to an idle instance chosen by ``routing`` (``newest``: the most recently
    created idle instance, as in SimFaaS; ``oldest``; ``random``) and runs a warm service,
    exponential with mean ``warm_service_s``. With no idle instance a new instance starts
    (a cold start) and runs a cold service, exponential with mean ``cold_service_s`` (which
    includes the start-up), unless ``max_concurrency`` instances exist already: then the
    request is rejected. An instance idle for ``keepalive_s`` is deleted. The pod life cycle
    is :mod:`..lifecycle`'s, the same the platform model uses.

Summary (time averages and fractions over ``[warmup, horizon]``, where warmup is
``warmup_fraction * horizon_s``)
    ``cold_start_prob`` (cold starts / arrivals), ``rejection_prob`` (rejected / arrivals),
    ``instances.mean``, ``instances_running.mean``, ``instances_idle.mean`` and
    ``instance_lifespan_s.mean`` (creation to deletion, over instances created and deleted
    inside the window), plus ``requests``, ``cold_starts``, ``rejected`` counts.

Closed forms it agrees with (tests/serverless/test_single_function.py)
    keep-alive 0: an Erlang loss system M/M/c/c with the cold service; keep-alive longer
    than the horizon: M/M/c/c with the warm service once c instances exist; one instance
    (max_concurrency 1): a cold start with probability exp(-arrival_rate * keepalive_s).

Lean event pattern: one SimPy event per arrival; request ends and keep-alive expiries are
entries of the function's own event heap, processed when the next arrival comes (or at
the end), which gives the same instances as processing them at their own times.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from sim.model import Model, Params
from sim.registry import model
from sim.workloads import PoissonArrivals

from .lifecycle import END, FunctionPods, Pod

BLOCK = 65_536
#: The most requests a run may simulate (arrival_rate x horizon_s): a time and memory guard.
MAX_REQUESTS = 2 * 10**8


class _Exp:
    """Exponential draws with a fixed mean, from one stream, in blocks."""

    __slots__ = ("rng", "mean", "buf", "i")

    def __init__(self, rng: np.random.Generator, mean: float):
        self.rng, self.mean, self.buf, self.i = rng, mean, [], 0

    def next(self) -> float:
        if self.i >= len(self.buf):
            self.buf = self.rng.exponential(self.mean, BLOCK).tolist()
            self.i = 0
        v = self.buf[self.i]
        self.i += 1
        return v


@model("serverless.single_function", "one function, scale per request, fixed keep-alive (SimFaaS)")
class SingleFunction(Model):
    class Params(Params):
        arrival_rate: float = Field(0.9, gt=0, le=1e6, description="Poisson arrivals (1/s)")
        warm_service_s: float = Field(1.991, gt=0, le=1e6, description="mean warm service (s)")
        cold_service_s: float = Field(2.244, gt=0, le=1e6,
                                      description="mean cold service, start-up included (s)")  # fmt: skip
        keepalive_s: float = Field(600.0, ge=0, le=1e9,
                                   description="idle time after which an instance is deleted (s)")  # fmt: skip
        max_concurrency: int = Field(1000, ge=1, le=100_000,
                                     description="most instances at once; beyond: rejected")  # fmt: skip
        routing: Literal["newest", "oldest", "random"] = Field(
            "newest", description="which idle instance an arrival takes"
        )
        horizon_s: float = Field(1e6, gt=0, le=1e10, description="simulated seconds")
        warmup_fraction: float = Field(0.1, ge=0, lt=1,
                                       description="share of the horizon left out of statistics")  # fmt: skip

        @model_validator(mode="after")
        def _bounded(self):
            if self.arrival_rate * self.horizon_s > MAX_REQUESTS:
                raise ValueError(
                    f"arrival_rate * horizon_s = {self.arrival_rate * self.horizon_s:.3g} "
                    f"requests; at most {MAX_REQUESTS:.0e}"
                )
            return self

    def build(self, sim) -> None:
        p = self.params
        self.env = sim.env
        self.start_s = p.warmup_fraction * p.horizon_s
        self.end_s = p.horizon_s
        self.max_instances = p.max_concurrency
        self._warm = _Exp(self.scope.rng("warm_service"), p.warm_service_s)
        self._cold = _Exp(self.scope.rng("cold_service"), p.cold_service_s)
        pick = None
        if p.routing == "random":
            rng = self.scope.rng("routing")
            pick = lambda n: int(rng.integers(n))  # noqa: E731
        keep = p.keepalive_s

        def keep_alive(_fp, _pod, _t):
            return keep, None

        self.pods = FunctionPods(0, keep_alive, 1, p.routing, pick, on_end=self._pod_end)
        self._all: list[Pod] = []
        self.arrived = 0
        self._before = 0  # arrivals admitted before the statistics window
        self._cold_at: list[float] = []  # times of cold starts
        self._rejected_at: list[float] = []  # times of rejected arrivals
        self.service_sum = 0.0  # running time inside the window (overhang removed at the end)
        self._lifespans: list[float] = []
        source = self.workload
        if source is None:
            source = PoissonArrivals(
                PoissonArrivals.Params(rate_per_s=p.arrival_rate, until_s=p.horizon_s)
            )
            source.bind(self.scope.child("workload"), self.context)
        self._batches = source.batches()
        self._times: list[float] = []
        self._next_i = 0
        self._count_done = self.context.count is not None
        self._schedule_next()

    def _schedule_next(self) -> None:
        """One timeout per arrival, with this model's callback (no process)."""
        if self._next_i >= len(self._times):
            batch = next(self._batches, None)
            while batch is not None and len(batch) == 0:
                batch = next(self._batches, None)
            if batch is None:
                return
            self._times, self._next_i = batch.time_s.tolist(), 0
        t = self._times[self._next_i]
        self._next_i += 1
        delay = t - self.env.now
        self.env.timeout(delay if delay > 0.0 else 0.0).callbacks.append(self._arrival)

    def _arrival(self, _ev) -> None:
        self._schedule_next()
        now = self.env.now
        fp = self.pods
        self.arrived += 1
        pod = fp.acquire(now)
        if pod is not None:
            service = self._warm.next()
        elif fp.live < self.max_instances:
            pod = Pod(len(self._all), 0, now)
            self._all.append(pod)
            fp.add(pod, now, 0.0)
            service = self._cold.next()
            self._cold_at.append(now)
        else:
            self._rejected_at.append(now)
            if self._count_done:
                self.sim.completed()
            return
        fp.assign(pod, now, service)
        if now >= self.start_s:
            self.service_sum += service
        else:
            self._before += 1
            if now + service > self.start_s:  # runs into the window
                self.service_sum += now + service - self.start_s
        if self._count_done:
            self.sim.completed()

    def _pod_end(self, pod: Pod) -> None:
        if pod.created_s >= self.start_s and pod.deleted_s <= self.end_s:
            self._lifespans.append(pod.deleted_s - pod.created_s)

    def finish(self) -> None:
        """Process what is left (request ends, expiries) so the records are complete."""
        self.pods.settle(math.inf)

    def summary(self) -> dict[str, float]:
        start, end = self.start_s, self.end_s
        running = self.service_sum
        for t, kind, _seq, _pod, a, _b in self.pods.events:  # requests running past the end
            if kind == END and t > end:
                running -= t - max(a, end)
        self.finish()
        window = end - start
        area = 0.0
        for pod in self._all:
            gone = pod.deleted_s if pod.deleted_s == pod.deleted_s else end
            a, b = max(pod.created_s, start), min(gone, end)
            if b > a:
                area += b - a
        cold = np.asarray(self._cold_at)
        rejected = np.asarray(self._rejected_at)
        cold_in = int((cold >= start).sum())
        rejected_in = int((rejected >= start).sum())
        counted = self.arrived - self._before - int((rejected < start).sum())
        n = max(counted, 1)
        life = np.asarray(self._lifespans)
        return {
            "requests": float(self.arrived),
            "cold_starts": float(cold.size),
            "rejected": float(rejected.size),
            "cold_start_prob": cold_in / n,
            "rejection_prob": rejected_in / n,
            "instances.mean": area / window,
            "instances_running.mean": running / window,
            "instances_idle.mean": (area - running) / window,
            "instance_lifespan_s.mean": float(life.mean()) if life.size else math.nan,
            "instance_lifespan_s.count": float(life.size),
        }
