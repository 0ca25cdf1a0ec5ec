"""Ring reduce-scatter / all-gather with DRAM traffic against their closed forms."""

import pytest
import simpy
from sim_models.hw.catalog import link
from sim_models.hw.memory import ComputeEnhancedMemory, MemoryDevice, MemorySpec
from sim_models.hw.ring_memory import (
    SerialLink,
    ring_ag_dram_bytes,
    ring_ag_time_s,
    ring_all_gather,
    ring_reduce_scatter,
    ring_rs_dram_bytes,
    ring_rs_time_s,
)
from sim_models.hw.specs import LinkSpec

RING = link("t3_ring")  # 75 GB/s per direction, 500 ns
S = 12 * 2**20  # a 12 MiB sub-layer output


def hbm(env, latency=0.0, nmc=True):
    spec = MemorySpec("hbm", "hbm", 2**36, 1e12, latency, "test")
    cls = ComputeEnhancedMemory if nmc else MemoryDevice
    return cls(env, spec)


def test_serial_link_is_fifo_with_overlapped_flight():
    env = simpy.Environment()
    ln = SerialLink(env, LinkSpec("l", 1e9, 1e-6))
    a, b = ln.send(1000), ln.send(3000)
    env.run()
    assert a.value == pytest.approx(1e-6 + 1e-6)  # 1 us on the wire + 1 us flight
    assert b.value == pytest.approx(4e-6 + 1e-6)  # waits for a's serialisation only
    assert (ln.bytes, ln.messages, ln.busy_s) == (4000, 2, pytest.approx(4e-6))
    with pytest.raises(ValueError):
        ln.send(-1)


@pytest.mark.parametrize("p", [2, 4, 8, 16])
@pytest.mark.parametrize("latency", [0.0, 500e-9])
@pytest.mark.parametrize("nmc", [False, True])
def test_sequential_rs_time_is_ring_closed_form_plus_dram_time(p, latency, nmc):
    env = simpy.Environment()
    mem = hbm(env, latency)
    proc = ring_reduce_scatter(env, mem, SerialLink(env, RING), p, S, nmc=nmc)
    env.run()
    res = proc.value
    assert res.steps == p - 1
    expect = ring_rs_time_s(p, S, RING, 1e12, nmc=nmc, mem_latency_s=latency)
    assert res.time_s == pytest.approx(expect, rel=1e-9)
    if not nmc and latency == 0:
        c = S / p
        ring = (p - 1) * (RING.latency_s + c / RING.bandwidth_Bps)
        reads, writes = ring_rs_dram_bytes(p, S)
        assert res.time_s == pytest.approx(ring + (reads + writes) / 1e12, rel=1e-9)
    reads, writes = ring_rs_dram_bytes(p, S, nmc=nmc)
    assert mem.read_bytes("rs") == pytest.approx(reads)
    assert mem.write_bytes("rs") == pytest.approx(writes)


def test_nmc_removes_the_reduction_reads():
    p, c = 8, S / 8
    out = {}
    for nmc in (False, True):
        env = simpy.Environment()
        mem = hbm(env)
        ring_reduce_scatter(env, mem, SerialLink(env, RING), p, S, nmc=nmc)
        env.run()
        out[nmc] = (mem.read_bytes("rs"), mem.write_bytes("rs"), mem.counters()["nmc"], env.now)
    # baseline: local read + 2 reads per reduction; NMC: one read per send only
    assert out[False][0] == pytest.approx((2 * p - 1) * c)
    assert out[True][0] == pytest.approx((p - 1) * c)
    assert out[False][0] - out[True][0] == pytest.approx(p * c)  # the reduction's reads
    assert out[True][2]["read_bytes"] == pytest.approx((p - 1) * c)  # done inside DRAM
    assert out[True][3] < out[False][3]


def test_p1_moves_nothing():
    env = simpy.Environment()
    mem = hbm(env)
    ln = SerialLink(env, RING)
    rs = ring_reduce_scatter(env, mem, ln, 1, S)
    ag = ring_all_gather(env, mem, ln, 1, S)
    env.run()
    assert rs.value.time_s == ag.value.time_s == 0
    assert mem.read_bytes() == mem.write_bytes() == ln.bytes == 0
    assert ring_rs_dram_bytes(1, S) == ring_ag_dram_bytes(1, S) == (0.0, 0.0)


@pytest.mark.parametrize("p", [2, 8])
def test_all_gather_closed_form(p):
    env = simpy.Environment()
    mem = hbm(env, 500e-9, nmc=False)
    proc = ring_all_gather(env, mem, SerialLink(env, RING), p, S)
    env.run()
    assert proc.value.time_s == pytest.approx(ring_ag_time_s(p, S, RING, 1e12, mem_latency_s=500e-9))
    assert (mem.read_bytes("ag"), mem.write_bytes("ag")) == pytest.approx(ring_ag_dram_bytes(p, S))


def test_cu_limited_kernel_and_add_cost():
    p = 8
    for cu_Bps, add_flops in ((200e9, None), (None, 1e9)):
        env = simpy.Environment()
        mem = hbm(env, nmc=False)
        proc = ring_reduce_scatter(env, mem, SerialLink(env, RING), p, S,
                                   cu_Bps=cu_Bps, add_flops=add_flops)  # fmt: skip
        env.run()
        expect = ring_rs_time_s(p, S, RING, 1e12, cu_Bps=cu_Bps, add_flops=add_flops)
        assert proc.value.time_s == pytest.approx(expect, rel=1e-9)
        assert expect > ring_rs_time_s(p, S, RING, 1e12)


def test_ready_gates_each_step():
    """A reduce-scatter beside its producer waits for each local chunk."""
    env = simpy.Environment()
    mem = hbm(env)
    p = 4
    gates = {s: env.timeout(100e-6 * s) for s in range(1, p + 1)}
    proc = ring_reduce_scatter(env, mem, SerialLink(env, RING), p, S, nmc=True,
                               ready=lambda s: gates[s])  # fmt: skip
    env.run()
    assert proc.value.end_s >= 100e-6 * p
    with pytest.raises(TypeError):
        ring_reduce_scatter(env, MemoryDevice(env, mem.spec), SerialLink(env, RING), p, S, nmc=True)


@pytest.mark.parametrize("nmc", [False, True])
def test_slices_pipeline_memory_behind_the_link(nmc):
    from sim_models.hw.ring_memory import slices_for

    p = 8
    c = S / p
    times = {}
    for m in (1, 2, 8):
        env = simpy.Environment()
        mem = hbm(env)
        ln = SerialLink(env, RING)
        proc = ring_reduce_scatter(env, mem, ln, p, S, nmc=nmc, slices=m)
        env.run()
        times[m] = proc.value.time_s
        assert proc.value.steps == p - 1
        # slicing moves the same bytes
        assert mem.read_bytes("rs") == pytest.approx(ring_rs_dram_bytes(p, S, nmc=nmc)[0])
        assert ln.bytes == pytest.approx((p - 1) * c)
    link_bound = (p - 1) * c / RING.bandwidth_Bps
    assert times[1] > times[2] > times[8] > link_bound
    assert times[8] < link_bound * 1.1  # nearly all memory time hidden
    assert slices_for(3 * 2**20, 2**20) == 3 and slices_for(2**20, 2**20) == 1
    assert slices_for(10, 2**20) == 1
