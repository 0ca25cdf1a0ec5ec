"""The fluid ring collective: closed form, equality with the step-synchronous ring of
sim_models.hw.collectives, QP-level telemetry, rail batches and probes."""

from __future__ import annotations

import numpy as np
import pytest
import simpy
from sim_models.c4.comm import RingCollective, Routes, busbw_Bps
from sim_models.c4.fabric import Fabric, FabricSpec, place_job
from sim_models.c4.routing import C4PRouting
from sim_models.c4.telemetry import Telemetry
from sim_models.hw.collectives import run_collective
from sim_models.hw.routing_policies import ECMPRouting

from sim.core import Simulation

S = 64e6


def _setup(cls, nodes=16, seed=1, **spec):
    sim = Simulation(seed)
    fab = Fabric(FabricSpec(nodes=nodes, **spec), sim.env)
    pol = cls()
    pol.bind(sim.scope("c4.test"))
    pol.setup(fab.G)
    return sim, fab, Routes(fab, pol)


def _run(env, ring, **kw):
    out = {}
    t0 = env.now
    ring.start(S, lambda t: out.setdefault("t", t), **kw)
    env.run()
    return out["t"] - t0


def test_fluid_ring_matches_closed_form_on_a_balanced_fabric():
    sim, fab, routes = _setup(C4PRouting)
    ring = RingCollective(fab, routes, "r", list(range(16)), range(8), 2, lambda i, g: i * 8 + g)
    t = _run(sim.env, ring)
    m = 16
    lat = max(fab.net.path_latency_s(routes.links(k)) for k in ring.keys)
    assert t == pytest.approx(2 * (m - 1) / m * S / 50e9 + lat, rel=1e-9)
    assert busbw_Bps(S, t - lat, m) == pytest.approx(50e9, rel=1e-9)


@pytest.mark.parametrize(
    "policy,placement", [(C4PRouting, "contiguous"), (ECMPRouting, "scattered")]
)
def test_fluid_ring_equals_the_step_synchronous_ring(policy, placement):
    """Scaling every flow of a max-min fluid network by one factor scales every completion
    time by it: the fluid ring equals 2(m-1) synchronous steps of S/m, up to one path
    latency per step."""
    sim, fab, routes = _setup(policy, nodes=64, seed=3)
    nodes = place_job(64, 16, placement, np.random.default_rng(7))
    ring = RingCollective(fab, routes, "r", nodes, [0], 1, lambda i, g: i)
    t_fluid = _run(sim.env, ring)
    paths = {(c.src, c.dst): routes.links(ring.keys[c.index]) for c in ring.conns}
    env2 = simpy.Environment()
    fab.attach(env2)
    proc = env2.process(run_collective(fab.net, [c.src for c in ring.conns],
                                       lambda a, b: paths[(a, b)], "allreduce", "ring", S))  # fmt: skip
    env2.run()
    m = ring.m
    lat = max(fab.net.path_latency_s(p) for p in paths.values())
    t_steps = proc.value.time_s
    assert t_steps - (2 * (m - 1) - 1) * lat == pytest.approx(t_fluid, rel=1e-9)


def test_qp_telemetry_rail_batches_and_probes():
    sim, fab, routes = _setup(C4PRouting, nodes=4)
    ring = RingCollective(fab, routes, "r", [0, 1, 2, 3], range(8), 2, lambda i, g: i * 8 + g)
    tel = Telemetry(np.random.default_rng(0))
    tel.configure(4, 8, *ring.qp_ranks())
    rails = []
    t = _run(sim.env, ring, telemetry=tel, op=0, on_rail_done=lambda r, t: rails.append(r))
    assert sorted(rails) == list(range(8))
    q = tel.qps_frame()
    assert len(q) == 4 * 8 * 2 and not tel.outstanding[0].any()
    assert q["rate_Bps"].to_numpy() == pytest.approx(25e9, rel=5e-3)  # latency included
    mat = tel.matrix()
    assert mat[0, 8] == pytest.approx(25e9, rel=5e-3) and np.isnan(mat[0, 1])
    t2 = _run(sim.env, ring)
    assert t2 == pytest.approx(t)
    # a dead NIC: probes through it never arrive
    for e in fab.nic_edges("n2.nic5"):
        fab.net.set_capacity(fab.lid[e], 0.0)
    stuck = []
    ring.probe([5], 1e6, 1.0, stuck.extend)
    sim.env.run(until=sim.env.now + 2.0)
    ends = {(ring.conns[c].src, ring.conns[c].dst) for c, _q in stuck}
    assert ends == {("n1.nic5", "n2.nic5"), ("n2.nic5", "n3.nic5")}


def test_telemetry_records_noise_liveness_and_progress():
    tel = Telemetry(np.random.default_rng(1), noise_s=0.01, noise_rel=0.2)
    tel.configure(2, 2, [0, 2], [2, 0])
    tel.enter(np.array([0, 1]), 0, 1.0)
    tel.exit(np.array([0, 1]), 0, 2.0)
    tel.post(0, 1.0)
    tel.delivered(0, np.array([0]), 1e9, 2.0)
    ops = tel.ops_frame()
    assert len(ops) == 2 and (ops["enter_s"] != 1.0).all() and (abs(ops["enter_s"] - 1) < 0.1).all()
    assert tel.qps_frame()["rate_Bps"].iloc[0] != pytest.approx(1e9)
    assert tel.outstanding[0].tolist() == [False, True]
    assert tel.last_seen.tolist() == [2.0, -np.inf] and tel.last_event == 2.0
    assert tel.entered.tolist() == [0, 0, -1, -1]
