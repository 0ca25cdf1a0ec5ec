"""Precomputed priority traces for fairness-aware serving experiments.

What it models
    FastSwitch evaluates context switching with synthetic priority traces, since no public
    trace of priority changes in LLM services exists; two patterns, *Random* and *Markov*,
    with an update frequency per iteration (0.04 for the Llama setup, 0.02 for Qwen)
    ([U]: secondary summary of the paper). The exact rules are not published; this project
    fixes them as follows [A] (models/llm/NOTES.md):

    * an *update* happens at an engine iteration with probability ``update_frequency``,
      drawn independently per iteration index;
    * at each update every conversation takes its next priority level, an integer in
      ``0 .. levels-1`` (0 = most important);
    * ``random``: levels are drawn uniformly and independently at every update;
    * ``markov``: a conversation's level moves to a neighbour (one up or one down, reflected
      at the ends) with probability ``markov_move`` at each update, else stays; the first
      level is uniform.

    The trace is a function of (conversation id, update index) and (iteration index) only,
    drawn from its own random streams in blocks, so every system under comparison sees the
    same priorities at the same iteration index, whatever it does.
"""

from __future__ import annotations

import numpy as np

PATTERNS = ("random", "markov")


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
    ):
        if pattern not in PATTERNS:
            raise ValueError(f"unknown priority pattern {pattern!r}; known: {PATTERNS}")
        if not 0 <= update_frequency <= 1:
            raise ValueError("update_frequency must be in [0, 1]")
        if levels < 1:
            raise ValueError("levels must be >= 1")
        self.pattern = pattern
        self.f = update_frequency
        self.levels = levels
        self.markov_move = markov_move
        self._rng_u = rng_updates
        self._rng_l = rng_levels
        self._block = block
        self._updates = np.zeros(0, dtype=bool)
        self._table = np.zeros((0, 0), dtype=np.int16)  # rows: conversations, cols: updates
        self._rows = conversations
        self._grow_updates(block)
        self._grow_levels(block)

    def _grow_updates(self, n: int) -> None:
        self._updates = np.concatenate([self._updates, self._rng_u.random(n) < self.f])

    def _grow_levels(self, epochs: int) -> None:
        """Extend the table by ``epochs`` columns for ``self._rows`` conversations. Columns
        are drawn per block of epochs for the fixed row count, so a conversation's levels
        never depend on how far the table was grown before."""
        rows, lv = self._rows, self.levels
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

    def updated_at(self, iteration: int) -> bool:
        """Whether priorities are redrawn at engine iteration ``iteration``."""
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
