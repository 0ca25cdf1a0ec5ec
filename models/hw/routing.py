"""Routing over a topology graph: shortest paths, d-mod-k, ECMP, bonded ports and pinned paths.

What it models
    How a connection's path through a :func:`sim_models.hw.topology` graph is chosen. Every
    policy picks one of the *fewest-hop* paths (except a pinned one):

    * **shortest path**: one fewest-hop path chosen deterministically. Tie-break
      ``"lexicographic"``: the lexicographically smallest node sequence (never depends on
      insertion order or a hash seed, but piles every flow between two pods onto the same
      few links of a Clos fabric); ``"spread"``: the path whose index in the sorted set is
      a stable hash of ``(src, dst)``, which spreads pairs over the equal-cost paths;
    * **d-mod-k** (destination-modulo-k; Zahavi, Gomez et al., "Deterministic versus adaptive
      routing in fat-trees", IPDPS 2007; the same idea as Al-Fares et al., SIGCOMM 2008,
      two-level tables): at every hop with ``m > 1`` equal-cost next hops the path takes
      next hop ``key mod m`` and divides ``key`` by ``m`` for the next choice, where
      ``key`` is the destination's endpoint index. On a k-ary fat tree this is the classic
      d-mod-k: up-port ``d mod (k/2)`` at the edge and ``(d div (k/2)) mod (k/2)`` at the
      aggregation tier, so every destination owns one core and shift permutations (ring
      neighbours) never collide;
    * **ECMP**: one fewest-hop path chosen by a stable hash of the connection's 5-tuple
      ``(src, dst, src_port, dst_port, proto)``; the source port is drawn per connection
      from a ``numpy.random.Generator``, as a RoCEv2 sender varies the UDP source port to
      give the fabric entropy;
    * **bonded ports**: a NIC with several ports (``ports`` node attribute, uplinks with a
      ``port`` edge attribute, see :func:`sim_models.hw.topology.dual_tor`) picks its egress
      port by another stable hash of the same 5-tuple, like Linux bonding's ``layer3+4``
      transmit hash; ECMP then chooses among the paths leaving by that port;
    * **pinning**: :meth:`Router.pin` fixes a connection's path explicitly, overriding
      the mode (used by path-aware policies such as a traffic planner).

Who forwards
    Switches and NICs forward traffic; endpoints (``kind`` ``host`` or ``gpu``) do not: a
    path never passes *through* a host or GPU, only starts or ends there, unless the
    topology says so (graph attribute ``endpoints_forward=True``, as on a ring of hosts, or
    node attribute ``forwards=True``, as for GPUs relaying over NVLink to a NIC of another
    rail). Without this rule, equal-cost paths between two servers could run through
    another GPU of the destination server.

How it is computed
    :class:`PathIndex` numbers the nodes in :func:`node_key` order and keeps successor and
    predecessor lists as CSR arrays. For a destination that forwards (a switch) one
    vectorised breadth-first search on the reversed graph gives every node's hop distance
    and its number of fewest-hop paths (cached per destination). For a destination that
    does not forward (a host, a GPU) both are derived from the tables of its neighbours
    (``1 + min`` of their distances, sum of their counts at the minimum), so a fat tree
    needs one search per edge switch, not one per host. A path is then one walk from the
    source: at each hop the valid next hops are the forwarding successors one hop closer;
    path ``i`` of the lexicographically sorted set is found from the path counts without
    enumerating the set (``(k/2)^2`` paths per pod pair on a fat tree).

What it leaves out
    Weighted (unequal-cost) multipath, per-packet spraying, flowlet switching, adaptive
    routing, and hash polarisation: real switches hash hop by hop with CRC-like functions,
    possibly the same one at every tier, which correlates their choices. Here one
    well-mixed hash picks a whole path uniformly from the equal-cost set, which equals
    independent uniform per-hop choices on the Clos topologies of
    :mod:`sim_models.hw.topology` (every equal-cost path set there is a product of per-hop
    choices).

Assumptions and constants
    The stable hash is BLAKE2b (8-byte digest) of a canonical text of the fields, salted
    per use ("ecmp", "bond", "spread") so that choices are independent. Source ports are
    uniform on the IANA dynamic range 49152-65535; the destination port defaults to 4791
    (RoCEv2, IANA) and the protocol to 17 (UDP). Path counts are 64-bit integers (enough
    for any Clos fabric; a dense mesh with more than 2^63 equal-cost paths is rejected).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
from sim_models.hw.maxmin import gather_ranges
from sim_models.hw.topology import ENDPOINT_KINDS

EPHEMERAL_PORTS = (49152, 65535)
"""IANA dynamic/private port range, inclusive."""
ROCEV2_PORT = 4791
"""RoCEv2 UDP destination port (IANA)."""
PROTO_UDP = 17
PROTO_TCP = 6
#: Bytes of per-destination tables a :class:`PathIndex` keeps before evicting old ones.
TABLE_CACHE_BYTES = 256 * 2**20

Path = tuple[Any, ...]


def node_key(n: Any) -> tuple[int, Any]:
    """Sort key for node labels: numbers before strings before anything else (by repr),
    so that mixed label types still compare."""
    if isinstance(n, bool):
        return (2, repr(n))
    if isinstance(n, int | float):
        return (0, n)
    if isinstance(n, str):
        return (1, n)
    return (2, repr(n))


def forwards(G: nx.DiGraph, n: Any) -> bool:
    """Whether node ``n`` may carry traffic between two other nodes (see module doc)."""
    attrs = G.nodes[n]
    if "forwards" in attrs:
        return bool(attrs["forwards"])
    if attrs.get("kind") in ENDPOINT_KINDS:
        return bool(G.graph.get("endpoints_forward", False))
    return True


def _check_nodes(G: nx.DiGraph, *nodes: Any) -> None:
    for n in nodes:
        if n not in G:
            raise KeyError(f"unknown node {n!r}")


class PathIndex:
    """Integer-indexed view of a topology for fast fewest-hop routing (see module doc).

    Build once per graph (rebuild after changing it). Methods take and return node labels.
    """

    def __init__(self, G: nx.DiGraph):
        self.G = G
        nodes = sorted(G.nodes, key=node_key)
        self.nodes = nodes
        self.id = {n: i for i, n in enumerate(nodes)}
        n_nodes = len(nodes)
        ids = self.id
        m = G.number_of_edges()
        eu = np.fromiter((ids[u] for u, _ in G.edges), dtype=np.int64, count=m)
        ev = np.fromiter((ids[v] for _, v in G.edges), dtype=np.int64, count=m)
        order = np.lexsort((ev, eu))
        self.succ = ev[order]
        self.succ_ptr = np.zeros(n_nodes + 1, dtype=np.int64)
        np.cumsum(np.bincount(eu, minlength=n_nodes), out=self.succ_ptr[1:])
        order = np.lexsort((eu, ev))
        self.pred = eu[order]
        self.pred_ptr = np.zeros(n_nodes + 1, dtype=np.int64)
        np.cumsum(np.bincount(ev, minlength=n_nodes), out=self.pred_ptr[1:])
        self.transit = np.fromiter((forwards(G, n) for n in nodes), dtype=bool, count=n_nodes)
        # bonded NICs: node id -> number of ports; edge (u, v) ids -> port
        self.ports: dict[int, int] = {}
        self.edge_port: dict[tuple[int, int], int] = {}
        for n, attrs in G.nodes(data=True):
            if attrs.get("kind") == "nic" and attrs.get("ports", 1) >= 2:
                u = ids[n]
                self.ports[u] = int(attrs["ports"])
                for v, e in G.succ[n].items():
                    if "port" in e:
                        self.edge_port[(u, ids[v])] = int(e["port"])
        self._tables: OrderedDict[Any, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._max_tables = max(16, TABLE_CACHE_BYTES // max(1, 12 * n_nodes))
        self._endpoint_rank: dict[Any, int] | None = None

    # -- per-destination tables -------------------------------------------------------------
    def _cache_get(self, key: Any) -> tuple[np.ndarray, np.ndarray] | None:
        got = self._tables.get(key)
        if got is not None:
            self._tables.move_to_end(key)
        return got

    def _cache_put(self, key: Any, value: tuple[np.ndarray, np.ndarray]) -> None:
        self._tables[key] = value
        if len(self._tables) > self._max_tables:
            self._tables.popitem(last=False)

    def _bfs(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """Hop distance to forwarding node ``t`` and number of fewest-hop paths, per node."""
        key = ("t", t)
        got = self._cache_get(key)
        if got is not None:
            return got
        n_nodes = len(self.nodes)
        dist = np.full(n_nodes, -1, dtype=np.int32)
        cnt = np.zeros(n_nodes, dtype=np.int64)
        dist[t] = 0
        cnt[t] = 1
        frontier = np.array([t], dtype=np.int64)
        level = 0
        pred, pptr, transit = self.pred, self.pred_ptr, self.transit
        while frontier.size:
            level += 1
            starts, ends = pptr[frontier], pptr[frontier + 1]
            e = gather_ranges(starts, ends)
            if e.size == 0:
                break
            u = pred[e]
            v = np.repeat(frontier, ends - starts)
            dist[u[dist[u] < 0]] = level
            on = dist[u] == level
            np.add.at(cnt, u[on], cnt[v[on]])
            if cnt.max() >= 2**62:
                raise ValueError("too many equal-cost paths to count in 64 bits")
            frontier = np.flatnonzero((dist == level) & transit)
        self._cache_put(key, (dist, cnt))
        return dist, cnt

    def table(self, dst: Any) -> tuple[np.ndarray, np.ndarray]:
        """``(dist, count)`` arrays over node ids for destination ``dst`` (label).

        ``dist[i]`` is the fewest hops from node ``i`` to ``dst`` through forwarding nodes
        (-1: unreachable), ``count[i]`` the number of such paths. For a destination that
        does not forward, the arrays are shared by every destination with the same
        forwarding neighbours and are exact for every node except ``dst`` itself and the
        non-forwarding nodes linked straight to it (one hop; see :meth:`walk`).
        """
        d = self.id[dst]
        if self.transit[d]:
            return self._bfs(d)
        preds = self.pred[self.pred_ptr[d] : self.pred_ptr[d + 1]]
        via = tuple(preds[self.transit[preds]].tolist())
        key = ("e", via)
        got = self._cache_get(key)
        if got is not None:
            return got
        n_nodes = len(self.nodes)
        dist = np.full(n_nodes, -1, dtype=np.int32)
        cnt = np.zeros(n_nodes, dtype=np.int64)
        for p in via:
            dp, cp = self._bfs(p)
            reach = dp >= 0
            cand = np.where(reach, dp + 1, -1)
            better = reach & ((dist < 0) | (cand < dist))
            same = reach & (cand == dist) & ~better
            cnt[same] += cp[same]
            dist[better] = cand[better]
            cnt[better] = cp[better]
        self._cache_put(key, (dist, cnt))
        return dist, cnt

    def endpoint_rank(self, n: Any) -> int:
        """Index of ``n`` among the graph's endpoints (insertion order); other nodes follow."""
        if self._endpoint_rank is None:
            ends = [x for x, k in self.G.nodes(data="kind") if k in ENDPOINT_KINDS]
            rank = {x: i for i, x in enumerate(ends)}
            for x in self.G.nodes:
                rank.setdefault(x, len(rank))
            self._endpoint_rank = rank
        return self._endpoint_rank[n]

    # -- walks ------------------------------------------------------------------------------
    def _next_hops(self, u: int, d: int, du: int, dist: np.ndarray) -> np.ndarray:
        sl = self.succ[self.succ_ptr[u] : self.succ_ptr[u + 1]]
        if du == 1:
            return np.array([d], dtype=np.int64)
        return sl[(dist[sl] == du - 1) & self.transit[sl]]

    def count(self, src: Any, dst: Any) -> int:
        """Number of fewest-hop paths ``src -> dst`` (0 when unreachable)."""
        _check_nodes(self.G, src, dst)
        if src == dst or self.G.has_edge(src, dst):
            return 1
        dist, cnt = self.table(dst)
        s = self.id[src]
        return 0 if dist[s] < 0 else int(cnt[s])

    def walk(
        self,
        src: Any,
        dst: Any,
        *,
        index: int | None = None,
        digits: int | None = None,
        bond: Any = None,
    ) -> Path:
        """One fewest-hop path ``src -> dst``.

        ``index``: path ``index mod n`` of the lexicographically sorted set of ``n`` paths
        (``n`` counted after the bond filter); ``digits``: the d-mod-k walk keyed by
        ``digits``; neither: the lexicographically smallest path. ``bond(n_ports)``, if
        given, returns the egress port of the first multi-port NIC on a still-unbranched
        prefix (the paths leaving by other ports are dropped, unless none is left).
        Raises ``KeyError`` for an unknown node and ``nx.NetworkXNoPath``.
        """
        _check_nodes(self.G, src, dst)
        if src == dst:
            return (src,)
        if self.G.has_edge(src, dst):
            return (src, dst)  # the only one-hop path
        dist, cnt = self.table(dst)
        s, d = self.id[src], self.id[dst]
        if dist[s] < 0:
            raise nx.NetworkXNoPath(f"no path from {src!r} to {dst!r}")
        nodes = self.nodes
        out = [src]
        u = s
        branched = False
        k = None
        key = digits
        while u != d:
            du = int(dist[u])
            cand = self._next_hops(u, d, du, dist)
            if bond is not None and not branched and u in self.ports:
                want = bond(self.ports[u])
                keep = [c for c in cand.tolist() if self.edge_port.get((u, c)) == want]
                if keep:
                    cand = np.asarray(keep, dtype=np.int64)
                branched = True  # only the first bonded NIC hashes
            if cand.size > 1:
                branched = True
                if digits is not None:
                    j = key % cand.size
                    key //= cand.size
                    v = int(cand[j])
                elif index is not None:
                    cs = cnt[cand]
                    if k is None:
                        k = index % int(cs.sum())
                    cum = np.cumsum(cs)
                    j = int(np.searchsorted(cum, k, side="right"))
                    if j:
                        k -= int(cum[j - 1])
                    v = int(cand[j])
                else:
                    v = int(cand[0])
            else:
                v = int(cand[0])
            out.append(nodes[v])
            u = v
        return tuple(out)

    def enumerate(self, src: Any, dst: Any) -> list[Path]:
        """All fewest-hop paths ``src -> dst``, sorted lexicographically."""
        _check_nodes(self.G, src, dst)
        if src == dst:
            return [(src,)]
        if self.G.has_edge(src, dst):
            return [(src, dst)]
        dist, _ = self.table(dst)
        s, d = self.id[src], self.id[dst]
        if dist[s] < 0:
            raise nx.NetworkXNoPath(f"no path from {src!r} to {dst!r}")
        nodes = self.nodes
        out: list[Path] = []

        def rec(prefix: list[int]) -> None:
            u = prefix[-1]
            if u == d:
                out.append(tuple(nodes[x] for x in prefix))
                return
            for v in self._next_hops(u, d, int(dist[u]), dist).tolist():
                prefix.append(v)
                rec(prefix)
                prefix.pop()

        rec([s])
        return out


def hops_to(G: nx.DiGraph, dst: Any) -> dict[Any, int]:
    """Hop count to ``dst`` from every node that can reach it through forwarding nodes."""
    _check_nodes(G, dst)
    idx = PathIndex(G)
    dist, _ = idx.table(dst)
    out = {idx.nodes[i]: int(x) for i, x in enumerate(dist.tolist()) if x >= 0}
    out.update({u: 1 for u in G.pred[dst]})
    out[dst] = 0
    return out


def shortest_path(G: nx.DiGraph, src: Any, dst: Any) -> Path:
    """The fewest-hop path ``src -> dst`` with the lexicographically smallest node sequence
    (nodes compared by :func:`node_key`; only forwarding nodes in between). Raises
    ``KeyError`` for an unknown node and ``nx.NetworkXNoPath`` when ``dst`` is unreachable.
    """
    _check_nodes(G, src, dst)
    return PathIndex(G).walk(src, dst)


def ecmp_paths(G: nx.DiGraph, src: Any, dst: Any) -> list[Path]:
    """All fewest-hop paths ``src -> dst`` through forwarding nodes, sorted
    lexicographically (by :func:`node_key`); the first is :func:`shortest_path`."""
    _check_nodes(G, src, dst)
    return PathIndex(G).enumerate(src, dst)


def path_links(path: Sequence[Any]) -> list[tuple[Any, Any]]:
    """The directed edges ``(u, v)`` of a node path (the flow-network link keys)."""
    return list(zip(path[:-1], path[1:], strict=False))


def check_path(G: nx.DiGraph, path: Sequence[Any], src: Any = None, dst: Any = None) -> Path:
    """Validate that ``path`` follows existing edges (and runs ``src -> dst`` if given);
    return it as a tuple. Raises ``ValueError`` naming the first problem."""
    path = tuple(path)
    if len(path) < 2:
        raise ValueError(f"a path needs at least two nodes, got {list(path)}")
    for n in path:
        if n not in G:
            raise ValueError(f"path node {n!r} is not in the topology")
    for u, v in path_links(path):
        if not G.has_edge(u, v):
            raise ValueError(f"path step {u}>{v} is not a link of the topology")
    if src is not None and path[0] != src:
        raise ValueError(f"path starts at {path[0]!r}, not at the source {src!r}")
    if dst is not None and path[-1] != dst:
        raise ValueError(f"path ends at {path[-1]!r}, not at the destination {dst!r}")
    return path


# -- hashing ------------------------------------------------------------------------------
@dataclass(frozen=True)
class FiveTuple:
    """A connection's identity as seen by a switch hash."""

    src: Any
    dst: Any
    src_port: int
    dst_port: int = ROCEV2_PORT
    proto: int = PROTO_UDP


def stable_hash(*fields: Any, salt: str = "") -> int:
    """A 64-bit hash of ``fields`` that is the same in every process and Python version
    (unlike the built-in, per-process salted ``hash``). Fields are encoded by ``repr``."""
    text = "\x1f".join([salt, *(repr(f) for f in fields)])
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def ecmp_index(ft: FiveTuple, n: int) -> int:
    """Index in ``range(n)`` of the equal-cost path the 5-tuple hashes to."""
    if n < 1:
        raise ValueError("need at least one path")
    return stable_hash(ft.src, ft.dst, ft.src_port, ft.dst_port, ft.proto, salt="ecmp") % n


def bond_port(ft: FiveTuple, n_ports: int) -> int:
    """Egress port in ``range(n_ports)`` of a bonded NIC for the 5-tuple (an independent
    hash from :func:`ecmp_index`)."""
    if n_ports < 1:
        raise ValueError("need at least one port")
    return stable_hash(ft.src, ft.dst, ft.src_port, ft.dst_port, ft.proto, salt="bond") % n_ports


def random_source_port(rng: np.random.Generator) -> int:
    """A source port uniform on the IANA dynamic range."""
    lo, hi = EPHEMERAL_PORTS
    return int(rng.integers(lo, hi + 1))


def new_connection(
    src: Any,
    dst: Any,
    rng: np.random.Generator,
    dst_port: int = ROCEV2_PORT,
    proto: int = PROTO_UDP,
) -> FiveTuple:
    """A 5-tuple with a source port drawn from ``rng``."""
    return FiveTuple(src, dst, random_source_port(rng), dst_port, proto)


# -- router -------------------------------------------------------------------------------
class Router:
    """Chooses and remembers the path of each connection.

    ``mode`` is ``"shortest_path"`` (deterministic; ``tie_break`` ``"lexicographic"`` or
    ``"spread"``), ``"dmodk"`` (destination-modulo, deterministic) or ``"ecmp"`` (5-tuple
    hash; bonded NICs pick their port first, see :func:`bond_port`). ``rng`` draws source
    ports; it is needed in ECMP mode unless every connection is given an explicit
    ``src_port``. A pinned path (:meth:`pin`) overrides every mode. Distances and path
    counts are cached (:class:`PathIndex`); call :meth:`invalidate` after changing the graph.
    """

    MODES = ("shortest_path", "ecmp", "dmodk")
    TIE_BREAKS = ("lexicographic", "spread")

    def __init__(
        self,
        G: nx.DiGraph,
        mode: str = "shortest_path",
        rng: np.random.Generator | None = None,
        tie_break: str = "lexicographic",
    ):
        if mode not in self.MODES:
            raise ValueError(f"unknown routing mode {mode!r}; known: {', '.join(self.MODES)}")
        if tie_break not in self.TIE_BREAKS:
            raise ValueError(
                f"unknown tie_break {tie_break!r}; known: {', '.join(self.TIE_BREAKS)}"
            )
        self.G = G
        self.mode = mode
        self.tie_break = tie_break
        self.rng = rng
        self._index: PathIndex | None = None
        self._paths: dict[tuple[Any, Any], list[Path]] = {}
        self._fixed: dict[tuple[Any, Any], Path] = {}
        self._pins: dict[Hashable, Path] = {}
        self._conns: dict[Hashable, FiveTuple] = {}
        self._down: set[tuple[Any, Any]] = set()

    # caches
    @property
    def index(self) -> PathIndex:
        if self._index is None:
            G = self.G
            if self._down:
                G = nx.restricted_view(G, [], list(self._down))
            self._index = PathIndex(G)
        return self._index

    def invalidate(self) -> None:
        """Forget cached distances and path sets (pins and 5-tuples are kept)."""
        self._index = None
        self._paths.clear()
        self._fixed.clear()

    def fail_edge(self, u: Any, v: Any) -> None:
        """Take the directed edge ``u -> v`` out of routing (a failed port or link): paths
        chosen from now on avoid it; a bonded NIC whose hashed port is down uses its other
        port(s). Pinned paths are not changed."""
        if not self.G.has_edge(u, v):
            raise KeyError(f"no edge {u!r} -> {v!r}")
        self._down.add((u, v))
        self.invalidate()

    def restore_edge(self, u: Any, v: Any) -> None:
        """Put a failed edge back into routing."""
        self._down.discard((u, v))
        self.invalidate()

    @property
    def down_edges(self) -> frozenset:
        return frozenset(self._down)

    def paths(self, src: Any, dst: Any) -> list[Path]:
        """All fewest-hop paths ``src -> dst`` (cached), lexicographically sorted."""
        key = (src, dst)
        p = self._paths.get(key)
        if p is None:
            p = self._paths[key] = self.index.enumerate(src, dst)
        return p

    def n_paths(self, src: Any, dst: Any) -> int:
        """Number of fewest-hop paths ``src -> dst`` (without enumerating them)."""
        return self.index.count(src, dst)

    def shortest(self, src: Any, dst: Any) -> Path:
        """The lexicographically smallest fewest-hop path."""
        return self.index.walk(src, dst)

    def fixed_path(self, src: Any, dst: Any) -> Path:
        """The path of a deterministic mode (``shortest_path`` or ``dmodk``), cached per pair."""
        key = (src, dst)
        p = self._fixed.get(key)
        if p is None:
            idx = self.index
            if self.mode == "dmodk":
                p = idx.walk(src, dst, digits=idx.endpoint_rank(dst))
            elif self.tie_break == "spread":
                p = idx.walk(src, dst, index=stable_hash(src, dst, salt="spread"))
            else:
                p = idx.walk(src, dst)
            self._fixed[key] = p
        return p

    # connections
    def connect(
        self,
        conn_id: Hashable,
        src: Any,
        dst: Any,
        src_port: int | None = None,
        dst_port: int = ROCEV2_PORT,
        proto: int = PROTO_UDP,
    ) -> FiveTuple:
        """Register connection ``conn_id`` and return its 5-tuple (source port drawn from
        ``rng`` unless given). Registering an id twice returns the first 5-tuple if the
        endpoints match, else raises ``ValueError``."""
        ft = self._conns.get(conn_id)
        if ft is not None:
            if (ft.src, ft.dst) != (src, dst):
                raise ValueError(f"connection {conn_id!r} already runs {ft.src}->{ft.dst}")
            return ft
        if src_port is None:
            if self.rng is None:
                raise ValueError("Router needs an rng to draw source ports")
            src_port = random_source_port(self.rng)
        ft = self._conns[conn_id] = FiveTuple(src, dst, int(src_port), dst_port, proto)
        return ft

    def five_tuple(self, conn_id: Hashable) -> FiveTuple | None:
        return self._conns.get(conn_id)

    def pin(self, conn_id: Hashable, path: Sequence[Any]) -> Path:
        """Fix the path of ``conn_id``; it must follow existing edges (``ValueError``)."""
        p = check_path(self.G, path)
        ft = self._conns.get(conn_id)
        if ft is not None and (p[0], p[-1]) != (ft.src, ft.dst):
            raise ValueError(f"pinned path {p[0]}->{p[-1]} does not match {ft.src}->{ft.dst}")
        self._pins[conn_id] = p
        return p

    def unpin(self, conn_id: Hashable) -> None:
        self._pins.pop(conn_id, None)

    def pinned(self, conn_id: Hashable) -> Path | None:
        return self._pins.get(conn_id)

    def select(self, ft: FiveTuple) -> Path:
        """The path the hash of ``ft`` selects (ECMP mode) or the mode's fixed path."""
        if self.mode != "ecmp":
            return self.fixed_path(ft.src, ft.dst)
        h = stable_hash(ft.src, ft.dst, ft.src_port, ft.dst_port, ft.proto, salt="ecmp")
        return self.index.walk(ft.src, ft.dst, index=h, bond=lambda n: bond_port(ft, n))

    def route(self, conn_id: Hashable, src: Any, dst: Any, src_port: int | None = None) -> Path:
        """The path of connection ``conn_id`` from ``src`` to ``dst``: its pinned path if
        any, else the mode's choice (stable for the connection's lifetime)."""
        pinned = self._pins.get(conn_id)
        if pinned is not None:
            if (pinned[0], pinned[-1]) != (src, dst):
                raise ValueError(f"connection {conn_id!r} is pinned to {pinned[0]}->{pinned[-1]}")
            return pinned
        if self.mode != "ecmp":
            return self.fixed_path(src, dst)
        return self.select(self.connect(conn_id, src, dst, src_port))


def collision_probability(n: int, m: int) -> float:
    """Probability that ``n`` flows hashed uniformly and independently onto ``m`` paths do
    not all land on distinct paths: ``1 - m! / ((m - n)! m^n)`` (birthday problem)."""
    if n < 0 or m < 1:
        raise ValueError("need n >= 0 and m >= 1")
    if n > m:
        return 1.0
    p_distinct = 1.0
    for i in range(n):
        p_distinct *= (m - i) / m
    return 1.0 - p_distinct
