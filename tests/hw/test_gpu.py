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
