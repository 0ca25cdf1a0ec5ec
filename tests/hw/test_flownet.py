"""Flow network: completion times against hand-computed piecewise schedules."""

from __future__ import annotations

import numpy as np
import pytest
import simpy
from sim_models.hw.flownet import FlowNetwork

from sim.events import pending_events


def _net(*links):
    env = simpy.Environment()
    net = FlowNetwork(env)
    for name, cap, lat in links:
        net.add_link(name, cap, lat)
    return env, net


def test_single_flow_time_is_latency_plus_transfer():
    env, net = _net(("a", 100.0, 0.2), ("b", 50.0, 0.3))
    f = net.start_flow(["a", "b"], 100.0)
    env.run()
    # bottleneck 50 B/s -> 2 s; latency 0.2 + 0.3 added once
    assert f.end_s == pytest.approx(2.5, rel=1e-12)
    assert f.transfer_end_s == pytest.approx(2.0, rel=1e-12)
    assert f.triggered and f.value is f


def test_piecewise_schedule_arrivals_and_departures():
    # Link 100 B/s, latency 0.5.  f1: 100 B at 0.  f2: 50 B at 0.25.  f3: 30 B at 1.4.
    # [0, .25): f1 alone at 100 -> 25 B sent, 75 left.
    # [.25, 1.25): both at 50; f2 done at 1.25 (transfer), f1 has 25 left.
    # [1.25, 1.4): f1 alone at 100 -> 15 sent, 10 left.
    # [1.4, 1.6): f1, f3 at 50 -> f1 done at 1.6; f3 has 20 left.
    # [1.6, 1.8): f3 alone -> done at 1.8.
    env, net = _net(("L", 100.0, 0.5))
    ends = {}

    def proc():
        f1 = net.start_flow(["L"], 100.0, on_done=lambda f: ends.__setitem__("f1", env.now))
        yield env.timeout(0.25)
        f2 = net.start_flow(["L"], 50.0, on_done=lambda f: ends.__setitem__("f2", env.now))
        yield env.timeout(1.15)
        f3 = net.start_flow(["L"], 30.0, on_done=lambda f: ends.__setitem__("f3", env.now))
        yield f1 & f2 & f3

    env.process(proc())
    env.run()
    assert ends["f1"] == pytest.approx(1.6 + 0.5, rel=1e-12)
    assert ends["f2"] == pytest.approx(1.25 + 0.5, rel=1e-12)
    assert ends["f3"] == pytest.approx(1.8 + 0.5, rel=1e-12)
    table = net.flow_table().sort_values("flow")
    np.testing.assert_allclose(table["transfer_end_s"], [1.6, 1.25, 1.8], rtol=1e-12)
    np.testing.assert_allclose(table["start_s"], [0.0, 0.25, 1.4])


def test_parking_lot_dynamics():
    # Links x (cap 2), y (cap 1). long: x,y 10 B; sx: x 10 B; sy: y 5 B.
    # Max-min: y saturates at 1/2 -> long = sy = 0.5; sx = 1.5.
    # sx done at 10/1.5 = 6.667? No: sy finishes first at t = 10 (5 B / 0.5).
    # At t = 20/3 sx is done (10 / 1.5); then long = min(2, 1 - 0.5) = 0.5 still (sy on y).
    # t = 10: sy done; long has 10 - 5 = 5 left, now alone at 1 -> done at 15.
    env, net = _net(("x", 2.0, 0.0), ("y", 1.0, 0.0))
    long_ = net.start_flow(["x", "y"], 10.0)
    sx = net.start_flow(["x"], 10.0)
    sy = net.start_flow(["y"], 5.0)
    env.run()
    assert sx.end_s == pytest.approx(20 / 3, rel=1e-12)
    assert sy.end_s == pytest.approx(10.0, rel=1e-12)
    assert long_.end_s == pytest.approx(15.0, rel=1e-12)


def test_weighted_and_capped_flows():
    env, net = _net(("L", 100.0, 0.0))
    f1 = net.start_flow(["L"], 100.0, weight=1)
    f2 = net.start_flow(["L"], 100.0, weight=3)
    env.run()
    # 25 and 75 B/s: f2 done at 4/3; f1 then has 100 - 100/3 left at 100 -> done at 2.
    assert f2.end_s == pytest.approx(4 / 3, rel=1e-12)
    assert f1.end_s == pytest.approx(2.0, rel=1e-12)

    env, net = _net(("L", 100.0, 0.0))
    capped = net.start_flow(["L"], 10.0, rate_cap_Bps=10.0)
    other = net.start_flow(["L"], 90.0)
    env.run()
    assert capped.end_s == pytest.approx(1.0, rel=1e-12)
    assert other.end_s == pytest.approx(1.0, rel=1e-12)  # gets 90 B/s


def test_capacity_drop_mid_flow():
    env, net = _net(("L", 100.0, 0.0))
    f = net.start_flow(["L"], 100.0)

    def degrade():
        yield env.timeout(0.5)
        net.set_capacity("L", 25.0)

    env.process(degrade())
    env.run()
    # 50 B in the first 0.5 s, then 50 B at 25 B/s
    assert f.end_s == pytest.approx(2.5, rel=1e-12)


def test_zero_capacity_stalls_then_resumes():
    env, net = _net(("L", 100.0, 0.1))
    f = net.start_flow(["L"], 100.0)
    seen = {}

    def fail_and_repair():
        yield env.timeout(0.5)
        net.set_capacity("L", 0.0)
        yield env.timeout(0.01)
        seen["rate_down"] = net.flow_rate_Bps(f)
        yield env.timeout(1.49)
        net.set_capacity("L", 100.0)

    env.process(fail_and_repair())
    env.run()
    assert seen["rate_down"] == 0.0
    assert f.end_s == pytest.approx(2.5 + 0.1, rel=1e-12)


def test_stalled_flow_never_finishes_without_repair():
    env, net = _net(("L", 0.0, 0.0))
    f = net.start_flow(["L"], 1.0)
    env.run(until=100.0)
    assert not f.triggered
    assert net.n_active == 1


def test_bytes_conserved_over_random_multihop_flows():
    rng = np.random.default_rng(5)
    env = simpy.Environment()
    net = FlowNetwork(env)
    n_links = 12
    for i in range(n_links):
        net.add_link(i, float(rng.uniform(1, 10)), 0.0)
    expected = np.zeros(n_links)
    total = {"bytes": 0.0}

    def source():
        for _ in range(300):
            path = rng.choice(n_links, size=int(rng.integers(1, 5)), replace=False)
            size = float(rng.uniform(0.1, 20))
            expected[path] += size
            total["bytes"] += size * len(path)
            net.start_flow(path.tolist(), size, weight=float(rng.integers(1, 3)))
            yield env.timeout(float(rng.exponential(0.5)))

    env.process(source())
    env.run()
    assert net.n_active == 0
    got = net.link_bytes()
    np.testing.assert_allclose(got, expected, rtol=1e-7)
    assert got.sum() == pytest.approx(total["bytes"], rel=1e-9)
    assert np.all(net.link_utilization() <= 1 + 1e-9)


def test_many_flows_at_one_instant_cost_one_solve():
    env, net = _net(("L", 1000.0, 0.0))
    ev = net.start_flows([["L"]] * 1000, 1.0)
    env.run(until=1e-12)
    assert net.recomputes == 1
    env.run()
    assert ev.value == pytest.approx(1.0, rel=1e-12)  # 1000 B at 1000 B/s
    # one solve at t=0 only: all complete together, nothing left to solve for
    assert net.recomputes == 1


def test_single_flows_batched_and_one_pending_timer():
    env, net = _net(("L", 100.0, 0.0))
    sizes = np.arange(1, 201, dtype=float)  # 200 flows, distinct sizes, all start at 0
    flows = [net.start_flow(["L"], s) for s in sizes]
    queue_lengths = []

    def watch():
        while net.n_active:
            queue_lengths.append(pending_events(env))
            yield env.timeout(1.0)

    env.process(watch())
    env.run()
    # one solve at start + one per departure but the last (nothing left to solve)
    assert net.recomputes == 1 + 199
    assert max(queue_lengths) <= 4  # the watcher, one completion timer, maybe one stale
    # processor sharing of equal flows: flow k finishes at (sum_{j<k} s_j + (n-k+1) s_k)/C
    n = len(sizes)
    ref = np.array([(sizes[:k].sum() + (n - k) * sizes[k]) / 100.0 for k in range(n)])
    np.testing.assert_allclose([f.end_s for f in flows], ref, rtol=1e-9)


def test_group_event_value_and_zero_hop_flow():
    env, net = _net(("L", 10.0, 1.0))
    ev = net.start_flows([["L"], ["L"], []], [10.0, 5.0, 7.0])
    env.run()
    # two flows share 10 B/s: 5 B flow done at 1; the other at 1.5; +1 s latency
    assert ev.value == pytest.approx(2.5, rel=1e-12)
    table = net.flow_table().sort_values("flow")
    np.testing.assert_allclose(table["end_s"], [2.5, 2.0, 0.0], rtol=1e-12)


def test_utilization_counts_idle_time():
    env, net = _net(("L", 10.0, 0.0))
    net.start_flow(["L"], 10.0)
    env.run()
    env.run(until=2.0)
    assert net.link_utilization()[0] == pytest.approx(0.5, rel=1e-12)
    assert net.link_table()["bytes"].iloc[0] == pytest.approx(10.0)


def test_bad_inputs():
    env, net = _net(("L", 10.0, 0.0))
    with pytest.raises(KeyError):
        net.start_flow(["nope"], 1.0)
    with pytest.raises(ValueError):
        net.add_link("L", 1.0, 0.0)
    with pytest.raises(ValueError):
        net.set_capacity("L", -1.0)
    with pytest.raises(ValueError):
        net.start_flow(["L"], -1.0)


# -- incremental solve equals the full solve -------------------------------------------------
def _random_run(seed: int, incremental: bool, n_flows: int = 150, n_links: int = 25):
    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    net = FlowNetwork(env, incremental=incremental)
    for i in range(n_links):
        net.add_link(i, float(rng.uniform(1, 10)), float(rng.uniform(0, 0.01)))
    ends = np.full(n_flows, np.nan)
    plan = [
        (
            rng.choice(n_links, size=int(rng.integers(1, 5)), replace=False).tolist(),
            float(rng.exponential(5.0)),
            float(rng.integers(1, 4)),
            float(rng.choice([np.inf, rng.uniform(0.5, 5)])),
            float(rng.exponential(0.3)),
        )
        for _ in range(n_flows)
    ]
    cap_events = [(float(rng.uniform(0, 40)), int(rng.integers(n_links)), float(rng.uniform(0, 8)))
                  for _ in range(10)]  # fmt: skip

    def source():
        for i, (path, size, w, cap, gap) in enumerate(plan):
            net.start_flow(path, size, weight=w, rate_cap_Bps=cap,
                           on_done=lambda f, i=i: ends.__setitem__(i, env.now))  # fmt: skip
            yield env.timeout(gap)

    def capacity():
        t = 0.0
        for when, link, value in sorted(cap_events):
            yield env.timeout(when - t)
            t = when
            net.set_capacity(link, value)
        yield env.timeout(100.0)
        for link in range(n_links):
            net.set_capacity(link, 5.0)  # no flow stays stalled

    env.process(source())
    env.process(capacity())
    env.run()
    return ends, net


@pytest.mark.parametrize("seed", range(6))
def test_incremental_equals_full_solve_on_random_instances(seed):
    inc, net_inc = _random_run(seed, True)
    full, net_full = _random_run(seed, False)
    assert not np.isnan(inc).any()
    np.testing.assert_allclose(inc, full, rtol=1e-9)
    np.testing.assert_allclose(net_inc.link_bytes(), net_full.link_bytes(), rtol=1e-9)
    assert net_inc.solved_flows < net_full.solved_flows  # it did solve less


def test_compiled_kernel_equals_numpy_solver():
    from sim_models.hw.maxmin import maxmin_rates
    from sim_models.hw.maxmin_kernel import padded_rates

    rng = np.random.default_rng(3)
    for _ in range(30):
        n, L = int(rng.integers(1, 80)), int(rng.integers(1, 30))
        paths = [rng.choice(L, size=int(rng.integers(1, min(L, 5) + 1)), replace=False)
                 for _ in range(n)]  # fmt: skip
        cap = rng.uniform(0, 10, L) * (rng.random(L) > 0.1)
        w = rng.integers(1, 4, n).astype(float)
        fcap = np.where(rng.random(n) < 0.3, rng.uniform(0.1, 3, n), np.inf)
        P = np.full((n, 5), -1, dtype=np.int64)
        for i, p in enumerate(paths):
            P[i, : p.size] = p
        np.testing.assert_allclose(
            padded_rates(P, cap, w, fcap), maxmin_rates(paths, cap, w, fcap), rtol=1e-9
        )


def test_collective_steps_reuse_one_solve():
    env, net = _net(*[((i, "f"), 10.0, 0.0) for i in range(8)])
    ps = net.compile_paths([[(i, "f")] for i in range(8)])

    def proc():
        for _ in range(5):
            yield net.start_flows(ps, 10.0)

    env.process(proc())
    env.run()
    assert env.now == pytest.approx(5.0)
    assert net.recomputes == 5 and net.reused_solves == 4


# -- tags, cancel, reroute ----------------------------------------------------------------------
def test_tags_reach_the_flow_table():
    env, net = _net(("a", 10.0, 0.0), ("b", 10.0, 0.0))
    net.start_flows([["a"], ["b"]], 10.0,
                    tags={"collective": "allreduce", "step": 3, "src": np.array([0, 1]),
                          "dst": np.array([1, 0]), "conn": ["c01", "c10"]})  # fmt: skip
    net.start_flow(["a"], 5.0, tags={"conn": "x"})
    env.run()
    t = net.flow_table().sort_values("flow")
    assert list(t["collective"])[:2] == ["allreduce", "allreduce"]
    assert list(t["step"])[:2] == [3, 3] and list(t["src"])[:2] == [0, 1]
    assert t["collective"].isna().iloc[2] and t["step"].isna().iloc[2]
    assert list(t["conn"]) == ["c01", "c10", "x"]
    assert not t["cancelled"].any()


def test_cancel_stops_a_flow_and_frees_its_share():
    env, net = _net(("L", 10.0, 0.0))
    a = net.start_flow(["L"], 100.0)
    b = net.start_flow(["L"], 100.0)
    left = {}

    def proc():
        yield env.timeout(4.0)  # both at 5 B/s: 20 B each sent
        left["b"] = net.cancel(b)

    env.process(proc())
    env.run()
    assert left["b"] == pytest.approx(80.0)
    assert not b.triggered and b.cancelled
    assert a.end_s == pytest.approx(4.0 + 80.0 / 10.0)  # alone at 10 B/s afterwards
    assert net.link_bytes()[0] == pytest.approx(120.0)
    t = net.flow_table().set_index("flow")
    assert bool(t.loc[b.id, "cancelled"]) and np.isnan(t.loc[b.id, "end_s"])


def test_cancel_inside_a_batch_lets_the_batch_finish():
    env, net = _net(("a", 10.0, 0.0), ("b", 0.0, 0.0))
    ev = net.start_flows([["a"], ["b"]], 10.0)
    ids = net.group_flow_ids(ev)

    def proc():
        yield env.timeout(2.0)
        net.cancel(int(ids[1]))  # stalled on a dead link: give up on it

    env.process(proc())
    env.run()
    assert ev.value == pytest.approx(1.0)


def test_reroute_moves_remaining_bytes_and_pays_new_latency():
    env, net = _net(("dead", 10.0, 0.1), ("alt", 5.0, 0.3))
    f = net.start_flow(["dead"], 100.0, tags={"conn": "q"})

    def proc():
        yield env.timeout(2.0)  # 20 B sent on "dead"
        net.set_capacity("dead", 0.0)
        net.reroute(f, ["alt"])  # 80 B left at 5 B/s: 16 s

    env.process(proc())
    env.run()
    assert f.transfer_end_s == pytest.approx(18.0)
    assert f.end_s == pytest.approx(18.3)
    np.testing.assert_allclose(net.link_bytes(), [20.0, 80.0])
    t = net.flow_table()
    assert list(t["conn"]) == ["q"] and t["start_s"].iloc[0] == 0.0


def _check_rates_against_full_solve(net, caps, weight, fcap):
    """The network's current rates equal a full max-min solve of its active flows."""
    from sim_models.hw.maxmin import maxmin_rates

    rates = net.rates_Bps()
    fids = sorted(rates)
    if not fids:
        return 0
    paths = [net.flow_path(f) for f in fids]
    full = maxmin_rates(paths, caps, [weight[f] for f in fids], [fcap[f] for f in fids])
    np.testing.assert_allclose([rates[f] for f in fids], full, rtol=1e-9, atol=1e-12)
    return len(fids)


@pytest.mark.parametrize("seed", range(5))
def test_incremental_rates_equal_full_solve_after_every_change(seed):
    """Arrivals, completions, cancels, reroutes and capacity changes (to zero and back) on a
    small shared network; after every instant the incremental rates equal a full solve."""
    rng = np.random.default_rng(100 + seed)
    env = simpy.Environment()
    net = FlowNetwork(env)
    n_links = int(rng.integers(6, 20))
    caps = rng.choice([1.0, 2.0, 5.0], n_links) * rng.choice([1.0, 1.0, 1.5], n_links)
    for i in range(n_links):
        net.add_link(i, float(caps[i]))
    weight: dict[int, float] = {}
    fcap: dict[int, float] = {}
    live: list = []
    checked: list[int] = []
    done: list[bool] = []

    def path():
        return rng.choice(n_links, size=int(rng.integers(1, 5)), replace=False).tolist()

    def traffic():
        for _ in range(200):
            yield env.timeout(float(rng.exponential(0.2)))
            u = rng.random()
            active = [f for f in live if not f.triggered and not f.cancelled]
            if u < 0.06 and active:
                net.cancel(active[int(rng.integers(len(active)))])
            elif u < 0.12 and active:
                net.reroute(active[int(rng.integers(len(active)))], path())
            elif u < 0.2:
                lk = int(rng.integers(n_links))
                caps[lk] = float(rng.choice([0.0, 0.5, 1.0, 3.0, 5.0]))
                net.set_capacity(lk, caps[lk])
            elif u < 0.23:  # a batch that ends all at once (booked per path set)
                ev = net.start_flows([path()] * 70, float(rng.exponential(1.0)))
                for fid in net.group_flow_ids(ev).tolist():
                    weight[fid], fcap[fid] = 1.0, np.inf
            else:
                for _ in range(int(rng.choice([1, 1, 1, 2, 3]))):  # a few at one instant
                    w = float(rng.choice([1.0, 1.0, 2.0, 3.0]))
                    c = float(rng.choice([np.inf, np.inf, np.inf, rng.uniform(0.2, 2.0)]))
                    f = net.start_flow(path(), float(rng.exponential(1.0)), weight=w,
                                       rate_cap_Bps=c)  # fmt: skip
                    weight[f.id], fcap[f.id] = w, c
                    live.append(f)
        yield env.timeout(20.0)
        for lk in range(n_links):
            caps[lk] = 5.0
            net.set_capacity(lk, 5.0)
        done.append(True)

    def checker():
        while not done:
            yield env.timeout(float(rng.uniform(0.02, 0.2)))
            checked.append(_check_rates_against_full_solve(net, caps, weight, fcap))

    env.process(traffic())
    env.process(checker())
    env.run()
    assert sum(checked) > 2000 and max(checked) > 20
    assert all(f.triggered or f.cancelled for f in live)
