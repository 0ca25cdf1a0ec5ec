"""``sim llm step-time`` and ``sim llm validate``."""

import json

import pytest
from sim_models.llm.costmodel import StepCostModel


def test_step_time_prints_one_json_object(cli):
    code, out, err = cli("llm", "step-time", "--model", "llama-3-8b", "--gpu", "a100-80gb",
                         "--decode-seqs", "32", "--context-tokens", "32000")  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    for key in ("linear_s", "attention_s", "other_s", "total_s"):
        assert data[key] >= 0
    ref = StepCostModel("llama-3-8b", "a100-80gb").step(decode_seqs=32, context_tokens=32000)
    assert data["total_s"] == pytest.approx(ref.total_s, rel=1e-12)


def test_step_time_prefill_with_several_prompts(cli):
    code, out, _ = cli("llm", "step-time", "--model", "qwen2.5-32b", "--gpu", "a100-80gb",
                       "--prefill-tokens", "2000", "--prefill-seqs", "4")  # fmt: skip
    assert code == 0
    four = json.loads(out)
    code, out, _ = cli("llm", "step-time", "--model", "qwen2.5-32b", "--gpu", "a100-80gb",
                       "--prefill-tokens", "2000")  # fmt: skip
    one = json.loads(out)
    assert four["linear_s"] == one["linear_s"]  # same tokens
    assert four["attention_s"] < one["attention_s"]  # four short prompts: fewer pairs


@pytest.mark.parametrize(
    "args,match",
    [
        (["--model", "llama-3-9b", "--gpu", "a10"], "unknown transformer"),
        (["--model", "llama-3-8b", "--gpu", "a10x"], "unknown"),
        (["--model", "llama-3-8b", "--gpu", "a10", "--tp", "3"], "--tp"),
        (["--model", "llama-3-8b", "--gpu", "a10", "--decode-seqs", "4", "--context-tokens", "2"],
         "--context-tokens"),
        (["--model", "llama-3-8b", "--gpu", "a10", "--prefill-seqs", "2"], "--prefill-seqs"),
        (["--model", "llama-3-8b", "--gpu", "a10", "--overhead-s", "5"], "--overhead-s"),
    ],
)
def test_step_time_user_errors_exit_2(cli, args, match):
    code, _, err = cli("llm", "step-time", *args)
    assert code == 2
    assert match in err and err.count("\n") == 1


def test_validate_prints_the_error_table(cli, shared_data, tmp_path):
    path = shared_data / "vidur-profiles/a100/meta-llama/Meta-Llama-3-8B/mlp.csv"
    if not path.exists():
        pytest.skip("profile not present")
    fig = tmp_path / "v.png"
    code, out, _ = cli("llm", "validate", path, "--model", "llama-3-8b", "--gpu", "a100-80gb",
                       "--figure", fig)  # fmt: skip
    assert code == 0 and "median_error" in out and fig.exists()
