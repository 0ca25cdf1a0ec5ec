"""Multi-turn conversation workloads: a ShareGPT-like generator and a ShareGPT JSON loader.

Both emit one arrival row per turn, all at the conversation's arrival time, with columns
``conversation`` (id, 0..), ``turn`` (0..), ``user_tokens`` (the new user message),
``output_tokens`` (the answer) and ``think_s`` (the user's pause after this turn's answer
before the next turn). The engine (``llm.serving``) submits turn 0 at once and each later
turn ``think_s`` after the previous answer; a turn's prompt is the whole history plus its
user message.

``llm.sharegpt_synthetic``
    Conversations arrive as a Poisson process (``rate_per_s``). Turns per conversation:
    ``1 + geometric`` with mean ``mean_turns`` (5.5: FastSwitch's multi-round ShareGPT
    sample, [U] secondary source), capped at ``max_turns``. Tokens per turn: lognormal with
    means ``user_tokens_mean`` (161) and ``output_tokens_mean`` (338), vLLM's ShareGPT
    means (Kwon et al., SOSP'23, Fig. 11; [U]: quoted from memory in the sources), shape
    ``sigma`` [A]; each clipped to ``[min_tokens, max_*_tokens]``. A conversation ends early
    when its next turn would not fit in ``max_context_tokens`` (the model's context).
    Think time: exponential with mean ``think_time_mean_s`` [A].

``llm.sharegpt_json``
    Reads a ShareGPT JSON file (a list of ``{"id", "conversations": [{"from": "human" |
    "gpt", "value": text}, ...]}``, the format of the ShareGPT90K dumps). A turn is a human
    message followed by a gpt message; conversations with at least ``min_turns`` turns are
    kept, in file order or sampled (``sample``). Token counts come from text length:
    ``ceil(characters / chars_per_token)`` (about 4 characters per token for English with
    Llama-style tokenizers [A]; no tokenizer is bundled). Arrivals and think times as above.

Random numbers: from the workload's scope, or with ``seed`` set from a stream of that seed
(so that systems compared in one sweep serve the very same conversations).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from sim.errors import DataError
from sim.model import Params, Workload
from sim.registry import workload
from sim.rng import RandomStreams
from sim.workload import Arrivals

COLUMNS = {
    "conversation": "conversation id (0, 1, ...)",
    "turn": "turn index within the conversation",
    "user_tokens": "tokens of the new user message",
    "output_tokens": "tokens of the answer",
    "think_s": "pause after this turn's answer before the next turn",
}


def _streams(wl: Workload, seed: int | None):
    if seed is None:
        return wl.scope.rng
    fixed = RandomStreams(seed)
    return lambda name: fixed.get(f"llm.workload.{name}")


def _lognormal(rng, mean: float, sigma: float, n: int) -> np.ndarray:
    mu = math.log(mean) - sigma**2 / 2  # so that E[X] = mean
    return rng.lognormal(mu, sigma, n)


def _rows(conv_ids, turns, user, out, think, times) -> Arrivals:
    return Arrivals(
        np.asarray(times, dtype=float),
        {
            "conversation": np.asarray(conv_ids, dtype=np.int64),
            "turn": np.asarray(turns, dtype=np.int64),
            "user_tokens": np.asarray(user, dtype=np.int64),
            "output_tokens": np.asarray(out, dtype=np.int64),
            "think_s": np.asarray(think, dtype=float),
        },
    )


class _Common(Params):
    conversations: int = Field(1000, ge=1, le=10_000_000, description="conversations in all")
    rate_per_s: float = Field(1.0, gt=0, le=1e6, description="conversation arrivals per second")
    think_time_mean_s: float = Field(
        30.0, ge=0, le=1e6, description="mean pause between an answer and the next turn"
    )
    seed: int | None = Field(
        None, ge=0, le=2**63 - 1, description="fixed sample seed (default: the run's)"
    )
    batch: int = Field(4096, ge=1, le=1_000_000, description="conversations per batch")


@workload("llm.sharegpt_synthetic", "multi-turn conversations with ShareGPT-like statistics")
class ShareGPTSynthetic(Workload):
    columns = COLUMNS

    class Params(_Common):
        mean_turns: float = Field(5.5, ge=1, le=1000, description="mean turns per conversation")
        max_turns: int = Field(40, ge=1, le=10_000, description="turns cap")
        user_tokens_mean: float = Field(161.0, gt=0, le=1e6, description="mean user tokens/turn")
        output_tokens_mean: float = Field(338.0, gt=0, le=1e6, description="mean answer tokens")
        sigma: float = Field(1.0, ge=0, le=5, description="lognormal shape of token counts")
        min_tokens: int = Field(4, ge=1, le=1_000_000, description="shortest message")
        max_user_tokens: int = Field(1024, ge=1, le=1_000_000, description="longest user message")
        max_output_tokens: int = Field(1024, ge=1, le=1_000_000, description="longest answer")
        max_context_tokens: int = Field(8192, ge=2, le=10_000_000, description="model context")

        @model_validator(mode="after")
        def _order(self):
            if self.min_tokens > min(self.max_user_tokens, self.max_output_tokens):
                raise ValueError("min_tokens exceeds max_user_tokens or max_output_tokens")
            return self

    def batches(self) -> Iterator[Arrivals]:
        p = self.params
        rng = _streams(self, p.seed)
        r_arr, r_turns, r_len, r_think = rng("arrivals"), rng("turns"), rng("lengths"), rng("think")
        t = 0.0
        cid = 0
        while cid < p.conversations:
            n = min(p.batch, p.conversations - cid)
            times = t + np.cumsum(r_arr.exponential(1.0 / p.rate_per_s, n))
            t = float(times[-1])
            turns = np.minimum(r_turns.geometric(1.0 / p.mean_turns, n), p.max_turns)
            total = int(turns.sum())
            user = np.clip(np.rint(_lognormal(r_len, p.user_tokens_mean, p.sigma, total)),
                           p.min_tokens, p.max_user_tokens).astype(np.int64)  # fmt: skip
            out = np.clip(np.rint(_lognormal(r_len, p.output_tokens_mean, p.sigma, total)),
                          p.min_tokens, p.max_output_tokens).astype(np.int64)  # fmt: skip
            think = r_think.exponential(p.think_time_mean_s, total) if p.think_time_mean_s else np.zeros(total)
            rows = ([], [], [], [], [], [])
            k = 0
            for j in range(n):
                context = 0
                for turn in range(int(turns[j])):
                    u, o = int(user[k + turn]), int(out[k + turn])
                    if context + u + o > p.max_context_tokens:
                        break
                    context += u + o
                    for col, v in zip(rows, (cid + j, turn, u, o, think[k + turn], times[j]),
                                      strict=True):  # fmt: skip
                        col.append(v)
                k += int(turns[j])
            cid += n
            yield _rows(*rows)


@workload("llm.sharegpt_json", "multi-turn conversations read from a ShareGPT JSON file")
class ShareGPTJSON(Workload):
    columns = COLUMNS

    class Params(_Common):
        path: str = Field(min_length=1, max_length=4096, description="ShareGPT JSON file")
        min_turns: int = Field(1, ge=1, le=10_000, description="keep conversations this long")
        chars_per_token: float = Field(4.0, gt=0, le=100, description="text length per token")
        sample: Literal["first", "random"] = Field("first", description="which conversations")
        max_context_tokens: int = Field(8192, ge=2, le=10_000_000, description="model context")

    def _read(self) -> list[list[tuple[int, int]]]:
        p = self.params
        path = self.context.resolve(p.path)
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DataError(f"no ShareGPT file {path}") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DataError(f"{path}: not a JSON file ({exc})") from None
        if not isinstance(data, list):
            raise DataError(f"{path}: expected a list of conversations")
        convs = []
        for i, item in enumerate(data):
            msgs = item.get("conversations") if isinstance(item, dict) else None
            if not isinstance(msgs, list):
                raise DataError(f"{path}: conversation {i} has no 'conversations' list")
            turns = []
            human = None
            context = 0
            for j, m in enumerate(msgs):
                if not isinstance(m, dict) or "from" not in m or "value" not in m:
                    raise DataError(f"{path}: conversation {i}, message {j}: needs 'from' and 'value'")
                text = m["value"] if isinstance(m["value"], str) else str(m["value"])
                tokens = max(1, math.ceil(len(text) / p.chars_per_token))
                if m["from"] in ("human", "user"):
                    human = tokens if human is None else human + tokens
                elif m["from"] in ("gpt", "assistant", "chatgpt", "bard", "bing") and human is not None:
                    if context + human + tokens > p.max_context_tokens:
                        break
                    context += human + tokens
                    turns.append((human, tokens))
                    human = None
            if len(turns) >= p.min_turns:
                convs.append(turns)
        if not convs:
            raise DataError(f"{path}: no conversation with at least {p.min_turns} turns")
        return convs

    def batches(self) -> Iterator[Arrivals]:
        p = self.params
        convs = self._read()
        rng = _streams(self, p.seed)
        if p.sample == "random":
            idx = rng("sample").permutation(len(convs))[: p.conversations]
            convs = [convs[i] for i in idx]
        else:
            convs = convs[: p.conversations]
        times = np.cumsum(rng("arrivals").exponential(1.0 / p.rate_per_s, len(convs)))
        total = sum(len(c) for c in convs)
        think = rng("think").exponential(p.think_time_mean_s, total) if p.think_time_mean_s else np.zeros(total)
        rows = ([], [], [], [], [], [])
        k = 0
        for cid, turns in enumerate(convs):
            for turn, (u, o) in enumerate(turns):
                for col, v in zip(rows, (cid, turn, u, o, think[k], times[cid]), strict=True):
                    col.append(v)
                k += 1
        yield _rows(*rows)
