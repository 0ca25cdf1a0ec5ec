"""Requests and conversations of an LLM serving engine.

A *conversation* is a sequence of turns (a user message, then the assistant's answer). Each
turn is a *request* to the engine (vLLM's sequence group with one sequence): its prompt is
the whole history plus the new user message, and its output the answer. The KV cache of a
conversation is a prefix that only grows, so a CPU copy of the first ``cpu_valid_tokens``
tokens stays valid across preemptions and turns (what FastSwitch's KV reuse exploits).

State names follow vLLM 0.3.3 (WAITING, RUNNING, SWAPPED, FINISHED) plus the transfer states
of asynchronous swapping (SWAPPING_OUT, SWAPPING_IN) and LOADING (a new turn's history is
being copied in before its prefill).
"""

from __future__ import annotations

WAITING, RUNNING, SWAPPED, SWAPPING_OUT, SWAPPING_IN, LOADING, FINISHED = range(7)
STATE_NAMES = ("waiting", "running", "swapped", "swapping_out", "swapping_in", "loading",
               "finished")  # fmt: skip


class Conversation:
    """A conversation: its turns and what of its KV cache lives on the CPU."""

    __slots__ = ("id", "client", "user_tokens", "output_tokens", "think_s", "next_turn",
                 "tokens", "cpu_blocks", "cpu_valid_tokens", "cpu_busy", "request")  # fmt: skip

    def __init__(self, cid: int, user_tokens, output_tokens, think_s, client: int = 0):
        self.id = cid
        self.client = client
        self.user_tokens = list(user_tokens)
        self.output_tokens = list(output_tokens)
        self.think_s = list(think_s)
        self.next_turn = 0
        self.tokens = 0  # tokens of the finished turns (the history of the next turn)
        self.cpu_blocks: list[int] = []  # CPU copy of the first cpu_valid_tokens tokens
        self.cpu_valid_tokens = 0
        self.cpu_busy = False  # a transfer reads or writes the CPU copy now
        self.request: Request | None = None

    @property
    def turns(self) -> int:
        return len(self.user_tokens)


class Request:
    """One turn of a conversation, as the engine sees it."""

    __slots__ = (
        "id", "conv", "turn", "arrival_s", "prompt_tokens", "history_tokens",
        "output_tokens", "generated", "state", "blocks", "prefix_tokens", "recomputes",
        "first_token_s", "last_token_s", "finish_s", "preemptions", "preempted_at",
        "stall_s", "swap_bytes", "ready", "key_cache",
    )  # fmt: skip

    def __init__(self, rid: int, conv: Conversation, turn: int, arrival_s: float,
                 history_tokens: int, user_tokens: int, output_tokens: int):  # fmt: skip
        self.id = rid
        self.conv = conv
        self.turn = turn
        self.arrival_s = arrival_s
        self.history_tokens = history_tokens
        self.prompt_tokens = history_tokens + user_tokens
        self.output_tokens = output_tokens
        self.generated = 0
        self.state = WAITING
        self.blocks: list[int] = []
        self.prefix_tokens = 0  # tokens loaded from the CPU instead of prefilled
        self.recomputes = 0
        self.first_token_s = -1.0
        self.last_token_s = -1.0
        self.finish_s = -1.0
        self.preemptions = 0
        self.preempted_at = -1.0
        self.stall_s = 0.0
        self.swap_bytes = 0.0
        self.ready = True  # False while a transfer of this request is in flight
        self.key_cache = None

    @property
    def context(self) -> int:
        """Tokens of the sequence (prompt plus generated): vLLM's ``seq.get_len()``."""
        return self.prompt_tokens + self.generated

    def __repr__(self) -> str:
        return (f"Request({self.id}, conv={self.conv.id}, turn={self.turn}, "
                f"state={STATE_NAMES[self.state]}, ctx={self.context})")  # fmt: skip
