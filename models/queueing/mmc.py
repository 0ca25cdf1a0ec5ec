"""M/M/c and M/G/c queues, FIFO or processor sharing: the engine's reference model.

What it models: ``servers`` identical servers; Poisson arrivals at ``arrival_rate``;
service requirements with mean ``1/service_rate`` drawn from ``service_distribution``
(exponential by default, or deterministic / gamma / lognormal with ``service_cv``);
discipline ``fifo`` (one queue, first come first served) or ``ps`` (processor sharing: with
n customers present each is served at rate min(1, servers/n)). ``customers`` arrivals are
generated; the run ends when they have all left (or at the experiment's stop condition).

Arrivals come from the model's workload when the experiment names one (``workload: poisson``
or ``workload: {name: trace, params: {path: ..., columns: [service_s]}}``): at most
``customers`` arrivals are taken from it, and an arrival's ``service_s`` column, if the
workload has one, is its service requirement. Without a workload the model makes its own
Poisson arrivals at ``arrival_rate`` (the registered ``poisson`` workload).

What it leaves out: balking, reneging, finite buffers, server heterogeneity.

Statistics skip the first ``warmup_fraction`` of customers (by arrival order), so that the
empty start biases the means little. ``wait_s`` is the time before service starts (FIFO), or
response time minus service requirement (PS). ``utilization`` is the time-average number of
busy servers divided by ``servers`` over the whole run.

Lean event pattern: no process per customer. Arrivals and departures are SimPy timeouts with
plain callbacks; random numbers are drawn in vectorised blocks. A FIFO customer costs two
events; a PS customer about two plus the stale wake-ups of rescheduled departures.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator
from sim_models.queueing import distributions, theory

from sim.events import call_later
from sim.model import Model, Params
from sim.recorder import cdf, summarize
from sim.registry import model
from sim.workload import ArrivalFeed, Arrivals
from sim.workloads import PoissonArrivals

BLOCK = 65_536


class _Draws:
    """A refillable block of random numbers from one named stream."""

    def __init__(self, fill):
        self._fill = fill
        self._buf = np.empty(0)
        self._i = 0

    def next(self) -> float:
        if self._i >= len(self._buf):
            self._buf = self._fill(BLOCK)
            self._i = 0
        v = self._buf[self._i]
        self._i += 1
        return float(v)


@model("queueing.mmc", "M/M/c or M/G/c queue, FIFO or processor sharing (Erlang-C reference)")
class MMc(Model):
    class Params(Params):
        servers: int = Field(1, ge=1, le=100_000, description="number of identical servers")
        arrival_rate: float = Field(
            0.8, ge=1e-9, le=1e9, description="Poisson arrival rate (1/s)"
        )
        service_rate: float = Field(
            1.0, ge=1e-9, le=1e9, description="service rate of one server (1/s)"
        )
        customers: int = Field(100_000, ge=1, le=10**9, description="arrivals to generate")
        discipline: Literal["fifo", "ps"] = "fifo"
        service_distribution: Literal["exponential", "deterministic", "gamma", "lognormal"] = (
            "exponential"
        )
        service_cv: float = Field(
            1.0, ge=0, le=100, description="cv of service (gamma, lognormal)"
        )
        warmup_fraction: float = Field(0.1, ge=0, lt=1, description="customers left out")

        @model_validator(mode="after")
        def _stable(self):
            rho = self.arrival_rate / (self.servers * self.service_rate)
            if rho >= 1:
                raise ValueError(
                    f"utilization arrival_rate/(servers*service_rate) = {rho:.3f} >= 1: "
                    "the queue is unstable"
                )
            return self

    # -- build ---------------------------------------------------------------------------
    def build(self, sim) -> None:
        p = self.params
        self.sim = sim
        self.env = sim.env
        rng_s = self.scope.rng("service")
        mean_s = 1.0 / p.service_rate
        self._work = _Draws(
            lambda n: distributions.draw(rng_s, p.service_distribution, mean_s, p.service_cv, n)
        )
        self._warmup = int(p.customers * p.warmup_fraction)
        self._wait = self.scope.probe("wait_s")
        self._response = self.scope.probe("response_s")
        self._arrived = 0
        self._busy = 0
        self._busy_area = 0.0
        self._last_change = 0.0
        self._trace = self.scope.tracing
        self._idle_servers = list(range(p.servers - 1, -1, -1))  # used only when tracing
        self._server_of: dict[int, int] = {}
        if p.discipline == "fifo":
            self._queue: deque = deque()
            self._on_arrival = self._fifo_arrival
        else:
            self._ps_heap: list = []  # (finish virtual time, seq, arrival_t, work, index)
            self._virtual = 0.0  # attained service per customer since t=0
            self._vt_at = 0.0  # real time at which _virtual was last advanced
            self._generation = 0
            self._on_arrival = self._ps_arrival
        source = self.workload
        if source is None:
            source = PoissonArrivals(
                PoissonArrivals.Params(rate_per_s=p.arrival_rate, count=p.customers)
            )
            source.bind(self.scope.child("workload"), self.context)
        self.feed = ArrivalFeed(sim.env, self._capped(source.batches()), self._arrival)

    def _capped(self, batches):
        """At most ``customers`` arrivals from the workload."""
        left = self.params.customers
        for batch in batches:
            if len(batch) >= left:
                yield Arrivals(batch.time_s[:left], {k: v[:left] for k, v in batch.columns.items()})
                return
            left -= len(batch)
            yield batch

    # -- shared bookkeeping --------------------------------------------------------------
    def _set_busy(self, busy: int) -> None:
        now = self.env.now
        self._busy_area += self._busy * (now - self._last_change)
        self._last_change = now
        self._busy = busy

    def _arrival(self, batch: Arrivals, i: int) -> None:
        index = self._arrived
        self._arrived += 1
        service = batch.columns.get("service_s")
        self._on_arrival(index, float(service[i]) if service is not None else None)

    def _done(self, index: int, arrival_t: float, wait: float) -> None:
        if index >= self._warmup:
            self._wait.record(wait)
            self._response.record(self.env.now - arrival_t)
        self.sim.completed()

    # -- FIFO ----------------------------------------------------------------------------
    def _fifo_arrival(self, index: int, work: float | None) -> None:
        now = self.env.now
        if self._busy < self.params.servers:
            self._set_busy(self._busy + 1)
            self._fifo_start(index, now, now, work)
        else:
            self._queue.append((index, now, work))

    def _fifo_start(self, index: int, arrival_t: float, now: float, work: float | None) -> None:
        if work is None:
            work = self._work.next()
        call_later(self.env, work, self._fifo_departure, (index, arrival_t, now - arrival_t))
        if self._trace:
            server = self._server_of[index] = self._idle_servers.pop()
            self.sim.timeline.span(f"customer {index}", now, now + work, track=f"server {server}")

    def _fifo_departure(self, ev) -> None:
        index, arrival_t, wait = ev.value
        self._done(index, arrival_t, wait)
        if self._trace:
            self._idle_servers.append(self._server_of.pop(index))
        if self._queue:
            nxt, nxt_arrival, nxt_work = self._queue.popleft()
            self._fifo_start(nxt, nxt_arrival, self.env.now, nxt_work)
        else:
            self._set_busy(self._busy - 1)

    # -- processor sharing ---------------------------------------------------------------
    def _ps_rate(self) -> float:
        n = len(self._ps_heap)
        return min(1.0, self.params.servers / n) if n else 0.0

    def _ps_advance(self) -> None:
        now = self.env.now
        self._virtual += self._ps_rate() * (now - self._vt_at)
        self._vt_at = now

    def _ps_reschedule(self) -> None:
        self._set_busy(min(len(self._ps_heap), self.params.servers))
        self._generation += 1
        if not self._ps_heap:
            return
        finish_v = self._ps_heap[0][0]
        delay = max(0.0, (finish_v - self._virtual) / self._ps_rate())
        call_later(self.env, delay, self._ps_departure, self._generation)

    def _ps_arrival(self, index: int, work: float | None) -> None:
        self._ps_advance()
        if work is None:
            work = self._work.next()
        heapq.heappush(self._ps_heap, (self._virtual + work, index, self.env.now, work))
        self._ps_reschedule()

    def _ps_departure(self, ev) -> None:
        if ev.value != self._generation:
            return  # superseded by a later arrival or departure
        self._ps_advance()
        eps = 1e-12 * max(1.0, abs(self._virtual))
        while self._ps_heap and self._ps_heap[0][0] <= self._virtual + eps:
            _, index, arrival_t, work = heapq.heappop(self._ps_heap)
            self._done(index, arrival_t, (self.env.now - arrival_t) - work)
        self._ps_reschedule()

    # -- results -------------------------------------------------------------------------
    def summary(self) -> dict[str, float]:
        p = self.params
        self._set_busy(self._busy)  # close the busy-time integral at the current time
        out = summarize(self._wait.values(), "wait_s")
        out.update(summarize(self._response.values(), "response_s"))
        elapsed = self.env.now
        out["utilization.mean"] = self._busy_area / (p.servers * elapsed) if elapsed else math.nan
        out["customers"] = float(self.sim.done_count)
        if self.workload is None:
            out["offered_utilization"] = p.arrival_rate / (p.servers * p.service_rate)
        ref = self.reference()
        out.update({f"{k}.theory": v for k, v in ref.items()})
        return out

    def reference(self) -> dict[str, float]:
        """Closed-form values for this configuration where one exists (empty otherwise, and
        always empty when a workload drives the queue)."""
        p = self.params
        if self.workload is not None:
            return {}
        mean_s = 1.0 / p.service_rate
        cv = distributions.effective_cv(p.service_distribution, p.service_cv)
        if p.discipline == "fifo" and p.service_distribution == "exponential":
            w = theory.mmc_mean_wait(p.servers, p.arrival_rate, p.service_rate)
            return {"wait_s.mean": w, "response_s.mean": w + mean_s}
        if p.discipline == "fifo" and p.servers == 1:
            w = theory.mg1_mean_wait(p.arrival_rate, mean_s, cv)
            return {"wait_s.mean": w, "response_s.mean": w + mean_s}
        if p.discipline == "ps" and p.servers == 1:
            r = theory.mg1_ps_mean_response(p.arrival_rate, mean_s)
            return {"response_s.mean": r, "wait_s.mean": r - mean_s}
        if p.discipline == "ps" and p.service_distribution == "exponential":
            r = theory.mmc_mean_response(p.servers, p.arrival_rate, p.service_rate)
            return {"response_s.mean": r}
        return {}

    def tables(self) -> dict[str, pd.DataFrame]:
        wait, response = self._wait.values(), self._response.values()
        return {
            "customers": pd.DataFrame({"wait_s": wait, "response_s": response}),
            "wait_cdf": cdf(wait),
            "response_cdf": cdf(response),
        }

    def figures(self, out_dir: Path) -> list[Path]:
        """The waiting-time CDF, with Erlang-C's where the queue is M/M/c FIFO."""
        from sim_models.queueing.figures import wait_cdf

        p = self.params
        exact = p.discipline == "fifo" and p.service_distribution == "exponential"
        ref = (p.servers, p.arrival_rate, p.service_rate) if exact and not self.workload else None
        return wait_cdf(self._wait.values(), ref, out_dir)

    @classmethod
    def sweep_figures(cls, table: pd.DataFrame, out_dir: Path) -> list[Path]:
        """Mean wait against utilization: simulated points and the Erlang-C line."""
        from sim_models.queueing.figures import wait_vs_utilization

        return wait_vs_utilization(table, out_dir)
