"""llm.serving end to end: multi-turn timing, history reuse, policies, outputs, errors."""

from pathlib import Path

import numpy as np
import pytest
from sim_models.llm.serving import Serving, activation_reserve_bytes

from sim import experiment
from sim.core import Simulation
from sim.errors import ConfigError, DataError
from sim.model import Workload
from sim.runner import run_experiment
from sim.workload import Arrivals

ROOT = Path(__file__).resolve().parents[2]


class Rows(Workload):
    def __init__(self, rows, drop=()):
        super().__init__()
        self.rows = rows
        self.drop = drop

    def batches(self):
        cols = ("time_s", "conversation", "turn", "user_tokens", "output_tokens", "think_s")
        data = {c: np.asarray([r[i] for r in self.rows]) for i, c in enumerate(cols)}
        t = data.pop("time_s")
        yield Arrivals(t, {k: v for k, v in data.items() if k not in self.drop})


def build(rows, policy=None, **params):
    params.setdefault("conversations", 10)
    model = Serving(Serving.Params(**params), workload=Rows(rows),
                    policies={"scheduler": policy} if policy else None)  # fmt: skip
    sim = Simulation(0)
    model.build(sim)
    sim.run()
    return model, model.requests.to_frame().sort_values(["conversation", "turn"])


def test_turns_follow_answers_after_the_think_time():
    rows = [(0.0, 0, 0, 50, 20, 5.0), (0.0, 0, 1, 30, 10, 0.0), (1.0, 1, 0, 80, 40, 0.0)]
    model, df = build(rows)
    first, second = df.iloc[0], df.iloc[1]
    assert second.arrival_s == pytest.approx(first.finish_s + 5.0)
    assert second.prompt_tokens == 50 + 20 + 30  # the history plus the new message
    assert list(df.output_tokens) == [20, 10, 40]
    s = model.summary()
    assert s["requests"] == 3 and s["tbt_s.count"] == 20 + 10 + 40 - 3
    assert s["ttft_s.p50"] > 0 and s["preemptions"] == 0


def test_history_reuse_loads_the_prefix_instead_of_prefilling_it():
    rows = [(0.0, 0, 0, 1000, 100, 1.0), (0.0, 0, 1, 20, 10, 0.0)]
    _, plain = build(rows)
    _, reuse = build(rows, kv_reuse=True)
    assert plain.prefix_tokens.tolist() == [0, 0]
    assert reuse.prefix_tokens.tolist() == [0, 1100]  # the first turn's prompt and answer
    ttft = lambda df: (df.first_token_s - df.arrival_s).iloc[1]  # noqa: E731
    assert ttft(reuse) < ttft(plain) / 3  # a copy of the history beats recomputing it
    _, async_reuse = build(rows, kv_reuse=True, async_swap=True)
    assert async_reuse.prefix_tokens.tolist() == [0, 1100]


def test_kv_sizing_follows_the_vllm_rule():
    model, _ = build([(0.0, 0, 0, 10, 5, 0.0)])
    spec = model.cost.model
    usable = 0.9 * 24 * 2**30 - spec.weight_bytes() - activation_reserve_bytes(spec, 8192, 256)
    assert model.bm.num_gpu_blocks == int(usable // (2 * 2**20))  # 2 MiB per block
    assert model.bm.num_cpu_blocks == 60 * 2**30 // (2 * 2**20) == 30720
    assert model.copy_bytes == 32 * 1024


def test_experiment_files_run_quick(tmp_path):
    exp = experiment.load(ROOT / "experiments/fastswitch/storm.yaml", quick=True)
    res = run_experiment(exp, tmp_path)
    assert res.summary["requests"] > 30
    for name in ("trace.json", "latency_cdfs.png", "switch_timeline.png", "summary.json",
                 "llm.serving.requests.parquet", "llm.serving.iterations.parquet"):  # fmt: skip
        assert (tmp_path / name).exists(), name


@pytest.mark.parametrize("policy", ["fcfs", "vtc", "priority"])
def test_every_policy_and_recompute(policy):
    exp = experiment.load(ROOT / "experiments/fastswitch/storm.yaml",
                          [f"policies.scheduler.name={policy}", "policies.scheduler.params={}",
                           "params.preemption_mode=recompute", "params.gpu_kv_blocks=400",
                           "outputs.trace=false"], quick=True)  # fmt: skip
    s = run_experiment(exp, None).summary
    assert s["requests"] > 30 and s["swap_out_bytes"] == 0


def test_errors_name_the_problem():
    with pytest.raises(DataError, match="no 'think_s' column"):
        model = Serving(Serving.Params(), workload=Rows([(0.0, 0, 0, 5, 5, 0.0)], drop=("think_s",)))
        sim = Simulation(0)
        model.build(sim)
        sim.run()
    with pytest.raises(ConfigError, match="no room for a KV cache"):
        build([(0.0, 0, 0, 5, 5, 0.0)], model="qwen2.5-32b", gpu="a10")
    with pytest.raises(DataError, match="token counts"):
        build([(0.0, 0, 0, 0, 5, 0.0)])


def test_priority_traces_are_the_same_for_every_system(monkeypatch):
    """vLLM and FastSwitch see the same levels at the same iteration index (both rules)."""
    from sim_models.llm.policies import PriorityPolicy

    seen: dict[int, list] = {}
    original = PriorityPolicy.on_iteration

    def spy(self, iteration):
        changed = original(self, iteration)
        seen.setdefault(id(self), []).append((iteration, tuple(self._levels)))
        return changed

    monkeypatch.setattr(PriorityPolicy, "on_iteration", spy)
    for rule in ("global", "per_conversation"):
        seen.clear()
        for fast in ("false", "true"):
            exp = experiment.load(ROOT / "experiments/fastswitch/storm.yaml",
                                  [f"params.fastswitch={fast}", "outputs.trace=false",
                                   "params.record_iterations=false",
                                   f"policies.scheduler.params.update_rule={rule}"], quick=True)  # fmt: skip
            run_experiment(exp, None)
        a, b = seen.values()
        common = min(len(a), len(b))
        assert common > 500 and a[:common] == b[:common]
        assert len({lv for _, lv in a[:common]}) > 10  # the levels did change


def test_bad_update_rule_is_a_config_error():
    with pytest.raises(ConfigError, match="update_rule"):
        experiment.load(ROOT / "experiments/fastswitch/storm.yaml",
                        ["policies.scheduler.params.update_rule=sometimes"], quick=True)  # fmt: skip
