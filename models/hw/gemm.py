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
    The panels each wave reads are listed with their place in A or B
    (:attr:`Wave.panel_reads`: both operands stored with K contiguous, A row-major ``M x K``
    and B as ``N x K``, the layout of a linear layer's weight), so a memory model with
    addresses can place them.
    DRAM writes: every output element once. By default outputs bypass L2 (uncached
    stores, as T3's producer writes, Pati et al., ASPLOS'24, Sec. 4.3 and 6.2). With
    ``cache_outputs=True`` (an ordinary write-allocate kernel) each wave's output tiles are
    put into the same LRU after its panels: they take L2 space, so input panels may be
    evicted and read again; each output is still written to DRAM once.

    Per-tile DRAM bytes: a wave's panel reads are attributed to the first tile of the wave
    that uses the panel (:attr:`Wave.tile_read_bytes`); a tile's writes are its own output
    (:meth:`Tile.nbytes`).

    Tile order: :func:`tile_order` gives row-major, column-major and grouped ("swizzled")
    dispatch orders; grouped order walks ``group_rows`` tile rows column by column, the
    usual BLAS trick to keep a group's A panels in L2 while B panels stream.

What it leaves out
    Split-K, stream-K, multiple workgroups per CU, K-loop pipelining inside a tile, L2 bank
    conflicts, partial-panel reuse, and the launch overhead of the kernel.

Assumptions
    Default tile 128 x 128 (a common BLAS macro-tile on both AMD and NVIDIA GPUs) [A].
    One tile's FLOPs are ``2 tile_m tile_n K`` (multiply-add = 2 FLOPs).
    Grouped order's default group: equal groups of tile rows whose A panels fill at most
    3/4 of the L2 (:func:`default_group_rows`) [A]; the rest is left to B panels and
    outputs.

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

    @property
    def elements(self) -> int:
        return (self.row1 - self.row0) * (self.col1 - self.col0)

    def nbytes(self, dtype_bytes: int) -> int:
        """Bytes of this tile's output (what its stores write)."""
        return self.elements * dtype_bytes


@dataclass(frozen=True)
class Wave:
    index: int
    tiles: tuple[Tile, ...]
    compute_s: float
    read_bytes: float
    write_bytes: float
    #: DRAM read bytes per tile (same order as ``tiles``): each panel the wave reads is
    #: attributed to the first tile that uses it; sums to ``read_bytes``.
    tile_read_bytes: tuple[float, ...] = ()
    #: the panels the wave reads from DRAM: ``(matrix, offset, bytes)`` with ``matrix``
    #: ``"A"`` or ``"B"`` and ``offset`` the panel's byte offset in that matrix (both stored
    #: with K contiguous, so a panel is one contiguous range); sums to ``read_bytes``.
    panel_reads: tuple[tuple[str, int, float], ...] = ()

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


TILE_ORDERS = ("row_major", "col_major", "grouped")


def default_group_rows(
    shape: GemmShape, l2_bytes: float, tile_m: int = 128, tile_n: int = 128
) -> int:
    """Tile rows per group of the grouped order: the fewest groups whose A panels
    (``tile_m x K`` each) fit within 3/4 of ``l2_bytes``, made equal in size (16 rows with
    room for 15 give 2 groups of 8, not 15 + 1); at least 1 row, at most all rows [A]."""
    rows = math.ceil(shape.m / tile_m)
    panel = tile_m * shape.k * shape.dtype_bytes
    fit = max(1, min(rows, int((0.75 * l2_bytes) // panel)))
    groups = math.ceil(rows / fit)
    return math.ceil(rows / groups)


def tile_order(
    shape: GemmShape,
    kind: str = "row_major",
    *,
    tile_m: int = 128,
    tile_n: int = 128,
    group_rows: int | None = None,
    l2_bytes: float = 0.0,
) -> list[int]:
    """A dispatch order (permutation of row-major tile indices).

    ``row_major``: the grid row by row; ``col_major``: column by column; ``grouped``:
    blocks of ``group_rows`` tile rows (default :func:`default_group_rows` for
    ``l2_bytes``), each walked column by column."""
    gm, gn = math.ceil(shape.m / tile_m), math.ceil(shape.n / tile_n)
    if kind == "row_major":
        return list(range(gm * gn))
    if kind == "col_major":
        return [i * gn + j for j in range(gn) for i in range(gm)]
    if kind == "grouped":
        g = group_rows if group_rows is not None else default_group_rows(
            shape, l2_bytes, tile_m, tile_n)  # fmt: skip
        if g < 1:
            raise ValueError(f"group_rows must be >= 1, got {g}")
        return [
            i * gn + j
            for r0 in range(0, gm, g)
            for j in range(gn)
            for i in range(r0, min(r0 + g, gm))
        ]
    raise ValueError(f"unknown tile order {kind!r}; known: {', '.join(TILE_ORDERS)}")


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
    cache_outputs: bool = False,
) -> GemmPlan:
    """Waves, per-wave compute time and DRAM bytes of ``shape`` on ``cus`` CUs of ``spec``.

    ``order``: a permutation of row-major tile indices giving the dispatch order.
    ``l2_bytes``: cache for A/B panels (default ``spec.l2_bytes``; 0 disables reuse).
    ``bandwidth_Bps``: HBM bandwidth available to this GEMM (default ``spec.hbm_bandwidth_Bps``).
    ``cache_outputs``: output tiles are write-allocated in L2 (they compete with panels
    for space); default False: outputs bypass L2.
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
        writes = sum(t.nbytes(b) for t in group)
        if l2 <= 0:  # no cache: every tile reads both of its panels
            per_tile = tuple(
                ((t.row1 - t.row0) + (t.col1 - t.col0)) * k * b for t in group
            )
            panels = tuple(p for t in group for p in (
                ("A", t.row0 * k * b, (t.row1 - t.row0) * k * b),
                ("B", t.col0 * k * b, (t.col1 - t.col0) * k * b)))  # fmt: skip
            waves.append(Wave(w, group, tile_compute_s, sum(per_tile), writes, per_tile, panels))
            continue
        needed: dict[tuple[str, int], tuple[float, int]] = {}  # panel -> (bytes, first tile)
        for pos, t in enumerate(group):
            for key, extent in ((("A", t.row0), t.row1 - t.row0), (("B", t.col0), t.col1 - t.col0)):
                if key not in needed:
                    needed[key] = (extent * k * b, pos)
        per_tile_reads = [0.0] * len(group)
        panels = []
        for key, (sz, pos) in needed.items():
            if key not in cache:
                per_tile_reads[pos] += sz
                panels.append((key[0], key[1] * k * b, sz))
        cached = _lru_touch(cache, cached, ((key, sz) for key, (sz, _) in needed.items()), l2)
        if cache_outputs:
            cached = _lru_touch(cache, cached, ((("C", t.index), t.nbytes(b)) for t in group), l2)
        waves.append(
            Wave(w, group, tile_compute_s, sum(per_tile_reads), writes, tuple(per_tile_reads),
                 tuple(panels))  # fmt: skip
        )
    return GemmPlan(shape, cus, tile_m, tile_n, bw, tuple(waves))


def _lru_touch(cache: OrderedDict, cached: float, items, l2: float) -> float:
    """Use ``(key, bytes)`` items in order: hits move to the MRU end, misses are inserted;
    evict from the LRU end while over ``l2``. Returns the bytes now cached."""
    for key, sz in items:
        if key in cache:
            cache.move_to_end(key)
        elif sz <= l2:
            cache[key] = sz
            cached += sz
        while cached > l2:
            cached -= cache.popitem(last=False)[1]
    return cached


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
