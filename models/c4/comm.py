"""Connections, QP routes and ring collectives of C4 jobs on the flow network.

What it models
    A communicator's ring collective over the nodes of a job, one ring per *rail* (NIC
    ``g`` of every node, as a tensor-parallel-8 job's data-parallel groups run: the GPUs
    with local index ``g`` all-reduce together). The ring's connection from node ``i`` to
    node ``i+1`` on rail ``g`` goes from NIC ``g`` of one to NIC ``g`` of the other and is
    carried by ``qps`` queue pairs (QPs); each QP is a flow with its own path, chosen by
    the routing policy (:class:`Routes`), and carries an equal share of the connection's
    bytes.

    **Fluid ring.** A ring all-reduce of ``S`` bytes per rank over ``m`` ranks sends
    ``2(m-1)/m x S`` bytes over every connection (reduce-scatter and all-gather: half of
    that). The operation runs as one *fluid* phase: every QP starts with its whole share,
    and the operation ends when the last QP has delivered. On a network whose capacities
    do not change during the operation this equals the step-synchronous ring of
    :mod:`sim_models.hw.collectives` (``2(m-1)`` steps of ``S/m``) up to the per-step
    latency term, because scaling every flow's size by the same factor scales every
    completion time of a max-min fluid network by that factor; the tests check it. It
    costs one max-min solve per rate change instead of one per step, which is what lets
    100 hash draws of a 512-GPU all-reduce, and a month of a job, run in seconds.

    With ``telemetry`` every QP is started as its own batch, so its completion time is
    known and reported (:mod:`sim_models.c4.telemetry`); without, all QPs start as one
    batch with one completion event.

Routes
    :class:`Routes` holds the link ids of every QP under one ``hw.routing`` policy
    (``ecmp``, ``c4p``, ``c4p_static``, ``ideal``, ...) and keeps them current: when the
    fabric changes, a planner re-plans (``links_changed``), and other policies re-route
    every QP over the changed graph (ECMP's hash over the surviving paths).

What it leaves out
    Intra-node phases (with 8-way tensor parallelism a job's data-parallel traffic never
    crosses NVLink), sub-chunk pipelining and per-step latency inside the fluid phase (one
    path latency per operation), dynamic shifting of bytes between a connection's QPs, and
    a link failing in the middle of an operation: flows keep the path they started with
    (a flow over a failed link stalls), new routes apply from the next operation.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sim_models.c4.fabric import Fabric
from sim_models.c4.routing import qp_edges
from sim_models.c4.telemetry import Telemetry
from sim_models.hw.flownet import PathSet

Request = tuple[Hashable, Any, Any, int]


@dataclass(frozen=True)
class Connection:
    """One ring connection: ``src_rank -> dst_rank`` from NIC ``src`` to NIC ``dst``."""

    index: int
    src_rank: int
    dst_rank: int
    src: str
    dst: str
    rail: int


class Routes:
    """Link ids of every registered QP under one routing policy, kept current."""

    def __init__(self, fabric: Fabric, policy: Any):
        self.fabric = fabric
        self.policy = policy
        self._req: dict[Hashable, Request] = {}
        self._links: dict[Hashable, np.ndarray] = {}
        self._down = fabric.down
        #: incremented whenever some QP's route changes
        self.version = 0
        fabric.on_change(self._on_change)

    def add(self, requests: Sequence[Request]) -> None:
        plan = getattr(self.policy, "plan", None)
        if plan is not None:
            plan(requests)
        for req in requests:
            self._req[req[0]] = req
            self._links[req[0]] = self._resolve(req)

    def remove(self, keys: Sequence[Hashable]) -> None:
        release = getattr(self.policy, "release", None)
        if release is not None:
            release(keys)
        for k in keys:
            self._req.pop(k, None)
            self._links.pop(k, None)

    def _resolve(self, req: Request) -> np.ndarray:
        key, src, dst, qp = req
        return self.fabric.ids(qp_edges(self.policy, key, src, dst, qp))

    def links(self, key: Hashable) -> np.ndarray:
        return self._links[key]

    def edges(self, key: Hashable) -> list[tuple[str, str]]:
        names = self.fabric.net._link_names if self.fabric.net is not None else None
        if names is None:
            key_, src, dst, qp = self._req[key]
            return qp_edges(self.policy, key_, src, dst, qp)
        return [names[i] for i in self._links[key].tolist()]

    def _on_change(self, edges: list) -> None:
        structural = self.fabric.down != self._down
        self._down = self.fabric.down
        changed_fn = getattr(self.policy, "links_changed", None)
        if changed_fn is not None:
            moved = set(changed_fn(edges, self.fabric.capacity_Bps))
            if structural and not hasattr(self.policy, "plan"):
                moved = set(self._req)  # link-level policies read the graph on each call
        elif structural:
            router = getattr(self.policy, "router", None)
            if router is not None:
                router.invalidate()
            moved = set(self._req)
        else:
            moved = set()  # a degraded link does not change a hash-based route
        changed = False
        for k in moved:
            if k in self._req:
                new = self._resolve(self._req[k])
                if not np.array_equal(new, self._links[k]):
                    self._links[k] = new
                    changed = True
        if changed:
            self.version += 1


class RingCollective:
    """Ring collectives of one communicator: a ring per rail over the job's nodes.

    ``nodes``: node indices in ring order; ``rails``: NIC indices used (one ring each);
    ``rank_of(position, rail)``: the rank id of a (ring position, rail) pair.
    """

    def __init__(
        self,
        fabric: Fabric,
        routes: Routes,
        name: Hashable,
        nodes: Sequence[int],
        rails: Sequence[int],
        qps: int,
        rank_of: Callable[[int, int], int],
    ):
        if qps < 1:
            raise ValueError("qps must be >= 1")
        self.fabric = fabric
        self.net = fabric.net
        self.routes = routes
        self.name = name
        self.nodes = list(nodes)
        self.m = len(self.nodes)
        self.qps = qps
        conns = []
        if self.m > 1:
            for g in rails:
                for i in range(self.m):
                    j = (i + 1) % self.m
                    if self.m == 2 and i == 1:
                        j = 0
                    conns.append(
                        Connection(len(conns), rank_of(i, g), rank_of(j, g),
                                   fabric.nic(self.nodes[i], g), fabric.nic(self.nodes[j], g), g)
                    )  # fmt: skip
        self.conns = conns
        self.keys = [(name, c.index, q) for c in conns for q in range(qps)]
        routes.add([(k, conns[k[1]].src, conns[k[1]].dst, k[2]) for k in self.keys])
        self._ps: PathSet | None = None
        self._ps_qp: list[PathSet] = []
        self._ps_rail: list[PathSet] = []
        self._version = -1

    def close(self) -> None:
        """Release the QPs' routes (the job ended)."""
        self.routes.remove(self.keys)

    def bytes_per_conn(self, bytes_per_rank: float, collective: str = "allreduce") -> float:
        m = self.m
        if m < 2:
            return 0.0
        factor = {"allreduce": 2.0, "reduce_scatter": 1.0, "all_gather": 1.0}[collective]
        return factor * (m - 1) / m * bytes_per_rank

    def _pathsets(self) -> None:
        if self._version != self.routes.version or self._ps is None:
            arrs = [self.routes.links(k) for k in self.keys]
            self._ps = self.net.compile_paths(arrs)
            self._ps_qp = []
            self._ps_rail = []
            self._version = self.routes.version

    def _qp_pathset(self, i: int) -> PathSet:
        if not self._ps_qp:
            self._ps_qp = [self.net.compile_paths([self.routes.links(k)]) for k in self.keys]
        return self._ps_qp[i]

    def _rail_pathset(self, r: int) -> PathSet:
        if not self._ps_rail:
            n = self.m * self.qps
            self._ps_rail = [
                self.net.compile_paths([self.routes.links(k) for k in self.keys[i * n : (i + 1) * n]])
                for i in range(len(self.keys) // n)
            ]
        return self._ps_rail[r]

    def start(
        self,
        bytes_per_rank: float,
        on_done: Callable[[float], Any],
        *,
        collective: str = "allreduce",
        op: int = 0,
        telemetry: Telemetry | None = None,
        on_rail_done: Callable[[int, float], Any] | None = None,
    ) -> None:
        """Start one operation now; ``on_done(end_time)`` when every QP has delivered.

        With ``telemetry`` every QP is its own flow batch and reports its transfer
        (QP-level telemetry); otherwise with ``on_rail_done`` every rail's ring is a batch
        and ``on_rail_done(rail_index, end_time)`` is called as each finishes; otherwise
        all QPs are one batch."""
        env = self.net.env
        per_qp = self.bytes_per_conn(bytes_per_rank, collective) / self.qps
        n_rails = len(self.keys) // (self.m * self.qps) if self.keys else 0
        if not self.keys or per_qp <= 0:

            def now_done(_e) -> None:
                if on_rail_done is not None:
                    for r in range(n_rails):
                        on_rail_done(r, env.now)
                on_done(env.now)

            env.timeout(0).callbacks.append(now_done)
            return
        self._pathsets()
        if telemetry is None and on_rail_done is None:
            self.net.start_flows(self._ps, per_qp, on_done=lambda ev: on_done(ev.value))
            return
        start = env.now
        qps = self.qps
        per_rail = self.m * qps
        left_rail = [per_rail] * n_rails
        left = [n_rails]

        def rail_finished(r: int, t: float) -> None:
            if on_rail_done is not None:
                on_rail_done(r, t)
            left[0] -= 1
            if left[0] == 0:
                on_done(env.now)

        if telemetry is None:
            for r in range(n_rails):
                self.net.start_flows(
                    self._rail_pathset(r), per_qp,
                    on_done=lambda ev, r=r: rail_finished(r, ev.value),
                )  # fmt: skip
            return

        def qp_done(i: int) -> Callable:
            c = self.conns[i // qps]
            r = i // per_rail

            def cb(ev) -> None:
                telemetry.qp(op, c.index, i % qps, c.src_rank, c.dst_rank, per_qp, start,
                             ev.value)  # fmt: skip
                left_rail[r] -= 1
                if left_rail[r] == 0:
                    rail_finished(r, env.now)

            return cb

        for i in range(len(self.keys)):
            telemetry.post(op, i // qps, i % qps, start)
            self.net.start_flows(self._qp_pathset(i), per_qp, on_done=qp_done(i))

    def probe(
        self,
        rails: Sequence[int],
        nbytes: float,
        timeout_s: float,
        on_result: Callable[[list[tuple[int, int]]], Any],
    ) -> None:
        """Send ``nbytes`` over every QP of the rings of ``rails`` (indices into the
        communicator's rails) and report, after ``timeout_s``, the ``(conn, qp)`` pairs
        whose probe has not arrived (an active connectivity test)."""
        env = self.net.env
        self._pathsets()
        per_rail = self.m * self.qps
        pending = set()
        for r in rails:
            for i in range(r * per_rail, (r + 1) * per_rail):
                pending.add(i)
                self.net.start_flows(
                    self._qp_pathset(i), nbytes, on_done=lambda _e, i=i: pending.discard(i)
                )

        def report(_e) -> None:
            on_result(sorted((i // self.qps, i % self.qps) for i in pending))

        env.timeout(timeout_s).callbacks.append(report)


def busbw_Bps(bytes_per_rank: float, time_s: float, ranks: int) -> float:
    """nccl-tests bus bandwidth of an all-reduce: ``S / t x 2(p-1)/p``."""
    if time_s <= 0 or ranks < 2:
        return float("nan")
    return bytes_per_rank / time_s * 2.0 * (ranks - 1) / ranks
