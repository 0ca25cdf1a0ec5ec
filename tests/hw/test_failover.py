"""Link and bonded-port failover of live flows."""

from __future__ import annotations

import numpy as np
import pytest
import simpy
from sim_models.hw import topology as topo
from sim_models.hw.failover import Failover
from sim_models.hw.flownet import FlowNetwork
from sim_models.hw.routing import Router, path_links

PORT = 25e9


def _setup(seed=4):
    G = topo.dual_tor(2, gpus_per_node=1, port_Bps=PORT, nvlink_Bps=1e12, pcie_Bps=1e12,
                      latency_s=0.0, intra_latency_s=0.0)  # fmt: skip
    env = simpy.Environment()
    net = FlowNetwork(env)
    ids = topo.load_into_flownet(G, net)
    router = Router(G, "ecmp", rng=np.random.default_rng(seed))
    paths = [router.route(i, "n0.gpu0", "n1.gpu0") for i in range(8)]
    flows = [net.start_flow([ids[e] for e in path_links(p)], 100e6) for p in paths]
    return G, env, net, ids, router, paths, flows


def test_bonded_port_failover_runs_at_half_nic_bandwidth():
    G, env, net, ids, router, paths, flows = _setup()
    ports = {G.edges[p[1], p[2]]["port"] for p in paths}
    assert ports == {0, 1}  # the bond hash spread the connections over both ports
    fo = Failover(net, router, ids)
    moved = {}

    def fail():
        yield env.timeout(1e-3)
        moved["n"] = fo.fail("n0.nic0", "tor0.0")

    env.process(fail())
    env.run()
    on_port0 = sum(G.edges[p[1], p[2]]["port"] == 0 for p in paths)
    assert moved["n"] == on_port0
    # 1 ms at both ports (50 GB/s), then everything through the surviving port (25 GB/s)
    assert max(f.end_s for f in flows) == pytest.approx(1e-3 + (800e6 - 50e6) / PORT, rel=1e-9)
    assert all(f.triggered for f in flows)
    assert net.link_bytes()[ids[("n0.nic0", "tor0.0")]] == pytest.approx(25e6, rel=1e-9)
    assert all(e[3][2] == "tor0.1" for e in fo.log)
    # new connections avoid the dead port
    assert all(router.route(("new", i), "n0.gpu0", "n1.gpu0")[2] == "tor0.1" for i in range(20))
    fo.restore("n0.nic0", "tor0.0")
    assert {router.route(("again", i), "n0.gpu0", "n1.gpu0")[2] for i in range(40)} == {
        "tor0.0",
        "tor0.1",
    }


def test_without_failover_the_connections_on_the_dead_port_stall():
    G, env, net, ids, router, paths, flows = _setup()

    def fail():
        yield env.timeout(1e-3)
        net.set_capacity(ids[("n0.nic0", "tor0.0")], 0.0)

    env.process(fail())
    env.run(until=1.0)
    stuck = [f for f, p in zip(flows, paths, strict=True) if p[2] == "tor0.0"]
    assert stuck and not any(f.triggered for f in stuck)


def test_unknown_link_rejected():
    G, env, net, ids, router, paths, flows = _setup()
    with pytest.raises(KeyError):
        Failover(net, router, ids).fail("n0.nic0", "nowhere")
