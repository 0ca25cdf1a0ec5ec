"""Links, NICs and DMA engines against closed forms."""

import pytest
import simpy
from sim_models.hw.catalog import link, nic
from sim_models.hw.catalog.links import NVLINK_GENS
from sim_models.hw.links import (
    DMAEngine,
    LinkSpec,
    copies_time_s,
    effective_bandwidth_Bps,
    pcie_bandwidth_Bps,
    pcie_tlp_efficiency,
)

KiB, MiB = 2**10, 2**20


def test_pcie_rates_per_direction():
    assert pcie_bandwidth_Bps(4, 16) == pytest.approx(16e9 * 128 / 130 * 16 / 8)
    assert pcie_bandwidth_Bps(4, 16) == pytest.approx(31.5077e9, rel=1e-5)
    assert pcie_bandwidth_Bps(3, 16) == pytest.approx(15.7538e9, rel=1e-5)
    assert pcie_bandwidth_Bps(5, 16) == pytest.approx(63.0154e9, rel=1e-5)
    assert pcie_bandwidth_Bps(6, 16) == pytest.approx(128e9 * 242 / 256)
    assert pcie_bandwidth_Bps(4, 8) == pytest.approx(pcie_bandwidth_Bps(4, 16) / 2)
    assert pcie_tlp_efficiency(256) == pytest.approx(256 / 280)
    with pytest.raises(ValueError):
        pcie_bandwidth_Bps(7)
    assert link("pcie4_x16").with_efficiency(0.9).effective_Bps == pytest.approx(
        0.9 * 31.5077e9, rel=1e-5
    )


def test_nvlink_nic_and_ring():
    assert NVLINK_GENS[3].gpu_bidirectional_Bps == 600e9
    assert NVLINK_GENS[4].gpu_bidirectional_Bps == 900e9
    assert link("nvlink4-h800").bidirectional_Bps == 400e9
    ring = link("t3_ring")
    assert ring.transfer_time_s(75e3) == pytest.approx(500e-9 + 1e-6)
    bond = nic("2x200g-bonded")
    assert bond.bandwidth_Bps == nic("400g").bandwidth_Bps == 50e9
    assert bond.per_flow_max_Bps == 25e9
    assert nic("200g").bonded(2).bandwidth_Bps == 50e9


def test_effective_bandwidth_formula():
    bw, o = 31.5e9, 2.3e-6
    assert effective_bandwidth_Bps(32 * KiB, bw, o) == pytest.approx(
        32768 / (2.3e-6 + 32768 / 31.5e9)
    )
    assert effective_bandwidth_Bps(32 * KiB, bw, o) == pytest.approx(9.81e9, rel=1e-3)
    assert effective_bandwidth_Bps(1 << 30, bw, o) > 0.999 * bw


def run_copies(sizes, link_spec, overhead_s, engines=1):
    env = simpy.Environment()
    dma = DMAEngine(env, link_spec, call_overhead_s=overhead_s, engines=engines)
    env.run(dma.copy_many(sizes))
    return env.now, dma


def test_many_small_copies_use_the_link_poorly():
    pcie = link("pcie4_x16")
    o = 2.3e-6
    n = 8000  # 250 MiB of KV cache in 32 KiB copies (derived from the model configs: FastSwitch (Shen et al., arXiv 2411.18424) setups)
    t_small, dma = run_copies([32 * KiB] * n, pcie, o)
    t_large, _ = run_copies([n * 32 * KiB], pcie, o)
    assert t_small == pytest.approx(n * (o + 32 * KiB / pcie.bandwidth_Bps))
    assert t_small == pytest.approx(copies_time_s(n, 32 * KiB, pcie.bandwidth_Bps, o))
    assert t_large == pytest.approx(o + 250 * MiB / pcie.bandwidth_Bps)
    assert t_small / t_large == pytest.approx(3.21, rel=0.01)
    assert dma.stats.copies == n and dma.stats.bytes == 250 * MiB


def test_several_engines_hide_the_overhead():
    spec = LinkSpec("l", 1e9, 0.0, source="test")
    size = 1000  # 1 us of data, equal to the overhead
    t, dma = run_copies([size] * 50, spec, 1e-6, engines=2)
    assert t == pytest.approx(1e-6 + 50 * 1e-6)
    assert t == pytest.approx(copies_time_s(50, size, 1e9, 1e-6, engines=2))
    assert dma.stats.link_busy_s == pytest.approx(50e-6)


def test_shared_channel_serialises_and_duplex_does_not():
    spec = LinkSpec("l", 1e9, 0.0, source="test")
    env = simpy.Environment()
    h2d = DMAEngine(env, spec, call_overhead_s=0.0)
    d2h = DMAEngine(env, spec, call_overhead_s=0.0)  # other direction: own channel
    env.run(env.all_of([h2d.copy(1e6), d2h.copy(1e6)]))
    assert env.now == pytest.approx(1e-3)
    env = simpy.Environment()
    a = DMAEngine(env, spec, call_overhead_s=0.0)
    b = DMAEngine(env, spec, call_overhead_s=0.0, channel=a.channel)
    env.run(env.all_of([a.copy(1e6), b.copy(1e6)]))
    assert env.now == pytest.approx(2e-3)
