"""Network topologies as directed graphs.

What it models
    The wiring of a cluster: which endpoints (hosts, GPUs, NICs) and switches exist and
    which links join them, with each link's capacity and one-way propagation latency. Every
    builder returns a :class:`networkx.DiGraph` in which a full-duplex link is two directed
    edges, one per direction, each with its own capacity (the two directions of a real
    link do not share bandwidth).

    Builders: :func:`ring`, :func:`fully_connected`, :func:`single_switch`,
    :func:`leaf_spine`, :func:`fat_tree` (three-tier k-ary), :func:`multi_rail`
    (rail-optimised GPU cluster: NIC ``g`` of every server on ToR/rail ``g``, NVSwitch
    inside a server) and :func:`dual_tor` (the same with dual-port NICs, each port on a
    different ToR of its rail, as in Alibaba HPN). :func:`from_csv` reads a link list;
    :func:`to_csv` writes one; :func:`load_into_flownet` creates one link of a
    :class:`sim_models.hw.flownet.FlowNetwork` per directed edge.

What it leaves out
    Switch buffers, queueing delay, per-packet serialisation, switch-internal bandwidth
    limits, PCIe switch hierarchies inside a server and link failures (a caller removes
    edges to model a failure). Latency is a property of a link only; switch forwarding
    delay is folded into it.

Graph conventions
    Edge attributes: ``bandwidth_Bps`` (bytes/s, one direction), ``latency_s`` (one-way
    propagation plus forwarding, seconds) and ``medium`` (``"ethernet"``, ``"nvlink"``,
    ``"pcie"``, ``"link"``). A NIC port's uplink also carries ``port`` (0, 1, ...).
    Node attributes: ``kind`` in ``{"host", "gpu", "nic", "switch"}``; ``tier`` (0 for
    endpoints, NICs and NVSwitches, 1 for leaf/edge/ToR, 2 for spine/aggregation, 3 for
    core); switches carry ``role`` (``"switch"``, ``"leaf"``, ``"spine"``, ``"edge"``,
    ``"agg"``, ``"core"``, ``"tor"``, ``"nvswitch"``); endpoints of multi-server builders
    carry ``node`` (server index), GPUs and NICs ``rail`` (local index), NICs ``ports``,
    ToRs ``rail`` and ``plane`` (which of a rail's ToRs). Node names are strings.

Oversubscription
    :func:`leaf_spine` and :func:`fat_tree` model oversubscription by reducing the
    *capacity* of uplinks, never their count: the ratio of a switch's downlink capacity to
    its uplink capacity equals ``oversubscription``. (Fewer uplinks would also change the
    number of equal-cost paths; reducing capacity keeps the path set and changes only the
    bottleneck.) In the fat tree the reduction is applied at the edge tier (edge to
    aggregation links); aggregation to core links keep the full rate.

Units and default constants (illustrative; a caller passes the values of its system)
    Bytes per second and seconds throughout. 100 Gb/s = 12.5e9 B/s for host links of the
    generic builders. Multi-rail defaults follow an 8-GPU H100 server: NVLink 4 at
    900 GB/s total per GPU, i.e. 450e9 B/s per direction to the NVSwitch fabric (NVIDIA
    H100 datasheet); PCIe Gen5 x16 at 63.0e9 B/s per direction between GPU and NIC (32 GT/s x
    16 lanes, 128b/130b);
    a 400 Gb/s NIC (ConnectX-7) = 50e9 B/s. Dual-ToR defaults follow Alibaba HPN
    (SIGCOMM 2024): 2 x 200 Gb/s ports per NIC, 25e9 B/s each, the two ports on two
    different ToRs. Link latency defaults to 1 us per network hop and 0.5 us inside a
    server; these are assumptions, not measurements.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import networkx as nx
from sim_models.hw.catalog import links as _catalog

from sim.errors import DataError
from sim.results import write_csv_rows
from sim.traces import (
    check_data_path,
    csv_field,
    csv_number,
    csv_rows,
    open_text,
    require_columns,
)

ENDPOINT_KINDS = frozenset({"host", "gpu"})
"""Node kinds that send and receive flows."""

NET_LATENCY_S = 1e-6
INTRA_LATENCY_S = 0.5e-6
HOST_LINK_BPS = 12.5e9  # 100 Gb/s
# Defaults of the multi-server builders, taken from the catalog (sources there).
NVLINK_BPS = _catalog.LINKS["nvlink4"].bandwidth_Bps  # H100 NVLink 4, one direction per GPU
PCIE_BPS = _catalog.LINKS["pcie5_x16"].bandwidth_Bps  # PCIe Gen5 x16, one direction
NIC_BPS = _catalog.NICS["400g"].bandwidth_Bps  # ConnectX-7, 400 Gb/s
HPN_PORT_BPS = _catalog.NICS["2x200g-bonded"].port_Bps  # 200 Gb/s per port (Alibaba HPN)

CSV_COLUMNS = ("src", "dst", "bandwidth_GBps", "latency_s")


# -- helpers ------------------------------------------------------------------------------
def add_link(
    G: nx.DiGraph,
    u: Any,
    v: Any,
    bandwidth_Bps: float,
    latency_s: float,
    **attrs: Any,
) -> None:
    """Add a full-duplex link ``u``-``v``: two directed edges with the same attributes."""
    if u == v:
        raise ValueError(f"self-loop at {u!r}")
    if not bandwidth_Bps > 0 or not math.isfinite(bandwidth_Bps):
        raise ValueError(f"link {u}-{v}: bandwidth_Bps must be positive and finite")
    if not latency_s >= 0 or not math.isfinite(latency_s):
        raise ValueError(f"link {u}-{v}: latency_s must be non-negative and finite")
    for a, b in ((u, v), (v, u)):
        G.add_edge(a, b, bandwidth_Bps=float(bandwidth_Bps), latency_s=float(latency_s), **attrs)


def endpoints(G: nx.DiGraph) -> list[Any]:
    """The nodes whose ``kind`` is an endpoint kind (host or GPU), in insertion order."""
    return [n for n, k in G.nodes(data="kind") if k in ENDPOINT_KINDS]


def _check_count(name: str, value: int, minimum: int) -> None:
    if int(value) != value or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _check_positive(name: str, value: float) -> None:
    if not value > 0 or not math.isfinite(value):
        raise ValueError(f"{name} must be positive and finite, got {value!r}")


# -- generic builders ---------------------------------------------------------------------
def ring(
    n: int, *, bandwidth_Bps: float = HOST_LINK_BPS, latency_s: float = NET_LATENCY_S
) -> nx.DiGraph:
    """``n`` hosts ``h0..h{n-1}`` in a bidirectional ring (host ``i`` linked to ``i+1 mod n``).

    ``n = 2`` gives a single link. Hosts forward traffic for non-neighbours (graph
    attribute ``endpoints_forward``).
    """
    _check_count("n", n, 2)
    G = nx.DiGraph(name=f"ring({n})", endpoints_forward=True)
    for i in range(n):
        G.add_node(f"h{i}", kind="host", tier=0, node=i)
    for i in range(n if n > 2 else 1):
        add_link(G, f"h{i}", f"h{(i + 1) % n}", bandwidth_Bps, latency_s, medium="link")
    return G


def fully_connected(
    n: int, *, bandwidth_Bps: float = HOST_LINK_BPS, latency_s: float = NET_LATENCY_S
) -> nx.DiGraph:
    """``n`` hosts with a direct link between every pair."""
    _check_count("n", n, 2)
    G = nx.DiGraph(name=f"fully_connected({n})")
    for i in range(n):
        G.add_node(f"h{i}", kind="host", tier=0, node=i)
    for i in range(n):
        for j in range(i + 1, n):
            add_link(G, f"h{i}", f"h{j}", bandwidth_Bps, latency_s, medium="link")
    return G


def single_switch(
    n: int, *, bandwidth_Bps: float = HOST_LINK_BPS, latency_s: float = NET_LATENCY_S
) -> nx.DiGraph:
    """``n`` hosts on one non-blocking switch ``sw`` (a star)."""
    _check_count("n", n, 1)
    G = nx.DiGraph(name=f"single_switch({n})")
    G.add_node("sw", kind="switch", tier=1, role="switch")
    for i in range(n):
        G.add_node(f"h{i}", kind="host", tier=0, node=i)
        add_link(G, f"h{i}", "sw", bandwidth_Bps, latency_s, medium="ethernet")
    return G


def leaf_spine(
    hosts_per_leaf: int,
    leaves: int,
    spines: int,
    *,
    host_link_Bps: float = HOST_LINK_BPS,
    uplink_Bps: float | None = None,
    oversubscription: float | None = None,
    latency_s: float = NET_LATENCY_S,
) -> nx.DiGraph:
    """Two-tier Clos: ``leaves`` leaf switches, each with ``hosts_per_leaf`` hosts and one
    uplink to each of ``spines`` spine switches.

    Hosts are ``h0..`` numbered leaf by leaf (host attribute ``leaf``); switches ``leaf{j}``
    and ``spine{s}``. Uplink capacity is ``uplink_Bps`` if given, otherwise
    ``hosts_per_leaf * host_link_Bps / (spines * oversubscription)`` (oversubscription 1
    when neither is given: a non-blocking fabric). Give one of the two, not both.
    """
    _check_count("hosts_per_leaf", hosts_per_leaf, 1)
    _check_count("leaves", leaves, 1)
    _check_count("spines", spines, 1)
    _check_positive("host_link_Bps", host_link_Bps)
    if uplink_Bps is not None and oversubscription is not None:
        raise ValueError("give uplink_Bps or oversubscription, not both")
    if uplink_Bps is None:
        ratio = 1.0 if oversubscription is None else float(oversubscription)
        _check_positive("oversubscription", ratio)
        uplink_Bps = hosts_per_leaf * host_link_Bps / (spines * ratio)
    _check_positive("uplink_Bps", uplink_Bps)
    G = nx.DiGraph(name=f"leaf_spine({hosts_per_leaf},{leaves},{spines})")
    for s in range(spines):
        G.add_node(f"spine{s}", kind="switch", tier=2, role="spine")
    h = 0
    for j in range(leaves):
        leaf = f"leaf{j}"
        G.add_node(leaf, kind="switch", tier=1, role="leaf")
        for _ in range(hosts_per_leaf):
            G.add_node(f"h{h}", kind="host", tier=0, node=h, leaf=j)
            add_link(G, f"h{h}", leaf, host_link_Bps, latency_s, medium="ethernet")
            h += 1
        for s in range(spines):
            add_link(G, leaf, f"spine{s}", uplink_Bps, latency_s, medium="ethernet")
    return G


def fat_tree(
    k: int,
    oversubscription: float = 1.0,
    *,
    link_Bps: float = HOST_LINK_BPS,
    latency_s: float = NET_LATENCY_S,
) -> nx.DiGraph:
    """Three-tier k-ary fat tree (Al-Fares et al., SIGCOMM 2008).

    ``k`` pods, each with ``k/2`` edge switches ``edge{p}.{e}`` and ``k/2`` aggregation
    switches ``agg{p}.{a}``; ``(k/2)^2`` core switches ``core{c}``; ``k/2`` hosts per edge
    switch, ``k^3/4`` hosts ``h0..`` in all (host attributes ``pod``, ``edge``). Every edge
    switch links to every aggregation switch of its pod; core ``c`` links to aggregation
    switch ``c // (k/2)`` of every pod. All links run at ``link_Bps`` except the edge to
    aggregation links, which run at ``link_Bps / oversubscription`` (capacity reduced,
    count kept; see the module docstring).
    """
    _check_count("k", k, 2)
    if k % 2:
        raise ValueError(f"k must be even, got {k}")
    _check_positive("oversubscription", oversubscription)
    _check_positive("link_Bps", link_Bps)
    half = k // 2
    up_Bps = link_Bps / oversubscription
    G = nx.DiGraph(name=f"fat_tree({k})")
    for c in range(half * half):
        G.add_node(f"core{c}", kind="switch", tier=3, role="core")
    h = 0
    for p in range(k):
        for a in range(half):
            agg = f"agg{p}.{a}"
            G.add_node(agg, kind="switch", tier=2, role="agg", pod=p)
            for c in range(a * half, (a + 1) * half):
                add_link(G, agg, f"core{c}", link_Bps, latency_s, medium="ethernet")
        for e in range(half):
            edge = f"edge{p}.{e}"
            G.add_node(edge, kind="switch", tier=1, role="edge", pod=p)
            for a in range(half):
                add_link(G, edge, f"agg{p}.{a}", up_Bps, latency_s, medium="ethernet")
            for _ in range(half):
                G.add_node(f"h{h}", kind="host", tier=0, node=h, pod=p, edge=e)
                add_link(G, f"h{h}", edge, link_Bps, latency_s, medium="ethernet")
                h += 1
    return G


# -- GPU clusters -------------------------------------------------------------------------
def _rail_cluster(
    name: str,
    nodes: int,
    gpus_per_node: int,
    ports_per_nic: int,
    port_Bps: float,
    nvlink_Bps: float,
    pcie_Bps: float,
    spines: int,
    spine_Bps: float | None,
    latency_s: float,
    intra_latency_s: float,
    gpus_per_nic: int = 1,
) -> nx.DiGraph:
    _check_count("nodes", nodes, 1)
    _check_count("gpus_per_node", gpus_per_node, 1)
    _check_count("spines", spines, 0)
    _check_count("gpus_per_nic", gpus_per_nic, 1)
    if gpus_per_node % gpus_per_nic:
        raise ValueError(
            f"gpus_per_node ({gpus_per_node}) must be a multiple of gpus_per_nic ({gpus_per_nic})"
        )
    nics = gpus_per_node // gpus_per_nic
    for label, value in (
        ("port_Bps", port_Bps),
        ("nvlink_Bps", nvlink_Bps),
        ("pcie_Bps", pcie_Bps),
    ):
        _check_positive(label, value)
    G = nx.DiGraph(name=name)
    relay = spines == 0  # no spine tier: cross-rail traffic relays through a GPU (PXN)
    tors = []
    for g in range(nics):
        for plane in range(ports_per_nic):
            tor = f"tor{g}" if ports_per_nic == 1 else f"tor{g}.{plane}"
            G.add_node(tor, kind="switch", tier=1, role="tor", rail=g, plane=plane)
            tors.append(tor)
    for i in range(nodes):
        nvsw = f"n{i}.nvsw"
        G.add_node(nvsw, kind="switch", tier=0, role="nvswitch", node=i)
        for j in range(nics):
            nic = f"n{i}.nic{j}"
            G.add_node(nic, kind="nic", tier=0, node=i, rail=j, ports=ports_per_nic)
            for plane in range(ports_per_nic):
                tor = f"tor{j}" if ports_per_nic == 1 else f"tor{j}.{plane}"
                add_link(G, nic, tor, port_Bps, latency_s, medium="ethernet", port=plane)
        for g in range(gpus_per_node):
            gpu, nic = f"n{i}.gpu{g}", f"n{i}.nic{g // gpus_per_nic}"
            G.add_node(gpu, kind="gpu", tier=0, node=i, rail=g // gpus_per_nic, forwards=relay)
            add_link(G, gpu, nvsw, nvlink_Bps, intra_latency_s, medium="nvlink")
            if gpus_per_nic == 1:
                add_link(G, gpu, nic, pcie_Bps, intra_latency_s, medium="pcie")
            else:  # each GPU's own PCIe port, so that GPU pairs talk over NVLink, not the NIC
                pcie = f"n{i}.pcie{g}"
                G.add_node(pcie, kind="switch", tier=0, role="pcie", node=i)
                add_link(G, gpu, pcie, pcie_Bps, intra_latency_s, medium="pcie")
                add_link(G, pcie, nic, pcie_Bps, 0.0, medium="pcie")
    if spines:
        if spine_Bps is None:  # non-blocking: a ToR's uplinks carry what its ports can
            spine_Bps = nodes * port_Bps / spines
        _check_positive("spine_Bps", spine_Bps)
        for s in range(spines):
            G.add_node(f"spine{s}", kind="switch", tier=2, role="spine")
            for tor in tors:
                add_link(G, tor, f"spine{s}", spine_Bps, latency_s, medium="ethernet")
    return G


def multi_rail(
    nodes: int,
    gpus_per_node: int = 8,
    *,
    nic_Bps: float = NIC_BPS,
    nvlink_Bps: float = NVLINK_BPS,
    pcie_Bps: float = PCIE_BPS,
    spines: int = 0,
    spine_Bps: float | None = None,
    latency_s: float = NET_LATENCY_S,
    intra_latency_s: float = INTRA_LATENCY_S,
    gpus_per_nic: int = 1,
) -> nx.DiGraph:
    """Rail-optimised GPU cluster: ``nodes`` servers of ``gpus_per_node`` GPUs, one NIC per
    ``gpus_per_nic`` GPUs (default 1: a NIC per GPU; 2 as in a DGX A100 with four
    200 Gb/s NICs shared by GPU pairs through a PCIe switch); NIC ``j`` of every server
    links to ToR ``tor{j}`` (rail ``j``); GPU ``g`` uses NIC ``g // gpus_per_nic``, through
    its own PCIe port ``n{i}.pcie{g}`` when the NIC is shared (so two GPUs of a NIC are
    farther apart through the NIC than through the NVSwitch).

    Inside server ``i``: GPUs ``n{i}.gpu{g}`` on an NVSwitch ``n{i}.nvsw`` (NVLink, one
    link per GPU) and each GPU on its NIC ``n{i}.nic{g}`` (PCIe). With ``spines > 0``
    every ToR also links to every spine ``spine{s}`` (uplinks at ``spine_Bps``, default
    non-blocking); without spines, cross-rail traffic goes through the NVSwitch of a
    server and another GPU (as with NCCL's PXN), so GPUs carry ``forwards=True`` then;
    with spines, GPUs never forward (see :mod:`sim_models.hw.routing`).
    """
    return _rail_cluster(
        f"multi_rail({nodes},{gpus_per_node})", nodes, gpus_per_node, 1, nic_Bps,
        nvlink_Bps, pcie_Bps, spines, spine_Bps, latency_s, intra_latency_s, gpus_per_nic,
    )  # fmt: skip


def dual_tor(
    nodes: int,
    gpus_per_node: int = 8,
    *,
    port_Bps: float = HPN_PORT_BPS,
    nvlink_Bps: float = NVLINK_BPS,
    pcie_Bps: float = PCIE_BPS,
    spines: int = 0,
    spine_Bps: float | None = None,
    latency_s: float = NET_LATENCY_S,
    intra_latency_s: float = INTRA_LATENCY_S,
    gpus_per_nic: int = 1,
) -> nx.DiGraph:
    """Rail-optimised cluster with dual-port bonded NICs on dual ToRs (Alibaba HPN).

    As :func:`multi_rail`, but every rail ``g`` has two ToRs ``tor{g}.0`` and ``tor{g}.1``
    and every NIC has two ports (edge attribute ``port`` 0 and 1), port ``p`` on ToR
    ``tor{g}.{p}``, each at ``port_Bps`` (default 200 Gb/s). The bond's port for a
    connection is chosen by :func:`sim_models.hw.routing.bond_port`.
    """
    return _rail_cluster(
        f"dual_tor({nodes},{gpus_per_node})", nodes, gpus_per_node, 2, port_Bps,
        nvlink_Bps, pcie_Bps, spines, spine_Bps, latency_s, intra_latency_s, gpus_per_nic,
    )  # fmt: skip


# -- CSV ----------------------------------------------------------------------------------
def from_csv(path: str | Path) -> nx.DiGraph:
    """Read a link list: header ``src,dst,bandwidth_GBps,latency_s``, one full-duplex link
    per row (``bandwidth_GBps`` in 1e9 bytes/s per direction, ``latency_s`` one-way).

    Blank lines and lines starting with ``#`` are skipped; extra columns are ignored.
    Node ``kind`` is inferred, since the file does not say: a node with one neighbour is
    a ``"host"``, any other a ``"switch"``. Raises :class:`~sim.errors.DataError` naming
    the file and line for a missing file, a missing column, an empty file, a bad number,
    a self-loop or a link given twice.
    """
    path = check_data_path(path, "topology file")
    G = nx.DiGraph(name=path.stem)
    with open_text(path) as fh:
        rows = csv_rows(fh, path)
        header, line = next(rows, (None, 0))
        if header is None:
            raise DataError(
                "empty topology file (expected header " + ",".join(CSV_COLUMNS) + ")",
                where=str(path),
            )
        idx = require_columns(header, CSV_COLUMNS, path, line)
        for row, line in rows:
            where = f"{path}:{line}"
            src, dst = csv_field(row, idx["src"], where), csv_field(row, idx["dst"], where)
            if not src or not dst:
                raise DataError("src and dst must be non-empty", where=where)
            bw = csv_number(row, idx["bandwidth_GBps"], "bandwidth_GBps", where)
            lat = csv_number(row, idx["latency_s"], "latency_s", where)
            if src == dst:
                raise DataError(f"self-loop at {src!r}", where=where)
            if bw <= 0:
                raise DataError(f"bandwidth_GBps must be positive, got {bw}", where=where)
            if lat < 0:
                raise DataError(f"latency_s must be non-negative, got {lat}", where=where)
            if G.has_edge(src, dst):
                raise DataError(
                    f"link {src}-{dst} given twice (line {G.edges[src, dst]['line']})", where=where
                )
            add_link(G, src, dst, bw * 1e9, lat, medium="link", line=line)
    if G.number_of_edges() == 0:
        raise DataError("topology file has no links", where=str(path))
    for n in G.nodes:
        G.nodes[n]["kind"] = "host" if G.out_degree(n) == 1 else "switch"
        G.nodes[n]["tier"] = 0 if G.out_degree(n) == 1 else 1
    return G


def to_csv(G: nx.DiGraph, path: str | Path) -> Path:
    """Write ``G`` as a link list readable by :func:`from_csv` (atomically).

    Each full-duplex pair is written once; every edge must have a reverse edge with the
    same ``bandwidth_Bps`` and ``latency_s``, or ``ValueError`` is raised.
    """
    path = Path(path)
    rows = []
    seen: set[tuple[Any, Any]] = set()
    for u, v, d in G.edges(data=True):
        if (v, u) in seen:
            continue
        if not G.has_edge(v, u):
            raise ValueError(f"edge {u}->{v} has no reverse edge")
        r = G.edges[v, u]
        if (r["bandwidth_Bps"], r["latency_s"]) != (d["bandwidth_Bps"], d["latency_s"]):
            raise ValueError(f"link {u}-{v} differs between its two directions")
        seen.add((u, v))
        rows.append((u, v, repr(d["bandwidth_Bps"] / 1e9), repr(d["latency_s"])))
    return write_csv_rows(path, CSV_COLUMNS, rows)


# -- flow network -------------------------------------------------------------------------
def load_into_flownet(G: nx.DiGraph, net: Any) -> dict[tuple[Any, Any], int]:
    """Add one link per directed edge ``(u, v)`` of ``G`` to ``net`` (a
    :class:`sim_models.hw.flownet.FlowNetwork`), named ``(u, v)``, with the edge's
    ``bandwidth_Bps`` and ``latency_s``; return ``{(u, v): link id}``.

    Start flows with the returned link ids rather than the ``(u, v)`` names when node
    labels are integers: the flow network reads a path of integer pairs as link ids.
    """
    return {
        (u, v): net.add_link((u, v), d["bandwidth_Bps"], d["latency_s"])
        for u, v, d in G.edges(data=True)
    }
