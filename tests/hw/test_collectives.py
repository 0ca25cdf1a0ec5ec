"""Collectives on the flow network against alpha-beta closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
import simpy
from sim_models.hw.collectives import (
    busbw_factor,
    closed_form,
    make_schedule,
    run_collective,
)
from sim_models.hw.flownet import FlowNetwork


# -- small topologies as link lists --------------------------------------------------------
def ring_net(p, B, a):
    env = simpy.Environment()
    net = FlowNetwork(env)
    for i in range(p):
        net.add_link(("fwd", i), B, a)  # i -> i+1
        net.add_link(("bwd", i), B, a)  # i -> i-1

    def route(s, d):
        if d == (s + 1) % p:
            return [("fwd", s)]
        if d == (s - 1) % p:
            return [("bwd", s)]
        raise AssertionError("ring test routes neighbours only")

    return env, net, route


def star_net(p, B, a):
    """One non-blocking switch: path = host uplink + destination downlink (alpha = 2a)."""
    env = simpy.Environment()
    net = FlowNetwork(env, record_flows=False)
    for i in range(p):
        net.add_link(("up", i), B, a)
        net.add_link(("down", i), B, a)
    return env, net, lambda s, d: [("up", s), ("down", d)]


def mesh_net(p, B, a):
    env = simpy.Environment()
    net = FlowNetwork(env, record_flows=False)
    for i in range(p):
        for j in range(p):
            if i != j:
                net.add_link((i, j), B, a)
    return env, net, lambda s, d: [(s, d)]


def two_level_net(g, m, B_in, a_in, B_out, a_out):
    """m nodes of g GPUs; each GPU has a link pair to its node switch and a NIC link pair
    to one global non-blocking switch (rail-free, no oversubscription)."""
    env = simpy.Environment()
    net = FlowNetwork(env, record_flows=False)
    for r in range(g * m):
        net.add_link(("nu", r), B_in, a_in)
        net.add_link(("nd", r), B_in, a_in)
        net.add_link(("gu", r), B_out, a_out)
        net.add_link(("gd", r), B_out, a_out)

    def route(s, d):
        if s // g == d // g:
            return [("nu", s), ("nd", d)]
        return [("gu", s), ("gd", d)]

    return env, net, route


def run(env, net, route, p, collective, algorithm, N, **kw):
    proc = env.process(run_collective(net, list(range(p)), route, collective, algorithm, N, **kw))
    env.run()
    return proc.value


# -- ring ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "p, N, B, a",
    [
        (2, 1e6, 1e9, 1e-6),
        (5, 3e7, 12.5e9, 2e-6),
        (16, 256e6, 25e9, 5e-6),
        (64, 1e4, 1e10, 1e-6),  # latency bound
        (128, 1e9, 50e9, 0.0),
    ],
)
def test_ring_allreduce_matches_formula(p, N, B, a):
    env, net, route = ring_net(p, B, a)
    res = run(env, net, route, p, "allreduce", "ring", N)
    assert res.time_s == pytest.approx(closed_form.ring_allreduce_time(p, N, B, a), rel=1e-6)
    assert len(res.steps) == 2 * (p - 1)
    assert set(res.steps["phase"]) == {"reduce_scatter", "all_gather"}


@pytest.mark.parametrize("collective", ["reduce_scatter", "all_gather"])
@pytest.mark.parametrize("p", [3, 8, 33])
def test_ring_reduce_scatter_all_gather(collective, p):
    N, B, a = 64e6, 12.5e9, 1.5e-6
    env, net, route = ring_net(p, B, a)
    res = run(env, net, route, p, collective, "ring", N)
    ref = (p - 1) * a + (p - 1) / p * N / B
    assert res.time_s == pytest.approx(ref, rel=1e-6)
    assert res.busbw_Bps == pytest.approx(N / ref * (p - 1) / p, rel=1e-6)


def test_uncongested_ring_busbw_equals_link_bandwidth():
    p, N, B, a = 8, 1e9, 12.5e9, 1e-6
    env, net, route = ring_net(p, B, a)
    res = run(env, net, route, p, "allreduce", "ring", N)
    assert res.busbw_Bps == pytest.approx(B, rel=0.01)
    assert res.algbw_Bps == pytest.approx(N / res.time_s)


def test_two_concurrent_rings_halve_bandwidth():
    p, N, B, a = 8, 80e6, 10e9, 1e-6
    env, net, route = ring_net(p, B, a)
    procs = [
        env.process(run_collective(net, list(range(p)), route, "allreduce", "ring", N))
        for _ in range(2)
    ]
    env.run()
    for pr in procs:
        assert pr.value.time_s == pytest.approx(
            closed_form.ring_allreduce_time(p, N, B / 2, a), rel=1e-6
        )


# -- halving-doubling and direct -------------------------------------------------------------
@pytest.mark.parametrize("p", [2, 4, 8, 32])
@pytest.mark.parametrize("builder, hops", [(star_net, 2), (mesh_net, 1)])
def test_halving_doubling_matches_formula(p, builder, hops):
    N, B, a = 128e6, 25e9, 2e-6
    env, net, route = builder(p, B, a)
    res = run(env, net, route, p, "allreduce", "halving_doubling", N)
    ref = closed_form.halving_doubling_allreduce_time(p, N, B, hops * a)
    assert res.time_s == pytest.approx(ref, rel=1e-6)
    assert len(res.steps) == 2 * int(math.log2(p))


def test_direct_on_star_and_mesh():
    p, N, B, a = 8, 64e6, 10e9, 1e-6
    env, net, route = star_net(p, B, a)
    res = run(env, net, route, p, "allreduce", "direct", N)
    # every uplink carries (p-1) pieces of N/p at once, in each of the two phases
    assert res.time_s == pytest.approx(closed_form.direct_allreduce_time(p, N, B, 2 * a), rel=1e-6)
    env, net, route = mesh_net(p, B, a)
    res = run(env, net, route, p, "allreduce", "direct", N)
    # a private link per pair: each phase is one piece of N/p
    assert res.time_s == pytest.approx(2 * (a + N / p / B), rel=1e-6)


# -- tree ------------------------------------------------------------------------------------
@pytest.mark.parametrize("chunks", [1, 4])
def test_tree_allreduce_on_star(chunks):
    # p = 7: a full binary tree with D = 2 levels under the root.  In every step some
    # link carries two messages (a parent's downlink in the reduce, its uplink in the
    # broadcast), so a step takes 2a + 2 (N/chunks) / B; there are 2 (D + chunks - 1).
    p, N, B, a, D = 7, 32e6, 10e9, 1e-6, 2
    env, net, route = star_net(p, B, a)
    res = run(env, net, route, p, "allreduce", "tree", N, chunks=chunks)
    ref = 2 * (D + chunks - 1) * (2 * a + 2 * N / chunks / B)
    assert res.time_s == pytest.approx(ref, rel=1e-6)


# -- hierarchical ------------------------------------------------------------------------------
@pytest.mark.parametrize("g, m", [(4, 4), (8, 2), (2, 8)])
def test_hierarchical_allreduce_matches_formula(g, m):
    N = 512e6
    B_in, a_in, B_out, a_out = 200e9, 0.5e-6, 25e9, 2e-6
    env, net, route = two_level_net(g, m, B_in, a_in, B_out, a_out)
    res = run(env, net, route, g * m, "allreduce", "hierarchical", N, gpus_per_node=g)
    ref = closed_form.hierarchical_allreduce_time(g, m, N, B_in, 2 * a_in, B_out, 2 * a_out)
    assert res.time_s == pytest.approx(ref, rel=1e-6)
    phases = res.steps["phase"].value_counts().to_dict()
    assert phases == {
        "intra_reduce_scatter": g - 1,
        "inter_reduce_scatter": m - 1,
        "inter_all_gather": m - 1,
        "intra_all_gather": g - 1,
    }


def test_hierarchical_reduce_scatter_and_all_gather():
    g, m, N = 4, 2, 64e6
    B_in, a_in, B_out, a_out = 100e9, 1e-6, 10e9, 1e-6
    intra = (g - 1) * (2 * a_in + N / g / B_in)
    inter = (m - 1) * (2 * a_out + N / (g * m) / B_out)
    for coll in ("reduce_scatter", "all_gather"):
        env, net, route = two_level_net(g, m, B_in, a_in, B_out, a_out)
        res = run(env, net, route, g * m, coll, "hierarchical", N, gpus_per_node=g)
        assert res.time_s == pytest.approx(intra + inter, rel=1e-6)


# -- schedules ---------------------------------------------------------------------------------
@pytest.mark.parametrize("algorithm", ["ring", "halving_doubling", "direct", "hierarchical"])
def test_allreduce_moves_2_p_minus_1_times_N(algorithm):
    # Bandwidth-optimal all-reduce algorithms send 2 (p-1) N bytes in total.
    p, N = 16, 1e6
    s = make_schedule("allreduce", algorithm, p, N, gpus_per_node=4)
    assert s.bytes_sent == pytest.approx(2 * (p - 1) * N)


def test_tree_moves_2_N_per_edge():
    s = make_schedule("allreduce", "tree", 10, 1e6, chunks=3)
    assert s.bytes_sent == pytest.approx(2 * 9 * 1e6)


def test_busbw_factors():
    assert busbw_factor("allreduce", 8) == pytest.approx(1.75)
    assert busbw_factor("reduce_scatter", 8) == pytest.approx(0.875)
    assert busbw_factor("all_gather", 4) == pytest.approx(0.75)


def test_invalid_combinations():
    with pytest.raises(ValueError, match="power-of-two"):
        make_schedule("all_gather", "halving_doubling", 6, 1.0)
    with pytest.raises(ValueError, match="allreduce only"):
        make_schedule("reduce_scatter", "tree", 4, 1.0)
    with pytest.raises(ValueError, match="multiple of gpus_per_node"):
        make_schedule("allreduce", "hierarchical", 10, 1.0, gpus_per_node=4)
    with pytest.raises(ValueError, match="unknown algorithm"):
        make_schedule("allreduce", "butterfly", 4, 1.0)
    with pytest.raises(ValueError, match="unknown collective"):
        make_schedule("alltoall", "ring", 4, 1.0)


@pytest.mark.slow
def test_ring_allreduce_1024_ranks_exact_and_fast():
    import time

    p, N, B, a = 1024, 256e6, 12.5e9, 1e-6
    t = time.perf_counter()
    env, net, route = ring_net(p, B, a)
    res = run(env, net, route, p, "allreduce", "ring", N)
    assert time.perf_counter() - t < 10.0
    assert res.time_s == pytest.approx(closed_form.ring_allreduce_time(p, N, B, a), rel=1e-6)


# -- per-rank executor -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "algorithm, builder, kw",
    [
        ("ring", ring_net, {}),
        ("ring", star_net, {}),
        ("halving_doubling", star_net, {}),
        ("direct", mesh_net, {}),
    ],
)
def test_per_rank_executor_equals_step_synchronous_on_idle_network(algorithm, builder, kw):
    p, N, B, a = 8, 64e6, 12.5e9, 1.5e-6
    results = []
    for executor in ("step", "rank"):
        env, net, route = builder(p, B, a)
        results.append(run(env, net, route, p, "allreduce", algorithm, N, executor=executor, **kw))
    step, rank = results
    assert rank.time_s == pytest.approx(step.time_s, rel=1e-12)
    np.testing.assert_allclose(rank.steps["start_s"], step.steps["start_s"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(rank.steps["end_s"], step.steps["end_s"], rtol=1e-12)


def test_per_rank_tree_is_never_slower():
    # the pipelined tree is not symmetric (ranks idle in some steps): without barriers a
    # rank goes on as soon as its own inputs are in, so it can only gain
    out = []
    for executor in ("step", "rank"):
        env, net, route = star_net(8, 12.5e9, 1.5e-6)
        out.append(run(env, net, route, 8, "allreduce", "tree", 64e6, chunks=4,
                       executor=executor).time_s)  # fmt: skip
    assert out[1] <= out[0] * (1 + 1e-12)


def test_per_rank_executor_hierarchical_equals_step():
    g, m = 4, 3
    out = []
    for executor in ("step", "rank"):
        env, net, route = two_level_net(g, m, 100e9, 0.5e-6, 12.5e9, 2e-6)
        out.append(run(env, net, route, g * m, "allreduce", "hierarchical", 48e6,
                       gpus_per_node=g, executor=executor).time_s)  # fmt: skip
    assert out[1] == pytest.approx(out[0], rel=1e-12)


def test_per_rank_executor_with_one_slow_link_matches_hand_schedule():
    # ring of 4, link 0->1 at half rate, no latency: u = chunk / B
    p, N, B = 4, 4e6, 1e9
    env, net, route = ring_net(p, B, 0.0)
    net.set_capacity(("fwd", 0), B / 2)
    res = run(env, net, route, p, "allreduce", "ring", N, executor="rank")
    u = N / p / B
    assert res.time_s == pytest.approx(12 * u, rel=1e-12)  # six 2u sends over the slow link
    t = net.flow_table()
    starts = t.pivot_table(index="step", columns="src", values="start_s")
    # step 1: ranks 2 and 3 are done with step 0 at u; ranks 0 and 1 wait for the slow link
    np.testing.assert_allclose(starts.loc[1].to_numpy() / u, [2, 2, 1, 1], rtol=1e-12)
    np.testing.assert_allclose(starts.loc[2].to_numpy() / u, [4, 4, 3, 2], rtol=1e-12)
    # the step-synchronous executor starts every rank at the barrier
    env2, net2, route2 = ring_net(p, B, 0.0)
    net2.set_capacity(("fwd", 0), B / 2)
    run(env2, net2, route2, p, "allreduce", "ring", N)
    s2 = net2.flow_table().pivot_table(index="step", columns="src", values="start_s")
    np.testing.assert_allclose(s2.loc[1].to_numpy() / u, [2, 2, 2, 2], rtol=1e-12)


def test_messages_carry_tags():
    p = 4
    env, net, route = ring_net(p, 1e9, 0.0)
    run(env, net, route, p, "allreduce", "ring", 4e6)
    t = net.flow_table()
    assert len(t) == 2 * (p - 1) * p
    assert set(t["collective"]) == {"allreduce"}
    assert set(t["step"]) == set(range(2 * (p - 1)))
    assert (t["dst"] == (t["src"] + 1) % p).all()
    assert (t["conn"] == t["src"] * p + t["dst"]).all()
    with pytest.raises(ValueError, match="executor"):
        env2, net2, route2 = ring_net(p, 1e9, 0.0)
        run(env2, net2, route2, p, "allreduce", "ring", 4e6, executor="bogus")


@pytest.mark.parametrize("p", [3, 5, 6, 12])
def test_halving_doubling_any_rank_count_matches_formula(p):
    # r = p - q ranks hand their buffer over first and get the result last: 2 more steps of N
    N, B, a = 64e6, 25e9, 2e-6
    env, net, route = star_net(p, B, a)
    res = run(env, net, route, p, "allreduce", "halving_doubling", N)
    q = 1 << (p.bit_length() - 1)
    ref = 2 * (2 * a + N / B) + closed_form.halving_doubling_allreduce_time(q, N, B, 2 * a)
    assert res.time_s == pytest.approx(ref, rel=1e-9)
    assert list(res.steps["phase"])[0] == "pre_reduce"
    assert list(res.steps["phase"])[-1] == "post_broadcast"


def test_protocol_costs_add_fixed_latency_and_wire_bytes():
    from sim_models.hw.collectives import StepCosts

    p, N, B = 4, 4e6, 1e9
    env, net, route = ring_net(p, B, 0.0)
    costs = StepCosts(base_s=5e-6, step_intra_s=1e-6, step_inter_s=1e-6, wire_factor=2.0)
    res = run(env, net, route, p, "allreduce", "ring", N, costs=costs)
    steps = 2 * (p - 1)
    assert res.time_s == pytest.approx(5e-6 + steps * (1e-6 + 2 * N / p / B), rel=1e-12)
    for executor in ("step", "rank"):  # both executors pay the same costs
        env2, net2, route2 = ring_net(p, B, 0.0)
        r2 = run(env2, net2, route2, p, "allreduce", "ring", N, costs=costs, executor=executor)
        assert r2.time_s == pytest.approx(res.time_s, rel=1e-12)
