"""Memory devices and near-memory op-and-store: counters by origin and times."""

import pytest
import simpy
from sim_models.hw.catalog import gpu
from sim_models.hw.links import pcie_bandwidth_Bps
from sim_models.hw.memory import (
    CXL_PCIE5_X16,
    HOST_DDR4_3200_8CH,
    ComputeEnhancedMemory,
    MemoryDevice,
    MemorySpec,
    hbm_spec,
)

N = 4 * 2**20  # 4 MiB chunk
HBM = MemorySpec("hbm-test", "hbm", 2**34, 1e12, 0.0, "test")


def test_specs():
    assert HOST_DDR4_3200_8CH.bandwidth_Bps == pytest.approx(204.8e9)
    assert CXL_PCIE5_X16.bandwidth_Bps == pcie_bandwidth_Bps(5, 16)
    assert CXL_PCIE5_X16.latency_s > HOST_DDR4_3200_8CH.latency_s
    h = hbm_spec(gpu("t3_sim"))
    assert (h.bandwidth_Bps, h.kind) == (1e12, "hbm")


def test_read_time_includes_latency():
    env = simpy.Environment()
    dram = MemoryDevice(env, HOST_DDR4_3200_8CH)
    env.run(dram.read(N, "dma"))
    assert env.now == pytest.approx(100e-9 + N / 204.8e9)
    assert env.now == pytest.approx(HOST_DDR4_3200_8CH.access_time_s(N))
    assert dram.read_bytes("dma") == N and dram.write_bytes() == 0


def test_baseline_reduction_costs_three_transfers():
    env = simpy.Environment()
    mem = MemoryDevice(env, HBM)
    env.run(mem.reduce_baseline(N, "rs"))
    assert env.now == pytest.approx(3 * N / 1e12)
    assert mem.counters() == {"rs": {"read_bytes": 2 * N, "write_bytes": N}}


def test_nmc_update_is_one_channel_write_plus_in_memory_rmw():
    env = simpy.Environment()
    mem = ComputeEnhancedMemory(env, HBM, nmc_extra_occupancy=0.5)
    env.run(mem.update(N, "rs"))
    assert env.now == pytest.approx(1.5 * N / 1e12)
    c = mem.counters()
    assert c["rs"] == {"read_bytes": 0, "write_bytes": N}  # no GPU read
    assert c["nmc"] == {"read_bytes": N, "write_bytes": N}  # in-DRAM read-add-write
    assert mem.updates == 1
    # channel traffic: NMC moves 1/3 of the baseline's bytes
    assert mem.read_bytes() + mem.write_bytes() == N


def test_counts_by_origin_under_mixed_traffic():
    env = simpy.Environment()
    mem = ComputeEnhancedMemory(env, HBM)
    mem.read(N, "gemm")
    mem.write(N // 2, "gemm")
    mem.update(N, "dma")
    env.run()
    c = mem.counters()
    assert c["gemm"] == {"read_bytes": N, "write_bytes": N // 2}
    assert c["dma"]["write_bytes"] == N and c["nmc"]["read_bytes"] == N
    assert env.now == pytest.approx((N + N / 2 + 1.5 * N) / 1e12)


def test_capacity():
    env = simpy.Environment()
    mem = MemoryDevice(env, MemorySpec("small", "dram", 1000, 1e9, 0.0, "test"))
    mem.allocate(600)
    with pytest.raises(MemoryError):
        mem.allocate(500)
    mem.free(600)
    mem.allocate(1000)
    assert mem.used_bytes == 1000
