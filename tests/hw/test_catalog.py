"""Catalog entries: sources, derived sizes, lookups."""

import pytest
from sim_models.hw.catalog import GPUS, LINKS, NICS, TRANSFORMERS, gpu, link, nic, transformer

from sim.errors import UnknownNameError

KiB = 1024


@pytest.mark.parametrize("table", [GPUS, LINKS, NICS, TRANSFORMERS])
def test_every_entry_has_a_source(table):
    assert table
    for name, entry in table.items():
        assert entry.name == name
        assert len(entry.source) > 10, name


def test_kv_bytes_per_token():
    assert transformer("llama-2-7b").kv_bytes_per_token() == 2 * 32 * 32 * 128 * 2 == 512 * KiB
    # derived from the configs: 128 KiB (Llama-3-8B) and 256 KiB (Qwen-32B) per token in fp16
    assert transformer("llama-3-8b").kv_bytes_per_token() == 128 * KiB
    assert transformer("qwen2.5-32b").kv_bytes_per_token() == 256 * KiB
    assert transformer("llama-3-8b").kv_bytes_per_token(dtype_bytes=1) == 64 * KiB
    assert transformer("palm-540b").kv_bytes_per_token() == 2 * 118 * 1 * 256 * 2  # multi-query


@pytest.mark.parametrize("name", sorted(TRANSFORMERS))
def test_parameter_estimate_near_nominal(name):
    t = transformer(name)
    assert t.param_count() == pytest.approx(t.nominal_params, rel=0.10)


def test_gpu_peaks_match_cu_arithmetic():
    assert gpu("t3_sim").peak("fp16") == pytest.approx(80 * 1.4e9 * 1024)
    assert gpu("mi210").flops_per_cycle_per_cu("fp16") == pytest.approx(1024, rel=1e-3)
    assert gpu("a100-40gb").flops_per_cycle_per_cu("fp16") == pytest.approx(2048, rel=1e-3)
    assert gpu("h100-sxm").flops_per_cycle_per_cu("bf16") == pytest.approx(4096, rel=1e-3)
    assert gpu("a10").flops_per_cycle_per_cu("fp16") == pytest.approx(1024, rel=1e-3)
    assert gpu("h800").peak("fp8") == gpu("h100-sxm").peak("fp8")
    # weights of FastSwitch's models vs GPU memory (derived from the model configs: FastSwitch (Shen et al., arXiv 2411.18424) setups)
    assert transformer("llama-3-8b").weight_bytes() < gpu("a10").hbm_capacity_bytes
    assert transformer("qwen2.5-32b").weight_bytes() < gpu("a100-80gb").hbm_capacity_bytes


def test_lookup_is_case_insensitive_and_suggests():
    assert gpu("A100-80GB") is GPUS["a100-80gb"]
    assert link("PCIe4_x16").bandwidth_Bps == pytest.approx(31.5077e9, rel=1e-5)
    assert nic("400G").port_Gbps == 400
    with pytest.raises(UnknownNameError, match="did you mean 'a100-40gb'"):
        gpu("a100-40")
    with pytest.raises(UnknownNameError, match="did you mean 'llama-3-70b'"):
        transformer("llama-3-70")
    with pytest.raises(UnknownNameError, match="unknown link"):
        link("infiniband")
