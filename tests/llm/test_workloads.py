"""Multi-turn workloads: the synthetic generator's statistics and the ShareGPT JSON loader
on a tiny fixture written here."""

import json

import numpy as np
import pytest
from sim_models.llm.workloads import ShareGPTJSON, ShareGPTSynthetic

from sim.core import Simulation
from sim.errors import DataError
from sim.model import RunContext


def frame(wl):
    sim = Simulation(3)
    wl.bind(sim.scope("w"), RunContext())
    batches = list(wl.batches())
    cols = {k: np.concatenate([b.columns[k] for b in batches]) for k in batches[0].columns}
    cols["time_s"] = np.concatenate([b.time_s for b in batches])
    return cols


def test_synthetic_statistics():
    wl = ShareGPTSynthetic(ShareGPTSynthetic.Params(conversations=4000, rate_per_s=2.0,
                                                    max_context_tokens=10**6, max_turns=1000,
                                                    max_user_tokens=10**6,
                                                    max_output_tokens=10**6, seed=5))  # fmt: skip
    c = frame(wl)
    convs = np.unique(c["conversation"])
    assert len(convs) == 4000
    turns = len(c["turn"]) / 4000
    assert turns == pytest.approx(5.5, rel=0.05)
    assert c["user_tokens"].mean() == pytest.approx(161, rel=0.08)
    assert c["output_tokens"].mean() == pytest.approx(338, rel=0.08)
    # conversations arrive as a Poisson process at 2/s; turns share their conversation's time
    first = c["time_s"][c["turn"] == 0]
    assert np.diff(first).mean() == pytest.approx(0.5, rel=0.05)
    assert (np.diff(c["time_s"]) >= 0).all()
    assert c["think_s"].mean() == pytest.approx(30, rel=0.05)


def test_context_cap_ends_conversations_and_seed_fixes_the_sample():
    p = ShareGPTSynthetic.Params(conversations=300, max_context_tokens=2000, seed=1)
    c = frame(ShareGPTSynthetic(p))
    for cid in np.unique(c["conversation"]):
        m = c["conversation"] == cid
        assert (c["user_tokens"][m] + c["output_tokens"][m]).sum() <= 2000
    again = frame(ShareGPTSynthetic(p))
    assert (again["user_tokens"] == c["user_tokens"]).all()


SAMPLE = [
    {"id": "a", "conversations": [
        {"from": "human", "value": "x" * 40}, {"from": "gpt", "value": "y" * 400},
        {"from": "human", "value": "z" * 8}, {"from": "gpt", "value": "w" * 80}]},
    {"id": "b", "conversations": [
        {"from": "system", "value": "ignored"},
        {"from": "human", "value": "q" * 12}, {"from": "gpt", "value": "r" * 12}]},
    {"id": "c", "conversations": [{"from": "gpt", "value": "answer without a question"}]},
]  # fmt: skip


def test_sharegpt_json_loader(tmp_path):
    path = tmp_path / "sharegpt.json"
    path.write_text(json.dumps(SAMPLE))
    wl = ShareGPTJSON(ShareGPTJSON.Params(path=str(path), conversations=10, seed=2))
    c = frame(wl)
    assert list(c["conversation"]) == [0, 0, 1]
    assert list(c["turn"]) == [0, 1, 0]
    assert list(c["user_tokens"]) == [10, 2, 3]  # ceil(characters / 4)
    assert list(c["output_tokens"]) == [100, 20, 3]
    assert c["time_s"][0] == c["time_s"][1] < c["time_s"][2]
    only_long = ShareGPTJSON(ShareGPTJSON.Params(path=str(path), min_turns=2))
    assert list(frame(only_long)["conversation"]) == [0, 0]


@pytest.mark.parametrize(
    "content,match",
    [
        ("{not json", "not a JSON file"),
        ('{"a": 1}', "expected a list"),
        ('[{"id": 1}]', "no 'conversations' list"),
        ('[{"conversations": [{"from": "human"}]}]', "needs 'from' and 'value'"),
        ('[{"conversations": []}]', "no conversation with at least 1 turns"),
    ],
)
def test_sharegpt_json_errors(tmp_path, content, match):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(DataError, match=match):
        frame(ShareGPTJSON(ShareGPTJSON.Params(path=str(path))))
    with pytest.raises(DataError, match="no ShareGPT file"):
        frame(ShareGPTJSON(ShareGPTJSON.Params(path=str(tmp_path / "none.json"))))
