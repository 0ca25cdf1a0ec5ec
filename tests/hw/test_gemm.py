"""Tiled roofline GEMM model against hand-computed values."""

import pytest
from sim_models.hw.catalog import gpu
from sim_models.hw.gemm import GemmShape, plan_gemm, roofline_time_s, tile_grid

T3 = gpu("t3_sim")  # 80 CUs, 1.4 GHz, 1024 fp16 FLOP/cycle/CU, 1 TB/s


def test_tile_grid_edges_cover_output():
    tiles = tile_grid(GemmShape(300, 200, 64), 128, 128)
    assert len(tiles) == 3 * 2
    assert tiles[-1].row0 == 256 and tiles[-1].row1 == 300 and tiles[-1].col1 == 200
    assert sum((t.row1 - t.row0) * (t.col1 - t.col0) for t in tiles) == 300 * 200


def test_memory_bound_plan_matches_closed_form_and_hand_numbers():
    shape = GemmShape(2048, 4096, 512)  # 16 x 32 = 512 tiles -> 6 full waves of 80 + 32
    plan = plan_gemm(shape, T3, l2_bytes=0)
    assert plan.n_tiles == 512 and plan.n_waves == 7
    t_c = 2 * 128 * 128 * 512 / (1024 * 1.4e9)  # 11.70 us per tile
    b_t = ((128 + 128) * 512 + 128 * 128) * 2  # 294,912 B per tile
    hand = 6 * max(t_c, 80 * b_t / 1e12) + max(t_c, 32 * b_t / 1e12)
    assert hand == pytest.approx(6 * 23.59296e-6 + 11.7028571e-6, rel=1e-6)
    assert roofline_time_s(shape, T3) == pytest.approx(hand, rel=1e-12)
    assert plan.time_s == pytest.approx(hand, rel=1e-12)
    assert plan.read_bytes == 512 * (256 * 512 * 2)
    assert plan.write_bytes == 2048 * 4096 * 2


def test_l2_reuse_reads_each_panel_once():
    shape = GemmShape(256, 256, 128)  # 4 tiles, one wave on 4 CUs
    no_reuse = plan_gemm(shape, T3, cus=4, l2_bytes=0)
    reuse = plan_gemm(shape, T3, cus=4, l2_bytes=16 * 2**20)
    assert no_reuse.read_bytes == 4 * (128 + 128) * 128 * 2 == 262144
    assert reuse.read_bytes == 2 * 256 * 128 * 2 == 131072  # A once + B once
    assert reuse.write_bytes == no_reuse.write_bytes == 256 * 256 * 2


def test_compute_bound_waves_scale_with_cus():
    shape = GemmShape(1024, 1024, 4096)  # 64 tiles
    t_c = 2 * 128 * 128 * 4096 / (1024 * 1.4e9)
    full = plan_gemm(shape, T3, cus=64, l2_bytes=1e12)
    half = plan_gemm(shape, T3, cus=32, l2_bytes=1e12)
    assert (full.n_waves, half.n_waves) == (1, 2)
    assert full.time_s == pytest.approx(t_c)
    assert half.time_s == pytest.approx(2 * t_c)
    # second wave of the half plan reuses every B panel: reads only 4 new A panels
    assert half.waves[1].read_bytes == 4 * 128 * 4096 * 2


def test_order_permutes_dispatch_and_is_validated():
    shape = GemmShape(256, 256, 64)
    plan = plan_gemm(shape, T3, cus=2, order=[3, 2, 1, 0])
    assert [t.index for t in plan.waves[0].tiles] == [3, 2]
    with pytest.raises(ValueError):
        plan_gemm(shape, T3, order=[0, 1, 2])
    with pytest.raises(ValueError):
        plan_gemm(shape, T3, cus=81)
    with pytest.raises(ValueError):
        plan_gemm(GemmShape(8, 8, 8, "fp8"), T3)  # t3_sim has no fp8 peak


def test_l2_lru_across_waves():
    shape = GemmShape(128, 512, 128)  # 1 x 4 tiles, 2 waves on 2 CUs; panels of 32 KiB
    panel = 128 * 128 * 2
    fits = plan_gemm(shape, T3, cus=2, l2_bytes=3 * panel)
    # wave 0 misses A0, B0, B1; wave 1 hits A0 and misses B2, B3
    assert [w.read_bytes for w in fits.waves] == [3 * panel, 2 * panel]
    tight = plan_gemm(shape, T3, cus=2, l2_bytes=2 * panel)
    # A0 was evicted by B1 at the end of wave 0, so wave 1 reads it again
    assert [w.read_bytes for w in tight.waves] == [3 * panel, 3 * panel]


def test_tile_orders_are_permutations_and_grouped_walks_columns():
    from sim_models.hw.gemm import default_group_rows, tile_order

    shape = GemmShape(512, 384, 64)  # 4 x 3 tiles
    for kind in ("row_major", "col_major", "grouped"):
        assert sorted(tile_order(shape, kind, group_rows=2)) == list(range(12))
    assert tile_order(shape, "col_major") == [0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11]
    assert tile_order(shape, "grouped", group_rows=2) == [0, 3, 1, 4, 2, 5, 6, 9, 7, 10, 8, 11]
    assert tile_order(shape, "grouped", group_rows=4) == tile_order(shape, "col_major")
    # default group: as many A panels (128 x 64 x 2 B = 16 KiB) as fit in half the L2
    assert default_group_rows(shape, l2_bytes=2 * 16384 / 0.75) == 2
    assert default_group_rows(shape, l2_bytes=1) == 1
    assert default_group_rows(shape, l2_bytes=1e12) == 4
    with pytest.raises(ValueError):
        tile_order(shape, "zigzag")


def test_per_tile_read_bytes_attribute_each_panel_once():
    shape = GemmShape(256, 256, 128)
    plan = plan_gemm(shape, T3, cus=4, l2_bytes=16 * 2**20)
    w = plan.waves[0]
    assert sum(w.tile_read_bytes) == w.read_bytes
    panel = 128 * 128 * 2
    assert list(w.tile_read_bytes) == [2 * panel, panel, panel, 0]  # A0+B0, B1, A1, nothing
    assert plan.waves[0].tiles[0].nbytes(2) == 128 * 128 * 2
    no_l2 = plan_gemm(shape, T3, cus=4, l2_bytes=0).waves[0]
    assert list(no_l2.tile_read_bytes) == [2 * panel] * 4


def test_cached_outputs_evict_input_panels():
    # 1 x 4 tiles on 2 CUs; A0 is shared by both waves; the L2 holds 4 panels.
    shape = GemmShape(128, 512, 128)
    panel = 128 * 128 * 2  # = one output tile too
    bypass = plan_gemm(shape, T3, cus=2, l2_bytes=4 * panel)
    cached = plan_gemm(shape, T3, cus=2, l2_bytes=4 * panel, cache_outputs=True)
    assert [w.read_bytes for w in bypass.waves] == [3 * panel, 2 * panel]
    # wave 0 leaves A0 B0 B1 C0 C1 -> A0 evicted, so wave 1 reads it again
    assert [w.read_bytes for w in cached.waves] == [3 * panel, 3 * panel]
    assert cached.write_bytes == bypass.write_bytes == 4 * panel


def test_panel_reads_place_every_read_panel():
    shape = GemmShape(1024, 1536, 512)  # 8 x 12 tiles, 2 waves of 80 on T3's GPU
    for l2 in (0.0, 16 * 2**20, 2 * 2**20):
        plan = plan_gemm(shape, T3, l2_bytes=l2)
        for w in plan.waves:
            assert sum(sz for _, _, sz in w.panel_reads) == pytest.approx(w.read_bytes)
            for m, off, sz in w.panel_reads:
                assert m in ("A", "B") and sz == 128 * 512 * 2
                rows = shape.m if m == "A" else shape.n
                assert 0 <= off <= (rows - 128) * 512 * 2 and off % (128 * 512 * 2) == 0
    cached = plan_gemm(shape, T3, l2_bytes=16 * 2**20)
    keys = [(m, off) for w in cached.waves for m, off, _ in w.panel_reads]
    assert len(keys) == len(set(keys)) == 8 + 12  # every panel read once, with its place
