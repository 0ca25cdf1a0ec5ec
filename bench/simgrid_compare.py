"""Side by side with SimGrid: the same flows, the same routes, pure max-min sharing.

What it does
    Builds the workload of the ``net`` benchmark that the SimGrid comparison uses (a k-ary
    fat tree of 100 Gb/s links without latency, Poisson flow starts between uniform random
    host pairs at a given load, exponential sizes of mean 1 MB rounded to whole bytes, d-mod-k
    routes), runs it on
    this project's flow network (``sim_models.hw.flownet``), then, when the ``simgrid``
    Python package can be imported, runs the very same flows on SimGrid with the same
    routes (one SimGrid link per directed edge, ``add_route`` with the project's path) in
    its CM02 model configured as pure max-min (cross-traffic off, no TCP window bound,
    latency 0), and prints CPU times and the per-flow completion-time differences.

How to run it
    SimGrid is never a dependency of this project. In a throw-away environment (SimGrid 4.1
    builds from source: a C++ compiler, CMake and the Boost headers, e.g. Debian's
    ``libboost-dev``; its Python binding does not compile against pybind11 3, hence the
    pin; the build takes about half an hour on two cores)::

        python -m venv /tmp/sg
        /tmp/sg/bin/pip install "pybind11<3" setuptools wheel
        /tmp/sg/bin/pip install --no-build-isolation simgrid
        SG=/tmp/sg/lib/python3.11/site-packages
        LD_LIBRARY_PATH=$SG PYTHONPATH=$SG \
            .venv/bin/python -m sim_bench.simgrid_compare --k 8 --flows 10000 --load 0.3

    Without SimGrid it runs the project's side only and says so.

Sources
    SimGrid's Python API (``simgrid.Engine``, ``NetZone``, ``Comm.sendto``) and its CM02
    model configuration items (``network/model``, ``network/crosstraffic``,
    ``network/TCP-gamma``), documented at simgrid.org — used, not copied.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from sim_bench.bench_network import LINK_BPS, poisson_flows


def run_simgrid(res: dict) -> tuple[float, np.ndarray]:
    """Run the flows of ``res`` (from :func:`poisson_flows`) on SimGrid; (CPU s, FCTs)."""
    import simgrid as sg  # noqa: PLC0415 - optional, outside the project's dependencies

    G, ids = res["graph"], res["link_ids"]
    edge_of = {lid: e for e, lid in ids.items()}
    t0 = time.process_time()
    e = sg.Engine(["simgrid_compare", "--cfg=network/model:CM02",
                   "--cfg=network/crosstraffic:0", "--cfg=network/TCP-gamma:0",
                   "--cfg=precision/timing:1e-12", "--cfg=precision/work-amount:1e-9",
                   "--log=root.thres:critical"])  # fmt: skip
    zone = e.netzone_root.add_netzone_full("fabric")
    hosts = {}
    from sim_models.hw import topology as topo

    for h in topo.endpoints(G):
        hosts[h] = zone.add_host(h, 1e9)
    links = {}
    for lid, (u, v) in edge_of.items():
        link = zone.add_link(f"{u}>{v}", LINK_BPS)
        link.set_latency(0)
        links[lid] = link
    seen = set()
    for s, d, path in zip(res["src"].tolist(), res["dst"].tolist(), res["paths"], strict=True):
        hs, hd = topo.endpoints(G)[s], topo.endpoints(G)[d]
        if (hs, hd) in seen:
            continue
        seen.add((hs, hd))
        zone.add_route(hosts[hs], hosts[hd], [sg.LinkInRoute(links[lid]) for lid in path], False)
    zone.seal()
    names = topo.endpoints(G)
    comms = []

    def driver() -> None:  # one actor starts every flow at its time, asynchronously
        for i in range(res["flows"]):
            sg.this_actor.sleep_until(float(res["start"][i]))
            comms.append(sg.Comm.sendto_async(hosts[names[res["src"][i]]],
                                              hosts[names[res["dst"][i]]],
                                              int(res["size"][i])))  # fmt: skip
        for c in comms:
            c.wait()

    hosts[names[0]].add_actor("driver", driver)
    e.run()
    ends = np.array([c.finish_time for c in comms])
    return time.process_time() - t0, ends - res["start"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--flows", type=int, default=10_000)
    ap.add_argument("--load", type=float, default=0.3)
    ap.add_argument("--mode", default="dmodk", help="routing: dmodk, ecmp or shortest_path")
    args = ap.parse_args(argv)
    t0 = time.process_time()
    res = poisson_flows(args.k, args.flows, args.load, mode=args.mode, whole_bytes=True)
    ours = time.process_time() - t0
    fct = res["fct_s"]
    print(f"sim: k={args.k} flows={args.flows} load={args.load}: {ours:.2f} CPU s "
          f"(routing {res['route_s']:.2f} s), mean FCT {np.nanmean(fct) * 1e3:.4f} ms, "
          f"{res['inflight']:.0f} flows in flight on average")  # fmt: skip
    try:
        import simgrid  # noqa: F401, PLC0415
    except ImportError:
        print("simgrid is not importable here: install it in a throw-away environment "
              "(see this module's docstring) to run the comparison")  # fmt: skip
        return 0
    sg_cpu, sg_fct = run_simgrid(res)
    rel = np.abs(sg_fct - fct) / fct
    print(f"simgrid: {sg_cpu:.2f} CPU s, mean FCT {np.nanmean(sg_fct) * 1e3:.4f} ms")
    print(f"per-flow FCT relative difference: median {np.nanmedian(rel):.2e}, "
          f"p99 {np.nanpercentile(rel, 99):.2e}; sim / simgrid CPU = {ours / sg_cpu:.2f}")  # fmt: skip
    return 0


if __name__ == "__main__":  # pragma: no cover - manual use
    sys.exit(main())
