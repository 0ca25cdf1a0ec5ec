"""Routing policies: the ``routing`` slot of network models (policy domain ``hw.routing``).

A routing policy decides the path of each connection over a topology graph. Models call
:meth:`RoutingPolicy.setup` once with the graph, then :meth:`RoutingPolicy.route` per
connection (a connection keeps its path for its lifetime); :meth:`RoutingPolicy.pin` fixes
a connection's path explicitly (a flows file's ``path`` column, a planner's choice) and
overrides the policy for that connection.

Policies here (more can register in the same domain, e.g. a traffic planner):

``shortest_path``
    fewest hops, deterministic; parameter ``tie_break``: ``spread`` (default: a stable
    hash of the (source, destination) pair picks one of the equal-cost paths, so pairs
    spread over the fabric) or ``lexicographic`` (the smallest node sequence, which piles
    every flow between two pods onto the same links).
``dmodk``
    destination-modulo-k: at each hop with ``m`` equal-cost next hops take next hop
    ``d mod m`` (then ``d div m`` for the next choice), ``d`` the destination's endpoint
    index; the classic deterministic fat-tree routing (contention-free for shifts).
``ecmp``
    a stable hash of the connection's 5-tuple picks one of the equal-cost paths; the source
    port is drawn per connection from the policy's random stream ``<model>.routing.ports``
    (RoCEv2 senders vary it for entropy); a bonded NIC hashes its egress port first
    (:class:`sim_models.hw.routing.Router`).
``pinned``
    every connection must have a pinned path; with ``fallback`` set, an unpinned connection
    uses that policy's choice instead of being an error.

What it leaves out: per-hop hashing and hash polarisation, adaptive routing (see
:mod:`sim_models.hw.routing`).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, Literal

import networkx as nx
from pydantic import Field
from sim_models.hw.routing import Path, Router

from sim.model import Params, Policy
from sim.registry import policy

DOMAIN = "hw.routing"


class RoutingPolicy(Policy):
    """Base of the ``hw.routing`` policies: a :class:`Router` over the model's graph."""

    mode: str = "shortest_path"

    def __init__(self, params=None):
        super().__init__(params)
        self.router: Router | None = None

    tie_break: str = "lexicographic"

    def setup(self, G: nx.DiGraph) -> None:
        """Bind to the topology graph ``G`` (called once by the model before routing)."""
        rng = self.scope.rng("ports") if self.scope is not None and self.scope.sim else None
        self.router = Router(G, self.mode, rng=rng, tie_break=self.tie_break)

    def _router(self) -> Router:
        if self.router is None:
            raise RuntimeError(f"routing policy {self.name!r} used before setup(graph)")
        return self.router

    def route(self, conn_id: Hashable, src: Any, dst: Any) -> Path:
        """The node path of connection ``conn_id`` (stable for its lifetime)."""
        return self._router().route(conn_id, src, dst)

    def pin(self, conn_id: Hashable, path: Sequence[Any]) -> Path:
        """Fix the path of ``conn_id`` (overrides the policy for it)."""
        return self._router().pin(conn_id, path)


@policy(DOMAIN, "shortest_path", "fewest hops, deterministic tie-break (spread or lexicographic)")
class ShortestPathRouting(RoutingPolicy):
    mode = "shortest_path"

    class Params(Params):
        tie_break: Literal["spread", "lexicographic"] = Field(
            "spread", description="choice among equal-cost paths: pair hash or smallest"
        )

    def setup(self, G: nx.DiGraph) -> None:
        self.tie_break = self.params.tie_break
        super().setup(G)


@policy(DOMAIN, "dmodk", "destination-modulo-k (deterministic fat-tree routing)")
class DModKRouting(RoutingPolicy):
    mode = "dmodk"


@policy(DOMAIN, "ecmp", "equal-cost multipath: 5-tuple hash with random source ports")
class ECMPRouting(RoutingPolicy):
    mode = "ecmp"


@policy(DOMAIN, "pinned", "explicitly pinned paths only (optionally a fallback policy)")
class PinnedRouting(RoutingPolicy):
    class Params(Params):
        fallback: Literal["none", "shortest_path", "dmodk", "ecmp"] = Field(
            "none", description="policy for unpinned connections ('none': an error)"
        )

    def setup(self, G: nx.DiGraph) -> None:
        fb = self.params.fallback
        self.mode = "shortest_path" if fb == "none" else fb
        self.tie_break = "spread"
        super().setup(G)

    def route(self, conn_id: Hashable, src: Any, dst: Any) -> Path:
        router = self._router()
        if self.params.fallback == "none" and router.pinned(conn_id) is None:
            raise ValueError(
                f"connection {conn_id!r} ({src} -> {dst}) has no pinned path "
                "(routing policy 'pinned' without fallback)"
            )
        return router.route(conn_id, src, dst)
