"""FastSwitch's mechanisms, one property at a time, on the full engine.

Every request arrives at t = 0 (one turn each) and priorities change with the iteration
index only, so the scheduler's decisions do not depend on how long transfers take: runs
that differ only in the copy mechanics make the same decisions and move the same blocks.
"""

import numpy as np
import pytest
from sim_models.llm.policies import PriorityPolicy
from sim_models.llm.serving import Serving

from sim.core import Simulation
from sim.model import Workload
from sim.workload import Arrivals


class AllAtOnce(Workload):
    """``n`` one-turn conversations at t = 0 with given prompt and answer lengths."""

    def __init__(self, prompts, outputs):
        super().__init__()
        self.prompts, self.outputs = prompts, outputs

    def batches(self):
        n = len(self.prompts)
        yield Arrivals(np.zeros(n), {
            "conversation": np.arange(n), "turn": np.zeros(n, dtype=int),
            "user_tokens": np.asarray(self.prompts), "output_tokens": np.asarray(self.outputs),
            "think_s": np.zeros(n),
        })  # fmt: skip


def run(n=40, blocks=300, seed=3, **params):
    rng = np.random.default_rng(seed)
    prompts = rng.integers(100, 900, n)
    outputs = rng.integers(50, 400, n)
    pol = PriorityPolicy(PriorityPolicy.Params(update_frequency=0.1, levels=4, seed=5))
    model = Serving(
        Serving.Params(gpu_kv_blocks=blocks, conversations=n, **params),
        policies={"scheduler": pol},
        workload=AllAtOnce(prompts, outputs),
    )
    sim = Simulation(1)
    model.build(sim)
    return model, sim


def finish(model, sim):
    sim.run()
    return model.summary()


def test_the_scenario_switches_contexts():
    s = finish(*run())
    assert s["requests"] == 40
    assert s["preemptions.swap"] > 20 and s["swap_in_blocks"] > 0
    # vLLM: one copy per block, layer, and K or V: 2 x 32 layers
    assert s["copies_per_block"] == 64
    assert s["swap_out_bytes"] == s["swap_out_blocks"] * 64 * 32 * 1024


def test_block_groups_cut_the_copy_count_never_the_bytes():
    base = finish(*run())
    groups = finish(*run(block_groups=True))
    for key in ("swap_out_bytes", "swap_in_bytes", "swap_out_blocks", "preemptions"):
        assert groups[key] == base[key], key
    assert groups["swap_out_copies"] < base["swap_out_copies"] / 3
    assert groups["swap_in_copies"] < base["swap_in_copies"] / 3
    assert groups["sync_swap_s"] < base["sync_swap_s"]  # fewer per-call overheads


def test_async_swap_hides_transfers_and_never_runs_a_request_early():
    model, sim = run(async_swap=True)
    in_flight: dict[int, list[list[float]]] = {}
    batches: list[tuple[float, list]] = []
    issue, done, compute = model._issue, model.sched.transfer_done, model._compute

    def spy_issue(t, kind):
        if kind == "in":
            in_flight.setdefault(t.req.id, []).append([sim.now, np.inf])
        issue(t, kind)

    def spy_done(t, kind):
        if kind == "in":
            in_flight[t.req.id][-1][1] = sim.now
        done(t, kind)

    def spy_compute(plan, start, swap_s):
        batch = plan.prefill or plan.decode
        batches.append((sim.now, [r.id for r in batch]))
        assert all(r.ready for r in batch)
        compute(plan, start, swap_s)

    model._issue, model.sched.transfer_done, model._compute = spy_issue, spy_done, spy_compute
    s = finish(model, sim)
    assert in_flight and s["sync_swap_s"] == 0
    for t, members in batches:
        for rid in members:
            for start, end in in_flight.get(rid, []):
                assert not (start <= t < end), (rid, t, start, end)
    sync = finish(*run())
    assert sync["sync_swap_s"] > 0
    assert s["makespan_s"] < sync["makespan_s"] - 0.5 * sync["sync_swap_s"]


def test_kv_reuse_moves_only_new_blocks():
    base = finish(*run())
    reuse = finish(*run(kv_reuse=True, reuse_history=False))
    assert reuse["preemptions"] == base["preemptions"]
    assert reuse["swap_in_blocks"] == base["swap_in_blocks"]  # a swap-in moves everything
    assert reuse["swap_out_blocks"] < 0.7 * base["swap_out_blocks"]


def test_fastswitch_is_all_three():
    a = finish(*run(fastswitch=True))
    b = finish(*run(block_groups=True, async_swap=True, kv_reuse=True))
    for key in ("swap_out_bytes", "swap_in_copies", "makespan_s", "ttft_s.p99"):
        assert a[key] == pytest.approx(b[key])
