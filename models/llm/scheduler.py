"""The iteration-level scheduler of vLLM 0.3.3, with an ordering policy and the switches a
fairness-aware baseline needs.

What it models (vLLM 0.3.3 ``core/scheduler.py`` ``_schedule``, one call per iteration)
    Three queues of requests: ``waiting``, ``running``, ``swapped``.

    1. **Admission, only if nothing is swapped.** Walk ``waiting`` from the head (the policy
       orders it; FCFS keeps arrival order, with recomputed requests put back at the head).
       The head is admitted if its blocks fit (``can_allocate``: LATER stops admission,
       NEVER drops the request), the padded token budget (prompts x longest prompt <=
       ``max_num_batched_tokens``), ``max_num_seqs`` and ``max_paddings`` allow; the first
       failed check stops admission. If anything was admitted or dropped, the iteration is
       a prefill-only step of the admitted prompts.
    2. **Otherwise a decode step.** Sort ``running`` by the policy; for each request in
       order, while no block is free for its next token, preempt the request at the tail
       (the least important); if none is left, preempt the request itself.
    3. **Swap-in, only if nothing was preempted in this step**: sort ``swapped`` by the
       policy and swap in from the head while ``can_swap_in`` and ``max_num_seqs`` allow;
       the first failure stops. Swap-in and swap-out never happen in one iteration.

    Preemption mode: ``swap`` (copy the KV to the CPU, tail of ``swapped``), ``recompute``
    (free the blocks, head of ``waiting``, prefill prompt plus output again) or ``auto``
    (vLLM's default: recompute for single-sequence requests, i.e. always here). A swap-out
    with no CPU room falls back to recompute (vLLM aborts the engine instead).

    **Priority scheduling** (policies with ``preemptive = True``: the fairness-aware
    baseline; not in stock 0.3.3). Waiting and swapped requests are served in policy order
    across both queues: admission runs when nothing is swapped or when the most important
    waiting request outranks every swapped one, and stops at a waiting request outranked by
    a swapped one; swap-in stops at a swapped request outranked by the head of ``waiting``.
    Among equals, swapped requests still resume first. Before the decode step the waiting
    and swapped requests are walked in policy order: one that fits is counted as served;
    for one that does not, running requests of strictly lower importance are preempted,
    least important first, if (and only if) together they make room for it; the walk stops
    at the first request that cannot be placed. The request is admitted or swapped in in a
    later iteration (swap-in never shares an iteration with a swap-out). This is how a
    priority change becomes a context switch. The rule is this project's [A], modelled on
    vLLM's later priority scheduling (v0.6 ``_schedule_priority_preemption``).

    **Asynchronous swapping** (``async_swap``): requests whose transfer is in flight are
    not eligible for any decision (transfers of one request are ordered); a swapped-in
    request joins ``running`` when its transfer completes (:meth:`transfer_done`).

    **History reuse** (``reuse_history``): a new turn whose conversation has a clean CPU
    copy loads that prefix from the CPU (``load``) and prefills only the rest.

What it leaves out
    LoRA, beam search and multi-sequence groups, chunked prefill, the ignored-request
    output path (dropped requests are only counted).
"""

from __future__ import annotations

import bisect
import heapq
from collections import deque
from dataclasses import dataclass, field

from .kvcache import LATER, NEVER, BlockManager
from .request import (
    FINISHED,
    LOADING,
    RUNNING,
    SWAPPED,
    SWAPPING_IN,
    SWAPPING_OUT,
    WAITING,
    Request,
)


@dataclass
class Transfer:
    """Blocks one request moves: ``src[i] -> dst[i]``; ``release`` are GPU blocks that become
    free when the copy completes (an asynchronous swap-out)."""

    req: Request
    src: list[int]
    dst: list[int]
    release: list[int] = field(default_factory=list)


@dataclass
class Plan:
    """What one iteration does."""

    prefill: list[Request] = field(default_factory=list)
    decode: list[Request] = field(default_factory=list)
    swap_out: list[Transfer] = field(default_factory=list)
    swap_in: list[Transfer] = field(default_factory=list)
    load: list[Transfer] = field(default_factory=list)  # new turns copying their history in
    recompute: list[Request] = field(default_factory=list)
    deferred: list[Request] = field(default_factory=list)  # async: waiting for blocks in flight
    dropped: list[Request] = field(default_factory=list)
    new_blocks: int = 0  # blocks appended for decoding tokens

    @property
    def empty(self) -> bool:
        return not (self.prefill or self.decode or self.swap_out or self.swap_in or self.load)


class Scheduler:
    """vLLM 0.3.3's scheduling step over a :class:`BlockManager`, ordered by ``policy``."""

    def __init__(
        self,
        blocks: BlockManager,
        policy,
        *,
        max_num_seqs: int = 256,
        max_num_batched_tokens: int = 8192,
        max_paddings: int = 256,
        max_model_len: int = 8192,
        preemption_mode: str = "swap",
        async_swap: bool = False,
        reuse_history: bool = False,
    ):
        if preemption_mode not in ("swap", "recompute", "auto"):
            raise ValueError(f"unknown preemption_mode {preemption_mode!r}")
        self.bm = blocks
        self.policy = policy
        self.max_num_seqs = max_num_seqs
        self.max_num_batched_tokens = max_num_batched_tokens
        self.max_paddings = max_paddings
        self.prompt_limit = min(max_model_len, max_num_batched_tokens)
        self.swap = preemption_mode == "swap"
        self.async_swap = async_swap
        self.reuse_history = reuse_history and blocks.reuse
        self.waiting: deque[Request] = deque()
        self.running: list[Request] = []
        self.swapped: list[Request] = []
        self.incoming: list[Request] = []  # async: swap-in or history load in flight
        self.loaded: list[Request] = []  # async: history loaded, prefill pending
        self._dirty_w = self._dirty_r = self._dirty_s = True  # queues to re-sort
        self.preemptions = 0
        self.swap_preemptions = 0
        self.recompute_preemptions = 0
        self.priority_preemptions = 0
        self.cpu_full_fallbacks = 0
        self.dropped = 0

    # -- queue changes from the engine ----------------------------------------------------
    def add(self, req: Request) -> None:
        req.state = WAITING
        if self._orders_waiting():
            self._insert(self.waiting, req, "_dirty_w")
        else:
            self.waiting.append(req)

    def _orders_waiting(self) -> bool:
        return self.policy.preemptive or self.policy.orders_waiting

    def _insert(self, queue, req: Request, dirty: str) -> None:
        """Put ``req`` in its place in a sorted queue (or mark the queue for a sort)."""
        if getattr(self, dirty) or self.policy.dynamic_keys:
            queue.append(req)
            setattr(self, dirty, True)
            return
        key = self.policy.key
        queue.insert(bisect.bisect_right(queue, key(req), key=key), req)

    def keys_changed(self) -> None:
        """The policy's keys changed (a priority update): every queue is re-sorted."""
        self._dirty_w = self._dirty_r = self._dirty_s = True

    def _sort_running(self, key) -> None:
        if self._dirty_r or self.policy.dynamic_keys:
            self.running.sort(key=key)
            self._dirty_r = False

    def _sort_swapped(self, key) -> None:
        if self._dirty_s or self.policy.dynamic_keys:
            self.swapped.sort(key=key)
            self._dirty_s = False

    def _sort_waiting(self, key) -> None:
        if self._dirty_w or self.policy.dynamic_keys:
            self.waiting = deque(sorted(self.waiting, key=key))
            self._dirty_w = False

    def transfer_done(self, t: Transfer, kind: str) -> None:
        """A transfer completed (``kind``: ``out``, ``in``, ``load`` or ``writeback``): free
        what it released, settle the CPU copy, and (async) make the request eligible."""
        req, bm = t.req, self.bm
        conv = req.conv
        conv.cpu_busy = False
        if t.release:
            bm.release_gpu(t.release)
        if kind == "out":
            if req.state == SWAPPING_OUT:
                req.state = SWAPPED
            req.ready = True
        elif kind in ("in", "load"):
            bm.after_copy_in(conv)
            if not req.ready:
                req.ready = True
                self.incoming.remove(req)
                if req.state == SWAPPING_IN:
                    req.state = RUNNING
                    self._insert(self.running, req, "_dirty_r")
                else:
                    self.loaded.append(req)
        elif kind == "writeback":
            bm.unpin(conv)
        else:
            raise ValueError(f"unknown transfer kind {kind!r}")

    def write_back(self, req: Request) -> Transfer | None:
        """A finished turn (reuse): copy the KV blocks the CPU copy lacks so the next turn
        can load its history; the GPU blocks are released when the copy completes."""
        bm = self.bm
        if not self.reuse_history or req.conv.cpu_busy:
            return None
        if not bm.cpu_copy_available(len(req.blocks), req.conv):
            return None
        src, dst = bm.plan_copy_out(req, req.context)
        req.conv.cpu_busy = True
        bm.in_flight_gpu += len(req.blocks)
        t = Transfer(req, src, dst, req.blocks)
        req.blocks = []
        return t

    def finish(self, req: Request) -> None:
        req.state = FINISHED
        self.running.remove(req)

    @property
    def busy(self) -> bool:
        return bool(self.waiting or self.running or self.swapped or self.incoming or self.loaded)

    def _seqs(self) -> int:
        return len(self.running) + len(self.incoming) + len(self.loaded)

    # -- one iteration --------------------------------------------------------------------
    def schedule(self) -> Plan:
        plan = Plan()
        key = self.policy.key
        preemptive = self.policy.preemptive
        if preemptive:
            self._sort_waiting(key)
        self._best_swapped = None
        if preemptive and self.swapped:
            self._sort_swapped(key)
            first = next((r for r in self.swapped if r.ready), None)
            self._best_swapped = key(first) if first is not None else None
        waiting_first = (
            preemptive and self.waiting
            and (self._best_swapped is None or key(self.waiting[0]) < self._best_swapped)
        )  # fmt: skip
        if self.loaded or not self.swapped or waiting_first:
            self._admit(plan, key)
            if plan.prefill or plan.load:
                return plan
        if preemptive:
            self._priority_preempt(plan, key)
        self._decode(plan, key)
        if not plan.swap_out and not plan.recompute:
            self._swap_in(plan, key)
        return plan

    def _admit(self, plan: Plan, key) -> None:
        bm = self.bm
        lens: list[int] = []
        longest = 0
        seqs = self._seqs()
        for req in self.loaded:  # async history loads that completed: prefill them now
            lens.append(req.context - req.prefix_tokens)
            longest = max(longest, lens[-1])
            req.state = RUNNING
            plan.prefill.append(req)
        self.loaded.clear()
        preemptive = self.policy.preemptive
        best_swapped = self._best_swapped
        if self.swapped and not preemptive:
            for r in plan.prefill:
                self._insert(self.running, r, "_dirty_r")
            return
        if not preemptive and self.policy.orders_waiting:
            self._sort_waiting(key)
        waiting = self.waiting
        while waiting:
            req = waiting[0]
            if best_swapped is not None and key(req) > best_swapped:
                break  # a more important swapped request resumes first
            ctx = req.context
            if ctx > self.prompt_limit:
                waiting.popleft()
                self._drop(req, plan)
                continue
            need = bm.blocks_for(ctx)
            fit = bm.can_allocate(need)
            if fit == LATER:
                break
            if fit == NEVER:
                waiting.popleft()
                self._drop(req, plan)
                continue
            prefix = 0
            conv = req.conv
            if self.reuse_history and req.generated == 0 and conv.cpu_valid_tokens and not conv.cpu_busy:
                prefix = min(conv.cpu_valid_tokens, req.history_tokens)
            new_tokens = ctx - prefix
            new_longest = max(longest, new_tokens)
            batched = (len(lens) + 1) * new_longest
            if batched > self.max_num_batched_tokens:
                break
            if seqs + 1 > self.max_num_seqs:
                break
            if batched - (sum(lens) + new_tokens) > self.max_paddings:
                break
            waiting.popleft()
            bm.allocate(req, need)
            seqs += 1
            req.prefix_tokens = prefix
            if prefix:
                src, dst = bm.plan_copy_in(req, prefix)
                conv.cpu_busy = True
                plan.load.append(Transfer(req, src, dst))
                if self.async_swap:
                    req.state = LOADING
                    req.ready = False
                    self.incoming.append(req)
                    continue
            lens.append(new_tokens)
            longest = new_longest
            req.state = RUNNING
            plan.prefill.append(req)
        for r in plan.prefill:
            self._insert(self.running, r, "_dirty_r")

    def _drop(self, req: Request, plan: Plan) -> None:
        req.state = FINISHED
        self.dropped += 1
        plan.dropped.append(req)

    def _preempt(self, req: Request, plan: Plan) -> None:
        self.preemptions += 1
        req.preemptions += 1
        bm = self.bm
        if self.swap and bm.cpu_copy_available(len(req.blocks), req.conv):
            self.swap_preemptions += 1
            src, dst = bm.plan_copy_out(req, req.context)
            req.conv.cpu_busy = True
            if self.async_swap:  # blocks in flight until the copy completes
                req.state = SWAPPING_OUT
                req.ready = False
                bm.in_flight_gpu += len(req.blocks)
                plan.swap_out.append(Transfer(req, src, dst, req.blocks))
                req.blocks = []
            else:  # vLLM frees the GPU blocks at once; the copy precedes the model step
                req.state = SWAPPED
                plan.swap_out.append(Transfer(req, src, dst))
                bm.free_gpu(req)
            self._insert(self.swapped, req, "_dirty_s")
        else:
            if self.swap:
                self.cpu_full_fallbacks += 1
            self.recompute_preemptions += 1
            self.bm.free_gpu(req)
            req.state = WAITING
            req.prefix_tokens = 0
            req.recomputes += 1
            if self._orders_waiting():
                self._insert(self.waiting, req, "_dirty_w")
            else:
                self.waiting.appendleft(req)  # vLLM: recomputed requests go first
            plan.recompute.append(req)

    def _priority_preempt(self, plan: Plan, key) -> None:
        bm = self.bm
        if not self.running or not (self.swapped or self.waiting):
            return
        self._sort_running(key)
        self._sort_swapped(key)  # waiting is sorted for preemptive policies
        pending = heapq.merge((r for r in self.swapped if r.ready), self.waiting, key=key)
        free = bm.gpu.num_free
        victims: list[Request] = []
        for cand in pending:
            if cand.state == WAITING:
                need = bm.blocks_for(cand.context)
            else:
                need = bm.blocks_for(cand.conv.cpu_valid_tokens) + 1
            if free - need >= bm.watermark_blocks:
                free -= need
                continue
            # preempt only if enough less important requests make room for the candidate
            ck = key(cand)
            gain, n = 0, 0
            running = self.running
            while free + gain - need < bm.watermark_blocks and n < len(running):
                victim = running[-1 - n]
                if key(victim) <= ck:
                    break
                gain += len(victim.blocks)
                n += 1
            if free + gain - need < bm.watermark_blocks:
                break
            for _ in range(n):
                victims.append(running.pop())
            free += gain - need
        for victim in victims:  # after the walk: preempting changes the queues walked
            self.priority_preemptions += 1
            self._preempt(victim, plan)

    def _decode(self, plan: Plan, key) -> None:
        bm = self.bm
        self._sort_running(key)
        queue = self.running
        kept: list[Request] = []
        decode: list[Request] = []
        bs = bm.block_size
        gpu = bm.gpu
        i = 0
        while i < len(queue):
            req = queue[i]
            i += 1
            if gpu.num_free >= 1:  # the common case: room for the next token
                if req.prompt_tokens + req.generated > len(req.blocks) * bs:
                    gpu.grow(req.blocks)
                    plan.new_blocks += 1
                kept.append(req)
                decode.append(req)
                continue
            if (self.async_swap and bm.in_flight_gpu and not bm.can_append_slot()
                    and req.context > len(req.blocks) * bs):  # fmt: skip
                plan.deferred.append(req)  # its block is in flight: wait, do not preempt
                kept.append(req)
                continue
            preempted_self = False
            while not bm.can_append_slot() and not (
                self.async_swap and bm.in_flight_gpu and req.context <= len(req.blocks) * bs
            ):
                if i < len(queue):
                    victim = queue.pop()
                    self._preempt(victim, plan)
                else:
                    self._preempt(req, plan)
                    preempted_self = True
                    break
            if not preempted_self:
                if bm.append_slot(req):
                    plan.new_blocks += 1
                kept.append(req)
                decode.append(req)
        self.running = kept
        plan.decode = decode

    def _swap_in(self, plan: Plan, key) -> None:
        bm = self.bm
        swapped = self.swapped
        if not swapped:
            return
        self._sort_swapped(key)
        swapped = self.swapped
        seqs = self._seqs()
        remaining: list[Request] = []
        best_waiting = (
            key(self.waiting[0]) if self.policy.preemptive and self.waiting else None
        )  # waiting is sorted for preemptive policies
        for i, req in enumerate(swapped):
            if not req.ready:
                remaining.append(req)
                continue
            if (best_waiting is not None and key(req) > best_waiting) or (
                not bm.can_swap_in(req) or seqs + 1 > self.max_num_seqs
            ):  # the first that cannot resume stops swap-in (a more important new
                # request, no room, or the sequence limit)
                remaining.extend(swapped[i:])
                break
            tokens = req.conv.cpu_valid_tokens
            bm.allocate(req, bm.blocks_for(tokens))
            src, dst = bm.plan_copy_in(req, tokens)
            req.conv.cpu_busy = True
            seqs += 1
            plan.swap_in.append(Transfer(req, src, dst))
            if self.async_swap:
                req.state = SWAPPING_IN
                req.ready = False
                self.incoming.append(req)
            else:
                req.state = RUNNING
                if bm.append_slot(req):
                    plan.new_blocks += 1
                self._insert(self.running, req, "_dirty_r")
                plan.decode.append(req)
        self.swapped = remaining
