"""Routing over a topology graph: shortest paths, ECMP, bonded ports and pinned paths.

What it models
    How a connection's path through a :func:`sim_models.hw.topology` graph is chosen:

    * **shortest path**: fewest hops; among equal-hop paths the lexicographically smallest
      node sequence (so the choice never depends on insertion order or on a hash seed);
    * **ECMP**: the set of all fewest-hop paths (cached per ``(src, dst)``), one chosen by
      a stable hash of the connection's 5-tuple ``(src, dst, src_port, dst_port, proto)``;
      the source port is drawn per connection from a ``numpy.random.Generator``, as a
      RoCEv2 sender varies the UDP source port to give the fabric entropy;
    * **bonded ports**: a NIC with several ports (``ports`` node attribute, uplinks with
      a ``port`` edge attribute, see :func:`sim_models.hw.topology.dual_tor`) picks its egress
      port by another stable hash of the same 5-tuple, like Linux bonding's ``layer3+4``
      transmit hash; ECMP then chooses among the paths leaving by that port;
    * **pinning**: :meth:`Router.pin` fixes a connection's path explicitly, overriding
      hashing (used by path-aware policies such as C4P).

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
    per use ("ecmp", "bond") so that the port and path choices are independent. Source
    ports are uniform on the IANA dynamic range 49152-65535; the destination port defaults
    to 4791 (RoCEv2, IANA) and the protocol to 17 (UDP).
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np

EPHEMERAL_PORTS = (49152, 65535)
"""IANA dynamic/private port range, inclusive."""
ROCEV2_PORT = 4791
"""RoCEv2 UDP destination port (IANA)."""
PROTO_UDP = 17
PROTO_TCP = 6

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


def _check_nodes(G: nx.DiGraph, *nodes: Any) -> None:
    for n in nodes:
        if n not in G:
            raise KeyError(f"unknown node {n!r}")


def hops_to(G: nx.DiGraph, dst: Any) -> dict[Any, int]:
    """Hop count from every node that can reach ``dst`` to ``dst`` (BFS on reversed edges)."""
    _check_nodes(G, dst)
    dist = {dst: 0}
    queue = deque([dst])
    pred = G.pred
    while queue:
        v = queue.popleft()
        d = dist[v] + 1
        for u in pred[v]:
            if u not in dist:
                dist[u] = d
                queue.append(u)
    return dist


def shortest_path(G: nx.DiGraph, src: Any, dst: Any, dist: dict[Any, int] | None = None) -> Path:
    """The fewest-hop path ``src -> dst`` with the lexicographically smallest node sequence
    (nodes compared by :func:`node_key`). Raises ``KeyError`` for an unknown node and
    ``nx.NetworkXNoPath`` when ``dst`` is unreachable.

    All fewest-hop paths have the same length, so the smallest sequence is found greedily:
    from each node step to the smallest successor one hop closer to ``dst``.
    """
    _check_nodes(G, src, dst)
    if dist is None:
        dist = hops_to(G, dst)
    if src not in dist:
        raise nx.NetworkXNoPath(f"no path from {src!r} to {dst!r}")
    path = [src]
    u = src
    while u != dst:
        want = dist[u] - 1
        u = min((v for v in G.succ[u] if dist.get(v) == want), key=node_key)
        path.append(u)
    return tuple(path)


def ecmp_paths(G: nx.DiGraph, src: Any, dst: Any, dist: dict[Any, int] | None = None) -> list[Path]:
    """All fewest-hop paths ``src -> dst``, sorted lexicographically (by :func:`node_key`).

    The first element is :func:`shortest_path`. The number of paths can grow
    exponentially with the hop count in richly meshed graphs; Clos fabrics stay small
    (a k-ary fat tree has ``(k/2)^2`` paths between pods).
    """
    _check_nodes(G, src, dst)
    if dist is None:
        dist = hops_to(G, dst)
    if src not in dist:
        raise nx.NetworkXNoPath(f"no path from {src!r} to {dst!r}")
    out: list[Path] = []

    def walk(prefix: list[Any]) -> None:
        u = prefix[-1]
        if u == dst:
            out.append(tuple(prefix))
            return
        want = dist[u] - 1
        for v in sorted((v for v in G.succ[u] if dist.get(v) == want), key=node_key):
            prefix.append(v)
            walk(prefix)
            prefix.pop()

    walk([src])
    return out


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


def _bond_filter(G: nx.DiGraph, paths: list[Path], ft: FiveTuple) -> list[Path]:
    """Keep the paths that leave the first multi-port NIC on them by the hashed port."""
    first = paths[0]
    for i, n in enumerate(first[:-1]):
        ports = G.nodes[n].get("ports", 1)
        if G.nodes[n].get("kind") != "nic" or ports < 2:
            continue
        if any(p[: i + 1] != first[: i + 1] for p in paths):
            return paths  # the paths reach different NICs: no single bond to hash on
        want = bond_port(ft, ports)
        kept = [p for p in paths if G.edges[p[i], p[i + 1]].get("port") == want]
        return kept or paths
    return paths


# -- router -------------------------------------------------------------------------------
class Router:
    """Chooses and remembers the path of each connection.

    ``mode`` is ``"shortest_path"`` (deterministic, see :func:`shortest_path`) or
    ``"ecmp"`` (5-tuple hash over :func:`ecmp_paths`; bonded NICs pick their port first,
    see :func:`bond_port`). ``rng`` draws source ports; it is needed in ECMP mode unless
    every connection is given an explicit ``src_port``. A pinned path (:meth:`pin`)
    overrides either mode. Path sets and BFS distances are cached; call
    :meth:`invalidate` after changing the graph.
    """

    MODES = ("shortest_path", "ecmp")

    def __init__(
        self,
        G: nx.DiGraph,
        mode: str = "shortest_path",
        rng: np.random.Generator | None = None,
    ):
        if mode not in self.MODES:
            raise ValueError(f"unknown routing mode {mode!r}; known: {', '.join(self.MODES)}")
        self.G = G
        self.mode = mode
        self.rng = rng
        self._dist: dict[Any, dict[Any, int]] = {}
        self._paths: dict[tuple[Any, Any], list[Path]] = {}
        self._pins: dict[Hashable, Path] = {}
        self._conns: dict[Hashable, FiveTuple] = {}

    # caches
    def invalidate(self) -> None:
        """Forget cached distances and path sets (pins and 5-tuples are kept)."""
        self._dist.clear()
        self._paths.clear()

    def _hops_to(self, dst: Any) -> dict[Any, int]:
        d = self._dist.get(dst)
        if d is None:
            d = self._dist[dst] = hops_to(self.G, dst)
        return d

    def paths(self, src: Any, dst: Any) -> list[Path]:
        """All fewest-hop paths ``src -> dst`` (cached), lexicographically sorted."""
        key = (src, dst)
        p = self._paths.get(key)
        if p is None:
            p = self._paths[key] = ecmp_paths(self.G, src, dst, self._hops_to(dst))
        return p

    def shortest(self, src: Any, dst: Any) -> Path:
        """The deterministic fewest-hop path (first of :meth:`paths`)."""
        return self.paths(src, dst)[0]

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
        """The path the hash of ``ft`` selects (ECMP mode) or the shortest path."""
        paths = self.paths(ft.src, ft.dst)
        if self.mode == "shortest_path" or len(paths) == 1:
            return paths[0]
        paths = _bond_filter(self.G, paths, ft)
        return paths[ecmp_index(ft, len(paths))]

    def route(self, conn_id: Hashable, src: Any, dst: Any, src_port: int | None = None) -> Path:
        """The path of connection ``conn_id`` from ``src`` to ``dst``: its pinned path if
        any, else the mode's choice (stable for the connection's lifetime)."""
        pinned = self._pins.get(conn_id)
        if pinned is not None:
            if (pinned[0], pinned[-1]) != (src, dst):
                raise ValueError(f"connection {conn_id!r} is pinned to {pinned[0]}->{pinned[-1]}")
            return pinned
        if self.mode == "shortest_path":
            return self.shortest(src, dst)
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
