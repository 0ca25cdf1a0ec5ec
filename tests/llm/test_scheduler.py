"""The scheduler reproduces vLLM 0.3.3's admission and preemption order on a hand-written
scenario (core/scheduler.py ``_schedule`` as read from the 0.3.3 release)."""

import pytest
from sim_models.llm.kvcache import BlockManager
from sim_models.llm.policies import FCFS, PriorityPolicy
from sim_models.llm.request import RUNNING, SWAPPED, WAITING, Conversation, Request
from sim_models.llm.scheduler import Scheduler


def make(n_gpu=12, n_cpu=100, **kw):
    bm = BlockManager(n_gpu, n_cpu, watermark=0.0)
    return bm, Scheduler(bm, FCFS(), max_num_batched_tokens=2048, **kw)


def req(rid, prompt, out=100, t=None):
    conv = Conversation(rid, [prompt], [out], [0.0])
    return Request(rid, conv, 0, float(rid if t is None else t), 0, prompt, out)


def tick(plan):
    """What the engine does at the end of an iteration: one token per computed request."""
    for r in plan.prefill + plan.decode:
        r.generated += 1


def ids(reqs):
    return [r.id for r in reqs]


def test_vllm_admission_and_preemption_order():
    bm, s = make(n_gpu=11)
    a, b, c, d = req(0, 40), req(1, 40), req(2, 60), req(3, 30)  # 3, 3, 4, 2 blocks
    for r in (a, b, c, d):
        s.add(r)
    # 1. admission walks waiting from the head; D (2 blocks, 1 free) answers LATER and stops
    plan = s.schedule()
    assert ids(plan.prefill) == [0, 1, 2] and not plan.decode
    assert bm.gpu.num_free == 1 and ids(s.waiting) == [3]
    tick(plan)
    # 2. D still does not fit: a decode step of everything running, in arrival order
    plan = s.schedule()
    assert not plan.prefill and ids(plan.decode) == [0, 1, 2]
    tick(plan)
    # 3. A and B reach a block boundary (49 tokens need a 4th block). A appends (1 free ->
    #    0); B finds no free block and preempts the newest arrival at the tail (C), then
    #    appends; C goes to the tail of swapped; no swap-in in this iteration
    a.generated = b.generated = 49 - 40
    plan = s.schedule()
    assert ids(plan.decode) == [0, 1]
    assert [t.req.id for t in plan.swap_out] == [2] and not plan.swap_in
    assert c.state == SWAPPED and ids(s.swapped) == [2]
    assert len(plan.swap_out[0].src) == 4  # its four blocks, copied one by one (vLLM)
    tick(plan)
    # 4. D would fit now (2 of 3 free) but swapped requests resume before any new
    #    admission; C does not fit (4 blocks + 1 for its next token): a plain decode step
    assert bm.gpu.num_free == 3
    plan = s.schedule()
    assert not plan.prefill and ids(plan.decode) == [0, 1] and not plan.swap_in
    assert ids(s.waiting) == [3]
    tick(plan)
    # 5. A finishes and frees its blocks: C is swapped back in, joins the running set and
    #    decodes in this same iteration; D still waits (admission ran before the swap-in)
    s.finish(a)
    bm.free_gpu(a)
    plan = s.schedule()
    assert [t.req.id for t in plan.swap_in] == [2] and ids(plan.decode) == [1, 2]
    assert c.state == RUNNING and not s.swapped and ids(s.waiting) == [3]
    tick(plan)
    # 6. nothing swapped: D is admitted as soon as it fits (a prefill-only step)
    plan = s.schedule()
    assert ids(plan.prefill) == [3] and not plan.decode


def test_can_allocate_never_drops_and_watermark_holds():
    bm = BlockManager(100, 10, watermark=0.1)  # 10 blocks of watermark
    s = Scheduler(bm, FCFS(), max_num_batched_tokens=4096, max_model_len=4096)
    too_big = req(0, 91 * 16)  # 91 blocks: 100 - 91 < 10 -> NEVER
    ok = req(1, 90 * 16)  # 90 blocks: 100 - 90 >= 10
    s.add(too_big)
    s.add(ok)
    plan = s.schedule()
    assert ids(plan.dropped) == [0] and ids(plan.prefill) == [1]
    assert s.dropped == 1


def test_padded_token_budget_and_seq_limit_stop_admission():
    bm = BlockManager(1000, 10, watermark=0.0)
    s = Scheduler(bm, FCFS(), max_num_batched_tokens=1000, max_paddings=1000, max_num_seqs=3)
    for i, n in enumerate([100, 400, 50, 10, 10]):
        s.add(req(i, n))
    plan = s.schedule()
    # 100, 400 -> 2 x 400 = 800 tokens; adding 50 keeps 3 x 400 = 1200 > 1000: stop
    assert ids(plan.prefill) == [0, 1]
    tick(plan)
    s2 = Scheduler(BlockManager(1000, 10, watermark=0.0), FCFS(), max_num_seqs=2)
    for i in range(3):
        s2.add(req(i, 10))
    assert ids(s2.schedule().prefill) == [0, 1]


def test_recompute_preemption_frees_blocks_and_requeues_at_the_head():
    bm, s = make(n_gpu=7, preemption_mode="recompute")
    a, b, w = req(0, 48), req(1, 48), req(2, 64)  # 3 + 3 blocks, 4 for the waiting one
    for r in (a, b, w):
        s.add(r)
    tick(s.schedule())
    assert bm.gpu.num_free == 1
    bm.gpu.allocate(1)
    plan = s.schedule()  # both need a 4th block: A preempts B (recompute) then appends
    assert ids(plan.recompute) == [1] and not plan.swap_out
    assert b.state == WAITING and ids(s.waiting) == [1, 2] and b.blocks == []
    # its next prefill covers prompt and the token generated so far
    assert b.context == 49


def test_priority_policy_preempts_for_a_more_important_swapped_request():
    bm = BlockManager(11, 100, watermark=0.0)
    pol = PriorityPolicy()

    class Streams:
        def __call__(self, name):
            import numpy as np

            return np.random.default_rng(0)

    pol.start(4, Streams())
    pol._levels = [2, 1, 0, 3]  # conversation -> level (0 = most important)
    s = Scheduler(bm, pol)
    low, mid, top = req(0, 60), req(1, 60), req(2, 60)  # 4 blocks each
    for r in (low, mid):
        s.add(r)
    tick(s.schedule())
    s.add(top)  # needs 4 blocks, 3 are free: preempts the least important running request
    plan = s.schedule()
    assert [t.req.id for t in plan.swap_out] == [0] and ids(plan.decode) == [1]
    assert not plan.swap_in  # never in the same iteration
    tick(plan)
    plan = s.schedule()
    assert ids(plan.prefill) == [2]  # admitted although a (less important) request is swapped
    tick(plan)
    # an equal-or-less important swapped request never preempts
    plan = s.schedule()
    assert not plan.swap_out and ids(s.swapped) == [0]


@pytest.mark.parametrize("mode", ["bogus"])
def test_bad_mode(mode):
    with pytest.raises(ValueError):
        make(preemption_mode=mode)
