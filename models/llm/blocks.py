"""Physical KV-cache block pools: vLLM's stack free list and a buddy allocator of block groups.

What it models
    A pool hands out block ids ``0 .. n-1`` (one block = ``block_size`` tokens of K and V in
    every layer). A request's allocation is a list of ids in logical order.

    * :class:`StackBlockPool` is vLLM 0.3.3's allocator: the free list is a stack, built as
      ``[0, 1, ..., n-1]``; allocation pops the most recently freed block (initially the
      highest id) and freeing pushes blocks back in the order given. After some churn a
      request's blocks are scattered: physically adjacent runs are rare (vLLM 0.3.3
      ``core/block_manager.py``, ``BlockAllocator``).
    * :class:`BuddyBlockPool` is FastSwitch's block-group manager as this project models it
      [A]: a binary buddy allocator over block ids with groups of ``2**k`` blocks,
      ``k <= max_order``. ``allocate(n)`` takes the binary decomposition of ``n`` largest
      group first (a group of the wanted order if one is free, splitting a larger one if not,
      falling back to smaller orders when memory is fragmented); ``grow`` extends a request
      by the block right after its last one when that block is free (so decode growth stays
      contiguous), else by a free order-0 block; ``free`` returns each group and merges
      buddies. Block size (16 tokens) is unchanged, so attention kernels see the same
      block tables.

    :func:`contiguous_runs` counts the copies a block-group swap needs: maximal runs where
    both the source and the destination ids advance by one.

What it leaves out
    Reference counts (prefix sharing), copy-on-write, and the exact order in which vLLM
    frees a request's blocks (a Python set of block objects; here: logical order).

Units: blocks (ids and counts).
"""

from __future__ import annotations

import numpy as np


class StackBlockPool:
    """vLLM 0.3.3's block allocator: a LIFO free list."""

    kind = "stack"

    def __init__(self, num_blocks: int):
        if num_blocks < 0:
            raise ValueError("num_blocks must be >= 0")
        self.num_blocks = num_blocks
        self._free = list(range(num_blocks))

    @property
    def num_free(self) -> int:
        return len(self._free)

    def allocate(self, n: int) -> list[int]:
        """Pop ``n`` blocks (the caller checked ``num_free``)."""
        if n > len(self._free):
            raise MemoryError(f"{n} blocks asked, {len(self._free)} free")
        if n <= 0:
            return []
        free = self._free
        out = free[-n:]
        out.reverse()
        del free[-n:]
        return out

    def grow(self, blocks: list[int]) -> int:
        """Append one block to ``blocks``; return its id."""
        if not self._free:
            raise MemoryError("no free block")
        b = self._free.pop()
        blocks.append(b)
        return b

    def free(self, blocks: list[int]) -> None:
        self._free.extend(blocks)

    def free_runs(self) -> dict[int, int]:
        """Free blocks grouped by the length of the physically contiguous run they are in:
        ``{run_length: number_of_runs}`` (fragmentation)."""
        return _runs_of(sorted(self._free))


class BuddyBlockPool:
    """Block groups: a binary buddy allocator over block ids (groups of up to
    ``2**max_order`` blocks)."""

    kind = "buddy"

    def __init__(self, num_blocks: int, max_order: int = 6):
        if num_blocks < 0:
            raise ValueError("num_blocks must be >= 0")
        if not 0 <= max_order <= 20:
            raise ValueError("max_order must be in 0..20")
        self.num_blocks = num_blocks
        self.max_order = max_order
        self._free_by_order: list[dict[int, None]] = [{} for _ in range(max_order + 1)]
        self._free_order: dict[int, int] = {}  # start of a free group -> its order
        self._group_order: dict[int, int] = {}  # start of an allocated group -> its order
        self._num_free = 0
        start = 0
        while start < num_blocks:  # cover [0, n) with maximal aligned groups
            k = max_order
            while k > 0 and (start % (1 << k) or start + (1 << k) > num_blocks):
                k -= 1
            self._add_free(start, k)
            start += 1 << k

    @property
    def num_free(self) -> int:
        return self._num_free

    def _add_free(self, start: int, k: int) -> None:
        self._free_by_order[k][start] = None
        self._free_order[start] = k
        self._num_free += 1 << k

    def _remove_free(self, start: int, k: int) -> None:
        del self._free_by_order[k][start]
        del self._free_order[start]
        self._num_free -= 1 << k

    def _take(self, k: int) -> int | None:
        """A free group of order ``k`` (splitting a larger one), or None."""
        for j in range(k, self.max_order + 1):
            groups = self._free_by_order[j]
            if groups:
                start = next(reversed(groups))  # most recently freed first
                self._remove_free(start, j)
                while j > k:
                    j -= 1
                    self._add_free(start + (1 << j), j)
                return start
        return None

    def allocate(self, n: int) -> list[int]:
        if n > self._num_free:
            raise MemoryError(f"{n} blocks asked, {self._num_free} free")
        out: list[int] = []
        remaining = n
        free_by_order = self._free_by_order
        top = self.max_order
        while remaining > 0:
            k = min(top, remaining.bit_length() - 1)
            j = k
            while j <= top and not free_by_order[j]:
                j += 1
            if j > top:  # fragmented: the largest free group below the wanted order
                j = k - 1
                while not free_by_order[j]:
                    j -= 1
                k = j
            groups = free_by_order[j]
            start = next(reversed(groups))  # most recently freed first
            self._remove_free(start, j)
            while j > k:
                j -= 1
                self._add_free(start + (1 << j), j)
            self._group_order[start] = k
            out.extend(range(start, start + (1 << k)))
            remaining -= 1 << k
        return out

    def _take_block(self, b: int) -> bool:
        """Take the specific block ``b`` if it is free (splitting its free group)."""
        if not 0 <= b < self.num_blocks:
            return False
        for k in range(self.max_order + 1):
            start = b & ~((1 << k) - 1)
            if self._free_order.get(start) == k:
                self._remove_free(start, k)
                while k > 0:
                    k -= 1
                    half = 1 << k
                    if b < start + half:
                        self._add_free(start + half, k)
                    else:
                        self._add_free(start, k)
                        start += half
                self._group_order[b] = 0
                return True
        return False

    def grow(self, blocks: list[int]) -> int:
        if blocks and self._take_block(blocks[-1] + 1):
            b = blocks[-1] + 1
        else:
            b = self._take(0)
            if b is None:
                raise MemoryError("no free block")
            self._group_order[b] = 0
        blocks.append(b)
        return b

    def free(self, blocks: list[int]) -> None:
        i, n = 0, len(blocks)
        while i < n:
            start = blocks[i]
            k = self._group_order.pop(start)
            i += 1 << k
            while k < self.max_order:  # merge with the buddy while it is free
                buddy = start ^ (1 << k)
                if self._free_order.get(buddy) != k:
                    break
                self._remove_free(buddy, k)
                start = min(start, buddy)
                k += 1
            self._add_free(start, k)

    def free_runs(self) -> dict[int, int]:
        blocks = sorted(b for s, k in self._free_order.items() for b in range(s, s + (1 << k)))
        return _runs_of(blocks)

    def free_groups_by_order(self) -> list[int]:
        """Number of free groups of each order (fragmentation)."""
        return [len(g) for g in self._free_by_order]


def _runs_of(sorted_ids: list[int]) -> dict[int, int]:
    out: dict[int, int] = {}
    run = 0
    prev = None
    for b in sorted_ids:
        if prev is not None and b == prev + 1:
            run += 1
        else:
            if run:
                out[run] = out.get(run, 0) + 1
            run = 1
        prev = b
    if run:
        out[run] = out.get(run, 0) + 1
    return out


def contiguous_runs(src: list[int], dst: list[int]) -> int:
    """Copies needed to move blocks ``src[i] -> dst[i]`` when each copy may cover a run of
    blocks contiguous on both sides."""
    n = len(src)
    if n < 2:
        return n
    s = np.fromiter(src, dtype=np.int64, count=n)
    d = np.fromiter(dst, dtype=np.int64, count=n)
    return 1 + int(np.count_nonzero((s[1:] - s[:-1] != 1) | (d[1:] - d[:-1] != 1)))


def make_pool(kind: str, num_blocks: int, max_order: int = 6):
    if kind == "stack":
        return StackBlockPool(num_blocks)
    if kind == "buddy":
        return BuddyBlockPool(num_blocks, max_order)
    raise ValueError(f"unknown pool kind {kind!r}")
