"""Routing on the C4 fabric: ECMP collisions against closed forms, C4P balance and
re-planning, the ideal fabric."""

from __future__ import annotations

import math

import numpy as np
import pytest
import simpy
from sim_models.c4.comm import RingCollective, Routes
from sim_models.c4.fabric import Fabric, FabricSpec
from sim_models.c4.routing import C4PRouting, C4PStaticRouting, IdealRouting
from sim_models.hw.routing import collision_probability
from sim_models.hw.routing_policies import ECMPRouting

from sim.core import Simulation
from sim.registry import get_policy


def _policy(cls, seed=1):
    sim = Simulation(seed)
    pol = cls()
    pol.bind(sim.scope("c4.test.routing"))
    return pol


def _ring(fabric, routes, nodes, qps=2, name="r"):
    return RingCollective(fabric, routes, name, nodes, range(8), qps, lambda i, g: i * 8 + g)


def test_policies_are_registered_in_hw_routing():
    for name in ("c4p", "c4p_static", "ideal", "ecmp"):
        assert get_policy("hw.routing", name)


@pytest.mark.parametrize("n,m", [(2, 4), (4, 8), (3, 16)])
def test_ecmp_uplink_collisions_match_closed_forms(n, m):
    """n QPs leaving one ToR over m spines: P(no two share an uplink) = m!/((m-n)! m^n),
    and the expected number of distinct uplinks used is m (1 - (1 - 1/m)^n)."""
    spec = FabricSpec(nodes=16, uplinks=m)  # two ToR pairs, m spines
    fab = Fabric(spec)
    pol = _policy(ECMPRouting, seed=n * 100 + m)
    pol.setup(fab.G)
    draws = 1500
    distinct_free = 0
    used = []
    for d in range(draws):
        spines = []
        k = 0
        while len(spines) < n:  # QPs from NICs of pair 0 to pair 1, keep those on port 0
            src, dst = fab.nic(k % 8, k // 8 % 8), fab.nic(8 + k % 8, k // 8 % 8)
            path = pol.route((d, k), src, dst)
            k += 1
            if path[1] == "tor0.0":
                spines.append(path[2])
        distinct_free += len(set(spines)) == n
        used.append(len(set(spines)))
    p_free = math.factorial(m) / (math.factorial(m - n) * m**n)
    assert 1 - p_free == pytest.approx(collision_probability(n, m))
    se = math.sqrt(p_free * (1 - p_free) / draws)
    assert distinct_free / draws == pytest.approx(p_free, abs=4 * se + 1e-9)
    expect = m * (1 - (1 - 1 / m) ** n)
    assert np.mean(used) == pytest.approx(expect, abs=4 * np.std(used) / math.sqrt(draws) + 1e-9)


def test_ecmp_bond_hash_puts_both_qps_on_one_port_half_the_time():
    fab = Fabric(FabricSpec(nodes=16))
    pol = _policy(ECMPRouting)
    pol.setup(fab.G)
    same = 0
    draws = 2000
    for d in range(draws):
        a = pol.route((d, 0), "n0.nic0", "n1.nic0")[1]
        b = pol.route((d, 1), "n0.nic0", "n1.nic0")[1]
        same += a == b
    assert same / draws == pytest.approx(0.5, abs=4 * math.sqrt(0.25 / draws))


@pytest.mark.parametrize("nodes", [2, 16, 24])
def test_c4p_balances_every_bond_and_uplink(nodes):
    env = simpy.Environment()
    fab = Fabric(FabricSpec(nodes=nodes), env)
    pol = _policy(C4PRouting)
    pol.setup(fab.G)
    routes = Routes(fab, pol)
    _ring(fab, routes, list(range(nodes)))
    for n in range(nodes):
        for g in range(8):
            nic = fab.nic(n, g)
            for p in range(2):
                assert pol.load_of(fab.port_edge(nic, p, True)) == 1
                assert pol.load_of(fab.port_edge(nic, p, False)) == 1
    assert max((pol.load_of(e) for e in fab.uplinks()), default=0) <= 2  # 2 x 200G fit


def test_c4p_is_global_across_jobs():
    """Two small jobs crossing the same ToR pairs: one planner for both puts their QPs on
    different uplinks; a planner per job (each blind to the other) stacks them."""

    def plan(jobs_per_planner):
        load = {}
        for jobs in jobs_per_planner:
            fab = Fabric(FabricSpec(nodes=16), simpy.Environment())
            pol = _policy(C4PRouting)
            pol.setup(fab.G)
            routes = Routes(fab, pol)
            for name, rail in jobs:
                RingCollective(fab, routes, name, [0, 8], [rail], 2, lambda i, g: i)
            for e in fab.uplinks():
                load[e] = load.get(e, 0) + pol.load_of(e)
        return load

    a, b = ("a", 0), ("b", 1)
    joint = plan([[a, b]])
    separate = plan([[a], [b]])
    assert max(joint.values()) == 1
    assert max(separate.values()) == 2


def test_c4p_replans_around_a_failed_link_and_restores_the_plan():
    fab = Fabric(FabricSpec(nodes=16), simpy.Environment())
    pol = _policy(C4PRouting)
    pol.setup(fab.G)
    routes = Routes(fab, pol)
    ring = _ring(fab, routes, list(range(16)))
    before = {k: routes.links(k).copy() for k in ring.keys}
    used = {e for k in ring.keys for e in routes.edges(k) if e in set(fab.uplinks())}
    victim = sorted(used)[0]
    fab.set_link(*victim, 0.0)
    vid = {fab.lid[victim], fab.lid[victim[::-1]]}
    assert not any(vid & set(routes.links(k).tolist()) for k in ring.keys)
    assert max(pol.load_of(e) for e in fab.uplinks() if fab.is_up(e)) <= 2
    fab.set_link(*victim, 1.0)
    assert all(np.array_equal(routes.links(k), before[k]) for k in ring.keys)


def test_c4p_static_rehashes_only_the_qps_of_a_failed_link():
    fab = Fabric(FabricSpec(nodes=16), simpy.Environment())
    pol = _policy(C4PStaticRouting)
    pol.setup(fab.G)
    routes = Routes(fab, pol)
    ring = _ring(fab, routes, list(range(16)))
    before = {k: routes.links(k).copy() for k in ring.keys}
    ups = set(fab.uplinks())
    victim = sorted({e for k in ring.keys for e in routes.edges(k) if e in ups})[0]
    fab.set_link(*victim, 0.0)
    vid = {fab.lid[victim], fab.lid[victim[::-1]]}
    moved = [k for k in ring.keys if not np.array_equal(routes.links(k), before[k])]
    assert moved and all(vid & set(before[k].tolist()) for k in moved)
    assert not any(vid & set(routes.links(k).tolist()) for k in ring.keys)
    fab.set_link(*victim, 1.0)  # back to the planned paths
    assert all(np.array_equal(routes.links(k), before[k]) for k in ring.keys)
    # a degradation is not even announced: nothing moves
    fab.set_link(*victim, 0.3)
    assert all(np.array_equal(routes.links(k), before[k]) for k in ring.keys)


def test_ideal_uses_only_nic_ports_balanced_and_fails_over():
    fab = Fabric(FabricSpec(nodes=16), simpy.Environment())
    pol = _policy(IdealRouting)
    pol.setup(fab.G)
    e0 = pol.route_edges("k", "n0.nic0", "n9.nic0", 0)
    e1 = pol.route_edges("k", "n0.nic0", "n9.nic0", 1)
    assert e0 == [("n0.nic0", "tor0.0"), ("tor1.0", "n9.nic0")]
    assert e1 == [("n0.nic0", "tor0.1"), ("tor1.1", "n9.nic0")]
    fab.set_link("n0.nic0", "tor0.1", 0.0)
    assert pol.route_edges("k", "n0.nic0", "n9.nic0", 1)[0] == ("n0.nic0", "tor0.0")
    with pytest.raises(ValueError, match="no node path"):
        pol.route("k", "n0.nic0", "n9.nic0")


def test_bond_failover_under_ecmp_moves_qps_to_the_surviving_port():
    fab = Fabric(FabricSpec(nodes=2), simpy.Environment())
    pol = _policy(ECMPRouting)
    pol.setup(fab.G)
    routes = Routes(fab, pol)
    ring = _ring(fab, routes, [0, 1], qps=4)
    fab.set_link("n0.nic0", "tor0.0", 0.0)
    dead = fab.lid[("n0.nic0", "tor0.0")]
    assert not any(dead in routes.links(k) for k in ring.keys)
    assert any(fab.lid[("n0.nic0", "tor0.1")] in routes.links(k) for k in ring.keys)
