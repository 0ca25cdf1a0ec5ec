"""Tiled roofline model of a GEMM on a GPU: tiles, waves, time and DRAM traffic.

What it models
    ``C[M x N] = A[M x K] @ B[K x N]``. The output is cut into ``tile_m x tile_n`` tiles (one
    workgroup per tile, one workgroup per CU at a time); tiles run in waves of at most
    ``cus`` tiles, in a given order (row-major by default; T3's staggered orders are just
    other permutations). A wave takes ``max(compute, memory)``:

    * compute = FLOPs of one full tile (edge tiles are padded, as MFMA/tensor-core tiles
      are) at the per-CU peak ``peak_flops[dtype] / compute_units``;
    * memory = the wave's DRAM bytes / the HBM bandwidth available to the GEMM. With equal
      tiles this is the tile's traffic at its ``1 / tiles_in_wave`` share of bandwidth.

    DRAM reads: each tile needs the A row panel ``tile_m x K`` and the B column panel
    ``K x tile_n``. With an L2 (``l2_bytes > 0``), the tiles of a wave run concurrently and
    step through K together, so a panel shared by several tiles of a wave is read once per
    wave (the per-K-step working set is far smaller than any L2). Across waves, panels
    stay in an LRU cache of ``l2_bytes`` at panel granularity: a panel resident when the
    wave starts is a hit, otherwise it is read. With ``l2_bytes = 0`` every tile reads both
    of its panels (:func:`roofline_time_s` is the closed form of that case).
    DRAM writes: every output element once (outputs bypass L2, as T3's uncached output
    writes, T3 (Pati et al., ASPLOS'24) §6.2).

What it leaves out
    Split-K, stream-K, multiple workgroups per CU, K-loop pipelining inside a tile, L2 bank
    conflicts, partial-panel reuse, and the launch overhead of the kernel.

Assumptions
    Default tile 128 x 128 (a common BLAS macro-tile on both AMD and NVIDIA GPUs) [A].
    One tile's FLOPs are ``2 tile_m tile_n K`` (multiply-add = 2 FLOPs).

Units: FLOP/s, bytes, seconds. dtype sizes in :data:`DTYPE_BYTES` (IEEE 754 binary32/16,
bfloat16, OCP FP8 formats; tf32 is stored in 4 bytes).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from sim_models.hw.specs import DTYPE_BYTES, GPUSpec


@dataclass(frozen=True)
class GemmShape:
    m: int
    n: int
    k: int
    dtype: str = "fp16"

    def __post_init__(self):
        if min(self.m, self.n, self.k) <= 0:
            raise ValueError(f"GEMM dimensions must be positive, got {self.m}x{self.n}x{self.k}")
        if self.dtype not in DTYPE_BYTES:
            raise ValueError(f"unknown dtype {self.dtype!r}; known: {sorted(DTYPE_BYTES)}")

    @property
    def dtype_bytes(self) -> int:
        return DTYPE_BYTES[self.dtype]

    @property
    def flops(self) -> float:
        return 2.0 * self.m * self.n * self.k

    @property
    def output_bytes(self) -> int:
        return self.m * self.n * self.dtype_bytes


@dataclass(frozen=True)
class Tile:
    """One output tile: rows ``[row0, row1)`` and columns ``[col0, col1)`` of C."""

    index: int  # row-major index in the tile grid
    row0: int
    row1: int
    col0: int
    col1: int


@dataclass(frozen=True)
class Wave:
    index: int
    tiles: tuple[Tile, ...]
    compute_s: float
    read_bytes: float
    write_bytes: float

    @property
    def bytes(self) -> float:
        return self.read_bytes + self.write_bytes

    def time_s(self, bandwidth_Bps: float) -> float:
        return max(self.compute_s, self.bytes / bandwidth_Bps)


@dataclass(frozen=True)
class GemmPlan:
    shape: GemmShape
    cus: int
    tile_m: int
    tile_n: int
    bandwidth_Bps: float
    waves: tuple[Wave, ...]

    @property
    def n_tiles(self) -> int:
        return sum(len(w.tiles) for w in self.waves)

    @property
    def n_waves(self) -> int:
        return len(self.waves)

    @property
    def time_s(self) -> float:
        """Total time with the whole ``bandwidth_Bps`` to itself (no contention)."""
        return sum(w.time_s(self.bandwidth_Bps) for w in self.waves)

    @property
    def read_bytes(self) -> float:
        return sum(w.read_bytes for w in self.waves)

    @property
    def write_bytes(self) -> float:
        return sum(w.write_bytes for w in self.waves)


def tile_grid(shape: GemmShape, tile_m: int = 128, tile_n: int = 128) -> list[Tile]:
    """All output tiles in row-major order (edge tiles are smaller)."""
    gm, gn = math.ceil(shape.m / tile_m), math.ceil(shape.n / tile_n)
    return [
        Tile(
            i * gn + j,
            i * tile_m,
            min((i + 1) * tile_m, shape.m),
            j * tile_n,
            min((j + 1) * tile_n, shape.n),
        )
        for i in range(gm)
        for j in range(gn)
    ]


def per_cu_flops(spec: GPUSpec, dtype: str) -> float:
    return spec.peak(dtype) / spec.compute_units


def plan_gemm(
    shape: GemmShape,
    spec: GPUSpec,
    *,
    cus: int | None = None,
    tile_m: int = 128,
    tile_n: int = 128,
    order: Sequence[int] | None = None,
    l2_bytes: float | None = None,
    bandwidth_Bps: float | None = None,
) -> GemmPlan:
    """Waves, per-wave compute time and DRAM bytes of ``shape`` on ``cus`` CUs of ``spec``.

    ``order``: a permutation of row-major tile indices giving the dispatch order.
    ``l2_bytes``: cache for A/B panels (default ``spec.l2_bytes``; 0 disables reuse).
    ``bandwidth_Bps``: HBM bandwidth available to this GEMM (default ``spec.hbm_bandwidth_Bps``).
    """
    cus = spec.compute_units if cus is None else cus
    if not 1 <= cus <= spec.compute_units:
        raise ValueError(f"cus must be in 1..{spec.compute_units}, got {cus}")
    l2 = spec.l2_bytes if l2_bytes is None else l2_bytes
    bw = spec.hbm_bandwidth_Bps if bandwidth_Bps is None else bandwidth_Bps
    tiles = tile_grid(shape, tile_m, tile_n)
    if order is not None:
        if sorted(order) != list(range(len(tiles))):
            raise ValueError("order must be a permutation of the tile indices")
        tiles = [tiles[i] for i in order]
    b, k = shape.dtype_bytes, shape.k
    tile_compute_s = 2.0 * tile_m * tile_n * k / per_cu_flops(spec, shape.dtype)
    cache: OrderedDict[tuple[str, int], float] = OrderedDict()  # panel -> bytes, LRU first
    cached = 0.0
    waves = []
    for w, start in enumerate(range(0, len(tiles), cus)):
        group = tuple(tiles[start : start + cus])
        writes = sum((t.row1 - t.row0) * (t.col1 - t.col0) * b for t in group)
        panels = [
            (key, extent * k * b)
            for t in group
            for key, extent in ((("A", t.row0), t.row1 - t.row0), (("B", t.col0), t.col1 - t.col0))
        ]
        if l2 <= 0:  # no cache: every tile reads both of its panels
            waves.append(Wave(w, group, tile_compute_s, sum(sz for _, sz in panels), writes))
            continue
        needed = dict(panels)  # distinct panels of the wave, in first-use order
        reads = sum(sz for key, sz in needed.items() if key not in cache)
        for key, sz in needed.items():
            if key in cache:
                cache.move_to_end(key)
            elif sz <= l2:
                cache[key] = sz
                cached += sz
            while cached > l2:
                cached -= cache.popitem(last=False)[1]
        waves.append(Wave(w, group, tile_compute_s, reads, writes))
    return GemmPlan(shape, cus, tile_m, tile_n, bw, tuple(waves))


def roofline_time_s(
    shape: GemmShape,
    spec: GPUSpec,
    *,
    cus: int | None = None,
    tile_m: int = 128,
    tile_n: int = 128,
    bandwidth_Bps: float | None = None,
) -> float:
    """Closed form for shapes that are multiples of the tile and no L2 reuse:
    ``full_waves * max(t_c, cus * B_t / bw) + max(t_c, rest * B_t / bw)``, where ``t_c`` is
    one tile's compute time at the per-CU peak and ``B_t = (tile_m + tile_n) K b + tile_m
    tile_n b`` its DRAM traffic."""
    cus = spec.compute_units if cus is None else cus
    bw = spec.hbm_bandwidth_Bps if bandwidth_Bps is None else bandwidth_Bps
    n_tiles = math.ceil(shape.m / tile_m) * math.ceil(shape.n / tile_n)
    t_c = 2.0 * tile_m * tile_n * shape.k / per_cu_flops(spec, shape.dtype)
    b_t = ((tile_m + tile_n) * shape.k + tile_m * tile_n) * shape.dtype_bytes
    full, rest = divmod(n_tiles, cus)
    t = full * max(t_c, cus * b_t / bw)
    return t + (max(t_c, rest * b_t / bw) if rest else 0.0)
