"""Link and bonded-port failures on a running flow network, with failover of live flows.

What it models
    A link (or one port of a bonded NIC) fails at some instant: its capacity drops to 0 in
    both directions, the router stops choosing paths through it, and every flow in
    progress that crosses it moves its remaining bytes to the path its connection would
    take now (:meth:`sim_models.hw.flownet.FlowNetwork.reroute`). On a dual-ToR cluster
    (:func:`sim_models.hw.topology.dual_tor`) a connection hashed to the failed port of a
    bond moves to the bond's other port, so the NIC keeps running at half its bandwidth
    instead of stalling (the behaviour of Linux bonding with link monitoring, and of the
    dual-ToR design of Alibaba HPN, SIGCOMM 2024, section 4).

What it leaves out
    Detection delay (failover is immediate here; a caller that wants a delay fails the
    link first and calls :meth:`Failover.reroute_stranded` later), packets lost in flight,
    transport retries, and the re-hashing of connections that do not cross the failed link
    (they keep their paths, as established RDMA queue pairs do).

Assumptions
    Links of the flow network are named by their directed graph edge ``(u, v)``, as
    :func:`sim_models.hw.topology.load_into_flownet` names them.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import numpy as np
from sim_models.hw.flownet import FlowNetwork
from sim_models.hw.routing import Path, Router, path_links


class Failover:
    """Fails and restores links of ``net`` and reroutes the flows that cross them.

    ``link_ids`` maps each graph edge ``(u, v)`` to its flow-network link id (the return
    value of :func:`~sim_models.hw.topology.load_into_flownet`). ``repath(flow_id, src,
    dst) -> node path`` gives a stranded flow's new path; by default the router's current
    choice for the connection ``(src, dst)``.
    """

    def __init__(
        self,
        net: FlowNetwork,
        router: Router,
        link_ids: dict[tuple[Any, Any], int],
        repath: Callable[[int, Any, Any], Path] | None = None,
    ):
        self.net = net
        self.router = router
        self.link_ids = link_ids
        self.edge_of = {lid: e for e, lid in link_ids.items()}
        self.repath = repath or (lambda fid, s, d: router.route((s, d), s, d))
        self.saved: dict[tuple[Any, Any], float] = {}
        #: (time, flow id, old first hop, new path) of every rerouted flow
        self.log: list[tuple[float, int, Hashable, Path]] = []

    def fail(self, u: Any, v: Any, both_directions: bool = True) -> int:
        """Fail link ``u -> v`` (and ``v -> u``) now; returns the number of flows moved."""
        edges = [(u, v), (v, u)] if both_directions else [(u, v)]
        for e in edges:
            if e not in self.link_ids:
                raise KeyError(f"no link {e[0]!r} -> {e[1]!r}")
            lid = self.link_ids[e]
            self.saved.setdefault(e, self.net.capacity_Bps(lid))
            self.net.set_capacity(lid, 0.0)
            self.router.fail_edge(*e)
        return self.reroute_stranded()

    def restore(self, u: Any, v: Any, both_directions: bool = True) -> None:
        """Bring a failed link back (flows already moved stay on their new paths)."""
        for e in [(u, v), (v, u)] if both_directions else [(u, v)]:
            self.net.set_capacity(self.link_ids[e], self.saved.pop(e, 0.0))
            self.router.restore_edge(*e)

    def reroute_stranded(self) -> int:
        """Move every active flow crossing a failed link onto its connection's new path."""
        down = [self.link_ids[e] for e in self.router.down_edges if e in self.link_ids]
        if not down:
            return 0
        fids = np.unique(np.concatenate([self.net.flows_on_link(lid) for lid in down]))
        for fid in fids.tolist():
            links = self.net.flow_path(fid)
            src = self.edge_of[links[0]][0]
            dst = self.edge_of[links[-1]][1]
            path = self.repath(fid, src, dst)
            self.net.reroute(fid, [self.link_ids[e] for e in path_links(path)])
            self.log.append((self.net.env.now, fid, self.edge_of[links[0]], path))
        return int(fids.size)
