"""GEMM shapes of a transformer layer under Megatron-style tensor parallelism (TP).

What it models
    One transformer layer of a :class:`~sim_models.hw.specs.TransformerSpec` split over
    ``tp`` GPUs (Shoeybi et al., "Megatron-LM", 2019, Sec. 3): the QKV input projection
    (IP) and the first FFN matrix (FC-1) are column-parallel, the attention output
    projection (OP) and the second FFN matrix (FC-2) row-parallel. ``tokens`` is the number
    of token rows in a micro-batch (sequence length x batch).

    Four GEMMs per layer end in an all-reduce (AR) of their ``tokens x hidden`` output,
    because each GPU holds a partial sum over its slice of the reduction dimension
    (T3, Pati et al., ASPLOS'24, Sec. 2.4): forward OP and FC-2, and, in the backward pass,
    the input-gradient ("dgrad") GEMMs of FC-1 and IP. Per GPU they are ``M x K x N`` with
    ``M = tokens``, ``N = hidden`` and ``K`` the GPU's slice:

    ============  ==========================================  ======================
    sub-layer     K per GPU                                   GPT-style (FFN = 4h)
    ============  ==========================================  ======================
    ``op``        ``heads x head_dim / tp``                   ``h / tp``
    ``fc2``       ``ffn / tp``                                ``4h / tp``
    ``fc1``       ``ffn x (2 if gated else 1) / tp``          ``4h / tp``
    ``ip``        ``(heads + 2 kv_heads) x head_dim / tp``    ``3h / tp``
    ============  ==========================================  ======================

    :func:`layer_gemms` lists every GEMM of a layer's forward (and backward) pass per GPU,
    the four above marked as AR producers, the others (forward IP and FC-1, the other
    dgrads, all weight gradients) without communication.

Assumptions
    * ``K`` is rounded up when ``tp`` does not divide the sliced dimension (e.g. PaLM's 48
      heads over 32 GPUs); multi-query K/V heads are counted once per slice as if sliced,
      not replicated [A]. For the GPT-style models all slices are exact.
    * A gated FFN (SwiGLU) has two input matrices whose dgrads are summed: one GEMM with
      ``K = 2 ffn / tp`` [A].
    * Attention's batched score and context products, softmax, norms and element-wise ops
      are not GEMMs of this list.

Units: elements (shapes), bytes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sim_models.hw.gemm import GemmShape
from sim_models.hw.specs import DTYPE_BYTES, TransformerSpec

SUBLAYERS = ("op", "fc2", "fc1", "ip")
#: pass in which each AR sub-layer's GEMM runs
SUBLAYER_PASS = {"op": "fwd", "fc2": "fwd", "fc1": "bwd", "ip": "bwd"}


@dataclass(frozen=True)
class LayerGemm:
    name: str  # e.g. "fc2" (AR producer) or "fc1.fwd", "op.wgrad"
    pass_: str  # "fwd" | "bwd"
    shape: GemmShape
    all_reduce: bool  # ends in a TP all-reduce of its output

    @property
    def ar_bytes(self) -> int:
        return self.shape.output_bytes if self.all_reduce else 0


def _slice(n: int, tp: int) -> int:
    return max(1, math.ceil(n / tp))


def _dims(spec: TransformerSpec, tp: int) -> dict[str, int]:
    q = spec.heads * spec.head_dim
    qkv = (spec.heads + 2 * spec.kv_heads) * spec.head_dim
    ffn_in = spec.ffn * (2 if spec.gated_ffn else 1)
    return {
        "q": _slice(q, tp),
        "qkv": _slice(qkv, tp),
        "ffn": _slice(spec.ffn, tp),
        "ffn_in": _slice(ffn_in, tp),
    }


def sublayer_gemm(
    spec: TransformerSpec, sublayer: str, tp: int, tokens: int, dtype: str = "fp16"
) -> GemmShape:
    """Per-GPU GEMM of an AR-producing sub-layer (``op``, ``fc2``, ``fc1``, ``ip``)."""
    if sublayer not in SUBLAYERS:
        raise ValueError(f"unknown sub-layer {sublayer!r}; known: {', '.join(SUBLAYERS)}")
    if tp < 1 or tokens < 1:
        raise ValueError("tp and tokens must be >= 1")
    d = _dims(spec, tp)
    k = {"op": d["q"], "fc2": d["ffn"], "fc1": d["ffn_in"], "ip": d["qkv"]}[sublayer]
    return GemmShape(tokens, spec.hidden, k, dtype)


def ar_bytes(spec: TransformerSpec, tokens: int, dtype: str = "fp16") -> int:
    """Bytes of one sub-layer's all-reduce: the ``tokens x hidden`` output."""
    return tokens * spec.hidden * DTYPE_BYTES[dtype]


def layer_gemms(
    spec: TransformerSpec, tp: int, tokens: int, *, backward: bool = True, dtype: str = "fp16"
) -> list[LayerGemm]:
    """Every GEMM of one layer per GPU: the forward pass, and the backward pass (dgrads and
    weight gradients) if ``backward``."""
    t, h = tokens, spec.hidden
    d = _dims(spec, tp)

    def g(m, n, k):
        return GemmShape(m, n, k, dtype)

    out = [
        LayerGemm("ip.fwd", "fwd", g(t, d["qkv"], h), False),
        LayerGemm("op", "fwd", sublayer_gemm(spec, "op", tp, t, dtype), True),
        LayerGemm("fc1.fwd", "fwd", g(t, d["ffn_in"], h), False),
        LayerGemm("fc2", "fwd", sublayer_gemm(spec, "fc2", tp, t, dtype), True),
    ]
    if backward:
        out += [
            LayerGemm("fc2.dgrad", "bwd", g(t, d["ffn"], h), False),
            LayerGemm("fc2.wgrad", "bwd", g(d["ffn"], h, t), False),
            LayerGemm("fc1", "bwd", sublayer_gemm(spec, "fc1", tp, t, dtype), True),
            LayerGemm("fc1.wgrad", "bwd", g(h, d["ffn_in"], t), False),
            LayerGemm("op.dgrad", "bwd", g(t, d["q"], h), False),
            LayerGemm("op.wgrad", "bwd", g(d["q"], h, t), False),
            LayerGemm("ip", "bwd", sublayer_gemm(spec, "ip", tp, t, dtype), True),
            LayerGemm("ip.wgrad", "bwd", g(h, d["qkv"], t), False),
        ]
    return out
