"""Scheduling policies of the serving engine (slot ``scheduler``, domain ``llm.scheduler``).

A policy orders the engine's queues and may make priority changes preempt. The scheduler
(:mod:`.scheduler`) calls:

* ``key(req)``: the sort key, smaller first: running requests are kept in this order (the
  tail is preempted first), swapped requests are resumed in it, and (``orders_waiting``)
  waiting requests are admitted in it;
* ``preemptive``: whether a more important waiting or swapped request preempts less
  important running ones;
* ``on_iteration(i)``: called once per engine iteration; True when keys changed;
* ``on_arrival``, ``on_prefill``, ``on_decode``: service accounting (VTC).

Policies
    * ``fcfs``: vLLM 0.3.3's only policy: arrival time; not preemptive (vLLM 0.3.3
      ``core/policy.py``).
    * ``priority``: FastSwitch's fairness-aware preemptive scheduling driven by a
      precomputed priority trace (:class:`.priorities.PriorityTrace`: pattern, update
      frequency, levels and update rule); key = (level, arrival); preemptive.
    * ``vtc``: the Virtual Token Counter (Sheng et al., OSDI'24; the S-LoRA-based artifact
      ``Ying1123/VTC-artifact``, ``vtc_req_queue.py``): one counter per client; admission
      picks the queued request of the client with the smallest counter; a prefill adds
      ``w_p x input tokens``, each decoded token ``w_q`` to its client's counter; a client
      whose queue was empty is lifted to the smallest counter among clients with queued
      work. Key = (counter, arrival); not preemptive by default (the artifact only orders
      admission), ``preemptive: true`` turns counter changes into context switches.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sim.model import Params, Policy
from sim.registry import policy
from sim.rng import RandomStreams

from .priorities import PriorityTrace
from .request import Request

DOMAIN = "llm.scheduler"


class SchedulerPolicy(Policy):
    preemptive = False
    orders_waiting = False
    dynamic_keys = False  # keys change at every iteration (re-sort every time)

    def start(self, conversations: int, streams) -> None:
        """Called by the engine before the run: how many conversations the workload has and
        a source of random streams (``streams(name)``)."""

    def key(self, req: Request):
        return req.arrival_s

    def on_iteration(self, iteration: int) -> bool:
        return False

    def on_arrival(self, req: Request, queued_clients) -> None:
        pass

    def on_prefill(self, req: Request, tokens: int) -> None:
        pass

    def on_decode(self, reqs: list[Request]) -> None:
        pass


@policy(DOMAIN, "fcfs", "vLLM 0.3.3: first come, first served, no priority preemption")
class FCFS(SchedulerPolicy):
    def key(self, req: Request):
        return req.arrival_s


@policy(DOMAIN, "priority", "FastSwitch: preemptive priorities from a precomputed trace")
class PriorityPolicy(SchedulerPolicy):
    preemptive = True
    orders_waiting = True

    class Params(Params):
        pattern: Literal["random", "markov"] = Field("random", description="trace pattern")
        update_frequency: float = Field(
            0.04, ge=0.0, le=1.0, description="probability of a priority update per iteration"
        )
        levels: int = Field(4, ge=1, le=1000, description="priority levels (0 = most important)")
        markov_move: float = Field(
            0.5, ge=0.0, le=1.0, description="markov: probability of moving one level per update"
        )
        update_rule: Literal["global", "per_conversation"] = Field(
            "global", description="global: all conversations at once; per_conversation: each on its own"
        )
        seed: int | None = Field(
            None, ge=0, le=2**63 - 1, description="fixed trace seed (default: the run's)"
        )

    def start(self, conversations: int, streams) -> None:
        p = self.params
        if p.seed is not None:
            fixed = RandomStreams(p.seed)
            streams = lambda name: fixed.get(f"llm.priority.{name}")  # noqa: E731
        per_conv = p.update_rule == "per_conversation"
        self.trace = PriorityTrace(
            p.pattern, p.update_frequency, p.levels, streams("updates"), streams("levels"),
            markov_move=p.markov_move, conversations=max(1, conversations),
            rule=p.update_rule, rng_gaps=streams("gaps") if per_conv else None,
        )  # fmt: skip
        self.updates = 0  # iterations at which some conversation's level changed
        self._levels = self.trace.current

    def on_iteration(self, iteration: int) -> bool:
        if self.trace.advance(iteration):
            self.updates += 1
            self._levels = self.trace.current
            return True
        return False

    def key(self, req: Request):
        return (self._levels[req.conv.id], req.arrival_s)


@policy(DOMAIN, "vtc", "Virtual Token Counter (OSDI'24): least-served client first")
class VTC(SchedulerPolicy):
    orders_waiting = True
    dynamic_keys = True

    class Params(Params):
        input_weight: float = Field(1.0, ge=0.0, le=1e3, description="w_p per prefill token")
        output_weight: float = Field(2.0, ge=0.0, le=1e3, description="w_q per decoded token")
        preemptive: bool = Field(False, description="counter changes preempt running requests")

    def __init__(self, params=None):
        super().__init__(params)
        self.counters: dict[int, float] = {}
        self.preemptive = self.params.preemptive

    def key(self, req: Request):
        return (self.counters.get(req.conv.client, 0.0), req.arrival_s)

    def on_arrival(self, req: Request, queued_clients) -> None:
        c = req.conv.client
        others = [self.counters.get(o, 0.0) for o in queued_clients if o != c]
        if others:
            self.counters[c] = max(self.counters.get(c, 0.0), min(others))
        else:
            self.counters.setdefault(c, 0.0)

    def on_prefill(self, req: Request, tokens: int) -> None:
        c = req.conv.client
        self.counters[c] = self.counters.get(c, 0.0) + self.params.input_weight * tokens

    def on_decode(self, reqs: list[Request]) -> None:
        w = self.params.output_weight
        counters = self.counters
        for r in reqs:
            c = r.conv.client
            counters[c] = counters.get(c, 0.0) + w
