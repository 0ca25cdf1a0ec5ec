"""HBM arbiter: bandwidth sharing under FCFS, strict priority and T3's MCA threshold."""

import pytest
import simpy
from sim_models.hw.arbiter import FCFS, ComputeFirst, HBMArbiter, OccupancyThreshold

BW = 1e12  # 1 TB/s
BURST = 64 * 1024
MB = 100 * 2**20  # a saturating stream: 1,600 bursts


def make(policy=None, **kw):
    env = simpy.Environment()
    return env, HBMArbiter(env, BW, policy=policy, burst_bytes=BURST, **kw)


def test_single_transfer_time_and_latency():
    env, arb = make(latency_s=1e-6)
    ev = arb.read(10 * BURST + 1000, "gemm")
    env.run(ev)
    assert env.now == pytest.approx((10 * BURST + 1000) / BW + 1e-6)
    assert arb.stats["gemm"].read_bytes == 10 * BURST + 1000
    assert arb.stats["gemm"].bursts == 11


def test_fcfs_splits_two_saturating_streams_evenly():
    env, arb = make(FCFS())
    arb.read(MB, "gemm")
    arb.read(MB, "rs")
    half = MB / BW  # by then half of the 2 x MB bytes are served
    env.run(until=half)
    g, r = arb.stats["gemm"].bytes, arb.stats["rs"].bytes
    assert g + r <= BW * half * (1 + 1e-9)
    assert g / (g + r) == pytest.approx(0.5, abs=16 * BURST / MB)  # within one window
    env.run()
    assert env.now == pytest.approx(2 * MB / BW)


def test_strict_priority_starves_comm_while_compute_saturates():
    env, arb = make(ComputeFirst())
    gemm_done = arb.read(MB, "gemm")
    rs_done = arb.write(MB, "rs")
    env.run(gemm_done)
    assert env.now == pytest.approx(MB / BW)
    assert arb.stats.get("rs") is None or arb.stats["rs"].bytes == 0
    env.run(rs_done)
    assert env.now == pytest.approx(2 * MB / BW)
    assert arb.stats["rs"].write_bytes == MB
    assert arb.stats["rs"].max_queue_delay_s >= MB / BW


def test_threshold_policy_starvation_bound_gives_comm_a_minimum_rate():
    limit = 2e-6
    pol = OccupancyThreshold(
        OccupancyThreshold.Params(threshold_bursts=8, starvation_limit_s=limit)
    )
    env, arb = make(pol)  # window 16 >= threshold 8: compute queue always too full
    arb.read(MB, "gemm")
    arb.read(MB, "rs")
    t = 0.9 * MB / BW  # before the compute queue drains at the end of its transfer
    env.run(until=t)
    rs_rate = arb.stats["rs"].bytes / t
    burst_s = BURST / BW
    assert rs_rate >= BURST / (limit + burst_s)  # the guarantee
    assert rs_rate <= BURST / limit  # and it is no more than the forced trickle
    assert pol.forced == arb.stats["rs"].bursts
    assert (arb.stats["gemm"].bytes + arb.stats["rs"].bytes) / t <= BW * (1 + 1e-9)


def test_threshold_above_occupancy_behaves_like_fcfs():
    pol = OccupancyThreshold(OccupancyThreshold.Params(threshold_bursts=17, starvation_limit_s=1))
    env, arb = make(pol)
    arb.read(MB, "gemm")
    arb.read(MB, "rs")
    env.run(until=MB / BW)
    g, r = arb.stats["gemm"].bytes, arb.stats["rs"].bytes
    assert g / (g + r) == pytest.approx(0.5, abs=16 * BURST / MB)
    assert pol.forced == 0


def test_comm_flows_when_compute_is_idle_and_cost_scales_service():
    env, arb = make(OccupancyThreshold())
    done = arb.transfer(4 * BURST, "nmc", write=True, cost=1.5)
    env.run(done)
    assert env.now == pytest.approx(1.5 * 4 * BURST / BW)
    assert arb.busy_s == pytest.approx(env.now)
    assert arb.served_bytes() == 4 * BURST


def test_zero_bytes_and_registry():
    env, arb = make()
    assert arb.read(0, "gemm").triggered
    assert (OccupancyThreshold.domain, OccupancyThreshold.name) == ("hw.arbiter", "threshold")
    assert (FCFS.name, ComputeFirst.name) == ("fcfs", "priority")


def test_timeline_bins_add_up_to_served_bytes():
    env, arb = make(bin_s=10e-6)
    arb.read(MB, "gemm")
    arb.write(MB // 2, "rs")
    env.run()
    rows = arb.timeline()
    assert sum(r[3] for r in rows) == pytest.approx(arb.served_bytes())
    assert {(r[1], r[2]) for r in rows} == {("gemm", "read"), ("rs", "write")}
    assert all(r[3] <= 10e-6 * BW + BURST for r in rows)  # no bin above the bandwidth
    assert make()[1].timeline() == []


@pytest.mark.parametrize("limit", [0.5e-6, 2e-6, 5e-6])
def test_mca_never_holds_comm_beyond_its_starvation_bound(limit):
    pol = OccupancyThreshold(
        OccupancyThreshold.Params(threshold_bursts=4, starvation_limit_s=limit)
    )
    env, arb = make(pol)
    for _ in range(3):  # saturating compute streams keep the compute queue above 4
        arb.read(MB, "gemm")
    for i in range(20):  # comm requests arriving over time
        env.timeout(i * 3e-6).callbacks.append(lambda _e: arb.write(4 * BURST, "rs"))
    env.run()
    assert pol.forced > 0
    assert arb.max_comm_wait_s <= limit + BURST / BW + 1e-15
    # FCFS-free strict priority has no such bound
    env2, arb2 = make(ComputeFirst())
    arb2.read(MB, "gemm")
    arb2.write(BURST, "rs")
    env2.run()
    assert arb2.max_comm_wait_s > 10 * limit
