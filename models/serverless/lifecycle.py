"""The pod life cycle shared by every serverless model: creation (cold start), requests on
pods with a concurrency limit, keep-alive, pre-warm, deletion.

What it models
    :class:`FunctionPods` holds the pods of one function (in one cluster) and everything
    that happens to them: a request takes a pod that has a free slot, chosen by a routing
    rule (``newest``, ``oldest`` or ``random`` by creation order); with none, the caller
    creates a pod (a cold start) and the request waits until it is ready. A pod whose
    last request finishes goes idle and asks the keep-alive rule how long to stay
    (``(keep_s, prewarm_after_s)``: keep it ``keep_s``, or unload it now and load a fresh
    one ``prewarm_after_s`` later for ``keep_s``, as the pre-warming policies do). An idle
    pod still idle when its keep-alive runs out is deleted. Each pod records its creation,
    readiness, requests served, busy time and deletion, so pod-level metrics (lifetime,
    idle pod-seconds, utility ratio) are exact.

How time advances
    Everything that happens to a function's pods without an outside cause (a request
    ending, a keep-alive running out, a pre-warm falling due) is an entry in the function's
    own event heap, processed in time order by :meth:`FunctionPods.settle`. A driver calls
    ``settle(now)`` before it acts on the function at ``now``; the SimPy platform model
    also wakes each function at its next event time (:meth:`next_time`), while the lean
    replay path only settles when the function's next request arrives. Both produce the
    same pods because the same entries are processed in the same order (at one instant:
    request ends, then expiries, then pre-warms, then the arrival). A pod's readiness is
    either known when it is created (its cold-start time is drawn up front) or reported by
    the driver (:meth:`FunctionPods.ready`, after the platform's pool and scheduler).

What it leaves out
    Queueing at a pod: a request finding no free slot always gets a new pod (the
    scale-per-request model of the Huawei platform, §2.2, and of the analytical
    literature), unless the caller's instance cap rejects it.
"""

from __future__ import annotations

import heapq
import itertools
import math
from bisect import bisect_left, insort
from collections.abc import Callable
from typing import Any

#: Event kinds, in their order at one instant.
END, EXPIRE, PREWARM = 1, 2, 3

INF = math.inf


class Pod:
    """One pod (function instance). Times are simulated seconds; ``deleted_s`` is NaN
    while the pod lives."""

    __slots__ = (
        "index",
        "func",
        "cluster",
        "created_s",
        "ready_s",
        "cold_start_s",
        "components",
        "memory_mb",
        "prewarmed",
        "in_flight",
        "served",
        "busy_s",
        "busy_since",
        "first_request_s",
        "last_end_s",
        "deleted_s",
        "expires_s",
        "exp_entry",
        "pending",
        "info",
    )

    def __init__(self, index: int, func: int, created_s: float, memory_mb: float = 0.0,
                 cluster: int = 0, prewarmed: bool = False):  # fmt: skip
        self.index = index
        self.func = func
        self.cluster = cluster
        self.created_s = created_s
        self.ready_s: float | None = None
        self.cold_start_s = math.nan
        self.components: tuple[float, ...] = ()
        self.memory_mb = memory_mb
        self.prewarmed = prewarmed
        self.in_flight = 0
        self.served = 0
        self.busy_s = 0.0
        self.busy_since = 0.0
        self.first_request_s = math.nan
        self.last_end_s = math.nan
        self.deleted_s = math.nan
        self.expires_s = INF  # when an idle pod is due for deletion
        self.exp_entry = INF  # time of its earliest pending expiry entry (INF: none)
        self.pending: list[tuple[float, Any]] | None = None  # requests waiting for readiness
        self.info: Any = None  # the driver's own data (the platform's pool, cluster ...)

    @property
    def alive(self) -> bool:
        return self.deleted_s != self.deleted_s  # NaN: not deleted

    def __repr__(self) -> str:
        return (f"Pod({self.index}, func={self.func}, created={self.created_s:g}, "
                f"served={self.served}, deleted={self.deleted_s:g})")  # fmt: skip


#: keep_alive(pods, pod, t) -> (keep_s, prewarm_after_s or None)
KeepAliveRule = Callable[["FunctionPods", Pod, float], tuple[float, float | None]]


class FunctionPods:
    """The pods of one function (see the module docstring).

    ``concurrency``: requests one pod runs at once. ``routing``: ``newest`` | ``oldest`` |
    ``random`` (``random`` needs ``pick(n) -> index``). ``keep_alive``: the rule asked when a
    pod goes idle. ``on_end(pod)``: called once when a pod is deleted. ``on_prewarm(fp, t,
    keep_s)``: called when a pre-warm falls due; it creates the pod (:meth:`add_prewarmed`).
    ``on_request_end(pod, start_s, end_s, tag)``: called when a request finishes.
    """

    __slots__ = (
        "func",
        "concurrency",
        "routing",
        "_route",
        "pick",
        "keep_alive",
        "on_end",
        "on_prewarm",
        "on_request_end",
        "on_arrival",
        "open",
        "live",
        "events",
        "seq",
        "prewarm_token",
        "arrivals",
        "in_flight",
        "last_end_s",
        "state",
        "prewarm_state",
        "wake",
        "where",
        "fixed_keep",
    )

    def __init__(
        self,
        func: int,
        keep_alive: KeepAliveRule,
        concurrency: int = 1,
        routing: str = "newest",
        pick: Callable[[int], int] | None = None,
        on_end: Callable[[Pod], Any] | None = None,
        on_prewarm: Callable[[FunctionPods, float, float], Any] | None = None,
        on_request_end: Callable[[Pod, float, float, Any], Any] | None = None,
    ):
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if routing not in ("newest", "oldest", "random"):
            raise ValueError(f"unknown routing {routing!r}")
        if routing == "random" and pick is None:
            raise ValueError("random routing needs pick(n)")
        self.func = func
        self.concurrency = concurrency
        self.routing = routing
        self._route = ("newest", "oldest", "random").index(routing)
        self.pick = pick
        self.keep_alive = keep_alive
        self.on_end = on_end
        self.on_prewarm = on_prewarm
        self.on_request_end = on_request_end
        self.on_arrival: Callable[[FunctionPods, float], Any] | None = None
        self.open: list[tuple[int, Pod]] = []  # alive pods with a free slot, by creation index
        self.live = 0
        self.events: list[tuple] = []  # (time, kind, seq, pod, a, b)
        self.seq = itertools.count().__next__
        self.prewarm_token = 0
        self.arrivals = 0
        self.in_flight = 0  # requests of this function in flight (over all its pods)
        self.last_end_s = -INF  # when the function last had no request in flight
        self.state: Any = None  # the keep-alive policy's per-function state
        self.prewarm_state: Any = None  # the pre-warm policy's
        self.wake = INF  # the driver's next scheduled wake-up of this function
        self.where: Any = None  # the driver's own label (region, cluster ...)
        #: a keep-alive that never changes (a fixed TTL): skips asking the rule
        self.fixed_keep: float | None = None

    # -- the event heap -------------------------------------------------------------------
    def _push(self, t: float, kind: int, pod: Pod | None, a: Any = None, b: Any = None) -> None:
        heapq.heappush(self.events, (t, kind, self.seq(), pod, a, b))

    def next_time(self) -> float:
        """Time of the next pending event (``inf`` when none)."""
        return self.events[0][0] if self.events else INF

    def settle(self, now: float) -> None:
        """Process every pending event with time <= ``now``, in time order."""
        events = self.events
        pop = heapq.heappop
        while events and events[0][0] <= now:
            t, kind, _seq, pod, a, b = pop(events)
            if kind == END:  # a request ends (inlined: the hot path of every replay)
                if self.on_request_end is not None:
                    self.on_request_end(pod, a, t, b)
                n = pod.in_flight
                pod.in_flight = n - 1
                pod.last_end_s = t
                left = self.in_flight - 1
                self.in_flight = left
                if left == 0:
                    self.last_end_s = t
                if n >= self.concurrency and pod.deleted_s != pod.deleted_s:  # alive
                    insort(self.open, (pod.index, pod))
                if n == 1:  # the pod goes idle
                    since = pod.busy_since
                    ready = pod.ready_s
                    pod.busy_s += t - (since if since > ready else ready)
                    keep_s = self.fixed_keep
                    if keep_s is not None:
                        prewarm_s = None
                    else:
                        keep_s, prewarm_s = self.keep_alive(self, pod, t)
                    if prewarm_s is None and 0.0 < keep_s < INF:
                        pod.expires_s = e = t + keep_s
                        if e < pod.exp_entry:
                            pod.exp_entry = e
                            heapq.heappush(events, (e, EXPIRE, self.seq(), pod, None, None))
                    else:
                        self._idle(pod, t, keep_s, prewarm_s)
            elif kind == EXPIRE:
                # one pending entry per idle pod at its expiry; later copies are stale
                if t == pod.exp_entry:
                    pod.exp_entry = INF
                    if pod.in_flight == 0 and pod.deleted_s != pod.deleted_s:
                        if pod.expires_s <= t:
                            self.delete(pod, t)
                        else:
                            self._expire_at(pod, pod.expires_s)
            elif a == self.prewarm_token and self.on_prewarm is not None:  # PREWARM
                self.on_prewarm(self, t, b)

    # -- requests -------------------------------------------------------------------------
    def request(self, now: float, exec_s: float, tag: Any = None) -> float:
        """:meth:`acquire` and :meth:`assign` in one call (the hot path of a replay): the
        request's start time on the pod it took (NaN while that pod's readiness is not
        known), or -1.0 when no pod has a free slot (the caller creates one and calls
        :meth:`assign`)."""
        events = self.events
        if events and events[0][0] <= now:
            self.settle(now)
        if self.on_arrival is not None:
            self.on_arrival(self, now)
        self.arrivals += 1
        self.prewarm_token += 1
        opened = self.open
        if not opened:
            return -1.0
        route = self._route
        if route == 0:
            pod = opened[-1][1]
        elif route == 1:
            pod = opened[0][1]
        else:
            pod = opened[self.pick(len(opened))][1]
        if pod.in_flight == 0:
            pod.busy_since = now
            pod.expires_s = INF
        n = pod.in_flight + 1
        pod.in_flight = n
        if n >= self.concurrency:
            if opened[-1][1] is pod:
                opened.pop()
            else:
                self._close(pod)
        self.in_flight += 1
        pod.served += 1
        if pod.first_request_s != pod.first_request_s:  # a pre-warmed pod's first request
            pod.first_request_s = now
        ready = pod.ready_s
        if ready is None:
            pod.pending.append((exec_s, tag))
            return math.nan
        start = now if now >= ready else ready
        heapq.heappush(events, (start + exec_s, END, self.seq(), pod, start, tag))
        return start

    def acquire(self, now: float) -> Pod | None:
        """A pod with a free slot for a request arriving at ``now`` (settled first), by the
        routing rule; None when every pod is full (the caller then creates one)."""
        if self.events and self.events[0][0] <= now:
            self.settle(now)
        if self.on_arrival is not None:  # the keep-alive policy observes the arrival
            self.on_arrival(self, now)
        self.arrivals += 1
        self.prewarm_token += 1  # an arrival cancels a pending pre-warm
        opened = self.open
        if not opened:
            return None
        route = self._route
        if route == 0:  # newest
            return opened[-1][1]
        if route == 1:  # oldest
            return opened[0][1]
        return opened[self.pick(len(opened))][1]

    def assign(self, pod: Pod, now: float, exec_s: float, tag: Any = None) -> float:
        """Start a request on ``pod`` at ``now``; return its start time (``now`` on a
        ready pod, the pod's ready time on a starting one, NaN if that is unknown yet)."""
        if pod.in_flight == 0:
            pod.busy_since = now
            pod.expires_s = INF
        pod.in_flight += 1
        if pod.in_flight >= self.concurrency:
            opened = self.open
            if opened[-1][1] is pod:
                opened.pop()
            else:
                self._close(pod)
        self.in_flight += 1
        pod.served += 1
        if pod.first_request_s != pod.first_request_s:
            pod.first_request_s = now
        ready = pod.ready_s
        if ready is None:
            pod.pending.append((exec_s, tag))
            return math.nan
        start = now if now >= ready else ready
        heapq.heappush(self.events, (start + exec_s, END, self.seq(), pod, start, tag))
        return start

    def _idle(self, pod: Pod, t: float, keep_s: float, prewarm_s: float | None) -> None:
        if prewarm_s is None:
            if keep_s <= 0.0:
                self.delete(pod, t)
            elif keep_s < INF:
                self._expire_at(pod, t + keep_s)
            return
        self.delete(pod, t)  # unload now, load a fresh pod later
        self._push(t + prewarm_s, PREWARM, None, self.prewarm_token, keep_s)

    def _expire_at(self, pod: Pod, t: float) -> None:
        pod.expires_s = t
        if t < pod.exp_entry:
            pod.exp_entry = t
            self._push(t, EXPIRE, pod)

    # -- pods -----------------------------------------------------------------------------
    def add(self, pod: Pod, now: float, cold_start_s: float | None) -> Pod:
        """Register a new pod created at ``now``; ``cold_start_s`` when its start-up time
        is known now (else the driver calls :meth:`ready` later)."""
        self.live += 1
        pod.pending = []
        if pod.in_flight < self.concurrency:
            insort(self.open, (pod.index, pod))
        if cold_start_s is not None:  # known now: requests on it start at readiness
            self._ready(pod, now + cold_start_s)
        return pod

    def ready(self, pod: Pod, t: float) -> None:
        """The pod finished its cold start at ``t`` (driver-determined)."""
        self._ready(pod, t)

    def _ready(self, pod: Pod, t: float) -> None:
        pod.ready_s = t
        pod.cold_start_s = t - pod.created_s
        if not pod.alive:
            return
        waiting, pod.pending = pod.pending, None
        for exec_s, tag in waiting or ():
            self._push(t + exec_s, END, pod, t, tag)
        if pod.in_flight == 0:  # a pre-warmed pod: idle from the start; expiry already set
            pod.busy_since = t

    def add_prewarmed(self, pod: Pod, now: float, keep_s: float, cold_start_s: float | None):
        """A pod loaded by a pre-warm at ``now``, kept ``keep_s`` unless used."""
        pod.prewarmed = True
        self.add(pod, now, cold_start_s)
        if keep_s < INF:
            self._expire_at(pod, now + keep_s)
        return pod

    def _close(self, pod: Pod) -> None:
        opened = self.open
        i = _find(opened, pod.index)
        if i >= 0:
            del opened[i]

    def delete(self, pod: Pod, t: float) -> None:
        """Delete ``pod`` at ``t`` (keep-alive ran out, or evicted by the driver)."""
        if not pod.alive:
            return
        self._close(pod)
        pod.deleted_s = t
        self.live -= 1
        if self.on_end is not None:
            self.on_end(pod)

    def peek(self, now: float) -> Pod | None:
        """The ready pod a request at ``now`` would get, without taking it (settled first;
        no arrival is counted)."""
        if self.events and self.events[0][0] <= now:
            self.settle(now)
        for _, pod in reversed(self.open):
            if pod.ready_s is not None and pod.ready_s <= now:
                return pod
        return None

    def alive_pods(self) -> list[Pod]:
        """Alive pods with a free slot (after ``settle(inf)``: every alive pod)."""
        return [p for _, p in self.open]

    def idle_pods(self) -> list[Pod]:
        """Alive pods with no request in flight (ready or starting)."""
        return [p for _, p in self.open if p.in_flight == 0]


def _find(opened: list[tuple[int, Pod]], index: int) -> int:
    i = bisect_left(opened, (index,))
    return i if i < len(opened) and opened[i][0] == index else -1
