"""Block pools: vLLM's stack free list and the buddy allocator of block groups."""

import random

import pytest
from sim_models.llm.blocks import BuddyBlockPool, StackBlockPool, contiguous_runs


def test_stack_pool_pops_the_highest_id_first_and_reuses_the_last_freed():
    pool = StackBlockPool(8)
    a = pool.allocate(3)
    assert a == [7, 6, 5]  # vLLM: free list [0..n-1], pop() from the end
    b = pool.allocate(2)
    pool.free(a)
    assert pool.num_free == 6
    c = pool.allocate(2)
    assert c == [5, 6]  # the most recently freed blocks come back first (LIFO)
    blocks = list(b)
    assert pool.grow(blocks) == 7 and blocks == [4, 3, 7]
    with pytest.raises(MemoryError):
        pool.allocate(99)


def test_stack_pool_scatters_blocks_after_churn():
    pool = StackBlockPool(1024)
    rng = random.Random(1)
    held = [pool.allocate(rng.randint(1, 40)) for _ in range(20)]
    for i in rng.sample(range(20), 12):
        pool.free(held[i])
    blocks = pool.allocate(60)
    runs = contiguous_runs(blocks, list(range(60)))
    assert runs > 1  # pieces of several freed requests: not one contiguous run


def test_buddy_pool_takes_the_binary_decomposition():
    pool = BuddyBlockPool(64, max_order=4)
    blocks = pool.allocate(13)  # 8 + 4 + 1
    assert len(blocks) == 13 and pool.num_free == 51
    assert contiguous_runs(blocks, list(range(13))) <= 3
    assert sorted(pool._group_order.values()) == [0, 2, 3]


def test_buddy_growth_stays_contiguous_and_free_merges_back():
    pool = BuddyBlockPool(100, max_order=5)
    start_groups = pool.free_groups_by_order()
    blocks = pool.allocate(5)
    for _ in range(20):
        pool.grow(blocks)
    assert len(blocks) == 25 and len(set(blocks)) == 25
    assert contiguous_runs(blocks, list(range(25))) <= 3
    other = pool.allocate(7)
    pool.free(blocks)
    pool.free(other)
    assert pool.num_free == 100
    assert pool.free_groups_by_order() == start_groups  # buddies merged into the initial cover


def test_buddy_pool_falls_back_to_small_groups_when_fragmented():
    pool = BuddyBlockPool(32, max_order=5)
    held = [pool.allocate(1) for _ in range(32)]
    for h in held[::2]:  # free every other block: 16 free, no two adjacent
        pool.free(h)
    blocks = pool.allocate(16)
    assert len(blocks) == 16 and contiguous_runs(blocks, list(range(16))) == 16
    assert pool.free_runs() == {}


def test_random_churn_keeps_the_pool_consistent():
    rng = random.Random(7)
    pool = BuddyBlockPool(500, max_order=6)
    live = []
    for _ in range(2000):
        if live and rng.random() < 0.45:
            pool.free(live.pop(rng.randrange(len(live))))
        else:
            n = rng.randint(1, 30)
            if n <= pool.num_free:
                b = pool.allocate(n)
                if rng.random() < 0.5 and pool.num_free:
                    pool.grow(b)
                live.append(b)
        held = [x for b in live for x in b]
        assert len(held) == len(set(held)) and pool.num_free + len(held) == 500
    for b in live:
        pool.free(b)
    assert pool.num_free == 500 and sum(k * v for k, v in pool.free_runs().items()) == 500


def test_contiguous_runs():
    assert contiguous_runs([], []) == 0
    assert contiguous_runs([4, 5, 6, 9], [0, 1, 2, 3]) == 2
    assert contiguous_runs([4, 5, 6], [0, 1, 7]) == 2  # contiguous on both sides only
