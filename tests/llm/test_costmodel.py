"""Iteration cost model: parts against hand-computed values, monotonicity, setups."""

import pytest
from sim_models.hw.catalog import gpu, kernel_efficiency, transformer
from sim_models.hw.kernels import gemm_kernel
from sim_models.hw.specs import causal_pairs
from sim_models.llm.costmodel import StepCostModel


@pytest.fixture(scope="module")
def a100():
    return StepCostModel("llama-3-8b", "a100-80gb")


def test_linear_part_is_the_four_gemms_of_every_layer(a100):
    spec, eff = gpu("a100-80gb"), kernel_efficiency("a100-80gb")
    shapes = [(6144, 4096), (4096, 4096), (28672, 4096), (4096, 14336)]
    for tokens in (1, 37, 512, 20000):  # 20000 is past the table: computed directly
        hand = 32 * sum(gemm_kernel(tokens, n, k, spec, eff).time_s for n, k in shapes)
        assert a100.linear_s(tokens) == pytest.approx(hand, rel=1e-12)
    assert a100.linear_s(0) == 0.0


def test_decode_attention_reads_the_kv_context_once(a100):
    eff = kernel_efficiency("a100-80gb")
    ctx, seqs = 64_000, 64
    kv = 2 * 8 * 128 * 2  # K and V, 8 KV heads of 128, fp16: 4 KiB per token per layer
    qo = (32 + 16 + 32) * 128 * 2
    hand = 32 * (eff.kernel_floor_s + (ctx * kv + seqs * qo) / (0.77 * 2039e9))
    assert a100.decode_attention_s(seqs, ctx) == pytest.approx(hand, rel=1e-12)


def test_prefill_attention_is_quadratic_and_compute_bound(a100):
    t1 = a100.prefill_attention_s(2048, causal_pairs(2048))
    t2 = a100.prefill_attention_s(4096, causal_pairs(4096))
    assert 3.5 < t2 / t1 < 4.1
    flops = 32 * 4 * 32 * 128 * causal_pairs(4096)
    assert t2 == pytest.approx(32 * 4e-6 + flops / (0.5 * 312e12), rel=1e-9)
    # a cached prefix adds pairs and KV reads, never removes work
    assert a100.prefill_attention_s(100, causal_pairs(100, 2000), 2000) > a100.prefill_attention_s(
        100, causal_pairs(100)
    )


def test_step_total_is_the_sum_of_parts(a100):
    step = a100.step(decode_seqs=48, context_tokens=48 * 900)
    d = step.as_dict()
    parts = ("linear_s", "attention_s", "other_s", "lm_head_s", "comm_s", "overhead_s")
    assert d["total_s"] == pytest.approx(sum(d[p] for p in parts))
    assert d["comm_s"] == 0.0 and d["overhead_s"] == 0.002
    assert a100.step().total_s == 0.0  # an empty iteration costs nothing


def test_tensor_parallel_adds_allreduces_and_shrinks_gemms():
    tp1 = StepCostModel("llama-3-8b", "a100-80gb", tp=1)
    tp2 = StepCostModel("llama-3-8b", "a100-80gb", tp=2)
    s1, s2 = tp1.step(prefill_tokens=2048), tp2.step(prefill_tokens=2048)
    assert s2.linear_s < 0.6 * s1.linear_s
    nbytes = 2048 * 4096 * 2
    link_bw = 12 * 25e9
    hand = 2 * 32 * (2 * 1 * 25e-9 + 2 * 0.5 * nbytes / link_bw)
    assert s2.comm_s == pytest.approx(hand, rel=1e-12)
    with pytest.raises(ValueError):
        StepCostModel("llama-3-8b", "a100-80gb", tp=3)


def test_the_two_fastswitch_setups_have_plausible_decode_steps():
    # Llama-3-8B on A10: weights (16 GB) over 0.72 x 600 GB/s bound a decode step from below
    a10 = StepCostModel("llama-3-8b", "a10")
    weights = transformer("llama-3-8b").weight_bytes()
    step = a10.step(decode_seqs=1, context_tokens=1)
    assert step.total_s > weights / (0.72 * 600e9)
    assert step.total_s < 1.3 * weights / (0.72 * 600e9) + 0.003
    qwen = StepCostModel("qwen2.5-32b", "a100-80gb")
    assert qwen.step(decode_seqs=1, context_tokens=1).total_s > 0.03


def test_bad_counts():
    cm = StepCostModel("llama-3-8b", "a10", table_tokens=1)
    with pytest.raises(ValueError):
        cm.step(decode_seqs=4, context_tokens=3)
    with pytest.raises(ValueError):
        cm.step(prefill_tokens=-1)
