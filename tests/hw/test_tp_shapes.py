"""Tensor-parallel GEMM shapes of transformer layers."""

import pytest
from sim_models.hw.catalog import transformer
from sim_models.hw.tp_shapes import SUBLAYERS, ar_bytes, layer_gemms, sublayer_gemm


@pytest.mark.parametrize("name", ["mega-gpt2-8.3b", "t-nlg-17b", "gpt-3-175b", "mt-nlg-530b"])
@pytest.mark.parametrize("tp", [8, 16, 32])
def test_gpt_style_shapes(name, tp):
    spec = transformer(name)
    h, t = spec.hidden, 2048
    k = {s: sublayer_gemm(spec, s, tp, t).k for s in SUBLAYERS}
    assert k == {"op": -(-h // tp), "fc2": -(-4 * h // tp), "fc1": -(-4 * h // tp),
                 "ip": -(-3 * h // tp)}  # fmt: skip
    for s in SUBLAYERS:
        g = sublayer_gemm(spec, s, tp, t)
        assert (g.m, g.n) == (t, h)
        assert g.output_bytes == ar_bytes(spec, t) == 2 * t * h


def test_gated_ffn_and_multi_query_palm():
    palm = transformer("palm-540b")  # 48 heads x 256, 1 KV head, SwiGLU 4h
    assert sublayer_gemm(palm, "op", 32, 2048).k == 384  # 12288 / 32
    assert sublayer_gemm(palm, "fc2", 32, 2048).k == 4 * 18432 // 32
    assert sublayer_gemm(palm, "fc1", 32, 2048).k == 2 * 4 * 18432 // 32
    assert sublayer_gemm(palm, "ip", 32, 2048).k == -(-(50 * 256) // 32)
    with pytest.raises(ValueError):
        sublayer_gemm(palm, "qkv", 8, 2048)
    with pytest.raises(ValueError):
        sublayer_gemm(palm, "op", 0, 2048)


def test_layer_gemms_cover_the_layer_flops():
    spec = transformer("mega-gpt2-8.3b")
    tp, t, h = 8, 2048, spec.hidden
    fwd = layer_gemms(spec, tp, t, backward=False)
    train = layer_gemms(spec, tp, t)
    assert [g.name for g in fwd if g.all_reduce] == ["op", "fc2"]
    assert [g.name for g in train if g.all_reduce] == ["op", "fc2", "fc1", "ip"]
    # forward: 2 t (4h^2 attn projections + 8h^2 FFN) / tp; backward twice the forward
    fwd_flops = sum(g.shape.flops for g in fwd)
    assert fwd_flops == pytest.approx(2 * t * 12 * h * h / tp)
    assert sum(g.shape.flops for g in train) == pytest.approx(3 * fwd_flops)
    assert sum(g.ar_bytes for g in train) == 4 * 2 * t * h
