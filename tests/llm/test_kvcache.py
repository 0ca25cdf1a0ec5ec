"""Block manager: swap plans, KV reuse (only new blocks move), LRU reclaim."""

import pytest
from sim_models.llm.kvcache import LATER, NEVER, OK, BlockManager
from sim_models.llm.request import Conversation, Request


def make_req(rid=0, prompt=100, out=200):
    conv = Conversation(rid, [prompt], [out], [0.0])
    return Request(rid, conv, 0, 0.0, 0, prompt, out)


def test_can_allocate_answers_like_vllm():
    bm = BlockManager(100, 10, watermark=0.05)  # 5 blocks of watermark
    assert bm.can_allocate(96) == NEVER
    assert bm.can_allocate(95) == OK
    bm.gpu.allocate(10)
    assert bm.can_allocate(85) == OK and bm.can_allocate(86) == LATER


def test_reuse_copies_only_blocks_written_since_the_last_sync():
    for reuse, expected_second in ((False, 10), (True, 4)):
        bm = BlockManager(64, 64, watermark=0.0, reuse=reuse)
        r = make_req(prompt=100)  # 7 blocks, the 7th holds 4 of 16 tokens
        bm.allocate(r, 7)
        src, dst = bm.plan_copy_out(r, 100)
        assert len(src) == 7 == len(dst)
        bm.free_gpu(r)
        # swap back in: the CPU copy stays (reuse) or is dropped
        bm.allocate(r, 7)
        src, dst = bm.plan_copy_in(r, 100)
        assert len(src) == 7
        bm.after_copy_in(r.conv)
        assert (len(r.conv.cpu_blocks) == 7) == reuse
        # 48 more tokens: the partial 7th block is rewritten and blocks 8-10 are new
        r.generated = 48
        for _ in range(3):
            bm.append_slot(r) or bm.gpu.grow(r.blocks)
        assert len(r.blocks) == 10
        src, dst = bm.plan_copy_out(r, r.context)
        assert len(src) == expected_second
        if reuse:
            assert src == r.blocks[6:10]  # the dirty tail block and the three new ones
        assert len(r.conv.cpu_blocks) == 10


def test_nothing_moves_when_the_cpu_copy_is_complete():
    bm = BlockManager(64, 64, watermark=0.0, reuse=True)
    r = make_req(prompt=64)
    bm.allocate(r, 4)
    bm.plan_copy_out(r, 64)
    src, _ = bm.plan_copy_out(r, 64)  # swapped in and out again without a new token
    assert src == []


def test_lru_reclaims_clean_copies_oldest_first():
    bm = BlockManager(100, 10, watermark=0.0, reuse=True)
    old, new, big = make_req(0, 64), make_req(1, 64), make_req(2, 96)
    for r in (old, new):
        bm.allocate(r, 4)
        bm.plan_copy_out(r, 64)
        bm.unpin(r.conv)  # clean caches now (e.g. after swap-in)
    assert bm.cpu.num_free == 2 and bm.lru_blocks == 8
    assert bm.cpu_copy_available(6, big.conv)
    bm.allocate(big, 6)
    bm.plan_copy_out(big, 96)  # needs 6: reclaims the older copy (4) only
    assert old.conv.cpu_blocks == [] and old.conv.cpu_valid_tokens == 0
    assert len(new.conv.cpu_blocks) == 4 and bm.reclaimed_copies == 1
    assert not bm.cpu_copy_available(20, make_req(3, 320).conv)


def test_block_groups_count_copies_per_contiguous_run():
    for groups, copies in ((False, 12), (True, 1)):
        bm = BlockManager(64, 64, watermark=0.0, block_groups=groups)
        r = make_req(prompt=12 * 16)
        bm.allocate(r, 12)
        src, dst = bm.plan_copy_out(r, r.prompt_tokens)
        assert bm.copies(src, dst) == copies
        assert len(src) == 12  # the same blocks, hence the same bytes


def test_bad_sizes():
    with pytest.raises(ValueError):
        BlockManager(0, 10)
