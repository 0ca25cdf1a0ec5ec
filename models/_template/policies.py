"""The template's policies: one domain per slot, each policy a small class.

A policy domain is named ``<package>.<decision>``; a policy's methods are whatever its slot
calls (here: ``admit``, ``pick``, ``key``). Policies get their random streams from their
scope (``self.scope.rng(...)``: the stream ``<model>.<slot>.<name>``), never from a global.
"""

from __future__ import annotations

from pydantic import Field

from sim.model import Params, Policy
from sim.registry import policy

ADMISSION = "template.admission"
DISPATCH = "template.dispatch"
ORDER = "template.order"


# -- admission: whether an arriving job enters at all ------------------------------------------
@policy(ADMISSION, "always", "admit every job")
class AlwaysAdmit(Policy):
    def admit(self, queued: int) -> bool:
        return True


@policy(ADMISSION, "queue_limit", "reject a job when the chosen server already queues many")
class QueueLimit(Policy):
    class Params(Params):
        max_queue: int = Field(10, ge=0, le=10**6, description="jobs waiting per server")

    def admit(self, queued: int) -> bool:
        return queued < self.params.max_queue


# -- dispatch: which server a job goes to -------------------------------------------------------
@policy(DISPATCH, "round_robin", "servers in turn")
class RoundRobin(Policy):
    def __init__(self, params=None):
        super().__init__(params)
        self._next = 0

    def pick(self, loads: list[int]) -> int:
        i = self._next % len(loads)
        self._next += 1
        return i


@policy(DISPATCH, "shortest_queue", "the server with the fewest jobs (lowest index on ties)")
class ShortestQueue(Policy):
    def pick(self, loads: list[int]) -> int:
        return loads.index(min(loads))


@policy(DISPATCH, "random", "a server uniformly at random")
class RandomDispatch(Policy):
    def pick(self, loads: list[int]) -> int:
        return int(self.scope.rng("pick").integers(len(loads)))


# -- order: which waiting job a server takes next ---------------------------------------------
@policy(ORDER, "fifo", "first come, first served")
class FIFOOrder(Policy):
    def key(self, arrival_s: float, size_s: float) -> float:
        return arrival_s


@policy(ORDER, "smallest_first", "shortest job first (non-preemptive)")
class SmallestFirst(Policy):
    def key(self, arrival_s: float, size_s: float) -> float:
        return size_s
