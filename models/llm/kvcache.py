"""The KV-cache block manager: GPU and CPU block pools, vLLM 0.3.3's admission checks, swap
plans, and FastSwitch's KV reuse (clean-block tracking, LRU reclaim of CPU copies).

What it models
    * Sizes: a block holds ``block_size`` (16) tokens of K and V in every layer; one copy in
      a swap moves one block of one layer, K or V: ``block_size x kv_heads x head_dim x
      dtype_bytes`` (32 KiB for Llama-3-8B and Qwen2.5-32B) (vLLM 0.3.3
      ``worker/cache_engine.py``).
    * vLLM 0.3.3's checks (``core/block_manager.py``): ``can_allocate`` answers NEVER when the
      prompt's blocks exceed all GPU blocks less the watermark (int(0.01 x blocks)), OK when
      free - needed >= watermark, LATER otherwise; ``can_append_slot`` needs one free block
      per running sequence (no watermark); ``can_swap_in`` needs free - (blocks + 1) >=
      watermark; a swap-out needs as many free CPU blocks.
    * Swap plans: :meth:`BlockManager.plan_swap_out` / :meth:`plan_swap_in` return the block
      pairs to copy. Copies per layer and per K/V: one per block (vLLM) or one per run of
      blocks contiguous on both sides (``block_groups``).
    * KV reuse (``reuse``): a conversation's CPU copy is a prefix of its KV that stays valid
      while the conversation lives. After a swap-in the copy is kept (clean), so a later
      swap-out copies only the blocks written since (the partly filled tail block and new
      ones). Clean copies that no transfer needs are reclaimable, least recently used first,
      when the CPU pool runs short; a reclaimed copy must be copied in full next time.
    * Blocks in flight (async swap-out) are neither free nor owned: the engine calls
      :meth:`release_gpu` when their copy completes.

What it leaves out
    Prefix sharing between requests, copy-on-write, beam search (one sequence per request).
"""

from __future__ import annotations

from collections import OrderedDict

from .blocks import contiguous_runs, make_pool
from .request import Conversation, Request

OK, LATER, NEVER = "ok", "later", "never"


def blocks_for(tokens: int, block_size: int = 16) -> int:
    return -(-tokens // block_size)


class BlockManager:
    """GPU and CPU block pools with vLLM's checks and FastSwitch's reuse bookkeeping."""

    def __init__(
        self,
        gpu_blocks: int,
        cpu_blocks: int,
        *,
        block_size: int = 16,
        watermark: float = 0.01,
        block_groups: bool = False,
        max_group_order: int = 6,
        reuse: bool = False,
    ):
        if gpu_blocks < 1 or cpu_blocks < 0:
            raise ValueError("need at least one GPU block and >= 0 CPU blocks")
        kind = "buddy" if block_groups else "stack"
        self.gpu = make_pool(kind, gpu_blocks, max_group_order)
        self.cpu = make_pool(kind, cpu_blocks, max_group_order)
        self.num_gpu_blocks = gpu_blocks
        self.num_cpu_blocks = cpu_blocks
        self.block_size = block_size
        self.watermark_blocks = int(watermark * gpu_blocks)
        self.block_groups = block_groups
        self.reuse = reuse
        self.in_flight_gpu = 0
        self.lru: OrderedDict[int, Conversation] = OrderedDict()  # reclaimable CPU copies
        self.lru_blocks = 0  # CPU blocks held by reclaimable copies
        self.reclaimed_copies = 0
        self.reclaimed_blocks = 0

    # -- vLLM 0.3.3 checks ----------------------------------------------------------------
    def blocks_for(self, tokens: int) -> int:
        return -(-tokens // self.block_size)

    def can_allocate(self, blocks: int) -> str:
        if self.num_gpu_blocks - blocks < self.watermark_blocks:
            return NEVER
        if self.gpu.num_free - blocks >= self.watermark_blocks:
            return OK
        return LATER

    def can_append_slot(self) -> bool:
        return self.gpu.num_free >= 1

    def can_swap_in(self, req: Request) -> bool:
        need = self.blocks_for(req.conv.cpu_valid_tokens) + 1
        return self.gpu.num_free - need >= self.watermark_blocks

    # -- allocation -----------------------------------------------------------------------
    def allocate(self, req: Request, blocks: int) -> None:
        req.blocks = self.gpu.allocate(blocks)

    def append_slot(self, req: Request) -> bool:
        """Make room for the sequence's next token; True when a block was added."""
        if req.context > len(req.blocks) * self.block_size:
            self.gpu.grow(req.blocks)
            return True
        return False

    def free_gpu(self, req: Request) -> None:
        if req.blocks:
            self.gpu.free(req.blocks)
            req.blocks = []

    def release_gpu(self, blocks: list[int]) -> None:
        """Blocks whose outgoing copy completed become free."""
        self.in_flight_gpu -= len(blocks)
        self.gpu.free(blocks)

    # -- CPU copies -----------------------------------------------------------------------
    def _reclaim(self, blocks: int) -> None:
        while self.cpu.num_free < blocks and self.lru:
            _, conv = self.lru.popitem(last=False)
            self.lru_blocks -= len(conv.cpu_blocks)
            self.reclaimed_copies += 1
            self.reclaimed_blocks += len(conv.cpu_blocks)
            self.cpu.free(conv.cpu_blocks)
            conv.cpu_blocks = []
            conv.cpu_valid_tokens = 0

    def pin(self, conv: Conversation) -> None:
        """The CPU copy is the only copy or a transfer uses it: not reclaimable."""
        if self.lru.pop(conv.id, None) is not None:
            self.lru_blocks -= len(conv.cpu_blocks)

    def unpin(self, conv: Conversation) -> None:
        """The CPU copy is a clean cache (reuse): reclaimable, most recently used."""
        if conv.cpu_blocks:
            if conv.id in self.lru:
                self.lru.move_to_end(conv.id)
            else:
                self.lru[conv.id] = conv
                self.lru_blocks += len(conv.cpu_blocks)

    def drop_cpu_copy(self, conv: Conversation) -> None:
        self.pin(conv)
        if conv.cpu_blocks:
            self.cpu.free(conv.cpu_blocks)
        conv.cpu_blocks = []
        conv.cpu_valid_tokens = 0

    def cpu_copy_available(self, blocks: int, conv: Conversation) -> bool:
        """Whether a copy-out of ``blocks`` blocks of ``conv`` can get its CPU blocks
        (counting what reclaiming other clean copies would give)."""
        have = len(conv.cpu_blocks)
        extra = max(0, blocks - have) if self.reuse else blocks
        reclaimable = self.lru_blocks - (len(conv.cpu_blocks) if conv.id in self.lru else 0)
        if not self.reuse:
            reclaimable += have  # a stale copy of this conversation is replaced
        return self.cpu.num_free + reclaimable >= extra

    # -- swap plans -----------------------------------------------------------------------
    def plan_copy_out(self, req: Request, tokens: int) -> tuple[list[int], list[int]]:
        """GPU -> CPU block pairs to save the first ``tokens`` tokens of ``req``'s KV. With
        reuse only blocks not already clean on the CPU are copied. The caller checked
        :meth:`cpu_copy_available`. The CPU copy is pinned; ``cpu_valid_tokens`` is set."""
        conv = req.conv
        tokens = min(tokens, len(req.blocks) * self.block_size)  # what the blocks hold
        n = self.blocks_for(tokens)
        self.pin(conv)
        if self.reuse and conv.cpu_blocks:
            valid = conv.cpu_valid_tokens
            clean = n if valid >= tokens else valid // self.block_size
            clean = min(clean, len(conv.cpu_blocks), n)
            extra = n - len(conv.cpu_blocks)
            if extra > 0:
                self._reclaim(extra)
                conv.cpu_blocks.extend(self.cpu.allocate(extra))
        else:
            if conv.cpu_blocks:  # a stale copy (no reuse): replace it
                self.cpu.free(conv.cpu_blocks)
                conv.cpu_blocks = []
            self._reclaim(n)
            conv.cpu_blocks = self.cpu.allocate(n)
            clean = 0
        conv.cpu_valid_tokens = max(tokens, conv.cpu_valid_tokens) if self.reuse else tokens
        return req.blocks[clean:n], conv.cpu_blocks[clean:n]

    def plan_copy_in(self, req: Request, tokens: int) -> tuple[list[int], list[int]]:
        """CPU -> GPU block pairs to load the first ``tokens`` tokens of ``req``'s KV into
        its GPU blocks (allocated by the caller). The CPU copy is pinned until the caller
        calls :meth:`after_copy_in`."""
        n = self.blocks_for(tokens)
        self.pin(req.conv)
        return req.conv.cpu_blocks[:n], req.blocks[:n]

    def after_copy_in(self, conv: Conversation) -> None:
        """A copy-in finished: keep the CPU copy as a clean cache (reuse) or free it."""
        if self.reuse:
            self.unpin(conv)
        else:
            self.drop_cpu_copy(conv)

    def copies(self, src: list[int], dst: list[int]) -> int:
        """Copies per layer per K/V for these block pairs."""
        return contiguous_runs(src, dst) if self.block_groups else len(src)

    # -- reporting ------------------------------------------------------------------------
    def fragmentation(self) -> dict[str, float]:
        """Free GPU blocks by contiguous run: count of runs, mean and largest run."""
        runs = self.gpu.free_runs()
        n_runs = sum(runs.values())
        free = sum(k * v for k, v in runs.items())
        return {
            "free_blocks": float(free),
            "free_runs": float(n_runs),
            "mean_free_run_blocks": free / n_runs if n_runs else 0.0,
            "largest_free_run_blocks": float(max(runs, default=0)),
        }
