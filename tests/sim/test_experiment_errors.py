"""Every bad-input class: exit code 2, one clear line naming file and key or line, no
traceback."""

from __future__ import annotations

import pytest

GOOD = """\
name: t
model: queueing.mmc
seed: 3
params:
  servers: 2
  arrival_rate: 1.0
  customers: 500
"""


@pytest.fixture
def write(tmp_path):
    def _write(text: str, name: str = "exp.yaml"):
        p = tmp_path / name
        p.write_text(text)
        return p

    return _write


def assert_user_error(result, *needles):
    code, out, err = result
    assert code == 2, (code, out, err)
    assert "Traceback" not in err
    lines = [ln for ln in err.strip().splitlines() if ln]
    assert len(lines) == 1, err
    for n in needles:
        assert n in err, f"{n!r} not in {err!r}"


def test_good_file_validates(cli, write):
    code, out, _ = cli("validate", write(GOOD))
    assert code == 0 and "valid" in out


def test_malformed_yaml(cli, write):
    p = write(GOOD + "  bad: [unclosed\n")
    assert_user_error(cli("validate", p), str(p), "malformed YAML", ":9")


def test_unknown_top_level_key_suggests(cli, write):
    p = write(GOOD.replace("seed: 3", "sed: 3"))
    assert_user_error(cli("validate", p), "unknown key 'sed'", "did you mean 'seed'", f"{p}:3")


def test_unknown_param_suggests(cli, write):
    p = write(GOOD.replace("servers: 2", "server: 2"))
    assert_user_error(cli("validate", p), "params.server", "did you mean 'servers'", f"{p}:5")


def test_wrong_type(cli, write):
    p = write(GOOD.replace("servers: 2", "servers: two"))
    assert_user_error(cli("validate", p), "params.servers", "'two'", f"{p}:5")


def test_missing_file(cli, tmp_path):
    assert_user_error(cli("run", tmp_path / "nope.yaml"), "nope.yaml", "file not found")


def test_unknown_model_name(cli, write):
    p = write(GOOD.replace("queueing.mmc", "queueing.mmk"))
    assert_user_error(cli("validate", p), "unknown model 'queueing.mmk'", "queueing.mmc", f"{p}:2")


def test_unknown_policy_name(cli, write):
    p = write(GOOD + "policy: fifo\n")
    assert_user_error(cli("validate", p), "takes no policy")


def test_bad_override(cli, write):
    p = write(GOOD)
    assert_user_error(cli("validate", p, "--set", "parms.servers=3"), "did you mean 'params'")
    assert_user_error(cli("validate", p, "--set", "params.servers"), "KEY=VALUE")
    assert_user_error(cli("validate", p, "--set", "params.servers=-1"), "params.servers")


def test_override_applies(cli, write, tmp_path):
    p = write(GOOD)
    code, out, _ = cli("run", p, "--set", "params.servers=3", "--out", tmp_path / "o")
    assert code == 0
    assert "servers: 3" in (tmp_path / "o" / "config.yaml").read_text()


def test_empty_and_non_mapping_files(cli, write):
    assert_user_error(cli("validate", write("", "e.yaml")), "empty")
    assert_user_error(cli("validate", write("- 1\n- 2\n", "l.yaml")), "mapping")


def test_missing_required_key(cli, write):
    p = write(GOOD.replace("model: queueing.mmc\n", ""))
    assert_user_error(cli("validate", p), "model", "required")


def test_invalid_param_combination(cli, write):
    p = write(GOOD.replace("arrival_rate: 1.0", "arrival_rate: 5.0"))
    assert_user_error(cli("validate", p), "unstable")


def test_unknown_paper(cli):
    assert_user_error(cli("reproduce", "quickstrat"), "did you mean 'quickstart'")


@pytest.fixture
def arbiter_model(monkeypatch):
    """A throw-away model that takes hw.arbiter policies."""
    from sim import registry
    from sim.model import Model

    registry.discover()
    monkeypatch.setattr(registry, "_MODELS", dict(registry._MODELS))

    @registry.model("test.arbitrated", "test model with a policy")
    class Arbitrated(Model):
        policy_domain = "hw.arbiter"
        default_policy = "fcfs"

    return Arbitrated


POLICY_EXP = "name: p\nmodel: test.arbitrated\npolicy:\n  name: {name}\n  params: {params}\n"


def test_unknown_policy_name_suggests(cli, write, arbiter_model):
    p = write(POLICY_EXP.format(name="fcfz", params="{}"))
    assert_user_error(cli("validate", p), "unknown hw.arbiter policy 'fcfz'",
                      "did you mean 'fcfs'", f"{p}:4")  # fmt: skip


def test_policy_params_are_validated(cli, write, arbiter_model):
    p = write(POLICY_EXP.format(name="threshold", params="{threshold_burst: 4}"))
    assert_user_error(cli("validate", p), "policy.params.threshold_burst",
                      "did you mean 'threshold_bursts'")  # fmt: skip
    ok = write(POLICY_EXP.format(name="threshold", params="{threshold_bursts: 4}"), "ok.yaml")
    assert cli("validate", ok)[0] == 0


def test_default_policy_is_used(arbiter_model):
    from sim import experiment

    exp = experiment.from_dict({"name": "p", "model": "test.arbitrated"})
    assert exp.policy_cls.name == "fcfs"
    assert exp.resolved()["policies"]["policy"]["name"] == "fcfs"


def test_unknown_workload_name(cli, write):
    p = write(GOOD + "workload: poison\n")
    assert_user_error(cli("validate", p), "unknown workload 'poison'", "did you mean 'poisson'",
                      f"{p}:8")  # fmt: skip
