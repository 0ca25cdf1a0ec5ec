"""FastSwitch claims: ids as specified, computed from sweep tables (never typed in)."""

from pathlib import Path

import pandas as pd
import pytest
from sim_models.llm import claims

from sim.reproduce import Outcome, get_paper

IDS = [f"fastswitch.{setup}.{name}" for setup in ("llama3_8b_a10", "qwen32b_a100")
       for name in ("speedup.ttft_p95", "speedup.ttft_p99", "speedup.ttft_p999",
                    "speedup.tbt_p999", "speedup.throughput", "stall_share.vllm")]  # fmt: skip


def test_claim_ids_are_exactly_the_specified_ones():
    paper = get_paper("fastswitch")
    assert [c.id for c in paper.claims] == IDS
    by_id = {c.id: c for c in paper.claims}
    assert by_id["fastswitch.qwen32b_a100.speedup.throughput"].published == 1.44
    assert by_id["fastswitch.llama3_8b_a10.stall_share.vllm"].published == 0.599
    assert by_id["fastswitch.llama3_8b_a10.speedup.tbt_p999"].published == 11.2
    assert all(c.source for c in paper.claims)
    root = Path(__file__).resolve().parents[2] / "experiments" / "fastswitch"
    assert all((root / f"{e}.yaml").exists() for e in paper.experiments)


def test_speedups_take_the_larger_pattern_and_the_right_direction():
    table = pd.DataFrame({
        "status": ["ok"] * 4,
        claims.PATTERN: ["random", "random", "markov", "markov"],
        claims.SYSTEM: [False, True, False, True],
        "ttft_s.p99": [10.0, 2.0, 9.0, 1.0],
        "throughput_tokens_per_s": [100.0, 150.0, 100.0, 120.0],
        "stall_share.p99": [0.5, 0.1, 0.6, 0.2],
    })  # fmt: skip
    oc = Outcome("x", {}, table, Path("."))
    assert claims.speedup("ttft_s.p99")(oc) == pytest.approx(9.0)
    assert claims.throughput_gain(oc) == pytest.approx(1.5)
    assert claims.vllm_stall_share(oc) == pytest.approx(0.6)
    with pytest.raises(KeyError):
        claims.speedup("ttft_s.p99")(Outcome("y", {}, table.iloc[:0], Path(".")))
