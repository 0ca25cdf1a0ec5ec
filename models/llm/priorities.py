"""Precomputed priority traces for fairness-aware serving experiments.

What it models
    FastSwitch evaluates context switching with synthetic priority traces, since no public
    trace of priority changes in LLM services exists; two patterns, *Random* and *Markov*,
    with an update frequency per iteration (0.04 for the Llama setup, 0.02 for Qwen)
    ([U]: secondary summary of the paper). The exact rules are not published; this project
    fixes them as follows [A] (models/llm/NOTES.md):

    * update rule ``global`` (the default): an *update* happens at an engine iteration with
      probability ``update_frequency``, drawn independently per iteration index, and at
      each update every conversation takes its next priority level, an integer in
      ``0 .. levels-1`` (0 = most important): a priority change reshuffles every
      conversation at once (a preemption storm);
    * update rule ``per_conversation``: each conversation updates on its own, with
      probability ``update_frequency`` at every iteration (geometric gaps between its
      updates), so the same mean rate of changes per conversation is spread over time;
    * ``random``: levels are drawn uniformly and independently at every update;
    * ``markov``: a conversation's level moves to a neighbour (one up or one down, reflected
      at the ends) with probability ``markov_move`` at each update, else stays; the first
      level is uniform.

    The trace is a function of (conversation id, update index) and (iteration index) only,
    drawn from its own random streams in blocks, so every system under comparison sees the
    same priorities at the same iteration index, whatever it does. The rule and the number
    of levels are assumptions; ``experiments/fastswitch/sensitivity_priority_update.yaml``
    and ``sensitivity_levels.yaml`` show what they change.
"""

from __future__ import annotations

import heapq

import numpy as np

PATTERNS = ("random", "markov")
RULES = ("global", "per_conversation")


class PriorityTrace:
    """Priority level of conversation ``c`` after update ``e``: ``level(c, e)``."""

    def __init__(
        self,
        pattern: str,
        update_frequency: float,
        levels: int,
        rng_updates: np.random.Generator,
        rng_levels: np.random.Generator,
        *,
        markov_move: float = 0.5,
        conversations: int = 1024,
        block: int = 256,
        rule: str = "global",
        rng_gaps: np.random.Generator | None = None,
    ):
        if pattern not in PATTERNS:
            raise ValueError(f"unknown priority pattern {pattern!r}; known: {PATTERNS}")
        if rule not in RULES:
            raise ValueError(f"unknown priority update rule {rule!r}; known: {RULES}")
        if rule == "per_conversation" and rng_gaps is None:
            raise ValueError("the per_conversation rule needs a random stream for its gaps")
        if not 0 <= update_frequency <= 1:
            raise ValueError("update_frequency must be in [0, 1]")
        if levels < 1:
            raise ValueError("levels must be >= 1")
        self.pattern = pattern
        self.f = update_frequency
        self.num_levels = levels
        self.markov_move = markov_move
        self._rng_u = rng_updates
        self._rng_l = rng_levels
        self._block = block
        self._updates = np.zeros(0, dtype=bool)
        self._table = np.zeros((0, 0), dtype=np.int16)  # rows: conversations, cols: updates
        self._rows = conversations
        self.rule = rule
        self._grow_updates(block)
        self._grow_levels(block)
        self.epoch = 0  # global rule: updates so far
        self.current: list[int] = self.column(0)  # every conversation's level now
        if rule == "per_conversation":
            self._rng_g = rng_gaps
            self._gaps = np.zeros((conversations, 0), dtype=np.int32)
            self._epochs = [0] * conversations
            self._heap: list[tuple[int, int]] = []
            if update_frequency > 0:
                self._grow_gaps(block)
                self._heap = [(int(g), c) for c, g in enumerate(self._gaps[:, 0])]
                heapq.heapify(self._heap)

    def _grow_gaps(self, n: int) -> None:
        """Iterations between a conversation's updates (geometric, >= 1), ``n`` more per
        conversation, drawn for every row at once (independent of the run's length)."""
        new = self._rng_g.geometric(self.f, size=(self._rows, n)).astype(np.int32)
        self._gaps = np.concatenate([self._gaps, new], axis=1)

    def _grow_updates(self, n: int) -> None:
        self._updates = np.concatenate([self._updates, self._rng_u.random(n) < self.f])

    def _grow_levels(self, epochs: int) -> None:
        """Extend the table by ``epochs`` columns for ``self._rows`` conversations. Columns
        are drawn per block of epochs for the fixed row count, so a conversation's levels
        never depend on how far the table was grown before."""
        rows, lv = self._rows, self.num_levels
        if self.pattern == "random":
            new = self._rng_l.integers(0, lv, size=(rows, epochs), dtype=np.int16)
        else:
            new = np.empty((rows, epochs), dtype=np.int16)
            prev = (
                self._table[:, -1].astype(np.int64)
                if self._table.shape[1]
                else self._rng_l.integers(0, lv, size=rows)
            )
            moves = self._rng_l.random((rows, epochs)) < self.markov_move
            ups = self._rng_l.random((rows, epochs)) < 0.5
            for e in range(epochs):
                step = np.where(moves[:, e], np.where(ups[:, e], 1, -1), 0)
                nxt = prev + step
                nxt = np.where(nxt < 0, 1, nxt)
                nxt = np.where(nxt >= lv, lv - 2, nxt) if lv > 1 else np.zeros_like(nxt)
                new[:, e] = nxt
                prev = nxt
        self._table = np.concatenate([self._table, new], axis=1) if self._table.size else new

    def advance(self, iteration: int) -> bool:
        """Apply the updates due at engine iteration ``iteration`` (called once per
        iteration, in order) to :attr:`current`; True when some conversation's level
        changed."""
        if self.rule == "global":
            if self.updated_at(iteration):
                self.epoch += 1
                new = self.column(self.epoch)
                changed = new != self.current
                self.current = new
                return changed
            return False
        heap = self._heap
        if not heap or heap[0][0] > iteration:
            return False
        epochs, levels = self._epochs, self.current
        changed = False
        while heap and heap[0][0] <= iteration:
            at, c = heapq.heappop(heap)
            e = epochs[c] + 1
            epochs[c] = e
            while e >= self._table.shape[1]:
                self._grow_levels(self._block)
            while e >= self._gaps.shape[1]:
                self._grow_gaps(self._block)
            new = int(self._table[c, e])
            if new != levels[c]:
                levels[c] = new
                changed = True
            heapq.heappush(heap, (at + int(self._gaps[c, e]), c))
        return changed

    def updated_at(self, iteration: int) -> bool:
        """Whether priorities are redrawn at engine iteration ``iteration`` (global rule)."""
        while iteration >= self._updates.size:
            self._grow_updates(self._block)
        return bool(self._updates[iteration])

    def column(self, epoch: int) -> list[int]:
        """Every conversation's level after update ``epoch``, as a list."""
        while epoch >= self._table.shape[1]:
            self._grow_levels(self._block)
        return self._table[:, epoch].tolist()

    def level(self, conversation: int, epoch: int) -> int:
        if conversation >= self._rows:
            raise IndexError(
                f"conversation {conversation} beyond the trace's {self._rows} conversations"
            )
        while epoch >= self._table.shape[1]:
            self._grow_levels(self._block)
        return int(self._table[conversation, epoch])
