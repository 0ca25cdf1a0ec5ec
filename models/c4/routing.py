"""C4P and the ideal fabric as routing policies of the shared ``hw.routing`` domain.

What it models
    How each queue pair (QP) of a collective connection gets its path through a
    :mod:`sim_models.c4.fabric` Clos: egress port of the bonded NIC, ToR uplink, spine (or
    aggregation and core) and the destination ToR, hence the arrival port.

    ``c4p``
        a global traffic planner: it knows every QP of every job on the fabric and puts
        each on the equal-cost path whose most loaded link (QPs per unit of capacity,
        counting the QP itself) is least loaded, ties broken by the summed load and then by
        the path's lexicographic order, which balances QPs over the two bonded ports
        (dual-port balance), the uplinks and the spines. When a link fails or its capacity
        changes (:meth:`PlannedRouting.links_changed`) it re-plans the QPs that crossed
        it, over the surviving paths and current capacities.
    ``c4p_static``
        the same plan, made once and never re-planned: when a link on a planned path
        fails, the switch in front of it re-hashes the QPs that crossed it over its
        surviving equal-cost next hops (as ECMP does; the rest of their path, and every
        other QP, stays), and a degraded link is ignored.
    ``ideal``
        no collisions anywhere: the fabric is one big switch. A QP crosses only its source
        NIC's egress port and its destination NIC's ingress port; QP ``q`` of a
        connection uses port ``q mod ports`` at both ends (of the ports that are up), so
        every NIC's bond is balanced.

    The existing ``ecmp`` policy (:mod:`sim_models.hw.routing_policies`: a 5-tuple hash
    with a random source port per QP, the bonded port hashed first) is the baseline.

Interface beyond :class:`sim_models.hw.routing_policies.RoutingPolicy`
    ``route_edges(key, src, dst, qp)`` returns the QP's directed edges (for ``ideal`` they
    are not contiguous: the switch fabric in between is abstracted away);
    ``plan(requests)`` places a batch of QPs (``(key, src, dst, qp)`` tuples) at once,
    ``release(keys)`` frees them, ``links_changed(edges, capacity)`` reacts to a fabric
    change and returns the keys whose path moved.

What it leaves out
    C4P's path probing (the planner knows the topology and the switches' hashing exactly,
    as probing is meant to achieve), its dynamic load balancing across QPs (bytes are
    split evenly over a connection's QPs here), the time the planner takes (plans are
    instantaneous), and per-job priorities.

Sources
    C4 (HPCA 2025): C4P allocates paths globally to long-lived collective flows and
    balances the two bonded ports; the greedy least-loaded rule is this project's
    assumption for how (``models/c4/NOTES.md``).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any

import networkx as nx
import numpy as np
from sim_models.hw.routing import Path, ecmp_index, path_links
from sim_models.hw.routing_policies import DOMAIN, RoutingPolicy

from sim.registry import policy

Edge = tuple[Any, Any]
Request = tuple[Hashable, Any, Any, int]  # key, src, dst, qp index


class PlannedRouting(RoutingPolicy):
    """Base of ``c4p`` and ``c4p_static``: greedy least-loaded planning over ECMP paths."""

    mode = "ecmp"  # the Router hashes re-routed QPs of c4p_static like the switches do
    replan = True
    #: the plan of a set of connections involves no random choice
    deterministic = True

    def setup(self, G: nx.DiGraph) -> None:
        super().setup(G)
        self.G = G
        self._edges: list[Edge] = list(G.edges)
        self._eidx = {e: i for i, e in enumerate(self._edges)}
        self._cap = np.array([G.edges[e]["bandwidth_Bps"] for e in self._edges], dtype=float)
        self._cap_unit = float(np.median(self._cap)) or 1.0
        self._load = np.zeros(len(self._edges))
        self._assign: dict[Hashable, tuple[Any, Any, np.ndarray]] = {}
        self._cands: dict[tuple[Any, Any], tuple[list[Path], np.ndarray]] = {}
        self._order: dict[Hashable, None] = {}  # keys in the order first placed
        self._ends: dict[Hashable, tuple[Any, Any]] = {}
        self._orig: dict[Hashable, np.ndarray] = {}  # the first plan of each key
        self._down: set[int] = set()

    # -- candidates and placement ---------------------------------------------------------
    def _candidates(self, src: Any, dst: Any) -> tuple[list[Path], np.ndarray]:
        """All fewest-hop paths ``src -> dst`` as rows of edge indices (cached).

        Endpoints never forward traffic: when ``src`` and ``dst`` are NICs their paths are
        composed from the first hop (one per port), the switch-to-switch paths between
        the two ToRs (cached per ToR pair, so the search runs once per ToR, not once per
        NIC) and the last hop; other endpoints use the router's path set."""
        key = (src, dst)
        hit = self._cands.get(key)
        if hit is None:
            paths = self._nic_paths(src, dst)
            if paths is None:
                paths = self._router().paths(src, dst)
            idx = np.array([[self._eidx[e] for e in path_links(p)] for p in paths], dtype=np.int64)
            hit = self._cands[key] = (paths, idx)
        return hit

    def _nic_paths(self, src: Any, dst: Any) -> list[Path] | None:
        G = self.G
        if G.nodes[src].get("kind") != "nic" or G.nodes[dst].get("kind") != "nic":
            return None
        router = self._router()
        ups = sorted(G.succ[src])
        downs = sorted(G.pred[dst])
        if not ups or not downs:
            return None
        out: list[Path] = []
        for a in ups:
            for b in downs:
                if a == b:
                    out.append((src, a, dst))
                else:
                    try:
                        mids = router.paths(a, b)
                    except Exception:  # noqa: BLE001 - unreachable pair of ToRs
                        continue
                    out.extend((src, *m, dst) for m in mids)
        if not out:
            return None
        shortest = min(len(p) for p in out)
        return sorted((p for p in out if len(p) == shortest), key=lambda p: tuple(map(str, p)))

    def _place(self, key: Hashable, src: Any, dst: Any) -> np.ndarray:
        _paths, idx = self._candidates(src, dst)
        with np.errstate(divide="ignore", invalid="ignore"):
            util = (self._load[idx] + 1.0) * (self._cap_unit / self._cap[idx])
        worst = util.max(axis=1)
        best = np.flatnonzero(worst == worst.min())
        best = best[np.argmin(util[best].sum(axis=1))] if best.size > 1 else best[0]
        chosen = idx[best]
        self._load[chosen] += 1.0
        self._assign[key] = (src, dst, chosen)
        if key not in self._order:
            self._order[key] = None
            self._ends[key] = (src, dst)
            self._orig[key] = chosen
        return chosen

    def plan(self, requests: Iterable[Request]) -> None:
        """Place every requested QP not placed yet, in the given order."""
        for key, src, dst, _qp in requests:
            if key not in self._assign:
                self._place(key, src, dst)

    def release(self, keys: Iterable[Hashable]) -> None:
        """Forget QPs (their job ended); their load leaves the plan."""
        for key in keys:
            rec = self._assign.pop(key, None)
            if rec is not None:
                self._load[rec[2]] -= 1.0
            self._order.pop(key, None)
            self._ends.pop(key, None)
            self._orig.pop(key, None)

    def route_edges(self, key: Hashable, src: Any, dst: Any, qp: int = 0) -> list[Edge]:
        rec = self._assign.get(key)
        chosen = rec[2] if rec is not None else self._place(key, src, dst)
        return [self._edges[i] for i in chosen.tolist()]

    def route(self, conn_id: Hashable, src: Any, dst: Any) -> Path:
        edges = self.route_edges(conn_id, src, dst)
        return (edges[0][0], *(v for _, v in edges))

    def pin(self, conn_id: Hashable, path: Sequence[Any]) -> Path:
        p = super().pin(conn_id, path)
        old = self._assign.pop(conn_id, None)
        if old is not None:
            self._load[old[2]] -= 1.0
        chosen = np.array([self._eidx[e] for e in path_links(p)], dtype=np.int64)
        self._load[chosen] += 1.0
        self._assign[conn_id] = (p[0], p[-1], chosen)
        self._order.setdefault(conn_id, None)
        self._ends[conn_id] = (p[0], p[-1])
        self._orig[conn_id] = chosen
        return p

    def load_of(self, edge: Edge) -> float:
        """QPs the plan puts on ``edge``."""
        return float(self._load[self._eidx[edge]])

    # -- fabric changes -------------------------------------------------------------------
    def links_changed(
        self, edges: Iterable[Edge], capacity: Callable[[Edge], float]
    ) -> list[Hashable]:
        """React to announced link changes (already applied to the graph). ``c4p``
        updates its capacities and re-plans: the QPs that crossed a failed or degraded
        link move to the best surviving path; when capacity comes back the whole plan is
        made again (in the original order, so a repaired fabric gets the original plan
        back). ``c4p_static`` knows only its first plan: a QP whose planned path lost a link
        is re-hashed over the surviving paths by the switches, and returns to its planned
        path once every link of it is back. Returns the keys whose path changed."""
        changed = [self._eidx[e] for e in edges if e in self._eidx]
        if not changed:
            return []
        new_cap = {i: capacity(self._edges[i]) for i in changed}
        structural = any((c <= 0) != (i in self._down) for i, c in new_cap.items())
        grew = any(c > self._cap[i] for i, c in new_cap.items())
        for i, c in new_cap.items():
            if c <= 0:
                self._down.add(i)
            else:
                self._down.discard(i)
            if self.replan:
                self._cap[i] = c
        if structural:
            self._router().invalidate()
            self._cands.clear()
        before = {k: rec[2] for k, rec in self._assign.items()}
        if self.replan:
            if grew:
                order = list(self._order)
                self._load[:] = 0.0
                self._assign.clear()
                for key in order:
                    src, dst = self._ends[key]
                    self._place(key, src, dst)
            else:
                watch = set(changed)
                hit = [k for k, idx in before.items() if watch.intersection(idx.tolist())]
                for key in hit:
                    self._load[before[key]] -= 1.0
                    del self._assign[key]
                for key in hit:
                    src, dst = self._ends[key]
                    self._place(key, src, dst)
        else:
            for key, idx in before.items():
                src, dst = self._ends[key]
                orig = self._orig[key]
                if not self._down.intersection(orig.tolist()):
                    target = orig
                elif self._down.intersection(idx.tolist()):
                    target = None  # re-hash
                else:
                    continue
                self._load[idx] -= 1.0
                if target is None:
                    self._rehash(key, src, dst, orig)
                else:
                    self._load[target] += 1.0
                    self._assign[key] = (src, dst, target)
        return [k for k, idx in before.items() if not np.array_equal(self._assign[k][2], idx)]

    def _rehash(self, key: Hashable, src: Any, dst: Any, old: np.ndarray) -> np.ndarray:
        """The switch before the first failed link of the planned path ``old`` re-hashes
        the QP over the surviving equal-cost paths that share the path up to it (the
        5-tuple hash of :mod:`sim_models.hw.routing`); a failed NIC port is the bond's
        failover to the other port."""
        router = self._router()
        ft = router.connect(key, src, dst)
        _paths, idx = self._candidates(src, dst)
        cut = next(j for j, e in enumerate(old.tolist()) if e in self._down)
        same = np.flatnonzero((idx[:, :cut] == old[:cut]).all(axis=1)) if cut else None
        pool = idx[same] if same is not None and same.size else idx
        chosen = pool[ecmp_index(ft, len(pool))]
        self._load[chosen] += 1.0
        self._assign[key] = (src, dst, chosen)
        return chosen


@policy(DOMAIN, "c4p", "C4P: global least-loaded planning of every QP, re-planned on failures")
class C4PRouting(PlannedRouting):
    replan = True


@policy(DOMAIN, "c4p_static", "C4P planned once; failed links re-hashed by the switches")
class C4PStaticRouting(PlannedRouting):
    replan = False


@policy(DOMAIN, "ideal", "no collisions: the fabric as one big switch (bonds balanced)")
class IdealRouting(RoutingPolicy):
    """Only the NICs' ports constrain a QP (see the module docstring)."""

    deterministic = True

    def setup(self, G: nx.DiGraph) -> None:
        super().setup(G)
        self.G = G

    def _port(self, nic: Any, qp: int, up: bool) -> Edge:
        G = self.G
        nbrs = G.succ[nic] if up else G.pred[nic]
        ports = sorted(
            (G.edges[(nic, t) if up else (t, nic)]["port"], t)
            for t in nbrs
            if "port" in G.edges[(nic, t) if up else (t, nic)]
        )
        if not ports:
            raise ValueError(f"{nic!r} has no network port up (routing policy 'ideal')")
        _, tor = ports[qp % len(ports)]
        return (nic, tor) if up else (tor, nic)

    def route_edges(self, key: Hashable, src: Any, dst: Any, qp: int = 0) -> list[Edge]:
        return [self._port(src, qp, True), self._port(dst, qp, False)]

    def route(self, conn_id: Hashable, src: Any, dst: Any) -> Path:
        raise ValueError(
            "routing policy 'ideal' abstracts the switch fabric away and has no node path; "
            "use it with the c4 models (route_edges)"
        )

    def links_changed(
        self, edges: Iterable[Edge], capacity: Callable[[Edge], float]
    ) -> list[Hashable]:
        return []  # route_edges reads the graph's surviving ports on every call


def qp_edges(pol: RoutingPolicy, key: Hashable, src: Any, dst: Any, qp: int) -> list[Edge]:
    """The directed edges of one QP under any ``hw.routing`` policy: a c4 policy's
    ``route_edges``, otherwise the links of the policy's node path."""
    fn = getattr(pol, "route_edges", None)
    if fn is not None:
        return fn(key, src, dst, qp)
    return path_links(pol.route(key, src, dst))
