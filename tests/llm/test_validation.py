"""The cost model against Vidur's measured profiles (skipped without ../shared/data).

Acceptance: the linear-layer time per iteration of Llama-3-8B on A100 within 20% of the
measured one at every profiled token count (TP 1 and 2), median error under 10% at every
TP degree; and the catalog's efficiency numbers are what the stated rule gives when re-fitted
on the Llama-2-7B profiles.
"""

import pytest
from sim_models.hw.catalog import kernel_efficiency
from sim_models.llm.validation import compare_linear, error_summary, fit_efficiency, load_profile

from sim.errors import DataError

LLAMA3_A100 = "vidur-profiles/a100/meta-llama/Meta-Llama-3-8B/mlp.csv"


def _profile(shared_data, rel):
    path = shared_data / rel
    if not path.exists():
        pytest.skip(f"{rel} is not present")
    return load_profile(path)


def test_linear_time_matches_the_llama3_a100_profile(shared_data):
    table = compare_linear(_profile(shared_data, LLAMA3_A100), "llama-3-8b", "a100-80gb")
    summary = error_summary(table).set_index("tp")
    assert list(summary.index) == [1, 2, 4, 8]
    assert (summary["points"] == 451).all()
    for tp in (1, 2):
        worst = table[table.tp == tp].ratio
        assert worst.between(0.8, 1.2).all(), table[(table.tp == tp) & ~worst.between(0.8, 1.2)]
    assert (summary["median_error"] < 0.10).all()
    # what the old tiled GEMM got wrong: 1 token and 64 tokens, and the compute-bound end
    t1 = table[table.tp == 1].set_index("tokens").ratio
    assert abs(t1[1] - 1) < 0.1 and abs(t1[64] - 1) < 0.1 and abs(t1[4096] - 1) < 0.05


@pytest.mark.parametrize(
    "rel,model,gpu",
    [
        ("vidur-profiles/a100/meta-llama/Llama-2-7b-hf/mlp.csv", "llama-2-7b", "a100-80gb"),
        ("vidur-profiles/a40/meta-llama/Llama-2-7b-hf/mlp.csv", "llama-2-7b", "a40"),
    ],
)
def test_catalog_efficiency_is_the_stated_fit(shared_data, rel, model, gpu):
    bw, fl = fit_efficiency(_profile(shared_data, rel), model, gpu)
    eff = kernel_efficiency(gpu)
    assert (bw, fl) == (eff.bandwidth_fraction, eff.flops_fraction)


def test_bad_profiles_name_the_file(tmp_path):
    with pytest.raises(DataError, match="no profile file"):
        load_profile(tmp_path / "missing.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("num_tokens,num_tensor_parallel_workers\n1,1\n")
    with pytest.raises(DataError, match="missing column"):
        load_profile(bad)
