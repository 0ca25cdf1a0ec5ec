"""Benchmarks of the flow-level network: max-min solve time and a 1,024-rank all-reduce.

What it measures
    * ``bench_maxmin``: wall time of one max-min recompute (:func:`sim_models.hw.maxmin.
      maxmin_rates`) for 1k / 10k / 50k flows between random host pairs of a k=16 fat tree
      (1,024 hosts, 6,144 directed links), each flow on one ECMP path chosen uniformly
      among the equal-cost paths.  Alongside: the time per flow-hop (so the scaling curve
      is visible), the number of distinct bottleneck levels (progressive-filling rounds)
      and, as the baseline measured in the same process, the plain-Python reference
      solver :func:`sim_models.hw.maxmin.maxmin_rates_reference` on the smallest size.
    * ``bench_allreduce_1024``: wall time to simulate one 1,024-rank ring all-reduce
      (2,046 steps, 2 million messages) end to end on a bidirectional ring of links, and
      the ratio of simulated to closed-form time (must be 1).
    * ``flownet.flows_<n>_start_and_solve_s``: the same flows started in one batch on a
      :class:`sim_models.hw.flownet.FlowNetwork` and solved once (path compilation included).

What it leaves out
    Network construction and path computation time (not part of a recompute).

Assumptions
    The fat tree is built here from index arithmetic (Al-Fares et al., SIGCOMM 2008
    wiring: k pods of k/2 edge and k/2 aggregation switches, (k/2)^2 cores, core c on
    aggregation switch c // (k/2) of every pod), so the benchmark does not depend on the
    graph builders.  Link capacity 12.5e9 B/s (100 Gb/s), latency 1 us: illustrative.
"""

from __future__ import annotations

import time

import numpy as np
from sim_models.hw.maxmin import maxmin_rates, maxmin_rates_reference

LINK_BPS = 12.5e9
LATENCY_S = 1e-6


def fat_tree_paths(k: int, n_flows: int, rng: np.random.Generator) -> tuple[list[np.ndarray], int]:
    """Random host pairs on a k-ary fat tree with one uniformly chosen ECMP path each.

    Returns (paths as arrays of directed-link ids, number of links).  Link ids: for every
    undirected link there are two ids (up = 2 i, down = 2 i + 1).
    """
    h = k // 2
    n_hosts = k**3 // 4
    # undirected link numbering
    host_edge = lambda host: host  # noqa: E731  host -> its edge switch
    n_he = n_hosts
    edge_agg = lambda pod, e, a: n_he + (pod * h + e) * h + a  # noqa: E731
    n_ea = k * h * h
    agg_core = lambda pod, a, j: n_he + n_ea + (pod * h + a) * h + j  # noqa: E731  core a*h+j
    n_und = n_he + n_ea + k * h * h
    src = rng.integers(0, n_hosts, n_flows)
    dst = rng.integers(0, n_hosts - 1, n_flows)
    dst = np.where(dst >= src, dst + 1, dst)
    a_pick = rng.integers(0, h, n_flows)
    j_pick = rng.integers(0, h, n_flows)
    paths = []
    for s, d, a, j in zip(
        src.tolist(), dst.tolist(), a_pick.tolist(), j_pick.tolist(), strict=True
    ):
        sp, se = divmod(s // h, h)
        dp, de = divmod(d // h, h)
        up = [host_edge(s)]
        down = [host_edge(d)]
        if (sp, se) != (dp, de):
            up.append(edge_agg(sp, se, a))
            down.append(edge_agg(dp, de, a))
            if sp != dp:
                up.append(agg_core(sp, a, j))
                down.append(agg_core(dp, a, j))
        ids = [2 * u for u in up] + [2 * u + 1 for u in reversed(down)]
        paths.append(np.asarray(ids, dtype=np.int64))
    return paths, 2 * n_und


def _time(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def _flownet_solve(paths: list[np.ndarray], n_links: int) -> float:
    """Wall time for a FlowNetwork to accept all flows at t=0 and solve once."""
    import simpy
    from sim_models.hw.flownet import FlowNetwork

    env = simpy.Environment()
    net = FlowNetwork(env, record_flows=False)
    for i in range(n_links):
        net.add_link(i, LINK_BPS, LATENCY_S)
    t = time.perf_counter()
    net.start_flows(paths, 1e6)
    env.run(until=1e-12)
    assert net.recomputes == 1
    return time.perf_counter() - t


def bench_maxmin(flow_counts=(1000, 10000, 50000), quick: bool = False) -> dict[str, float]:
    """Seconds per max-min recompute on a 1,024-host fat tree, per flow count."""
    if quick:
        flow_counts = tuple(n for n in flow_counts if n <= 10000) or (1000,)
    rng = np.random.default_rng(1)
    out: dict[str, float] = {}
    k = 16
    for n in flow_counts:
        paths, n_links = fat_tree_paths(k, n, rng)
        caps = np.full(n_links, LINK_BPS)
        from sim_models.hw.maxmin import to_csr

        csr = to_csr(paths)
        rates = maxmin_rates(csr, caps)
        t = _time(lambda csr=csr, caps=caps: maxmin_rates(csr, caps), 1 if n > 10000 else 3)
        hops = int(csr[1].size)
        out[f"maxmin.flows_{n}_s"] = t
        out[f"maxmin.flows_{n}_ns_per_flow_hop"] = t / hops * 1e9
        out[f"maxmin.flows_{n}_levels"] = float(np.unique(np.round(rates / LINK_BPS, 9)).size)
        out[f"flownet.flows_{n}_start_and_solve_s"] = _flownet_solve(paths, n_links)
    # Baseline: plain-Python reference solver on the smallest instance.
    n0 = min(flow_counts)
    paths, n_links = fat_tree_paths(k, n0, np.random.default_rng(1))
    caps = np.full(n_links, LINK_BPS)
    ref_paths = [p.tolist() for p in paths]
    t_ref = _time(lambda: maxmin_rates_reference(ref_paths, caps.tolist()), 1)
    out[f"maxmin.reference_python_flows_{n0}_s"] = t_ref
    out[f"maxmin.speedup_vs_python_flows_{n0}"] = t_ref / out[f"maxmin.flows_{n0}_s"]
    return out


def bench_maxmin_group(quick: bool = False) -> dict[str, float]:
    """The ``maxmin`` group of ``sim bench``."""
    return bench_maxmin(quick=quick)


def bench_allreduce_1024(quick: bool = False) -> dict[str, float]:
    """Wall time of one simulated 1,024-rank ring all-reduce (256 ranks when quick)."""
    from sim_models.hw.collectives import closed_form

    p = 256 if quick else 1024
    n_bytes = 256e6
    t0 = time.perf_counter()
    time_s = ring_allreduce_on_ring(p, n_bytes)
    wall = time.perf_counter() - t0
    ref = closed_form.ring_allreduce_time(p, n_bytes, LINK_BPS, LATENCY_S)
    return {
        f"allreduce.ring_{p}_wall_s": wall,
        f"allreduce.ring_{p}_messages": float(2 * (p - 1) * p),
        f"allreduce.ring_{p}_us_per_step": wall / (2 * (p - 1)) * 1e6,
        f"allreduce.ring_{p}_sim_over_closed_form": time_s / ref,
    }


def main(quick: bool = False) -> dict[str, float]:
    out = bench_maxmin(quick=quick)
    out.update(bench_allreduce_1024(quick=quick))
    return out


if __name__ == "__main__":  # pragma: no cover - manual use
    import json
    import sys

    sys.stdout.write(json.dumps(main(quick="--quick" in sys.argv), indent=1) + "\n")


# -- network at cluster scale (the ``net`` group) -----------------------------------------------
def _cpu(fn) -> tuple[float, object]:
    t = time.process_time()
    out = fn()
    return time.process_time() - t, out


def ring_allreduce_on_ring(p: int, n_bytes: float = 256 * 2**20) -> float:
    """Simulated time of a ring all-reduce on a bidirectional ring of ``p`` hosts."""
    import simpy
    from sim_models.hw.collectives import run_collective
    from sim_models.hw.flownet import FlowNetwork

    env = simpy.Environment()
    net = FlowNetwork(env, record_flows=False)
    for i in range(p):
        net.add_link(("fwd", i), LINK_BPS, LATENCY_S)
        net.add_link(("bwd", i), LINK_BPS, LATENCY_S)
    proc = env.process(
        run_collective(net, list(range(p)), lambda s, d: [("fwd", s)], "allreduce", "ring", n_bytes)
    )
    env.run()
    return proc.value.time_s


def ring_allreduce_on_fat_tree(p: int, mode: str = "ecmp", n_bytes: float = 256 * 2**20):
    """Ring all-reduce of ``p`` ranks on the smallest fat tree holding them, routed by
    ``mode``; returns (simulated time, routing CPU seconds)."""
    import simpy
    from sim_models.hw import topology as topo
    from sim_models.hw.collectives import run_collective
    from sim_models.hw.flownet import FlowNetwork
    from sim_models.hw.routing import Router, path_links

    k = 2
    while k**3 // 4 < p:
        k += 2
    G = topo.fat_tree(k, link_Bps=LINK_BPS, latency_s=LATENCY_S)
    env = simpy.Environment()
    net = FlowNetwork(env, record_flows=False)
    ids = topo.load_into_flownet(G, net)
    router = Router(G, mode, rng=np.random.default_rng(1))
    hosts = topo.endpoints(G)[:p]
    t_route = [0.0]

    def route(s, d):
        t = time.process_time()
        path = [ids[e] for e in path_links(router.route((s, d), s, d))]
        t_route[0] += time.process_time() - t
        return path

    proc = env.process(run_collective(net, hosts, route, "allreduce", "ring", n_bytes))
    env.run()
    return proc.value.time_s, t_route[0]


def poisson_flows(
    k: int, n_flows: int, load: float, mean_bytes: float = 1e6, mode: str = "dmodk", seed: int = 1,
    incremental: bool = True, whole_bytes: bool = False,
):  # fmt: skip
    """``n_flows`` flows with Poisson starts between uniform random host pairs of a k-ary fat
    tree at ``load`` (fraction of every host link's rate offered on average), exponential
    sizes of mean ``mean_bytes``; routes by ``mode``. Returns a dict: flows, events, mean
    flows in flight, FCTs (s), routing CPU seconds, the flow list (src, dst, size, start,
    path of link ids) for side-by-side runs."""
    import simpy
    from sim_models.hw import topology as topo
    from sim_models.hw.flownet import FlowNetwork
    from sim_models.hw.routing import Router, path_links

    G = topo.fat_tree(k, link_Bps=LINK_BPS, latency_s=0.0)
    env = simpy.Environment()
    net = FlowNetwork(env, record_flows=False, incremental=incremental)
    ids = topo.load_into_flownet(G, net)
    hosts = topo.endpoints(G)
    H = len(hosts)
    rng = np.random.default_rng(seed)
    rate = load * LINK_BPS / mean_bytes * H
    starts = np.cumsum(rng.exponential(1.0 / rate, n_flows))
    src = rng.integers(0, H, n_flows)
    dst = (src + rng.integers(1, H, n_flows)) % H
    size = rng.exponential(mean_bytes, n_flows)
    if whole_bytes:  # as a packet simulator or SimGrid counts them
        size = np.maximum(np.round(size), 1.0)
    t = time.process_time()
    router = Router(G, mode, rng=np.random.default_rng(seed + 1))
    paths = [
        [ids[e] for e in path_links(router.route(i, hosts[s], hosts[d]))]
        for i, (s, d) in enumerate(zip(src.tolist(), dst.tolist(), strict=True))
    ]
    t_route = time.process_time() - t
    end = np.full(n_flows, np.nan)
    inflight = np.zeros(n_flows)

    def starter(i: int):
        def start(_e) -> None:
            inflight[i] = net.n_active
            net.start_flow(paths[i], size[i], on_done=lambda _f: end.__setitem__(i, env.now))

        return start

    for i in range(n_flows):
        env.timeout(starts[i]).callbacks.append(starter(i))
    env.run()
    return {
        "flows": n_flows, "events": 2 * n_flows, "inflight": float(inflight.mean()),
        "fct_s": end - starts, "route_s": t_route, "solves": net.recomputes,
        "src": src, "dst": dst, "size": size, "start": starts, "paths": paths, "graph": G,
        "link_ids": ids,
    }  # fmt: skip


def bench_net(quick: bool = False) -> dict[str, float]:
    """The ``net`` group of ``sim bench``: the network at cluster scale, CPU seconds on one
    core (``time.process_time``; the machine is shared, so CPU rather than wall time).

    Keys: ``net.allreduce_<p>_ring_s`` (256 MiB ring all-reduce on a ring of p hosts),
    ``net.allreduce_<p>_fattree_s`` (the same on a fat tree with ECMP, routing included),
    ``net.routing_fattree_<p>_s`` (its routing part), ``net.flows_<n>_s`` (n Poisson flows
    on a k = 16 fat tree, d-mod-k routes, load 0.3, mean 1 MB), ``net.flow_events_per_s``
    (arrivals + departures per CPU second in that run), ``net.flows_k8_10k_s`` (the
    SimGrid side-by-side workload: k = 8, 10k flows, load 0.3) and the ratio of the full
    re-solve to the incremental one on it. Full sizes: p = 8,192 and n = 100,000; quick:
    p = 1,024 and n = 10,000.
    """
    out: dict[str, float] = {}
    p = 1024 if quick else 8192
    n = 10_000 if quick else 100_000
    dt, sim_t = _cpu(lambda: ring_allreduce_on_ring(p))
    out[f"net.allreduce_{p}_ring_s"] = dt
    from sim_models.hw.collectives import closed_form

    out[f"net.allreduce_{p}_ring_sim_over_closed_form"] = sim_t / closed_form.ring_allreduce_time(
        p, 256 * 2**20, LINK_BPS, LATENCY_S
    )
    dt, (sim_t, t_route) = _cpu(lambda: ring_allreduce_on_fat_tree(p))
    out[f"net.allreduce_{p}_fattree_s"] = dt
    out[f"net.routing_fattree_{p}_s"] = t_route
    dt, res = _cpu(lambda: poisson_flows(16, n, 0.3))
    out[f"net.flows_{n // 1000}k_s"] = dt
    out["net.flow_events_per_s"] = res["events"] / dt
    out[f"net.flows_{n // 1000}k_mean_in_flight"] = res["inflight"]
    dt, res = _cpu(lambda: poisson_flows(8, 10_000, 0.3))
    out["net.flows_k8_10k_s"] = dt
    if quick:
        dt_full, _ = _cpu(lambda: poisson_flows(8, 10_000, 0.3, incremental=False))
        out["net.flows_k8_10k_full_over_incremental"] = dt_full / out["net.flows_k8_10k_s"]
    return out
