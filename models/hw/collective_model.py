"""Registered model ``hw.collective`` (alias ``collective``): one collective operation on a
flow-level network.

What it models
    One all-reduce, reduce-scatter or all-gather of ``message_bytes`` per rank, run by one
    of the algorithms of :mod:`sim_models.hw.collectives` on one of the topologies of
    :mod:`sim_models.hw.topology`, every link at ``link_bandwidth_GBps`` per direction with
    ``link_latency_s`` one-way latency.  Messages are flows of a
    :class:`sim_models.hw.flownet.FlowNetwork` (max-min fair sharing), routed by the policy in
    the ``routing`` slot (:mod:`sim_models.hw.routing_policies`; default ``ecmp``: a hash of
    each connection's 5-tuple with a source port from the stream
    ``hw.collective.routing.ports``).  Reports time, algorithm bandwidth and nccl-tests
    bus bandwidth.

Topologies (rank ``r`` runs on host ``h{r}``)
    ``ring``: bidirectional ring of ``ranks`` hosts; ``fully_connected``: a link per host
    pair (at most 256 ranks); ``switch``: one non-blocking switch; ``leaf_spine``:
    ``gpus_per_node`` hosts per leaf, ``ranks / gpus_per_node`` leaves and ``spines``
    spines (default ``gpus_per_node``), uplinks sized for a non-blocking fabric;
    ``fat_tree``: the smallest even-k fat tree with at least ``ranks`` hosts, ranks on its
    first hosts.  For ``hierarchical`` the ranks of a "node" are ``gpus_per_node``
    consecutive ranks (on ``leaf_spine``: the hosts of one leaf).

GPU clusters (``multi_rail``, ``dual_tor``; rank ``r`` is GPU ``r mod g`` of server
``r div g``, ``g = gpus_per_node``)
    NVLink to an NVSwitch inside a server (``nvlink_bandwidth_GBps``), PCIe to a NIC shared
    by ``gpus_per_nic`` GPUs, NIC ports at ``link_bandwidth_GBps`` to rail ToRs (two ports on
    two ToRs for ``dual_tor``), ``spines`` spine switches (0: rails joined only through the
    servers, GPUs relaying across rails).  ``channels`` runs that many copies of the
    collective side by side on ``1/channels`` of the buffer; channel ``c`` visits each
    server's GPUs starting ``c * gpus_per_nic`` places further, so consecutive channels
    leave and enter servers through different NICs, and its connections hash on their own
    (as NCCL's channels use their own queue pairs).

Library costs
    ``protocol`` (``simple``, ``ll128``, ``ll``; ``auto`` picks by size; ``none``: the bare
    network) adds NCCL's wire efficiency, a base latency and a per-step latency
    (:mod:`sim_models.hw.collective_tuning`); ``algorithm: auto`` picks ring or tree by size
    with the same alpha-beta prediction. ``executor``: ``step`` (barrier per step) or
    ``rank`` (per-rank dependencies, :func:`sim_models.hw.collectives.run_schedule_per_rank`).

What it leaves out
    Everything :mod:`sim_models.hw.collectives` and :mod:`sim_models.hw.flownet` leave out
    (compute, packets); NVLink SHARP and CollNet; NCCL's own channel and topology search.

Units and constants
    ``link_bandwidth_GBps`` in 1e9 bytes/s per direction; latency in seconds.  Defaults
    (12.5 GB/s = 100 Gb/s, 1 us per link) are illustrative, as in :mod:`sim_models.hw.topology`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import Field, model_validator
from sim_models.hw import collective_tuning as tuning
from sim_models.hw import topology as topo
from sim_models.hw.collectives import (
    CollectiveResult,
    StepCosts,
    is_power_of_two,
    run_collective,
)
from sim_models.hw.flownet import FlowNetwork
from sim_models.hw.routing import path_links
from sim_models.hw.routing_policies import DOMAIN as ROUTING_DOMAIN

from sim.model import Model, Params, Slot
from sim.registry import model
from sim.stats import ok_rows

MAX_DENSE_RANKS = 256  # fully_connected topology and direct algorithm: O(p^2) links/flows


def fat_tree_k(hosts: int) -> int:
    """Smallest even ``k`` whose fat tree (``k^3/4`` hosts) holds ``hosts`` hosts."""
    k = 2
    while k**3 // 4 < hosts:
        k += 2
    return k


GPU_TOPOLOGIES = ("multi_rail", "dual_tor")


@model(
    "hw.collective",
    "one collective (all-reduce, reduce-scatter, all-gather) on a flow network",
    aliases=("collective",),
)
class CollectiveModel(Model):
    """One collective on a flow-level network; time, algbw and busbw (nccl-tests)."""

    slots = {"routing": Slot(ROUTING_DOMAIN, "ecmp", "path of each message's connection")}

    class Params(Params):
        collective: Literal["allreduce", "reduce_scatter", "all_gather"] = "allreduce"
        algorithm: Literal["ring", "halving_doubling", "direct", "tree", "hierarchical", "auto"] = (
            Field("ring", description="'auto': NCCL-style choice of ring or tree by size")
        )
        topology: Literal[
            "ring", "fully_connected", "switch", "leaf_spine", "fat_tree", "multi_rail", "dual_tor"
        ] = "ring"
        ranks: int = Field(16, ge=2, le=65536, description="number of ranks (one per host/GPU)")
        message_bytes: float = Field(
            256e6, ge=1, le=1e13, description="buffer size N per rank (bytes), as in nccl-tests"
        )
        link_bandwidth_GBps: float = Field(
            12.5, ge=1e-6, le=1e6, description="per direction, 1e9 B/s (GPU topologies: NIC port)"
        )
        link_latency_s: float = Field(1e-6, ge=0, le=1.0, description="one-way latency of a link")
        gpus_per_node: int = Field(
            4, ge=1, le=1024,
            description="ranks per node (hierarchical, GPU topologies) / hosts per leaf (leaf_spine)",
        )  # fmt: skip
        spines: int | None = Field(
            None, ge=0, le=4096, description="leaf_spine spines (default g); GPU topologies: 0"
        )
        chunks: int = Field(
            1, ge=1, le=4096, description="tree pipeline chunks (1 = not pipelined)"
        )
        # GPU clusters (topology multi_rail or dual_tor)
        gpus_per_nic: int = Field(1, ge=1, le=64, description="GPUs sharing one NIC")
        nvlink_bandwidth_GBps: float = Field(
            450.0, gt=0, le=1e5, description="GPU to NVSwitch, per direction (1e9 B/s)"
        )
        pcie_bandwidth_GBps: float = Field(
            63.0, gt=0, le=1e5, description="GPU to NIC, per direction (1e9 B/s)"
        )
        intra_latency_s: float = Field(0.5e-6, ge=0, le=1.0, description="NVLink/PCIe hop")
        # execution
        executor: Literal["step", "rank"] = Field(
            "step", description="'step': barrier per step; 'rank': per-rank dependencies"
        )
        channels: int = Field(
            1, ge=1, le=64, description="parallel rings/trees, each over its own NIC/port"
        )
        protocol: Literal["none", "simple", "ll128", "ll", "auto"] = Field(
            "none", description="NCCL protocol costs ('none': the bare network)"
        )

        @model_validator(mode="after")
        def _compatible(self):
            p, g = self.ranks, self.gpus_per_node
            if (
                self.algorithm == "halving_doubling"
                and not is_power_of_two(p)
                and self.collective != "allreduce"
            ):
                raise ValueError(
                    f"algorithm halving_doubling {self.collective} needs a power-of-two "
                    f"number of ranks, got {p}"
                )
            if self.algorithm == "tree" and self.collective != "allreduce":
                raise ValueError(f"algorithm tree implements allreduce only, not {self.collective}")
            needs_nodes = self.algorithm == "hierarchical" or self.topology in (
                "leaf_spine",
                *GPU_TOPOLOGIES,
            )
            if needs_nodes and p % g:
                raise ValueError(
                    f"ranks ({p}) must be a multiple of gpus_per_node ({g}) for "
                    f"algorithm {self.algorithm} on topology {self.topology}"
                )
            if self.topology in GPU_TOPOLOGIES and g % self.gpus_per_nic:
                raise ValueError(
                    f"gpus_per_node ({g}) must be a multiple of gpus_per_nic ({self.gpus_per_nic})"
                )
            if self.topology == "fully_connected" and p > MAX_DENSE_RANKS:
                raise ValueError(
                    f"topology fully_connected supports at most {MAX_DENSE_RANKS} ranks"
                )
            if self.algorithm == "direct" and p > MAX_DENSE_RANKS:
                raise ValueError(f"algorithm direct supports at most {MAX_DENSE_RANKS} ranks")
            if self.channels * p > 262144:
                raise ValueError("channels x ranks must be at most 262144")
            return self

    result: CollectiveResult | None = None
    net: FlowNetwork | None = None

    # -- build ----------------------------------------------------------------------------
    def graph(self):
        """The topology graph for the params (networkx DiGraph)."""
        p = self.params
        B = p.link_bandwidth_GBps * 1e9
        a = p.link_latency_s
        if p.topology == "ring":
            return topo.ring(p.ranks, bandwidth_Bps=B, latency_s=a)
        if p.topology == "fully_connected":
            return topo.fully_connected(p.ranks, bandwidth_Bps=B, latency_s=a)
        if p.topology == "switch":
            return topo.single_switch(p.ranks, bandwidth_Bps=B, latency_s=a)
        if p.topology == "leaf_spine":
            g = p.gpus_per_node
            return topo.leaf_spine(g, p.ranks // g, p.spines or g, host_link_Bps=B, latency_s=a)
        if p.topology in GPU_TOPOLOGIES:
            build = topo.multi_rail if p.topology == "multi_rail" else topo.dual_tor
            bw = "nic_Bps" if p.topology == "multi_rail" else "port_Bps"
            return build(
                p.ranks // p.gpus_per_node, p.gpus_per_node, **{bw: B},
                nvlink_Bps=p.nvlink_bandwidth_GBps * 1e9, pcie_Bps=p.pcie_bandwidth_GBps * 1e9,
                spines=p.spines or 0, latency_s=a, intra_latency_s=p.intra_latency_s,
                gpus_per_nic=p.gpus_per_nic,
            )  # fmt: skip
        return topo.fat_tree(fat_tree_k(p.ranks), link_Bps=B, latency_s=a)

    def channel_order(self, c: int) -> list[int]:
        """Rank -> endpoint index for channel ``c``.

        On GPU topologies each node's GPUs are visited starting ``c * gpus_per_nic``
        places further, so consecutive channels enter and leave every node through
        different GPUs, hence different NICs (as NCCL's rings do); elsewhere the identity.
        """
        p = self.params
        if p.topology not in GPU_TOPOLOGIES or c == 0:
            return list(range(p.ranks))
        g = p.gpus_per_node
        shift = (c * p.gpus_per_nic) % g
        return [n * g + (i + shift) % g for n in range(p.ranks // g) for i in range(g)]

    def plan(self) -> tuple[str, StepCosts]:
        """The algorithm to run and the protocol costs (resolving ``auto``)."""
        p = self.params
        algorithm, protocol = p.algorithm, p.protocol
        gpu = p.topology in GPU_TOPOLOGIES
        inter = not gpu or p.ranks > p.gpus_per_node
        if algorithm == "auto" or protocol == "auto":
            bottleneck = p.link_bandwidth_GBps * 1e9
            if gpu and not inter:
                bottleneck = p.nvlink_bandwidth_GBps * 1e9
            elif gpu:  # one channel crosses a node through one NIC (all its ports)
                nics = p.gpus_per_node // p.gpus_per_nic
                ports = 2 if p.topology == "dual_tor" else 1
                bottleneck *= ports * min(1.0, nics / p.channels)
            algs = ("ring", "tree") if algorithm == "auto" else (algorithm,)
            if p.collective != "allreduce":
                algs = ("ring",)
            prots = ("simple", "ll128", "ll") if protocol == "auto" else (protocol,)
            if protocol == "none":
                prots = ("simple",)
            chosen_a, chosen_p = tuning.choose(p.ranks, p.message_bytes / p.channels, bottleneck,
                                               inter, algs, prots, p.chunks)  # fmt: skip
            algorithm = chosen_a
            if protocol == "auto":
                protocol = chosen_p
        if protocol == "none":
            return algorithm, StepCosts()
        c = tuning.protocol_costs(protocol, algorithm)
        return algorithm, StepCosts(
            c.base_s, c.step_intra_s, c.step_inter_s, c.wire_factor,
            p.gpus_per_node if gpu else 1,
        )  # fmt: skip

    def build(self, sim) -> None:
        p = self.params
        self.sim = sim
        self.G = G = self.graph()
        self.net = FlowNetwork(sim.env, record_flows=False, scope=self.scope.child("net"))
        self.link_ids = topo.load_into_flownet(G, self.net)
        endpoints = topo.endpoints(G)[: p.ranks]
        self.router = router = self.policies["routing"]
        router.setup(G)
        self.algorithm, self.costs = self.plan()
        channels = p.channels
        link_ids = self.link_ids

        def route_for(c: int):
            def route(src, dst):
                if G.has_edge(src, dst):
                    return [link_ids[(src, dst)]]
                hops = router.route((src, dst, c) if channels > 1 else (src, dst), src, dst)
                return [link_ids[e] for e in path_links(hops)]

            return route

        self.result = None
        self.channel_results: list[CollectiveResult] = []
        env = sim.env

        def channel(c: int):
            hosts = [endpoints[i] for i in self.channel_order(c)]
            res = yield env.process(
                run_collective(
                    self.net, hosts, route_for(c), p.collective, self.algorithm,
                    p.message_bytes / channels, gpus_per_node=p.gpus_per_node,
                    chunks=p.chunks, scope=self.scope if c == 0 else None,
                    executor=p.executor, costs=self.costs,
                )
            )  # fmt: skip
            self.channel_results.append(res)

        def proc():
            start = env.now
            yield env.all_of([env.process(channel(c)) for c in range(channels)])
            steps = pd.concat(
                [r.steps.assign(channel=i) for i, r in enumerate(self.channel_results)],
                ignore_index=True,
            )
            self.result = CollectiveResult(
                p.collective, p.ranks, float(p.message_bytes), start, env.now, steps
            )

        sim.env.process(proc())

    # -- results --------------------------------------------------------------------------
    def summary(self) -> dict[str, float]:
        r = self.result
        if r is None or self.net is None:
            nan = math.nan
            return {"time_s": nan, "algbw_GBps": nan, "busbw_GBps": nan, "steps": nan}
        util = self.net.link_utilization()
        busy = util[util > 0]
        return {
            "time_s": r.time_s,
            "algbw_GBps": r.algbw_Bps / 1e9,
            "busbw_GBps": r.busbw_Bps / 1e9,
            "steps": float(len(r.steps)) / self.params.channels,
            "messages": float(r.steps["messages"].sum()),
            "link_utilization.max": float(busy.max()) if busy.size else 0.0,
        }

    def tables(self) -> dict[str, pd.DataFrame]:
        if self.result is None:
            return {}
        return {"steps": self.result.steps}

    @classmethod
    def sweep_figures(cls, table: pd.DataFrame, out_dir: Path) -> list[Path]:
        """After a sweep: ``nccl_table.csv`` / ``.md`` and ``busbw_vs_size.png``."""
        out_dir = Path(out_dir)
        nccl = nccl_table(table)
        if nccl.empty:
            return []
        from sim.results import atomic_write_text, write_csv

        write_csv(out_dir / "nccl_table.csv", nccl)
        atomic_write_text(out_dir / "nccl_table.md", nccl.to_string(index=False) + "\n")
        fig = busbw_figure(table, out_dir / "busbw_vs_size.png")
        return [fig] if fig is not None else []


def nccl_table(df: pd.DataFrame) -> pd.DataFrame:
    """An nccl-tests-style table of a sweep: size, time (us), algbw and busbw (GB/s), one
    row per (topology, algorithm, collective, ranks, size), replications averaged."""
    need = {"params.message_bytes", "time_s", "algbw_GBps", "busbw_GBps"}
    if df.empty or not need <= set(df.columns):
        return pd.DataFrame()
    data = ok_rows(df)
    keys = [
        c
        for c in ("params.topology", "params.algorithm", "params.collective", "params.ranks")
        if c in data.columns
    ]
    grouped = data.groupby([*keys, "params.message_bytes"], sort=True)
    out = grouped[["time_s", "algbw_GBps", "busbw_GBps"]].mean().reset_index()
    out["time_us"] = out.pop("time_s") * 1e6
    out = out.rename(columns={c: c.removeprefix("params.") for c in out.columns})
    out = out.rename(columns={"message_bytes": "size_bytes"})
    return out[[*[k.removeprefix("params.") for k in keys], "size_bytes", "time_us",
                "algbw_GBps", "busbw_GBps"]]  # fmt: skip


def busbw_figure(df: pd.DataFrame, out_path: str | Path) -> Path | None:
    """Bus bandwidth vs message size, one line per topology (nccl-tests style).

    ``df`` holds one row per run with the message size (``params.message_bytes`` or
    ``message_bytes``), the topology (``params.topology`` or ``topology``; optional) and
    ``busbw_GBps``.  Rows of several replications are averaged.  Returns the PNG path, or
    ``None`` when the columns are missing.
    """
    from sim.plots import new_figure, save_figure

    def col(name: str) -> str | None:
        for c in (f"params.{name}", name):
            if c in df.columns:
                return c
        return None

    size_c, topo_c = col("message_bytes"), col("topology")
    if df.empty or size_c is None or "busbw_GBps" not in df.columns:
        return None
    data = ok_rows(df)
    fig, ax = new_figure()
    groups = data.groupby(topo_c) if topo_c is not None else [("all", data)]
    for name, g in groups:
        line = g.groupby(size_c)["busbw_GBps"].mean().sort_index()
        ax.plot(line.index, line.values, "o-", ms=4, label=str(name))
    ax.set_xscale("log", base=2)
    ax.set_xlabel("message size (bytes)")
    ax.set_ylabel("bus bandwidth (GB/s)")
    ax.set_title("Collective bus bandwidth vs message size")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(title="topology", fontsize=8)
    return save_figure(fig, Path(out_path))
