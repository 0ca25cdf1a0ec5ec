"""Iteration time of an LLM serving engine: one forward pass over a batch, from kernels.

What it models
    One iteration (engine step) of a decoder-only Transformer on one GPU of a
    tensor-parallel group, as the sum of its kernels (:mod:`sim_models.hw.kernels`):

    * ``linear_s``: per layer, the four GEMMs (fused Q/K/V, output projection, fused
      gate+up, down) with ``m`` = every token of the iteration (prompt tokens being
      prefilled plus one per decoding sequence); the kernel is chosen by shape;
    * ``attention_s``: per layer, a prefill kernel (FLOPs of the causal (query, key) pairs,
      including a cached prefix, at the attention kernel's achievable rate; bytes of Q, K, V,
      O and the prefix's KV) and a decode kernel (bytes: every decoding sequence's KV context
      read once, the PagedAttention pattern; FLOPs: its (query, key) pairs);
    * ``other_s``: per layer, the small memory-bound kernels (two RMSNorms, rotary embedding,
      the gated activation, a residual add), plus the token embedding and the final norm;
    * ``lm_head_s``: the logits GEMM for the last token of each sequence (vLLM computes
      logits only where a token is sampled);
    * ``comm_s``: with ``tp > 1``, two ring all-reduces of the activations per layer
      (alpha-beta closed form over the given link);
    * ``overhead_s``: a fixed per-iteration CPU cost (scheduling, input preparation,
      sampling and output processing).

    ``total_s`` is the sum: the kernels of one iteration run back to back on one stream.

What it leaves out
    CUDA-graph launch savings, kernel overlap, the sampler's kernels, prefill padding
    (vLLM 0.3.3 pads prompts to the batch's longest; the scheduler bounds it), and power or
    clock effects.

Where its numbers come from
    Spec sheets and kernel efficiencies from the hardware catalog (the efficiency's own
    sources say how each was fitted, on a model other than the one validated here). The
    linear part is validated against Vidur's measured Llama-3-8B/A100 profile
    (:mod:`sim_models.llm.validation`, ``docs/figures/llm_step_time_validation.png``).
    ``overhead_s`` = 2 ms is an assumption [A] (models/llm/NOTES.md), with its sensitivity
    a parameter of every experiment.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from sim_models.hw.catalog import gpu as gpu_spec
from sim_models.hw.catalog import kernel_efficiency, link, transformer
from sim_models.hw.kernels import (
    KernelEfficiency,
    gemm_kernel,
    gemm_time_s,
    roofline_kernel_s,
    stream_kernel_s,
)
from sim_models.hw.specs import DTYPE_BYTES, GPUSpec, TransformerSpec

#: Fixed CPU cost of one engine iteration [A] (NOTES.md).
DEFAULT_OVERHEAD_S = 2e-3


@dataclass(frozen=True)
class StepTime:
    """One iteration's time by part (seconds)."""

    linear_s: float
    attention_s: float
    other_s: float
    lm_head_s: float
    comm_s: float
    overhead_s: float

    @property
    def total_s(self) -> float:
        return (
            self.linear_s + self.attention_s + self.other_s + self.lm_head_s + self.comm_s
            + self.overhead_s
        )  # fmt: skip

    def as_dict(self) -> dict[str, float]:
        out = asdict(self)
        out["total_s"] = self.total_s
        return out


class StepCostModel:
    """Iteration time of ``model`` on ``gpu`` with tensor-parallel degree ``tp``.

    The linear-layer time depends only on the iteration's token count; it is tabulated once
    for 1..``table_tokens`` tokens (vectorised), so :meth:`step_s` costs a few
    microseconds of Python.
    """

    def __init__(
        self,
        model: str | TransformerSpec,
        gpu: str | GPUSpec,
        *,
        tp: int = 1,
        efficiency: KernelEfficiency | None = None,
        overhead_s: float = DEFAULT_OVERHEAD_S,
        dtype: str = "fp16",
        tp_link: str | None = None,
        table_tokens: int = 16384,
    ):
        self.model = transformer(model) if isinstance(model, str) else model
        self.gpu = gpu_spec(gpu) if isinstance(gpu, str) else gpu
        self.eff = efficiency if efficiency is not None else kernel_efficiency(self.gpu.name)
        if not 1 <= tp <= 64:
            raise ValueError(f"tp must be in 1..64, got {tp}")
        self.tp = tp
        self.layers_shapes = self.model.linear_layers(tp)
        self.dtype = dtype
        self.b = DTYPE_BYTES[dtype]
        if overhead_s < 0:
            raise ValueError("overhead_s must be >= 0")
        self.overhead_s = overhead_s
        self.tp_link = link(tp_link or ("pcie4_x16" if self.gpu.name == "a10" else "nvlink3"))
        m = self.model
        L = m.layers
        self.kv_bytes_per_token_layer = m.kv_bytes_per_token_per_layer(self.b, tp)
        heads = m.heads // tp
        self._q_bytes_per_token = (heads + 2 * m.kv_heads_per_gpu(tp)) * m.head_dim * self.b
        self._o_bytes_per_token = heads * m.head_dim * self.b
        # small kernels per layer (bytes per token): 2 RMSNorm (read + write hidden), rotary
        # (read + write q and k), activation (read gate+up, write ffn), residual add (2 in, 1 out)
        h, f = m.hidden, m.ffn // tp
        rope = (heads + m.kv_heads_per_gpu(tp)) * m.head_dim
        act = (3 if m.gated_ffn else 2) * f
        self._small_bytes_per_token = [2 * h * self.b, 2 * h * self.b, 2 * rope * self.b,
                                       act * self.b, 3 * h * self.b]  # fmt: skip
        self._attn_rate = self.eff.attention_flops(self.gpu, dtype)
        self._bw = self.eff.bandwidth_Bps(self.gpu)
        self._floor = self.eff.kernel_floor_s
        # tabulated linear time for 0..table_tokens tokens
        tokens = np.arange(1, table_tokens + 1)
        per_layer = sum(gemm_time_s(tokens, n, k, self.gpu, self.eff, dtype)
                        for _, n, k in self.layers_shapes)  # fmt: skip
        self._linear = np.concatenate([[0.0], L * per_layer]).tolist()
        # decode attention: per layer floor + bytes/bw (memory-bound for every length met)
        self._L = L
        self._other_cache: dict[int, float] = {}
        self._lm_cache: dict[int, float] = {}

    # -- parts ----------------------------------------------------------------------------
    def linear_s(self, tokens: int) -> float:
        """The four GEMMs of every layer for an iteration of ``tokens`` tokens."""
        if tokens <= 0:
            return 0.0
        if tokens < len(self._linear):
            return self._linear[tokens]
        return self._L * sum(
            gemm_kernel(tokens, n, k, self.gpu, self.eff, self.dtype).time_s
            for _, n, k in self.layers_shapes
        )

    def _small_s(self, tokens: int) -> float:
        if tokens <= 0:
            return 0.0
        per_layer = sum(stream_kernel_s(tokens * bpt, self.gpu, self.eff)
                        for bpt in self._small_bytes_per_token)  # fmt: skip
        m = self.model
        edge = stream_kernel_s(tokens * m.hidden * self.b, self.gpu, self.eff)  # embedding
        edge += stream_kernel_s(2 * tokens * m.hidden * self.b, self.gpu, self.eff)  # final norm
        return self._L * per_layer + edge

    def other_s(self, tokens: int) -> float:
        """Norms, rotary embedding, activation, residual adds, embedding, final norm."""
        t = self._other_cache.get(tokens)
        if t is None:
            t = self._other_cache[tokens] = self._small_s(tokens)
        return t

    def lm_head_s(self, sampled: int) -> float:
        """The logits GEMM for ``sampled`` sequences (memoised per count)."""
        if sampled <= 0:
            return 0.0
        t = self._lm_cache.get(sampled)
        if t is None:
            m = self.model
            t = gemm_kernel(sampled, m.vocab // self.tp, m.hidden, self.gpu, self.eff,
                            self.dtype).time_s  # fmt: skip
            self._lm_cache[sampled] = t
        return t

    def prefill_attention_s(self, tokens: int, pairs: float, prefix_tokens: int = 0) -> float:
        """Attention of a prefill of ``tokens`` new tokens forming ``pairs`` (query, key)
        pairs (:func:`sim_models.hw.specs.causal_pairs`), reading ``prefix_tokens`` of cached
        KV."""
        if tokens <= 0:
            return 0.0
        flops = self.model.attention_flops_per_layer(pairs, self.tp)
        nbytes = (tokens * (self._q_bytes_per_token + self._o_bytes_per_token)
                  + prefix_tokens * self.kv_bytes_per_token_layer)  # fmt: skip
        return self._L * roofline_kernel_s(flops, nbytes, self.gpu, self.eff,
                                           flops_per_s=self._attn_rate)  # fmt: skip

    def decode_attention_s(self, seqs: int, context_tokens: int) -> float:
        """Attention of ``seqs`` decoding sequences over ``context_tokens`` tokens of KV in
        all (each sequence's context includes its new token)."""
        if seqs <= 0:
            return 0.0
        flops = self.model.attention_flops_per_layer(context_tokens, self.tp)
        nbytes = (context_tokens * self.kv_bytes_per_token_layer
                  + seqs * (self._q_bytes_per_token + self._o_bytes_per_token))  # fmt: skip
        return self._L * roofline_kernel_s(flops, nbytes, self.gpu, self.eff,
                                           flops_per_s=self._attn_rate)  # fmt: skip

    def comm_s(self, tokens: int) -> float:
        if self.tp == 1 or tokens <= 0:
            return 0.0
        from sim_models.hw.collectives import closed_form  # imported late: pulls in the flow solver

        nbytes = tokens * self.model.hidden * self.b
        ln = self.tp_link
        return 2 * self._L * closed_form.ring_allreduce_time(self.tp, nbytes, ln.effective_Bps,
                                                             ln.latency_s)  # fmt: skip

    # -- one iteration --------------------------------------------------------------------
    def step(
        self,
        *,
        prefill_tokens: int = 0,
        prefill_pairs: float | None = None,
        prefill_seqs: int | None = None,
        prefix_tokens: int = 0,
        decode_seqs: int = 0,
        context_tokens: int = 0,
    ) -> StepTime:
        """One iteration by part. ``prefill_pairs`` defaults to one causal prompt of
        ``prefill_tokens``; ``prefill_seqs`` to 1 when there are prefill tokens."""
        if min(prefill_tokens, prefix_tokens, decode_seqs, context_tokens) < 0:
            raise ValueError("token and sequence counts must be >= 0")
        if decode_seqs and context_tokens < decode_seqs:
            raise ValueError("context_tokens must count at least one token per decoding sequence")
        if prefill_seqs is None:
            prefill_seqs = 1 if prefill_tokens else 0
        if prefill_pairs is None:
            prefill_pairs = prefill_tokens * prefix_tokens + prefill_tokens * (prefill_tokens + 1) / 2
        tokens = prefill_tokens + decode_seqs
        return StepTime(
            linear_s=self.linear_s(tokens),
            attention_s=self.prefill_attention_s(prefill_tokens, prefill_pairs, prefix_tokens)
            + self.decode_attention_s(decode_seqs, context_tokens),
            other_s=self.other_s(tokens),
            lm_head_s=self.lm_head_s(prefill_seqs + decode_seqs),
            comm_s=self.comm_s(tokens),
            overhead_s=self.overhead_s if tokens else 0.0,
        )

    def step_s(self, **kwargs) -> float:
        return self.step(**kwargs).total_s
