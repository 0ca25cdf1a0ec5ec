"""Kernel-level cost model of a GPU: what one kernel launch takes, with the kernel chosen by
shape and the achievable (not spec-sheet) bandwidth and FLOP/s as stated parameters.

What it models
    * :class:`KernelEfficiency`: what a GPU's kernels achieve of its spec sheet. Three
      stated numbers per GPU (catalog: :mod:`sim_models.hw.catalog.efficiency`): the share
      of the DRAM bandwidth a streaming kernel reaches, the share of the dense tensor peak a
      large GEMM reaches, and the floor of one kernel (launch, fill and drain), plus the
      share of the peak a fused attention kernel reaches.
    * :func:`gemm_kernel`: ``C[m x n] = A[m x k] @ B[k x n]`` run by the fastest kernel of a
      menu, as a vendor BLAS heuristic would pick it. A kernel is a tensor-core tile shape
      ``tile_m x tile_n`` and a split-K factor. Its time is ``floor + max(compute, memory)``:

      - compute: the output tiles (edge tiles padded) times the split-K factor run in waves
        of one tile per SM; a wave takes one tile's FLOPs at the SM's achievable rate, which
        is lower for small tiles (operand reuse inside the SM grows with
        ``tile_m tile_n / (tile_m + tile_n)``; below the reference tile the rate drops in
        proportion);
      - memory: the compulsory DRAM bytes (A, B and C once: the L2 keeps a row panel of A
        while the kernel sweeps B, which holds for the row-panel sizes met in LLM serving)
        at the achievable bandwidth, plus the split-K partial sums (fp32, written and read
        once per split).

      For one token the menu's best is a skinny kernel bound by reading the weights; for
      thousands of tokens it is a 128x256-class tile at the achievable FLOP/s; in between
      the choice follows the wave quantisation, as measured profiles do.
    * :func:`stream_kernel_s`: a memory-bound kernel (elementwise, norms, a KV-cache read)
      of a given number of bytes; :func:`roofline_kernel_s`: a kernel with given FLOPs and
      bytes (attention).

What it leaves out
    Clock throttling, L2 misses of very tall GEMMs, stream-K, kernel fusion, launch
    overlap by CUDA graphs, and anything below a kernel (warps, shared-memory banks). The
    tiled simulation of one GEMM wave by wave (with L2 panels) is :mod:`sim_models.hw.gemm`;
    this module is the fast closed form an iteration-level model calls thousands of times.

Assumptions
    * The tile menu :data:`TILE_MENU` is the set of CUTLASS's sm80 fp16 tensor-core
      threadblock shapes (64x64 up to 256x128) [A]; split-K factors 1-8 with at least 256
      of K per split [A].
    * Reference tile 128x128: a smaller tile reaches ``reuse / 64`` of the SM's achievable
      rate, where ``reuse = tile_m tile_n / (tile_m + tile_n)`` (64 for 128x128) [A].
    * Efficiency numbers are fitted once per GPU on measured profiles and validated on
      others (see the catalog's sources); they are parameters, never per-shape corrections.

Units: seconds, bytes, FLOP, bytes/s, FLOP/s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from sim_models.hw.specs import DTYPE_BYTES, GPUSpec

#: CUTLASS sm80 fp16 tensor-core threadblock tiles (tile_m, tile_n) [A].
TILE_MENU: tuple[tuple[int, int], ...] = (
    (64, 64), (64, 128), (128, 64), (128, 128), (128, 256), (256, 128),
)  # fmt: skip
#: Split-K factors tried (each split keeps at least MIN_K_PER_SPLIT of K) [A].
SPLIT_K: tuple[int, ...] = (1, 2, 3, 4, 6, 8)
MIN_K_PER_SPLIT = 256
#: Operand reuse ``tm tn / (tm + tn)`` of the reference 128x128 tile.
REFERENCE_REUSE = 128 * 128 / (128 + 128)


@dataclass(frozen=True)
class KernelEfficiency:
    """What a GPU's kernels achieve, as shares of its spec sheet (stated parameters)."""

    bandwidth_fraction: float  # of GPUSpec.hbm_bandwidth_Bps, for streaming kernels
    flops_fraction: float  # of the dense tensor peak, for large GEMMs
    kernel_floor_s: float  # minimum time of one kernel (launch, fill, drain)
    attention_flops_fraction: float = 0.5  # of the dense peak, fused attention kernels
    source: str = ""

    def __post_init__(self):
        for name in ("bandwidth_fraction", "flops_fraction", "attention_flops_fraction"):
            v = getattr(self, name)
            if not 0 < v <= 1:
                raise ValueError(f"{name} must be in (0, 1], got {v}")
        if not 0 <= self.kernel_floor_s < 1e-3:
            raise ValueError(f"kernel_floor_s must be in [0, 1 ms), got {self.kernel_floor_s}")

    def bandwidth_Bps(self, spec: GPUSpec) -> float:
        return spec.hbm_bandwidth_Bps * self.bandwidth_fraction

    def gemm_flops(self, spec: GPUSpec, dtype: str = "fp16") -> float:
        return spec.peak(dtype) * self.flops_fraction

    def attention_flops(self, spec: GPUSpec, dtype: str = "fp16") -> float:
        return spec.peak(dtype) * self.attention_flops_fraction


@dataclass(frozen=True)
class KernelChoice:
    """The kernel :func:`gemm_kernel` picked and its time."""

    tile_m: int
    tile_n: int
    split_k: int
    waves: int
    compute_s: float
    memory_s: float
    time_s: float

    @property
    def bound(self) -> str:
        return "compute" if self.compute_s >= self.memory_s else "memory"


def tile_rate_fraction(tile_m: int, tile_n: int) -> float:
    """Share of the SM's achievable GEMM rate a ``tile_m x tile_n`` tile reaches."""
    return min(1.0, tile_m * tile_n / (tile_m + tile_n) / REFERENCE_REUSE)


def gemm_kernel(
    m: int,
    n: int,
    k: int,
    spec: GPUSpec,
    eff: KernelEfficiency,
    dtype: str = "fp16",
    menu: tuple[tuple[int, int], ...] = TILE_MENU,
) -> KernelChoice:
    """The fastest kernel of ``menu`` (x split-K) for ``C[m x n] = A[m x k] @ B[k x n]``."""
    if min(m, n, k) <= 0:
        raise ValueError(f"GEMM dimensions must be positive, got {m}x{n}x{k}")
    b = DTYPE_BYTES[dtype]
    bw = eff.bandwidth_Bps(spec)
    sms = spec.compute_units
    per_sm = eff.gemm_flops(spec, dtype) / sms
    base_mem = (m * k + k * n + m * n) * b / bw
    best: KernelChoice | None = None
    for tm, tn in menu:
        rate = per_sm * tile_rate_fraction(tm, tn)
        tiles = math.ceil(m / tm) * math.ceil(n / tn)
        for s in SPLIT_K:
            if s > 1 and k // s < MIN_K_PER_SPLIT:
                break
            waves = math.ceil(tiles * s / sms)
            compute = waves * 2.0 * tm * tn * (k / s) / rate
            memory = base_mem + (2.0 * 4 * m * n * s / bw if s > 1 else 0.0)
            t = eff.kernel_floor_s + max(compute, memory)
            if best is None or t < best.time_s:
                best = KernelChoice(tm, tn, s, waves, compute, memory, t)
    assert best is not None
    return best


def gemm_time_s(m, n: int, k: int, spec: GPUSpec, eff: KernelEfficiency, dtype: str = "fp16"):
    """:func:`gemm_kernel`'s time for one ``m`` or, vectorised, an array of ``m`` values
    (every other argument fixed): the form an iteration-level model tabulates once."""
    if np.ndim(m) == 0:
        return gemm_kernel(int(m), n, k, spec, eff, dtype).time_s
    ms = np.asarray(m, dtype=float)
    if ms.size and ms.min() <= 0:
        raise ValueError("GEMM dimensions must be positive")
    b = DTYPE_BYTES[dtype]
    bw = eff.bandwidth_Bps(spec)
    sms = spec.compute_units
    per_sm = eff.gemm_flops(spec, dtype) / sms
    base_mem = (ms * k + k * n + ms * n) * b / bw
    best = np.full(ms.shape, np.inf)
    for tm, tn in TILE_MENU:
        rate = per_sm * tile_rate_fraction(tm, tn)
        tiles = np.ceil(ms / tm) * math.ceil(n / tn)
        for s in SPLIT_K:
            if s > 1 and k // s < MIN_K_PER_SPLIT:
                break
            compute = np.ceil(tiles * s / sms) * (2.0 * tm * tn * (k / s) / rate)
            memory = base_mem + (2.0 * 4 * ms * n * s / bw if s > 1 else 0.0)
            np.minimum(best, np.maximum(compute, memory), out=best)
    return eff.kernel_floor_s + best


def stream_kernel_s(nbytes: float, spec: GPUSpec, eff: KernelEfficiency) -> float:
    """A memory-bound kernel moving ``nbytes`` (reads plus writes)."""
    return eff.kernel_floor_s + nbytes / eff.bandwidth_Bps(spec)


def roofline_kernel_s(
    flops: float,
    nbytes: float,
    spec: GPUSpec,
    eff: KernelEfficiency,
    *,
    flops_per_s: float | None = None,
) -> float:
    """A kernel of ``flops`` and ``nbytes``: ``floor + max(flops / F, bytes / B)``, with
    ``F`` the achievable GEMM rate unless ``flops_per_s`` is given (attention)."""
    f = eff.gemm_flops(spec) if flops_per_s is None else flops_per_s
    return eff.kernel_floor_s + max(flops / f, nbytes / eff.bandwidth_Bps(spec))
