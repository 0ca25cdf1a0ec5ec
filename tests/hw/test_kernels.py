"""Kernel cost model (models/hw/kernels.py) against hand-computed roofline values."""


import numpy as np
import pytest
from sim_models.hw.catalog import GPUS, KERNEL_EFFICIENCY, gpu, kernel_efficiency
from sim_models.hw.kernels import (
    KernelEfficiency,
    gemm_kernel,
    gemm_time_s,
    roofline_kernel_s,
    stream_kernel_s,
    tile_rate_fraction,
)

from sim.errors import UnknownNameError

A100 = gpu("a100-80gb")
EFF = KernelEfficiency(0.8, 0.75, 4e-6, 0.5, "test")


def test_one_token_gemm_streams_the_weights():
    # m = 1: every kernel is memory-bound; time = floor + (A + B + C bytes) / (0.8 x 2039 GB/s)
    n, k = 28672, 4096
    choice = gemm_kernel(1, n, k, A100, EFF)
    expected = 4e-6 + (k + n * k + n) * 2 / (0.8 * 2039e9)
    assert choice.bound == "memory"
    assert choice.time_s == pytest.approx(expected, rel=1e-12)


def test_large_gemm_runs_at_the_achievable_rate_with_wave_quantisation():
    # 8192^3: 4096 tiles of 128x128 = 37.9 -> 38 waves (128x256 tiles tie: 19 waves of twice
    # the work); each wave is one tile's FLOPs at the SM's achievable rate
    m = n = k = 8192
    choice = gemm_kernel(m, n, k, A100, EFF)
    per_sm = 312e12 * 0.75 / 108
    wave = 2 * 128 * 128 * k / per_sm
    assert choice.tile_m * choice.tile_n * choice.waves == 128 * 128 * 38
    assert choice.time_s == pytest.approx(4e-6 + 38 * wave, rel=1e-12)
    # achieved FLOP/s below the stated 75% of peak only by the partial last wave
    achieved = 2 * m * n * k / choice.time_s / 312e12
    assert 0.73 < achieved < 0.75


def test_small_tiles_are_slower_per_flop():
    assert tile_rate_fraction(128, 128) == 1.0
    assert tile_rate_fraction(128, 256) == 1.0
    assert tile_rate_fraction(64, 64) == pytest.approx(0.5)
    assert tile_rate_fraction(64, 128) == pytest.approx(2 / 3)


def test_split_k_fills_the_sms_for_a_skinny_deep_gemm():
    # m = 256, n = 512, k = 16384: 8 tiles of 128x128 leave 100 of 108 SMs idle; 8 splits
    # of K run 64 tiles in one wave at 1/8 of the work each, plus fp32 partial sums
    per_sm = 312e12 * 0.75 / 108
    choice = gemm_kernel(256, 512, 16384, A100, EFF, menu=((128, 128),))
    assert choice.split_k == 8 and choice.waves == 1
    assert choice.compute_s == pytest.approx(2 * 128 * 128 * 2048 / per_sm)
    unsplit = 2 * 128 * 128 * 16384 / per_sm
    assert choice.time_s < unsplit / 4


def test_vectorised_form_equals_the_scalar_one():
    ms = np.array([1, 7, 64, 65, 200, 1000, 4096, 9000])
    vec = gemm_time_s(ms, 6144, 4096, A100, EFF)
    scalar = [gemm_kernel(int(m), 6144, 4096, A100, EFF).time_s for m in ms]
    assert vec == pytest.approx(scalar, rel=1e-12)
    assert gemm_time_s(7, 6144, 4096, A100, EFF) == pytest.approx(scalar[1], rel=1e-12)


def test_time_never_decreases_much_with_tokens_and_bounds_hold():
    ms = np.arange(1, 5000)
    t = gemm_time_s(ms, 4096, 14336, A100, EFF)
    lower = np.maximum(2 * ms * 4096 * 14336 / (312e12 * 0.75), 4096 * 14336 * 2 / (0.8 * 2039e9))
    assert (t >= lower).all()  # never faster than the roofline at the achievable rates
    assert t[-1] > t[0]


def test_stream_and_roofline_kernels():
    assert stream_kernel_s(1.6e9, A100, EFF) == pytest.approx(4e-6 + 1.6e9 / (0.8 * 2039e9))
    f = 1e12
    assert roofline_kernel_s(f, 1e6, A100, EFF) == pytest.approx(4e-6 + f / (0.75 * 312e12))
    assert roofline_kernel_s(f, 1e6, A100, EFF, flops_per_s=1e14) == pytest.approx(4e-6 + 0.01)


def test_bad_inputs():
    with pytest.raises(ValueError):
        gemm_kernel(0, 1, 1, A100, EFF)
    with pytest.raises(ValueError):
        gemm_time_s(np.array([0, 1]), 4, 4, A100, EFF)
    with pytest.raises(ValueError, match="bandwidth_fraction"):
        KernelEfficiency(1.5, 0.7, 4e-6)
    with pytest.raises(ValueError, match="kernel_floor_s"):
        KernelEfficiency(0.7, 0.7, 1.0)


def test_efficiency_catalog():
    for name, eff in KERNEL_EFFICIENCY.items():
        assert name in GPUS
        assert len(eff.source) > 10
    # no A10 profile exists: the A10 takes the A40's fractions (same GA102 chip)
    a10, a40 = kernel_efficiency("A10"), kernel_efficiency("a40")
    assert (a10.bandwidth_fraction, a10.flops_fraction) == (a40.bandwidth_fraction,
                                                            a40.flops_fraction)  # fmt: skip
    assert gpu("a40").flops_per_cycle_per_cu("fp16") == pytest.approx(1024, rel=1e-3)
    with pytest.raises(UnknownNameError):
        kernel_efficiency("mi210")
