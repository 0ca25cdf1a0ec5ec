"""GPU spec and the SimPy GPU component (CU pool, GEMM waves, callbacks)."""

import pytest
import simpy
from sim_models.hw.arbiter import HBMArbiter
from sim_models.hw.catalog import gpu
from sim_models.hw.gemm import GemmShape, plan_gemm
from sim_models.hw.gpu import GPU

T3 = gpu("t3_sim")


def test_spec_peaks_and_scaling():
    assert T3.peak("fp16") == pytest.approx(80 * 1.4e9 * 1024)  # 114.7 TFLOP/s
    assert T3.flops_per_cycle_per_cu("fp16") == pytest.approx(1024)
    big = T3.with_compute_units(160)
    assert big.peak("fp16") == pytest.approx(2 * T3.peak("fp16"))
    assert big.hbm_bandwidth_Bps == T3.hbm_bandwidth_Bps


def test_gemm_process_time_and_callbacks():
    env = simpy.Environment()
    g = GPU(env, T3)
    shape = GemmShape(2048, 4096, 512)
    waves, tiles = [], []
    proc = g.gemm(
        shape,
        on_wave=lambda w, t: waves.append((w.index, t)),
        on_tile=lambda tile, t: tiles.append(tile),
    )
    env.run()
    res = proc.value
    plan = plan_gemm(shape, T3)
    assert res.time_s == pytest.approx(plan.time_s)
    assert [i for i, _ in waves] == list(range(plan.n_waves)) == list(range(res.n_waves))
    times = [t for _, t in waves]
    assert times == sorted(times) and times[-1] == pytest.approx(res.end_s)
    assert sum((t.row1 - t.row0) * (t.col1 - t.col0) for t in tiles) == 2048 * 4096
    assert g.free_cus == 80


def test_cu_partition_gemm_runs_on_remaining_cus():
    env = simpy.Environment()
    g = GPU(env, T3)
    shape = GemmShape(2048, 2560, 8192)  # 320 tiles
    comm = g.kernel(1.0, cus=16)  # a communication kernel holding 16 CUs
    env.run(until=1e-9)
    proc = g.gemm(shape)
    env.run(until=proc)
    assert proc.value.plan.cus == 64
    assert proc.value.n_waves == 5  # ceil(320 / 64), not ceil(320 / 80) = 4
    t64 = plan_gemm(shape, T3, cus=64).time_s
    assert proc.value.time_s == pytest.approx(t64)
    env.run(until=comm)
    assert g.free_cus == 80


def test_gemm_waits_for_cus_held_by_a_kernel():
    env = simpy.Environment()
    g = GPU(env, T3)
    g.kernel(5e-6, cus=80)
    env.run(until=1e-9)
    proc = g.gemm(GemmShape(128, 128, 128), cus=80)
    env.run()
    assert proc.value.start_s == pytest.approx(5e-6)


def test_gemm_through_idle_arbiter_matches_roofline():
    env = simpy.Environment()
    hbm = HBMArbiter(env, T3.hbm_bandwidth_Bps)
    g = GPU(env, T3, hbm=hbm)
    shape = GemmShape(2048, 4096, 512)
    proc = g.gemm(shape)
    env.run(until=proc)
    plan = plan_gemm(shape, T3)
    assert proc.value.time_s == pytest.approx(plan.time_s, rel=1e-9)
    assert hbm.stats["gemm"].read_bytes == plan.read_bytes
    assert hbm.stats["gemm"].write_bytes == plan.write_bytes


def test_tile_mode_pipelines_reads_and_stores_each_tile():
    """k_steps reads, one ahead of compute; per-tile stores complete one by one."""
    env = simpy.Environment()
    hbm = HBMArbiter(env, T3.hbm_bandwidth_Bps)
    g = GPU(env, T3, hbm=hbm)
    shape = GemmShape(1024, 1024, 4096)  # 64 tiles, one wave, compute-bound
    plan = plan_gemm(shape, T3)
    done = []
    proc = g.gemm(shape, k_steps=4, on_tile=lambda tile, t: done.append((tile.index, t)))
    env.run(until=proc)
    w = plan.waves[0]
    step_read = w.read_bytes / 4 / 1e12
    store = 128 * 128 * 2 / 1e12
    # first read not hidden; later reads hide under compute; then 64 stores in turn
    assert proc.value.time_s == pytest.approx(step_read + w.compute_s + 64 * store, rel=1e-9)
    assert sorted(i for i, _ in done) == list(range(64))  # every tile once
    times = [t for _, t in done]
    assert len(set(times)) == 64 and times[0] < times[-1]
    assert hbm.stats["gemm"].read_bytes == pytest.approx(plan.read_bytes)
    assert hbm.stats["gemm"].write_bytes == plan.write_bytes


def test_tile_mode_store_backpressure():
    """Stores to a slow sink hold the GEMM: one wave of stores in flight."""
    env = simpy.Environment()
    g = GPU(env, T3)  # no hbm: roofline waves
    shape = GemmShape(2048, 1280, 128)  # 160 tiles: 2 waves of 80
    per_store = 1e-6  # a sink that takes one tile per microsecond

    sink_free = [0.0]

    def store(tile, nbytes):
        sink_free[0] = max(sink_free[0], env.now) + per_store
        return env.timeout(sink_free[0] - env.now)

    proc = g.gemm(shape, store=store)
    env.run(until=proc)
    plan = plan_gemm(shape, T3)
    assert plan.n_waves == 2
    t_wave = plan.waves[0].time_s(plan.bandwidth_Bps)
    # wave 1 computes while wave 0's 80 stores drain (80 us >> t_wave); its stores follow
    assert proc.value.time_s == pytest.approx(t_wave + 160 * per_store)
    assert len(proc.value.wave_end_s) == 2


def test_tile_mode_wave_stores_complete_tiles_together():
    env = simpy.Environment()
    hbm = HBMArbiter(env, T3.hbm_bandwidth_Bps)
    g = GPU(env, T3, hbm=hbm)
    shape = GemmShape(1024, 1024, 4096)
    done = []
    proc = g.gemm(shape, k_steps=4, tile_stores=False, on_tile=lambda t, now: done.append(now))
    env.run(until=proc)
    assert len(done) == 64 and len(set(done)) == 1  # one write, all tiles at once
    assert hbm.stats["gemm"].write_bytes == 1024 * 1024 * 2
    assert done[0] == pytest.approx(proc.value.end_s)


@pytest.mark.parametrize("prefetch", [1, 2, 4])
def test_k_loop_prefetch_depth_against_memory_latency(prefetch):
    """One wave, K loop of n steps, memory latency L per read (idle memory, transfer r):
    with d reads in flight step j + d's read is issued when step j starts, so a step
    period is max(s, (L + r) / d) (a read covers d steps of compute) once the loop runs."""
    env = simpy.Environment()
    lat = 12e-6
    hbm = HBMArbiter(env, T3.hbm_bandwidth_Bps, latency_s=lat)
    g = GPU(env, T3, hbm=hbm)
    shape = GemmShape(1024, 1024, 4096)  # 64 tiles, one wave
    plan = plan_gemm(shape, T3)
    n = 16
    proc = g.run_plan(plan, k_steps=n, prefetch=prefetch, tile_stores=False)
    env.run(proc)
    w = plan.waves[0]
    s, r = w.compute_s / n, w.read_bytes / n / T3.hbm_bandwidth_Bps
    assert lat + r > s  # latency-bound with one read in flight
    store = w.write_bytes / T3.hbm_bandwidth_Bps + lat  # the stores, also one latency
    if prefetch == 1:
        expect = (lat + r) + (n - 1) * (lat + r) + s + store
        assert proc.value.time_s == pytest.approx(expect, rel=1e-6)
    else:  # more reads in flight: faster, but never faster than compute
        one = (lat + r) * n + s + store
        assert w.compute_s < proc.value.time_s < one
        period = max(s, (lat + r) / prefetch)
        assert proc.value.time_s == pytest.approx(lat + r + (n - 1) * period + s + store, rel=0.05)


def test_gemm_through_banked_dram_reads_its_panels_by_address():
    from sim_models.hw.dram import BankedHBM, hbm2

    env = simpy.Environment()
    hbm = BankedHBM(env, hbm2(T3.hbm_bandwidth_Bps))
    g = GPU(env, T3, hbm=hbm)
    shape = GemmShape(2048, 4096, 512)
    proc = g.gemm(shape, k_steps=16)
    env.run(proc)
    plan = plan_gemm(shape, T3)
    assert hbm.stats["gemm"].read_bytes == pytest.approx(plan.read_bytes)
    assert hbm.stats["gemm"].write_bytes == pytest.approx(plan.write_bytes)
    assert {"gemm.A", "gemm.B"} <= set(hbm._regions)  # panels read at their addresses
    assert hbm.row_hit_rate() > 0.9  # a step's slices of adjacent panels are one range
    assert proc.value.time_s >= plan.time_s
