"""The C4 fabric: wiring of dual-port bonded NICs on dual ToRs, Clos tiers, failures."""

from __future__ import annotations

import networkx as nx
import pytest
import simpy
from sim_models.c4.fabric import Fabric, FabricSpec, build_graph, place_job
from sim_models.hw.routing import ecmp_paths


def test_every_nic_has_two_ports_on_two_different_tors():
    G = build_graph(FabricSpec(nodes=16))
    nics = [n for n, k in G.nodes(data="kind") if k == "nic"]
    assert len(nics) == 16 * 8
    for nic in nics:
        ups = list(G.succ[nic])
        assert len(ups) == 2 and len(set(ups)) == 2
        assert {G.edges[nic, t]["port"] for t in ups} == {0, 1}
        assert {G.nodes[t]["pair"] for t in ups} == {G.nodes[nic]["pair"]}
        assert all(G.edges[nic, t]["bandwidth_Bps"] == 25e9 for t in ups)


def test_two_tier_counts_and_one_to_one():
    spec = FabricSpec(nodes=16)  # 8 nodes per ToR pair at 64 ports per ToR
    G = build_graph(spec)
    tors = [n for n, r in G.nodes(data="role") if r == "tor"]
    spines = [n for n, r in G.nodes(data="role") if r == "spine"]
    assert len(tors) == 4 and len(spines) == 32
    for t in tors:
        down = sum(G.edges[n, t]["bandwidth_Bps"] for n in G.pred[t] if G.nodes[n]["kind"] == "nic")
        up = sum(G.edges[t, s]["bandwidth_Bps"] for s in G.succ[t] if s.startswith("spine"))
        assert down == pytest.approx(up)  # 1:1


def test_oversubscription_reduces_uplink_capacity_not_count():
    a = build_graph(FabricSpec(nodes=16))
    b = build_graph(FabricSpec(nodes=16, oversubscription=4.0))
    assert a.number_of_edges() == b.number_of_edges()
    assert b.edges["tor0.0", "spine0"]["bandwidth_Bps"] == pytest.approx(50e9 / 4)


def test_rail_optimized_puts_rail_g_on_its_own_pair():
    G = build_graph(FabricSpec(nodes=4, rail_optimized=True))
    pairs = {G.nodes[f"n{i}.nic{g}"]["pair"] for i in range(4) for g in range(8)}
    assert len(pairs) == 8
    assert G.nodes["n0.nic3"]["pair"] == G.nodes["n3.nic3"]["pair"]


def test_three_tier_paths_cross_the_core_between_pods():
    spec = FabricSpec(nodes=16, tiers=3, tor_pairs_per_pod=1, uplinks=4)
    G = build_graph(spec)
    assert any(r == "core" for _, r in G.nodes(data="role"))
    paths = ecmp_paths(G, "n0.nic0", "n8.nic0")
    # port (2) x aggregation (4) x core of the plane (2) x destination ToR (2)
    assert len(paths) == 2 * 4 * 2 * 2
    assert all(len(p) == 7 for p in paths)
    # endpoints never forward: no other NIC inside a path
    assert all(G.nodes[n]["kind"] == "switch" for p in paths for n in p[1:-1])


def test_intra_node_graph_has_gpus_nvlink_and_pcie():
    G = build_graph(FabricSpec(nodes=2, intra_node=True))
    assert G.edges["n0.gpu0", "n0.nvsw"]["bandwidth_Bps"] == 200e9
    assert G.edges["n0.gpu0", "n0.nic0"]["medium"] == "pcie"
    assert not any(k == "gpu" for _, k in build_graph(FabricSpec(nodes=2)).nodes(data="kind"))


def test_failure_leaves_the_graph_and_repair_keeps_link_ids():
    env = simpy.Environment()
    fab = Fabric(FabricSpec(nodes=16), env)
    heard = []
    fab.on_change(heard.append)
    lid = dict(fab.lid)
    fab.set_link("tor0.0", "spine3", 0.0)
    assert not fab.G.has_edge("tor0.0", "spine3") and not fab.G.has_edge("spine3", "tor0.0")
    assert fab.net.capacity_Bps(lid[("tor0.0", "spine3")]) == 0.0
    assert len(heard) == 1 and fab.down == {("tor0.0", "spine3"), ("spine3", "tor0.0")}
    fab.set_link("tor0.0", "spine3", 0.5)  # repaired, but degraded: announced (structural)
    assert fab.G.has_edge("tor0.0", "spine3") and len(heard) == 2
    fab.set_link("tor0.0", "spine3", 0.25)  # a degradation alone is silent
    assert len(heard) == 2
    assert fab.capacity_Bps(("tor0.0", "spine3")) == pytest.approx(50e9 * 0.25)
    fab.attach(simpy.Environment())  # a fresh network: everything restored, same ids
    assert fab.lid == lid and fab.capacity_Bps(("tor0.0", "spine3")) == 50e9
    assert fab.net.capacity_Bps(lid[("tor0.0", "spine3")]) == 50e9


def test_spec_validation():
    with pytest.raises(ValueError, match="tiers"):
        FabricSpec(nodes=2, tiers=4).check()
    with pytest.raises(ValueError, match="multiple of gpus_per_node"):
        FabricSpec(nodes=2, tor_ports=60).check()
    with pytest.raises(ValueError, match="nodes"):
        FabricSpec(nodes=0).check()
    with pytest.raises(KeyError):
        Fabric(FabricSpec(nodes=2)).set_link("tor0.0", "nowhere", 0.0)


def test_placement():
    import numpy as np

    assert place_job(16, 4) == [0, 1, 2, 3]
    assert place_job(16, 4, exclude=[1]) == [0, 2, 3, 4]
    rng = np.random.default_rng(1)
    nodes = place_job(64, 8, "scattered", rng)
    assert len(set(nodes)) == 8 and nodes == sorted(nodes)
    with pytest.raises(ValueError, match="only"):
        place_job(4, 8)
    assert nx.is_directed(build_graph(FabricSpec(nodes=1)))
