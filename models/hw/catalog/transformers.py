"""Transformer architectures: sizes that set GEMM shapes, KV-cache bytes and weights.

What it models
    Decoder-only Transformers: ``layers`` blocks of attention (``heads`` query heads,
    ``kv_heads`` key/value heads of ``head_dim``) and an FFN of width ``ffn`` (gated, i.e.
    three matrices, for SwiGLU models; two otherwise). Parameter estimate: attention
    ``hidden x head_dim x (2 heads + 2 kv_heads)`` + FFN ``(3 or 2) x hidden x ffn`` per layer,
    plus ``vocab x hidden`` embeddings (twice if input and output embeddings are untied).
    Biases, norms and learned position embeddings are left out (< 1%).

KV bytes per token: ``2 (K and V) x layers x kv_heads x head_dim x dtype_bytes``.

Sources (hyper-parameters of each model's own paper or released config)
    * Llama-2-7B: Touvron et al. 2023 and meta-llama/Llama-2-7b-hf config.json.
    * Llama-3-8B, Llama-3-70B: meta-llama/Meta-Llama-3-{8B,70B} config.json (Meta 2024).
    * Qwen-32B: FastSwitch's "Qwen-32B" (FastSwitch (Shen et al., arXiv 2411.18424), evaluation setup) is Qwen1.5-32B or
      Qwen2.5-32B, unverified; both have 64 layers, 8 KV heads, head_dim 128, so KV sizes
      agree. We use Qwen2.5-32B (Qwen/Qwen2.5-32B config.json, Qwen Team 2024), the more
      likely one for a late-2024 paper.
    * Mega-GPT-2 8.3B: Shoeybi et al. 2019 (Megatron-LM), Table 2: 72 layers, hidden 3072,
      32 heads; GPT-2 BPE vocabulary padded to 51,200.
    * T-NLG 17B: Microsoft Research blog "Turing-NLG" (2020): 78 layers, hidden 4256,
      28 heads; GPT-2 vocabulary [A].
    * GPT-3 175B: Brown et al. 2020, Table 2.1: 96 layers, d_model 12288, 96 heads.
    * PaLM 540B: Chowdhery et al. 2022, Table 1: 118 layers, d_model 18432, 48 heads of
      256, multi-query attention (1 KV head), SwiGLU FFN 4 x d_model, 256k vocabulary,
      shared input/output embeddings.
    * MT-NLG 530B: Smith et al. 2022: 105 layers, hidden 20480, 128 heads; GPT-2 vocabulary.
    T3 (Pati et al., ASPLOS'24) §5.2 lists the same hidden sizes and layer counts. GPT-style
    models use an FFN of 4 x hidden and tied embeddings.
"""

from __future__ import annotations

from sim_models.hw.specs import TransformerSpec


def _gpt(name, layers, hidden, heads, vocab, nominal, source) -> TransformerSpec:
    return TransformerSpec(name, layers, hidden, heads, heads, 4 * hidden, vocab, nominal, source)


TRANSFORMERS: dict[str, TransformerSpec] = {
    t.name: t
    for t in [
        TransformerSpec(
            "llama-2-7b", 32, 4096, 32, 32, 11008, 32000, 6.74e9,
            "Touvron et al. 2023; meta-llama/Llama-2-7b-hf config.json",
            gated_ffn=True, tied_embeddings=False,
        ),
        TransformerSpec(
            "llama-3-8b", 32, 4096, 32, 8, 14336, 128256, 8.03e9,
            "meta-llama/Meta-Llama-3-8B config.json (Meta 2024)",
            gated_ffn=True, tied_embeddings=False,
        ),
        TransformerSpec(
            "llama-3-70b", 80, 8192, 64, 8, 28672, 128256, 70.6e9,
            "meta-llama/Meta-Llama-3-70B config.json (Meta 2024)",
            gated_ffn=True, tied_embeddings=False,
        ),
        TransformerSpec(
            "qwen2.5-32b", 64, 5120, 40, 8, 27648, 152064, 32.5e9,
            "Qwen/Qwen2.5-32B config.json (Qwen Team 2024); FastSwitch's 'Qwen-32B'",
            gated_ffn=True, tied_embeddings=False,
        ),
        _gpt("mega-gpt2-8.3b", 72, 3072, 32, 51200, 8.3e9, "Shoeybi et al. 2019, Table 2"),
        _gpt("t-nlg-17b", 78, 4256, 28, 50257, 17e9, "Microsoft Research blog, Turing-NLG 2020"),
        _gpt("gpt-3-175b", 96, 12288, 96, 50257, 175e9, "Brown et al. 2020, Table 2.1"),
        TransformerSpec(
            "palm-540b", 118, 18432, 48, 1, 4 * 18432, 256000, 540.35e9,
            "Chowdhery et al. 2022, Table 1", head_dim=256, gated_ffn=True,
        ),
        _gpt("mt-nlg-530b", 105, 20480, 128, 50257, 530e9, "Smith et al. 2022"),
    ]
}  # fmt: skip
