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

    All QPs of an operation are one flow batch; the flow network reports each completion
    instant with the positions of the flows that finished (``on_each``), which gives
    every QP's transfer time for the telemetry (:mod:`sim_models.c4.telemetry`) and every
    rail ring's completion, at the cost of one callback per distinct completion time.

Routes
    :class:`Routes` holds the link ids of every QP under one ``hw.routing`` policy
    (``ecmp``, ``c4p``, ``c4p_static``, ``ideal``, ...) and keeps them current: when the
    fabric changes, a planner re-plans (``links_changed``), and other policies re-route
    every QP over the changed graph (ECMP's hash over the surviving paths, a bond's
    surviving port). A QP whose route changes while its operation is in flight is moved
    with its remaining bytes (:meth:`sim_models.hw.flownet.FlowNetwork.reroute`): a
    failed port fails over at once, a planner's new plan applies at once.

What it leaves out
    Intra-node phases (with 8-way tensor parallelism a job's data-parallel traffic never
    crosses NVLink), sub-chunk pipelining and per-step latency inside the fluid phase (one
    path latency per operation), dynamic shifting of bytes between a connection's QPs, and
    the time a fabric takes to notice a failure (re-routing is instantaneous). Traffic
    over a link that failed without an announcement (a crashed node's ports) stalls.
"""

from __future__ import annotations

import contextlib
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
        self._moved_listeners: list[Callable[[set], Any]] = []
        #: incremented whenever some QP's route changes
        self.version = 0
        fabric.on_change(self._on_change)

    def on_moved(self, fn: Callable[[set], Any]) -> None:
        """Call ``fn(keys)`` with the keys whose route changed, after every change."""
        self._moved_listeners.append(fn)

    def off_moved(self, fn: Callable[[set], Any]) -> None:
        if fn in self._moved_listeners:
            self._moved_listeners.remove(fn)

    def add(self, requests: Sequence[Request]) -> None:
        """Register QPs (a QP registered before with the same endpoints keeps its route,
        which listeners have kept current)."""
        new = [r for r in requests if self._req.get(r[0]) != r]
        plan = getattr(self.policy, "plan", None)
        if plan is not None and new:
            plan(new)
        for req in new:
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
        changed = set()
        for k in moved:
            if k in self._req:
                new = self._resolve(self._req[k])
                if not np.array_equal(new, self._links[k]):
                    self._links[k] = new
                    changed.add(k)
        if changed:
            self.version += 1
            for fn in self._moved_listeners:
                fn(changed)


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
        self._version = -1
        self._index = {k: i for i, k in enumerate(self.keys)}
        self._inflight: dict[object, tuple[np.ndarray, np.ndarray]] = {}
        routes.on_moved(self._moved)

    def qp_ranks(self) -> tuple[np.ndarray, np.ndarray]:
        """Source and destination rank of every QP (in key order)."""
        src = np.array([self.conns[k[1]].src_rank for k in self.keys], dtype=np.int64)
        dst = np.array([self.conns[k[1]].dst_rank for k in self.keys], dtype=np.int64)
        return src, dst

    def close(self) -> None:
        """Release the QPs' routes (the job ended)."""
        self.routes.off_moved(self._moved)
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
            self._version = self.routes.version

    def _moved(self, keys: set) -> None:
        """Move the in-flight QPs whose route changed onto their new paths."""
        if not self._inflight:
            return
        pos = [self._index[k] for k in keys if k in self._index]
        if not pos:
            return
        for fids, left in list(self._inflight.values()):
            for i in pos:
                if left[i]:
                    with contextlib.suppress(KeyError):  # already delivered
                        self.net.reroute(int(fids[i]), self.routes.links(self.keys[i]))

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

        With ``telemetry`` every QP's transfer is reported (QP-level telemetry); with
        ``on_rail_done``, ``on_rail_done(rail_index, end_time)`` is called as each rail's
        ring finishes."""
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
        start = env.now
        per_rail = self.m * self.qps
        token = object()
        left = np.ones(len(self.keys), dtype=bool)
        rail_left = np.full(n_rails, per_rail, dtype=np.int64)

        def each(positions: np.ndarray, t: float) -> None:
            left[positions] = False
            if telemetry is not None:
                telemetry.delivered(op, positions, per_qp, t)
            if on_rail_done is not None:
                rails, counts = np.unique(positions // per_rail, return_counts=True)
                for r, k in zip(rails.tolist(), counts.tolist(), strict=True):
                    rail_left[r] -= k
                    if rail_left[r] == 0:
                        on_rail_done(r, t)

        def done(ev) -> None:
            self._inflight.pop(token, None)
            on_done(ev.value)

        if telemetry is not None:
            telemetry.post(op, start)
        ev = self.net.start_flows(self._ps, per_qp, on_done=done, on_each=each)
        self._inflight[token] = (self.net.group_flow_ids(ev), left)

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
        pos = np.concatenate([np.arange(r * per_rail, (r + 1) * per_rail) for r in rails])
        pending = np.ones(pos.size, dtype=bool)
        ps = self.net.compile_paths([self.routes.links(self.keys[i]) for i in pos.tolist()])

        def each(positions: np.ndarray, _t: float) -> None:
            pending[positions] = False

        self.net.start_flows(ps, nbytes, on_each=each)

        def report(_e) -> None:
            on_result(sorted((int(i) // self.qps, int(i) % self.qps) for i in pos[pending]))

        env.timeout(timeout_s).callbacks.append(report)


def busbw_Bps(bytes_per_rank: float, time_s: float, ranks: int) -> float:
    """nccl-tests bus bandwidth of an all-reduce: ``S / t x 2(p-1)/p``."""
    if time_s <= 0 or ranks < 2:
        return float("nan")
    return bytes_per_rank / time_s * 2.0 * (ranks - 1) / ranks
