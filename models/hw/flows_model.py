"""The ``hw.flows`` model (alias ``network.flows``): a set of flows over a topology, sharing links max-min fairly.

What it models
    Flows listed in a CSV file (id, source, destination, size, start time, optionally an
    explicit path) cross a topology read from a link-list CSV
    (:func:`sim_models.hw.topology.from_csv`). Each flow starts at its ``start_s`` on a fixed
    path and shares every link it crosses with the other active flows at max-min fair
    rates (:class:`sim_models.hw.flownet.FlowNetwork`). The model reports when each flow
    ends.

Routing
    A flow with a ``path`` (node names joined by ``>``) follows it (it is pinned). Otherwise
    the policy in the ``routing`` slot chooses (:mod:`sim_models.hw.routing_policies`):
    ``shortest_path`` (the default) follows a fewest-hop path, ties broken by a stable hash
    of the (source, destination) pair (parameter ``tie_break: lexicographic`` takes the
    smallest node sequence instead); ``dmodk`` routes destination-modulo-k (the classic
    deterministic fat-tree routing); ``ecmp`` follows the equal-cost path chosen
    by a stable hash of its 5-tuple, the source port drawn from the stream
    ``hw.flows.routing.ports`` once per flow in file order; ``pinned`` requires every flow
    to have a path. Paths are chosen when the model is built and never change.

How latency enters a flow's end time
    As decided by :mod:`sim_models.hw.flownet`: a flow occupies bandwidth from ``start_s``
    until its last byte has been sent at its (time-varying) max-min rate; the summed
    one-way latency of the links on its path is then added once:
    ``end_s = start_s + transfer time + sum(latency_s on the path)``. A lone flow of ``B``
    bytes on a path with bottleneck ``C`` B/s and latency ``L`` ends at
    ``start_s + B / C + L``. In-flight bytes do not hold capacity during the latency.

What it leaves out
    Everything :mod:`sim_models.hw.flownet` leaves out (packets, queues, congestion-control
    transients, loss) and any rerouting: a flow keeps its path. Flows have no
    dependencies on one another.

Outputs
    ``summary()``: ``flows`` (flows in the file), ``flows_completed``, ``makespan_s`` (the
    simulated time at which the last flow ends, measured from time 0, NaN if none ended)
    and the statistics of the flow completion times ``fct_s = end_s - start_s``
    (``fct_s.mean``, ``fct_s.p99``, ...; :func:`sim.recorder.summarize`).
    ``files(out_dir)``: ``flows.csv`` with columns ``id,start_s,end_s`` (``end_s`` empty
    for a flow that did not end before the run stopped). ``tables()``: ``flows`` (with
    source, destination, bytes, FCT and path) and ``links`` (bytes carried and utilisation
    per directed link).

Units
    Files: ``bandwidth_GBps`` (1e9 bytes/s), ``latency_s``, ``bytes``, ``start_s``.
    Inside: bytes, seconds, bytes/s. No constants; every number comes from the two files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
from pydantic import Field
from sim_models.hw import topology as topo
from sim_models.hw.flownet import FlowNetwork
from sim_models.hw.routing import check_path, path_links
from sim_models.hw.routing_policies import DOMAIN as ROUTING_DOMAIN

from sim.core import Simulation
from sim.errors import DataError, did_you_mean
from sim.model import Model, Params, Slot
from sim.recorder import summarize
from sim.registry import model
from sim.results import write_csv_rows
from sim.traces import check_data_path, csv_field, csv_number, csv_rows, open_text, require_columns

FLOW_COLUMNS = ("id", "src", "dst", "bytes", "start_s")
PATH_SEPARATOR = ">"


@dataclass
class FlowSpec:
    """One row of the flows file (``path`` empty when the file gives none)."""

    id: str
    src: str
    dst: str
    size_bytes: float
    start_s: float
    path: tuple[str, ...]
    line: int


def read_flows(path: str | Path, G: nx.DiGraph) -> list[FlowSpec]:
    """Read and validate a flows file against topology ``G``.

    Header ``id,src,dst,bytes,start_s`` and an optional ``path`` column (node names joined
    by ``>``); blank lines and ``#`` lines are skipped. Raises
    :class:`~sim.errors.DataError` naming the file and line for a missing file or column,
    a duplicate id, a bad or negative number, an unknown node, a flow from a node to
    itself, or a path that does not follow existing links from ``src`` to ``dst``.
    """
    path = check_data_path(path, "flows file")
    flows: list[FlowSpec] = []
    seen: dict[str, int] = {}
    with open_text(path) as fh:
        rows = csv_rows(fh, path)
        header, line = next(rows, (None, 0))
        if header is None:
            raise DataError(
                "empty flows file (expected header " + ",".join(FLOW_COLUMNS) + "[,path])",
                where=str(path),
            )
        idx = require_columns(header, FLOW_COLUMNS, path, line)
        path_col = idx.get("path")
        for row, line in rows:
            where = f"{path}:{line}"
            fid = csv_field(row, idx["id"], where)
            if not fid:
                raise DataError("empty flow id", where=where)
            if fid in seen:
                raise DataError(f"duplicate flow id {fid!r} (first on line {seen[fid]})", where)
            seen[fid] = line
            src = csv_field(row, idx["src"], where)
            dst = csv_field(row, idx["dst"], where)
            for label, node in (("src", src), ("dst", dst)):
                if node not in G:
                    raise DataError(
                        f"unknown node {node!r} in {label}{did_you_mean(node, map(str, G))}",
                        where=where,
                    )
            if src == dst:
                raise DataError(f"flow {fid!r} goes from {src!r} to itself", where=where)
            size = csv_number(row, idx["bytes"], "bytes", where)
            if size < 0:
                raise DataError(f"bytes must be non-negative, got {size:g}", where=where)
            start = csv_number(row, idx["start_s"], "start_s", where)
            if start < 0:
                raise DataError(f"start_s must be non-negative, got {start:g}", where=where)
            hops: tuple[str, ...] = ()
            text = row[path_col] if path_col is not None and path_col < len(row) else ""
            if text:
                hops = tuple(h.strip() for h in text.split(PATH_SEPARATOR))
                try:
                    check_path(G, hops, src, dst)
                except ValueError as exc:
                    raise DataError(f"path {text!r}: {exc}", where=where) from None
            flows.append(FlowSpec(fid, src, dst, size, start, hops, line))
    return flows


def _num(x: float) -> str:
    return "" if math.isnan(x) else repr(float(x))


@model(
    "hw.flows",
    "flows from a CSV over a CSV topology, max-min fair sharing",
    aliases=("network.flows",),
)
class FlowsModel(Model):
    """Flows from a CSV file over a link-list topology, at max-min fair rates."""

    slots = {"routing": Slot(ROUTING_DOMAIN, "shortest_path", "path of each flow")}

    class Params(Params):
        topology_file: str = Field("data/topology.csv", min_length=1, max_length=4096)
        flows_file: str = Field("data/flows.csv", min_length=1, max_length=4096)

    def build(self, sim: Simulation) -> None:
        self.sim = sim
        p = self.params
        topo_path = self.context.resolve(p.topology_file)
        flows_path = self.context.resolve(p.flows_file)
        self.graph = G = topo.from_csv(topo_path)
        self.flows = flows = read_flows(flows_path, G)
        self.net = net = FlowNetwork(sim.env, scope=self.scope.child("net"))
        link_ids = topo.load_into_flownet(G, net)
        self.router = router = self.policies["routing"]
        router.setup(G)
        self.paths: list[tuple[str, ...]] = []
        for f in flows:
            if f.path:
                router.pin(f.id, f.path)
            try:
                hops = router.route(f.id, f.src, f.dst)
            except nx.NetworkXNoPath:
                raise DataError(
                    f"no route from {f.src!r} to {f.dst!r} in {topo_path}",
                    where=f"{flows_path}:{f.line}",
                ) from None
            except ValueError as exc:
                raise DataError(str(exc), where=f"{flows_path}:{f.line}") from None
            self.paths.append(hops)
        n = len(flows)
        self.start_s = np.array([f.start_s for f in flows], dtype=float)
        self.end_s = np.full(n, np.nan)
        link_paths = [[link_ids[e] for e in path_links(h)] for h in self.paths]

        # One timer per distinct start time; it starts every flow of that instant.
        by_start: dict[float, list[int]] = {}
        for i, t in enumerate(self.start_s.tolist()):
            by_start.setdefault(t, []).append(i)
        env = sim.env

        def starter(indices: list[int]):
            def start(_ev) -> None:
                for i in indices:
                    net.start_flow(link_paths[i], flows[i].size_bytes, on_done=finisher(i))

            return start

        def finisher(i: int):
            def done(flow) -> None:
                self.end_s[i] = env.now
                sim.completed()

            return done

        for t in sorted(by_start):
            env.timeout(max(t - env.now, 0.0)).callbacks.append(starter(by_start[t]))

    # -- results --------------------------------------------------------------------------
    def summary(self) -> dict[str, float]:
        ended = ~np.isnan(self.end_s)
        out: dict[str, float] = {
            "flows": float(len(self.flows)),
            "flows_completed": float(ended.sum()),
            "makespan_s": float(self.end_s[ended].max()) if ended.any() else float("nan"),
        }
        out.update(summarize(self.end_s[ended] - self.start_s[ended], "fct_s"))
        return out

    def tables(self) -> dict[str, pd.DataFrame]:
        flows = pd.DataFrame(
            {
                "id": [f.id for f in self.flows],
                "src": [f.src for f in self.flows],
                "dst": [f.dst for f in self.flows],
                "bytes": [f.size_bytes for f in self.flows],
                "start_s": self.start_s,
                "end_s": self.end_s,
                "fct_s": self.end_s - self.start_s,
                "path": [PATH_SEPARATOR.join(h) for h in self.paths],
            }
        )
        return {"flows": flows, "links": self.net.link_table()}

    def files(self, out_dir: Path) -> list[Path]:
        rows = [
            (f.id, _num(s), _num(e))
            for f, s, e in zip(self.flows, self.start_s, self.end_s, strict=True)
        ]
        return [write_csv_rows(Path(out_dir) / "flows.csv", ("id", "start_s", "end_s"), rows)]
