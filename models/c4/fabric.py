"""The C4 cluster fabric: GPU nodes with dual-port bonded NICs on dual ToRs, in a Clos.

What it models
    ``nodes`` servers, each with ``gpus_per_node`` GPUs on an NVSwitch (NVLink) and one NIC
    per GPU (PCIe). Every NIC has two ports of ``port_Bps`` bonded into one logical port;
    port ``p`` is wired to ToR ``p`` of the NIC's *ToR pair* (dual-ToR: the two ports of a
    NIC never share a switch). ToR pairs are filled either node by node (all NICs of a node
    on one pair; ``rail_optimized: false``) or rail by rail (NIC ``g`` of the nodes of a
    segment on the pair of rail ``g``). Each ToR has ``tor_ports`` NIC ports and
    ``uplinks`` uplinks of ``uplink_Bps``:

    * two tiers: every ToR has one uplink to each of ``uplinks`` spines;
    * three tiers: ToR pairs are grouped ``tor_pairs_per_pod`` to a pod; every ToR has one
      uplink to each of the pod's ``uplinks`` aggregation switches; aggregation switch
      ``a`` of every pod has one uplink to each core of plane ``a`` (``2 x
      tor_pairs_per_pod`` cores per plane, so aggregation is non-blocking too).

    ``oversubscription`` divides the capacity of the ToR uplinks (their count, hence the
    equal-cost path sets, is kept), as :mod:`sim_models.hw.topology` does.

    With ``intra_node`` the graph also holds the GPUs, each server's NVSwitch (NVLink
    links) and the GPU-NIC PCIe links; the C4 jobs need only the NICs and switches (their
    data-parallel traffic runs NIC to NIC), and leaving the rest out halves the routing
    work. The graph follows the conventions of :mod:`sim_models.hw.topology` (node ``kind`` and
    ``tier``, edge ``bandwidth_Bps``, ``latency_s``, ``medium``, NIC uplinks carry
    ``port``), so the shared routing policies (:mod:`sim_models.hw.routing_policies`) route
    on it. Every directed edge is a link of a :class:`sim_models.hw.flownet.FlowNetwork`.

Failures
    :meth:`Fabric.set_link` degrades a link (a capacity factor in ``(0, 1)``) or fails it
    (factor 0): a failed link also leaves the graph, so routing sees the surviving paths;
    both directions of a cable change together unless told otherwise. Listeners
    (:meth:`Fabric.on_change`) hear of every change, so a traffic planner can re-plan.

What it leaves out
    Switch buffers, PFC and congestion control, switch-internal limits, parallel links
    between one pair of switches (one link of the summed capacity would hide collisions,
    so a ToR has exactly one uplink per spine), the frontend network and storage traffic.

Constants (defaults; each is a parameter)
    Port 200 Gb/s = 25e9 B/s and two ports per NIC (BlueField-3 as deployed in C4's
    cluster, catalog NIC ``2x200g-bonded``); NVLink 200e9 B/s per direction per GPU (H800:
    400 GB/s bidirectional, catalog link ``nvlink4-h800``); PCIe Gen5 x16 64e9 B/s;
    uplinks 400 Gb/s; a ToR with 64 x 200 Gb/s NIC ports and 32 x 400 Gb/s uplinks (a
    25.6 Tb/s switch at 1:1, the class of switch C4's cluster uses); 1 us per network hop
    and 0.5 us inside a server (assumptions, as in :mod:`sim_models.hw.topology`). Sources
    in ``models/c4/NOTES.md``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
from sim_models.hw import topology as topo
from sim_models.hw.flownet import FlowNetwork

from sim.scope import Scope

Edge = tuple[str, str]


@dataclass(frozen=True)
class FabricSpec:
    """The shape of a fabric (see the module docstring); validated by :meth:`check`."""

    nodes: int
    gpus_per_node: int = 8
    ports_per_nic: int = 2
    port_Bps: float = 25e9
    nvlink_Bps: float = 200e9
    pcie_Bps: float = 64e9
    tor_ports: int = 64
    uplink_Bps: float = 50e9
    uplinks: int | None = None  # default: tor_ports * port_Bps / uplink_Bps (1:1 by count)
    rail_optimized: bool = False
    tiers: int = 2
    tor_pairs_per_pod: int = 4
    oversubscription: float = 1.0
    latency_s: float = 1e-6
    intra_latency_s: float = 0.5e-6
    intra_node: bool = False  # include GPUs, NVSwitch, NVLink and PCIe in the graph

    def check(self) -> FabricSpec:
        for name in ("nodes", "gpus_per_node", "ports_per_nic", "tor_ports", "tor_pairs_per_pod"):
            value = getattr(self, name)
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name in ("port_Bps", "nvlink_Bps", "pcie_Bps", "uplink_Bps", "oversubscription"):
            value = getattr(self, name)
            if not (value > 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be positive and finite, got {value!r}")
        if self.tiers not in (2, 3):
            raise ValueError(f"tiers must be 2 or 3, got {self.tiers!r}")
        if self.uplinks is not None and self.uplinks < 1:
            raise ValueError("uplinks must be >= 1")
        if self.rail_optimized:
            if self.tor_ports < 1:
                raise ValueError("tor_ports must be >= 1")
        elif self.tor_ports % self.gpus_per_node:
            raise ValueError(
                f"tor_ports ({self.tor_ports}) must be a multiple of gpus_per_node "
                f"({self.gpus_per_node}) when ToRs are filled node by node"
            )
        return self

    @property
    def n_uplinks(self) -> int:
        if self.uplinks is not None:
            return int(self.uplinks)
        return max(1, int(round(self.tor_ports * self.port_Bps / self.uplink_Bps)))

    @property
    def nodes_per_pair(self) -> int:
        """Nodes under one ToR pair (node by node) or in one segment (rail by rail)."""
        return self.tor_ports if self.rail_optimized else self.tor_ports // self.gpus_per_node

    @property
    def tor_pairs(self) -> int:
        groups = math.ceil(self.nodes / self.nodes_per_pair)
        return groups * self.gpus_per_node if self.rail_optimized else groups

    def pair_of(self, node: int, rail: int) -> int:
        """The ToR pair of NIC ``rail`` of ``node``."""
        group = node // self.nodes_per_pair
        return group * self.gpus_per_node + rail if self.rail_optimized else group


def nic_name(node: int, rail: int) -> str:
    return f"n{node}.nic{rail}"


def gpu_name(node: int, rail: int) -> str:
    return f"n{node}.gpu{rail}"


def tor_name(pair: int, plane: int) -> str:
    return f"tor{pair}.{plane}"


def build_graph(spec: FabricSpec) -> nx.DiGraph:
    """The fabric as a directed graph (conventions of :mod:`sim_models.hw.topology`)."""
    spec.check()
    s = spec
    G = nx.DiGraph(name=f"c4_clos({s.nodes}x{s.gpus_per_node},{s.tiers}-tier)")
    net_lat, in_lat = s.latency_s, s.intra_latency_s
    up_Bps = s.uplink_Bps / s.oversubscription
    U = s.n_uplinks
    pairs = s.tor_pairs
    for t in range(pairs):
        for p in range(s.ports_per_nic):
            G.add_node(tor_name(t, p), kind="switch", tier=1, role="tor", pair=t, plane=p,
                       pod=t // s.tor_pairs_per_pod)  # fmt: skip
    for i in range(s.nodes):
        nvsw = f"n{i}.nvsw"
        if s.intra_node:
            G.add_node(nvsw, kind="switch", tier=0, role="nvswitch", node=i)
        for g in range(s.gpus_per_node):
            gpu, nic = gpu_name(i, g), nic_name(i, g)
            t = s.pair_of(i, g)
            G.add_node(nic, kind="nic", tier=0, node=i, rail=g, ports=s.ports_per_nic, pair=t)
            if s.intra_node:
                G.add_node(gpu, kind="gpu", tier=0, node=i, rail=g)
                topo.add_link(G, gpu, nvsw, s.nvlink_Bps, in_lat, medium="nvlink")
                topo.add_link(G, gpu, nic, s.pcie_Bps, in_lat, medium="pcie")
            for p in range(s.ports_per_nic):
                topo.add_link(G, nic, tor_name(t, p), s.port_Bps, net_lat, medium="ethernet",
                              port=p)  # fmt: skip
    if pairs > 1 or s.rail_optimized:
        if s.tiers == 2:
            for u in range(U):
                G.add_node(f"spine{u}", kind="switch", tier=2, role="spine")
                for t in range(pairs):
                    for p in range(s.ports_per_nic):
                        topo.add_link(G, tor_name(t, p), f"spine{u}", up_Bps, net_lat,
                                      medium="ethernet")  # fmt: skip
        else:
            pods = math.ceil(pairs / s.tor_pairs_per_pod)
            cores_per_plane = s.ports_per_nic * s.tor_pairs_per_pod
            for pod in range(pods):
                for a in range(U):
                    agg = f"agg{pod}.{a}"
                    G.add_node(agg, kind="switch", tier=2, role="agg", pod=pod)
                    for t in range(pod * s.tor_pairs_per_pod,
                                   min(pairs, (pod + 1) * s.tor_pairs_per_pod)):  # fmt: skip
                        for p in range(s.ports_per_nic):
                            topo.add_link(G, tor_name(t, p), agg, up_Bps, net_lat,
                                          medium="ethernet")  # fmt: skip
            if pods > 1:
                for a in range(U):
                    for c in range(cores_per_plane):
                        core = f"core{a}.{c}"
                        G.add_node(core, kind="switch", tier=3, role="core", plane=a)
                        for pod in range(pods):
                            topo.add_link(G, f"agg{pod}.{a}", core, s.uplink_Bps, net_lat,
                                          medium="ethernet")  # fmt: skip
    return G


class Fabric:
    """A built fabric: its graph, its flow network and its failure state.

    ``env``: the SimPy environment of the flow network (``None``: graph only).
    """

    def __init__(self, spec: FabricSpec, env=None, scope: Scope | None = None):
        self.spec = spec.check()
        self.G = build_graph(spec)
        self.net: FlowNetwork | None = None
        self.lid: dict[Edge, int] = {}
        self._scope = scope
        self._base_cap = {e: d["bandwidth_Bps"] for e, d in self.G.edges.items()}
        self._factor: dict[Edge, float] = {}
        self._removed: dict[Edge, dict[str, Any]] = {}
        self._listeners: list[Callable[[list[Edge]], None]] = []
        self._uplinks: list[Edge] | None = None
        #: incremented by every link change (routes cached by epoch)
        self.epoch = 0
        if env is not None:
            self.attach(env, scope)

    def attach(self, env, scope: Scope | None = None) -> FlowNetwork:
        """A fresh flow network on ``env`` (same link ids), with every link restored to
        its built capacity first; the graph and listeners are kept (routes stay cached)."""
        self.restore_all()
        self.net = FlowNetwork(env, record_flows=False, scope=scope or self._scope)
        lat = nx.get_edge_attributes(self.G, "latency_s")
        # link ids follow the built edge order, whatever failures did to the graph's order
        self.lid = {e: self.net.add_link(e, cap, lat[e]) for e, cap in self._base_cap.items()}
        return self.net

    def restore_all(self) -> None:
        """Bring every degraded or failed link back to its built capacity (announced)."""
        changed = sorted(self._factor)
        for u, v in changed:
            self.set_link(u, v, 1.0, both=False, announce=False)
        if changed:
            for fn in self._listeners:
                fn(changed)

    # -- names ------------------------------------------------------------------------------
    @property
    def nodes(self) -> int:
        return self.spec.nodes

    @property
    def gpus_per_node(self) -> int:
        return self.spec.gpus_per_node

    def nic(self, node: int, rail: int) -> str:
        return nic_name(node, rail)

    def gpu(self, node: int, rail: int) -> str:
        return gpu_name(node, rail)

    def nvswitch(self, node: int) -> str:
        return f"n{node}.nvsw"

    def port_edge(self, nic: str, port: int, up: bool = True) -> Edge:
        """The edge of a NIC port: ``nic -> tor`` (``up``) or ``tor -> nic``."""
        d = self.G.nodes[nic]
        tor = tor_name(d["pair"], port)
        return (nic, tor) if up else (tor, nic)

    def nic_edges(self, nic: str) -> list[Edge]:
        """Both directions of both ports of a NIC."""
        return [
            e
            for p in range(self.spec.ports_per_nic)
            for e in (self.port_edge(nic, p, True), self.port_edge(nic, p, False))
        ]

    def node_of(self, name: str) -> int | None:
        return self.G.nodes[name].get("node") if name in self.G else None

    def uplinks(self) -> list[Edge]:
        """Every ToR-to-spine (or ToR-to-aggregation) edge, both directions listed once
        as the upward edge."""
        if self._uplinks is None:
            self._uplinks = [
                (u, v)
                for u, v in self._base_cap
                if self._role(u) == "tor" and self._role(v) in ("spine", "agg")
            ]
        return list(self._uplinks)

    def _role(self, n: str) -> str:
        return self.G.nodes[n].get("role", self.G.nodes[n].get("kind", ""))

    # -- links ------------------------------------------------------------------------------
    def ids(self, edges: Iterable[Edge]) -> np.ndarray:
        """Flow-network link ids of edges."""
        lid = self.lid
        return np.fromiter((lid[e] for e in edges), dtype=np.int64)

    def capacity_Bps(self, edge: Edge) -> float:
        """Current capacity of an edge (0 when failed)."""
        return self._base_cap[edge] * self._factor.get(edge, 1.0)

    def base_capacity_Bps(self, edge: Edge) -> float:
        return self._base_cap[edge]

    def is_up(self, edge: Edge) -> bool:
        return self._factor.get(edge, 1.0) > 0

    @property
    def down(self) -> frozenset[Edge]:
        """The failed edges (out of the graph)."""
        return frozenset(self._removed)

    def factors(self) -> dict[Edge, float]:
        """Edges whose capacity differs from the built one, with their factor."""
        return dict(self._factor)

    def on_change(self, fn: Callable[[list[Edge]], None]) -> None:
        """Call ``fn(changed_edges)`` after every :meth:`set_link`."""
        self._listeners.append(fn)

    def set_link(
        self, u: str, v: str, factor: float, both: bool = True, announce: bool | None = None
    ) -> list[Edge]:
        """Scale link ``u -> v`` (and ``v -> u`` if ``both``) to ``factor`` of its built
        capacity: 0 fails it (it leaves the graph), 1 restores it. Returns the changed
        edges.

        Listeners hear of the change if ``announce``; by default failures and repairs are
        announced (switches see a port go down or up) and degradations are not (a slow
        link looks healthy to the control plane until someone diagnoses it)."""
        if not (0.0 <= factor <= 1.0):
            raise ValueError(f"factor must be in [0, 1], got {factor!r}")
        edges = [(u, v), (v, u)] if both else [(u, v)]
        for e in edges:
            if e not in self._base_cap:
                raise KeyError(f"no link {e[0]}->{e[1]} in the fabric")
        structural = False
        for e in edges:
            was_up = self.is_up(e)
            if factor == 1.0:
                self._factor.pop(e, None)
            else:
                self._factor[e] = factor
            if factor == 0.0 and was_up:
                self._removed[e] = dict(self.G.edges[e])
                self.G.remove_edge(*e)
                structural = True
            elif factor > 0.0 and not was_up:
                self.G.add_edge(*e, **self._removed.pop(e))
                structural = True
            if self.net is not None:
                self.net.set_capacity(self.lid[e], self.capacity_Bps(e))
        self.epoch += 1
        if announce or (announce is None and structural):
            for fn in self._listeners:
                fn(edges)
        return edges

    def set_nic(
        self, nic: str, factor: float, ports: Sequence[int] | None = None, announce=None
    ) -> list[Edge]:
        """Scale the ports of a NIC (all, or the listed ones), both directions."""
        changed = []
        for p in ports if ports is not None else range(self.spec.ports_per_nic):
            changed += self.set_link(*self.port_edge(nic, p), factor, announce=announce)
        return changed


def place_job(
    fabric_nodes: int,
    job_nodes: int,
    placement: str = "contiguous",
    rng: np.random.Generator | None = None,
    exclude: Iterable[int] = (),
    first: int = 0,
) -> list[int]:
    """Node indices for a job of ``job_nodes`` nodes: ``contiguous`` (from ``first`` on,
    skipping ``exclude``) or ``scattered`` (uniformly at random among the free nodes, as a
    fragmented multi-tenant cluster allocates); the ring follows the returned order."""
    free = [n for n in range(fabric_nodes) if n not in set(exclude)]
    if job_nodes > len(free):
        raise ValueError(f"job needs {job_nodes} nodes, only {len(free)} free")
    if placement == "contiguous":
        start = [n for n in free if n >= first]
        rest = [n for n in free if n < first]
        return (start + rest)[:job_nodes]
    if placement == "scattered":
        if rng is None:
            raise ValueError("scattered placement needs an rng")
        pick = rng.choice(len(free), size=job_nodes, replace=False)
        return sorted(free[i] for i in pick)
    raise ValueError(f"unknown placement {placement!r} (contiguous or scattered)")
