"""Tests of shortest paths, ECMP path sets and hashing, bonded ports and pinning."""

from __future__ import annotations

import os
import subprocess
import sys

import networkx as nx
import numpy as np
import pytest
from sim_models.hw import routing as rt
from sim_models.hw import topology as topo


def _diamond() -> nx.DiGraph:
    # a -> {c, b} -> d, plus a longer detour a -> e -> f -> d; inserted in "wrong" order
    G = nx.DiGraph()
    for u, v in [
        ("a", "c"),
        ("c", "d"),
        ("a", "b"),
        ("b", "d"),
        ("a", "e"),
        ("e", "f"),
        ("f", "d"),
    ]:
        topo.add_link(G, u, v, 1e9, 0.0)
    return G


def test_shortest_path_tie_break_is_lexicographic():
    G = _diamond()
    assert rt.shortest_path(G, "a", "d") == ("a", "b", "d")
    assert rt.shortest_path(G, "d", "a") == ("d", "b", "a")
    assert rt.ecmp_paths(G, "a", "d") == [("a", "b", "d"), ("a", "c", "d")]
    # matches brute force: smallest among all shortest simple paths
    assert min(map(tuple, nx.all_shortest_paths(G, "a", "d"))) == ("a", "b", "d")
    assert rt.shortest_path(G, "a", "a") == ("a",)


def test_shortest_path_numeric_labels_compare_as_numbers():
    G = nx.DiGraph()
    for u, v in [(0, 10), (10, 3), (0, 2), (2, 3)]:
        topo.add_link(G, u, v, 1.0, 0.0)
    assert rt.shortest_path(G, 0, 3) == (0, 2, 3)


def test_shortest_path_errors():
    G = _diamond()
    with pytest.raises(KeyError):
        rt.shortest_path(G, "a", "zz")
    G.add_node("lonely")
    with pytest.raises(nx.NetworkXNoPath):
        rt.shortest_path(G, "a", "lonely")


@pytest.mark.parametrize("spines", [1, 2, 4])
def test_ecmp_path_set_leaf_spine(spines):
    G = topo.leaf_spine(2, 3, spines)
    paths = rt.ecmp_paths(G, "h0", "h4")  # leaf0 -> leaf2
    assert len(paths) == spines
    assert {p[2] for p in paths} == {f"spine{s}" for s in range(spines)}
    assert all(len(p) == 5 for p in paths)
    assert rt.ecmp_paths(G, "h0", "h1") == [("h0", "leaf0", "h1")]  # same leaf
    assert paths == sorted(map(tuple, nx.all_shortest_paths(G, "h0", "h4")))


def test_ecmp_path_set_fat_tree():
    G = topo.fat_tree(4)
    assert len(rt.ecmp_paths(G, "h0", "h15")) == 4  # (k/2)^2 between pods
    assert len(rt.ecmp_paths(G, "h0", "h2")) == 2  # k/2 within a pod
    assert len(rt.ecmp_paths(G, "h0", "h1")) == 1  # same edge switch


def test_router_caches_path_sets():
    r = rt.Router(topo.leaf_spine(2, 2, 3))
    assert r.paths("h0", "h3") is r.paths("h0", "h3")
    assert r.shortest("h0", "h3") == r.paths("h0", "h3")[0]


def test_stable_hash_is_deterministic_across_processes():
    ft = rt.FiveTuple("h0", "h4", 50000)
    code = (
        "from sim_models.hw.routing import FiveTuple, stable_hash;"
        "print(stable_hash('h0', 'h4', 50000, 4791, 17, salt='ecmp'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHONHASHSEED": "123"},
    )  # fmt: skip
    assert int(out.stdout) == rt.stable_hash("h0", "h4", 50000, 4791, 17, salt="ecmp")
    assert rt.ecmp_index(ft, 8) == rt.ecmp_index(rt.FiveTuple("h0", "h4", 50000), 8)
    assert rt.stable_hash(1, salt="ecmp") != rt.stable_hash(1, salt="bond")


def test_ecmp_hash_is_roughly_uniform():
    m, n = 8, 16000
    rng = np.random.default_rng(7)
    counts = np.bincount(
        [rt.ecmp_index(rt.new_connection("h0", "h9", rng), m) for _ in range(n)], minlength=m
    )
    expected = n / m
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 24.3  # chi-square, 7 degrees of freedom, 99.9% quantile
    # consecutive source ports (no randomness at all) also spread
    seq = np.bincount([rt.ecmp_index(rt.FiveTuple("a", "b", p), m) for p in range(49152, 65536)])
    assert seq.min() > 0.9 * 16384 / m


def test_source_ports_in_dynamic_range():
    rng = np.random.default_rng(0)
    ports = [rt.random_source_port(rng) for _ in range(2000)]
    assert min(ports) >= 49152 and max(ports) <= 65535


@pytest.mark.parametrize("n, m", [(2, 4), (4, 8), (3, 3)])
def test_ecmp_collision_probability_matches_closed_form(n, m):
    G = topo.leaf_spine(n, 2, m)  # n hosts under leaf0 send to n hosts under leaf1
    r = rt.Router(G, "ecmp", rng=np.random.default_rng(2024))
    trials = 3000
    collided = 0
    for t in range(trials):
        spines = [r.route((t, i), f"h{i}", f"h{n + i}")[2] for i in range(n)]
        collided += len(set(spines)) < n
    p = rt.collision_probability(n, m)
    assert p == pytest.approx(1 - np.prod([(m - i) / m for i in range(n)]))
    se = np.sqrt(p * (1 - p) / trials)
    assert abs(collided / trials - p) < 4 * se  # 4 standard errors


def test_collision_probability_closed_form_values():
    assert rt.collision_probability(1, 5) == 0.0
    assert rt.collision_probability(2, 2) == pytest.approx(0.5)
    assert rt.collision_probability(4, 8) == pytest.approx(1 - 1680 / 4096)
    assert rt.collision_probability(9, 8) == 1.0


def test_router_route_is_stable_per_connection_and_reproducible():
    G = topo.leaf_spine(1, 2, 8)
    a = rt.Router(G, "ecmp", rng=np.random.default_rng(5))
    b = rt.Router(G, "ecmp", rng=np.random.default_rng(5))
    pa = [a.route(i, "h0", "h1") for i in range(50)]
    pb = [b.route(i, "h0", "h1") for i in range(50)]
    assert pa == pb
    assert len(set(pa)) > 1
    assert [a.route(i, "h0", "h1") for i in range(50)] == pa  # same connection, same path
    ft = a.five_tuple(3)
    assert ft is not None and a.select(ft) == pa[3]
    with pytest.raises(ValueError):
        a.connect(3, "h1", "h0")


def test_shortest_path_mode_ignores_hash():
    G = topo.leaf_spine(1, 2, 8)
    r = rt.Router(G, "shortest_path")
    assert {r.route(i, "h0", "h1") for i in range(20)} == {("h0", "leaf0", "spine0", "leaf1", "h1")}
    with pytest.raises(ValueError):
        rt.Router(G, "random")
    with pytest.raises(ValueError, match="rng"):
        rt.Router(G, "ecmp").route(1, "h0", "h1")
    assert rt.Router(G, "ecmp").route(1, "h0", "h1", src_port=50000) in r.paths("h0", "h1")


def test_pinning_overrides_hashing():
    G = topo.leaf_spine(1, 2, 4)
    r = rt.Router(G, "ecmp", rng=np.random.default_rng(1))
    forced = ("h0", "leaf0", "spine3", "leaf1", "h1")
    for i in range(40):
        r.pin(i, forced)
    assert all(r.route(i, "h0", "h1") == forced for i in range(40))
    assert r.pinned(7) == forced
    r.unpin(7)
    assert r.pinned(7) is None
    assert r.route(7, "h0", "h1") == r.select(r.five_tuple(7))
    # a pinned path need not be a shortest one, but must follow links
    r.pin("long", ("h0", "leaf0", "spine0", "leaf1", "spine1", "leaf0", "h0"))
    with pytest.raises(ValueError, match="not a link"):
        r.pin("bad", ("h0", "spine0", "leaf1", "h1"))
    with pytest.raises(ValueError, match="not in the topology"):
        r.pin("bad", ("h0", "leafX", "h1"))
    with pytest.raises(ValueError):
        r.route(0, "h1", "h0")  # pinned to the other direction


def test_bonded_port_selection_by_hash():
    G = topo.dual_tor(2, gpus_per_node=1)
    r = rt.Router(G, "ecmp", rng=np.random.default_rng(3))
    assert len(r.paths("n0.gpu0", "n1.gpu0")) == 2
    ports = []
    for i in range(400):
        path = r.route(i, "n0.gpu0", "n1.gpu0")
        port = G.edges[path[1], path[2]]["port"]
        assert port == rt.bond_port(r.five_tuple(i), 2)  # the bond hash decides the ToR
        ports.append(port)
    assert 150 < sum(ports) < 250
    assert rt.bond_port(rt.FiveTuple("x", "y", 50001), 1) == 0


def test_bond_port_and_ecmp_choices_are_independent():
    # a 2-port NIC, each port's ToR with 2 spines up to the destination switch
    G = nx.DiGraph()
    G.add_node("nic", kind="nic", ports=2)
    for port, tor in enumerate(("torA", "torB")):
        topo.add_link(G, "nic", tor, 1e9, 0.0, port=port)
        for s in range(2):
            topo.add_link(G, tor, f"{tor}.s{s}", 1e9, 0.0)
            topo.add_link(G, f"{tor}.s{s}", "dst", 1e9, 0.0)
    r = rt.Router(G, "ecmp", rng=np.random.default_rng(11))
    assert len(r.paths("nic", "dst")) == 4
    combos = np.bincount(
        [["torA.s0", "torA.s1", "torB.s0", "torB.s1"].index(r.route(i, "nic", "dst")[2])
         for i in range(800)],
        minlength=4,
    )  # fmt: skip
    assert combos.min() > 140  # about 200 each; a correlated hash would leave two at 0


# -- path index, forwarding rule, d-mod-k, spread ------------------------------------------
def test_index_walk_equals_enumeration_and_networkx():
    G = topo.fat_tree(4)
    idx = rt.PathIndex(G)
    for src, dst in [("h0", "h15"), ("h0", "h1"), ("h0", "h3"), ("h5", "h9")]:
        paths = idx.enumerate(src, dst)
        assert paths == sorted(
            map(tuple, nx.all_shortest_paths(G, src, dst)),
            key=lambda p: [rt.node_key(n) for n in p],
        )
        assert idx.count(src, dst) == len(paths)
        for i in range(3 * len(paths)):
            assert idx.walk(src, dst, index=i) == paths[i % len(paths)]
    assert idx.count("h0", "h15") == 4  # (k/2)^2 between pods


def test_hosts_never_forward_between_servers():
    # with a spine tier, cross-server paths must not relay through a GPU
    G = topo.multi_rail(2, 4, spines=2)
    r = rt.Router(G, "ecmp", rng=np.random.default_rng(0))
    for src, dst in [("n0.gpu0", "n1.gpu3"), ("n0.gpu1", "n1.gpu1"), ("n0.gpu0", "n0.gpu2")]:
        for path in r.paths(src, dst):
            assert all(G.nodes[n]["kind"] != "gpu" for n in path[1:-1]), path
    assert len(r.paths("n0.gpu0", "n1.gpu3")) == 2  # one per spine
    # without spines the topology says GPUs relay (PXN), so cross-rail still has a path
    G0 = topo.multi_rail(2, 4)
    p = rt.shortest_path(G0, "n0.gpu0", "n1.gpu3")
    assert any(G0.nodes[n]["kind"] == "gpu" for n in p[1:-1])
    # a graph that does not allow it has no route through hosts
    G2 = nx.DiGraph()
    for n in ("a", "b", "c"):
        G2.add_node(n, kind="host")
    topo.add_link(G2, "a", "b", 1e9, 0.0)
    topo.add_link(G2, "b", "c", 1e9, 0.0)
    with pytest.raises(nx.NetworkXNoPath):
        rt.shortest_path(G2, "a", "c")
    G2.graph["endpoints_forward"] = True
    assert rt.shortest_path(G2, "a", "c") == ("a", "b", "c")
    # a ring of hosts forwards (the builder says so)
    assert len(rt.shortest_path(topo.ring(6), "h0", "h3")) == 4


def test_dual_tor_paths_do_not_cross_gpus():
    G = topo.dual_tor(2, gpus_per_node=4, spines=2)
    r = rt.Router(G, "ecmp", rng=np.random.default_rng(2))
    paths = r.paths("n0.gpu0", "n1.gpu2")
    assert paths and all(G.nodes[n]["kind"] != "gpu" for p in paths for n in p[1:-1])


def _link_loads(G, paths):
    loads: dict = {}
    for p in paths:
        for e in rt.path_links(p):
            loads[e] = loads.get(e, 0) + 1
    return loads


@pytest.mark.parametrize("shift", [1, 3, 8, 17])
def test_dmodk_shift_permutation_is_contention_free(shift):
    G = topo.fat_tree(8)
    hosts = topo.endpoints(G)
    n = len(hosts)
    r = rt.Router(G, "dmodk")
    paths = [r.route(i, hosts[i], hosts[(i + shift) % n]) for i in range(n)]
    assert max(_link_loads(G, paths).values()) == 1
    lex = rt.Router(G, "shortest_path")
    lex_paths = [lex.route(i, hosts[i], hosts[(i + shift) % n]) for i in range(n)]
    if shift >= 4:  # several flows leave each edge switch: lexicographic piles them
        assert max(_link_loads(G, lex_paths).values()) > 1
    # the destination decides: every path to one host crosses the same core
    d = hosts[37]
    cores = {p[3] for p in (r.route(("x", s), s, d) for s in hosts[64:80])}
    assert len(cores) == 1


def test_spread_tie_break_is_deterministic_and_spreads():
    G = topo.fat_tree(8)
    hosts = topo.endpoints(G)
    a = rt.Router(G, "shortest_path", tie_break="spread")
    b = rt.Router(G, "shortest_path", tie_break="spread")
    pa = [a.route(i, hosts[i], hosts[-1 - i]) for i in range(64)]
    assert pa == [b.route(i, hosts[i], hosts[-1 - i]) for i in range(64)]
    assert len({p[3] for p in pa}) > 8  # many cores, not the smallest one
    with pytest.raises(ValueError, match="tie_break"):
        rt.Router(G, "shortest_path", tie_break="random")


def test_routing_policies_registered():
    from sim_models.hw import routing_policies  # noqa: F401

    from sim.registry import get_policy

    for name in ("shortest_path", "ecmp", "dmodk", "pinned"):
        assert get_policy("hw.routing", name) is not None
