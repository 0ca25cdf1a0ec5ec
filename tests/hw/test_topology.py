"""Tests of the topology builders, the CSV reader/writer and the flow-network loader."""

from __future__ import annotations

import networkx as nx
import pytest
from sim_models.hw import topology as topo

from sim.errors import DataError


def _full_duplex(G: nx.DiGraph) -> None:
    for u, v, d in G.edges(data=True):
        assert G.has_edge(v, u), (u, v)
        r = G.edges[v, u]
        assert (r["bandwidth_Bps"], r["latency_s"]) == (d["bandwidth_Bps"], d["latency_s"])
        assert d["bandwidth_Bps"] > 0 and d["latency_s"] >= 0
    assert all("kind" in a for _, a in G.nodes(data=True))


def test_small_builders():
    R = topo.ring(5)
    assert R.number_of_nodes() == 5 and R.number_of_edges() == 10
    assert all(R.out_degree(n) == 2 for n in R)
    assert topo.ring(2).number_of_edges() == 2
    K = topo.fully_connected(5)
    assert K.number_of_edges() == 5 * 4
    S = topo.single_switch(6, bandwidth_Bps=1e9)
    assert S.out_degree("sw") == 6 and S.nodes["sw"]["kind"] == "switch"
    assert S.edges["h3", "sw"]["bandwidth_Bps"] == 1e9
    for G in (R, K, S):
        _full_duplex(G)
        assert nx.is_strongly_connected(G)
    with pytest.raises(ValueError):
        topo.ring(1)


def test_leaf_spine_counts_and_oversubscription():
    G = topo.leaf_spine(4, 3, 2, host_link_Bps=10e9, oversubscription=2.0)
    _full_duplex(G)
    hosts = topo.endpoints(G)
    assert len(hosts) == 12
    assert G.nodes["h5"]["leaf"] == 1 and G.has_edge("h5", "leaf1")
    assert sum(1 for n, k in G.nodes(data="role") if k == "spine") == 2
    # downlink capacity / uplink capacity of a leaf = oversubscription
    down = sum(G.edges[h, "leaf0"]["bandwidth_Bps"] for h in G.pred["leaf0"] if h.startswith("h"))
    up = sum(G.edges["leaf0", s]["bandwidth_Bps"] for s in ("spine0", "spine1"))
    assert down / up == pytest.approx(2.0)
    G2 = topo.leaf_spine(4, 3, 2, uplink_Bps=7e9)
    assert G2.edges["leaf2", "spine1"]["bandwidth_Bps"] == 7e9
    with pytest.raises(ValueError):
        topo.leaf_spine(4, 3, 2, uplink_Bps=7e9, oversubscription=2.0)


@pytest.mark.parametrize("k", [2, 4, 6])
def test_fat_tree_counts(k):
    G = topo.fat_tree(k)
    _full_duplex(G)
    half = k // 2
    roles = [r for _, r in G.nodes(data="role") if r]
    assert roles.count("core") == half**2
    assert roles.count("agg") == roles.count("edge") == k * half
    assert len(topo.endpoints(G)) == k**3 // 4
    # every switch has k ports (cores: k pods; others: k/2 down + k/2 up)
    for n, role in G.nodes(data="role"):
        if role:
            assert G.out_degree(n) == k, n
    assert nx.is_strongly_connected(G)


def test_fat_tree_oversubscription_reduces_edge_uplink_capacity_only():
    G = topo.fat_tree(4, oversubscription=4.0, link_Bps=8e9)
    assert G.edges["edge0.0", "agg0.1"]["bandwidth_Bps"] == 2e9
    assert G.edges["agg0.1", "edge0.0"]["bandwidth_Bps"] == 2e9
    assert G.edges["agg0.0", "core0"]["bandwidth_Bps"] == 8e9
    assert G.edges["h0", "edge0.0"]["bandwidth_Bps"] == 8e9
    assert G.out_degree("edge0.0") == 4  # link count unchanged
    with pytest.raises(ValueError):
        topo.fat_tree(3)


def test_multi_rail_is_rail_aligned():
    G = topo.multi_rail(3, gpus_per_node=4)
    _full_duplex(G)
    assert len(topo.endpoints(G)) == 12
    for i in range(3):
        for g in range(4):
            nic = f"n{i}.nic{g}"
            assert G.nodes[nic] | {} == {"kind": "nic", "tier": 0, "node": i, "rail": g, "ports": 1}
            tors = [v for v in G.succ[nic] if G.nodes[v].get("role") == "tor"]
            assert tors == [f"tor{g}"]
            assert G.edges[f"n{i}.gpu{g}", f"n{i}.nvsw"]["medium"] == "nvlink"
            assert G.edges[f"n{i}.gpu{g}", nic]["medium"] == "pcie"
    assert G.nodes["tor2"]["rail"] == 2
    assert nx.is_strongly_connected(G)  # cross-rail through the NVSwitch
    S = topo.multi_rail(2, 2, spines=2, nic_Bps=10e9)
    assert S.edges["tor0", "spine1"]["bandwidth_Bps"] == pytest.approx(2 * 10e9 / 2)


def test_dual_tor_ports_on_different_tors():
    G = topo.dual_tor(2, gpus_per_node=2)
    _full_duplex(G)
    for i in range(2):
        for g in range(2):
            nic = f"n{i}.nic{g}"
            assert G.nodes[nic]["ports"] == 2
            up = {G.edges[nic, v]["port"]: v for v in G.succ[nic] if "port" in G.edges[nic, v]}
            assert up == {0: f"tor{g}.0", 1: f"tor{g}.1"}
            assert G.edges[nic, f"tor{g}.0"]["bandwidth_Bps"] == 25e9  # 200 Gb/s per port
    assert G.nodes["tor1.1"]["plane"] == 1 and G.nodes["tor1.1"]["rail"] == 1


def test_csv_round_trip(tmp_path):
    G = topo.leaf_spine(2, 2, 2, host_link_Bps=12.5e9, latency_s=2e-6)
    path = topo.to_csv(G, tmp_path / "sub" / "t.csv")
    H = topo.from_csv(path)
    assert set(H.edges) == set(G.edges)
    for e in G.edges:
        assert H.edges[e]["bandwidth_Bps"] == pytest.approx(G.edges[e]["bandwidth_Bps"])
        assert H.edges[e]["latency_s"] == G.edges[e]["latency_s"]
    assert H.nodes["h0"]["kind"] == "host" and H.nodes["leaf0"]["kind"] == "switch"
    assert not list(tmp_path.glob("sub/.*"))  # no temp file left behind


def _write(tmp_path, text):
    p = tmp_path / "topo.csv"
    p.write_text(text)
    return p


def test_csv_comments_blank_lines_and_extra_columns(tmp_path):
    p = _write(tmp_path, "# a dumbbell\nsrc,dst,bandwidth_GBps,latency_s,note\n\na,s,1.5,1e-6,x\n")
    G = topo.from_csv(p)
    assert G.edges["s", "a"]["bandwidth_Bps"] == 1.5e9
    assert G.edges["a", "s"]["line"] == 4


@pytest.mark.parametrize(
    "text, where, message",
    [
        ("src,dst,bandwidth_GBps\na,b,1\n", ":1", "missing column(s) latency_s"),
        ("src,dst,bandwidth_GBps,latency_s\na,b,1,0\nb,c,fast,0\n", ":3", "not a number"),
        ("src,dst,bandwidth_GBps,latency_s\na,b,0,0\n", ":2", "positive"),
        ("src,dst,bandwidth_GBps,latency_s\na,b,1,-1\n", ":2", "non-negative"),
        ("src,dst,bandwidth_GBps,latency_s\na,a,1,0\n", ":2", "self-loop"),
        ("src,dst,bandwidth_GBps,latency_s\na,b,1,0\n\nb,a,2,0\n", ":4", "given twice"),
        ("src,dst,bandwidth_GBps,latency_s\na,b,1\n", ":2", "fields"),
        ("src,dst,bandwidth_GBps,latency_s\na,,1,0\n", ":2", "non-empty"),
        ("src,dst,bandwidth_GBps,latency_s\na,b,nan,0\n", ":2", "finite"),
        ("src,dst,bandwidth_GBps,latency_s\n", "topo.csv", "no links"),
        ("", "topo.csv", "empty"),
    ],
)
def test_csv_bad_input(tmp_path, text, where, message):
    p = _write(tmp_path, text)
    with pytest.raises(DataError) as exc:
        topo.from_csv(p)
    assert str(p) in str(exc.value)
    assert exc.value.where.endswith(where)
    assert message in exc.value.message


def test_csv_missing_file(tmp_path):
    with pytest.raises(DataError, match="not found") as exc:
        topo.from_csv(tmp_path / "nope.csv")
    assert "nope.csv" in str(exc.value)


class _FakeNet:
    def __init__(self):
        self.links = {}

    def add_link(self, key, capacity_Bps, latency_s):
        self.links[key] = (capacity_Bps, latency_s)
        return len(self.links) - 1


def test_load_into_flownet_one_link_per_direction():
    G = topo.single_switch(3, bandwidth_Bps=5e9, latency_s=1e-6)
    net = _FakeNet()
    ids = topo.load_into_flownet(G, net)
    assert len(net.links) == 6 and sorted(ids.values()) == list(range(6))
    assert list(net.links)[ids["sw", "h1"]] == ("sw", "h1")
    assert net.links[("sw", "h1")] == (5e9, 1e-6)
