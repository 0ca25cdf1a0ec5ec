"""Priority traces and the VTC counters."""

import numpy as np
import pytest
from sim_models.llm.policies import VTC, PriorityPolicy
from sim_models.llm.priorities import PriorityTrace
from sim_models.llm.request import Conversation, Request


def trace(pattern, f=0.04, levels=4, seed=1, rows=50):
    return PriorityTrace(pattern, f, levels, np.random.default_rng(seed),
                         np.random.default_rng(seed + 100), conversations=rows, block=64)  # fmt: skip


def test_update_frequency_is_the_share_of_iterations_with_an_update():
    t = trace("random", f=0.04)
    hits = sum(t.updated_at(i) for i in range(50_000))
    assert hits / 50_000 == pytest.approx(0.04, rel=0.08)
    assert all(t.updated_at(i) == t.updated_at(i) for i in range(100))  # precomputed, stable


def test_random_levels_are_uniform_and_independent():
    t = trace("random", levels=4, rows=400)
    col = [t.column(e) for e in range(200)]
    levels = np.array(col)
    assert set(np.unique(levels)) == {0, 1, 2, 3}
    assert np.bincount(levels.ravel()) / levels.size == pytest.approx([0.25] * 4, abs=0.01)
    assert np.mean(levels[1:] == levels[:-1]) == pytest.approx(0.25, abs=0.02)


def test_markov_levels_move_by_one_at_most():
    t = trace("markov", levels=5, rows=300)
    levels = np.array([t.column(e) for e in range(300)])
    steps = np.abs(np.diff(levels, axis=0))
    assert steps.max() == 1 and levels.min() == 0 and levels.max() == 4
    assert np.mean(steps == 0) == pytest.approx(0.5, abs=0.03)  # markov_move = 0.5


def test_same_seed_same_trace_whatever_is_asked_first():
    a, b = trace("markov"), trace("markov")
    late = a.level(7, 500)
    assert [b.level(7, e) for e in range(501)][-1] == late
    with pytest.raises(IndexError):
        a.level(50, 0)
    with pytest.raises(ValueError):
        trace("zipf")


def test_priority_policy_key_changes_only_at_updates():
    pol = PriorityPolicy(PriorityPolicy.Params(update_frequency=0.5, seed=3))
    pol.start(10, None)
    conv = Conversation(4, [10], [10], [0])
    r = Request(0, conv, 0, 2.5, 0, 10, 10)
    keys = []
    for i in range(1, 200):
        changed = pol.on_iteration(i)
        keys.append((changed, pol.key(r)))
    assert any(c for c, _ in keys) and pol.updates == sum(c for c, _ in keys)
    assert all(k[1] == 2.5 for _, k in keys)
    assert len({k for c, k in keys}) > 1


def _req(rid, client, t):
    return Request(rid, Conversation(client, [10], [10], [0], client=client), 0, t, 0, 10, 10)


def test_vtc_counters_lift_and_charge():
    v = VTC()
    a, b = _req(0, 0, 0.0), _req(1, 1, 0.0)
    v.on_arrival(a, set())
    v.on_prefill(a, 100)  # w_p = 1
    v.on_decode([a, a])  # w_q = 2 per token
    assert v.counters[0] == 104
    v.on_arrival(b, {0})  # a new client is lifted to the smallest queued counter
    assert v.counters[1] == 104
    c = _req(2, 2, 1.0)
    v.on_arrival(c, set())
    assert v.counters[2] == 0.0 and v.key(c) < v.key(a)


def per_conv(pattern="random", f=0.04, levels=4, seed=1, rows=200):
    return PriorityTrace(pattern, f, levels, np.random.default_rng(seed),
                         np.random.default_rng(seed + 100), conversations=rows, block=64,
                         rule="per_conversation", rng_gaps=np.random.default_rng(seed + 200))  # fmt: skip


def test_per_conversation_rule_has_the_global_rate_per_conversation_spread_over_time():
    n, f, rows = 20_000, 0.04, 200
    glob, each = trace("random", f=f, rows=rows), per_conv(f=f, rows=rows)
    for i in range(1, n + 1):
        glob.advance(i)
        each.advance(i)
    # global: every conversation updates at the same iterations, f of them
    assert glob.epoch / n == pytest.approx(f, rel=0.1)
    # per conversation: the same mean rate for each conversation ...
    rates = np.array(each._epochs) / n
    assert rates.mean() == pytest.approx(f, rel=0.03)
    assert rates.mean() == pytest.approx(glob.epoch / n, rel=0.1)
    # ... but not at the same iterations: about f of the conversations update at a time
    t = per_conv(f=f, rows=rows)
    before = list(t.current)
    moved = []
    for i in range(1, 2001):
        t.advance(i)
        moved.append(sum(a != b for a, b in zip(before, t.current, strict=True)))
        before = list(t.current)
    share = np.array(moved) / rows
    assert share.mean() == pytest.approx(f * 0.75, rel=0.15)  # random: 3/4 of redraws move
    assert share.max() < 0.2  # never a global reshuffle


def test_per_conversation_levels_follow_the_pattern():
    t = per_conv("markov", f=0.5, levels=5, rows=100)
    prev = list(t.current)
    for i in range(1, 3000):
        t.advance(i)
        assert max(abs(a - b) for a, b in zip(prev, t.current, strict=True)) <= 1
        prev = list(t.current)
    assert min(prev) >= 0 and max(prev) <= 4
    still = per_conv(f=0.0, rows=10)
    start = list(still.current)
    assert not any(still.advance(i) for i in range(1, 500)) and still.current == start


@pytest.mark.parametrize("rule", ["global", "per_conversation"])
def test_same_seed_same_levels_at_every_iteration(rule):
    def levels(skip_ahead):
        pol = PriorityPolicy(PriorityPolicy.Params(update_rule=rule, update_frequency=0.1, seed=5))
        pol.start(30, None)
        seen = []
        for i in range(1, 400):
            pol.on_iteration(i)
            seen.append(tuple(pol._levels))
            if skip_ahead and i == 50:
                pol.trace.level(3, 900)  # asking far ahead must not change the trace
        return seen

    assert levels(False) == levels(True)


def test_unknown_update_rule_is_an_error():
    with pytest.raises(ValueError, match="update rule"):
        PriorityTrace("random", 0.04, 4, np.random.default_rng(0), np.random.default_rng(1),
                      rule="sometimes")  # fmt: skip
    with pytest.raises(ValueError, match="random stream"):
        PriorityTrace("random", 0.04, 4, np.random.default_rng(0), np.random.default_rng(1),
                      rule="per_conversation")  # fmt: skip
