"""Registry: decorators, discovery, entry points, suggestions."""

import sys
import types

import pytest

from sim import registry
from sim.errors import UnknownNameError
from sim.model import Model, Policy


@pytest.fixture
def fresh_registry(monkeypatch):
    registry.discover()
    monkeypatch.setattr(registry, "_MODELS", dict(registry._MODELS))
    monkeypatch.setattr(registry, "_POLICIES", dict(registry._POLICIES))
    monkeypatch.setattr(registry, "_WORKLOADS", dict(registry._WORKLOADS))


def test_entry_points_register_other_packages(fresh_registry, monkeypatch):
    mod = types.ModuleType("third_party_models")

    def load():
        @registry.model("ext.thing", "an external model")
        class Thing(Model):
            pass

        mod.Thing = Thing
        return mod

    class FakeEP:
        name = "thing"

        def load(self):
            return load()

    def entry_points(group):
        return [FakeEP()] if group == "sim.models" else []

    monkeypatch.setitem(sys.modules, "third_party_models", mod)
    monkeypatch.setattr(registry.importlib.metadata, "entry_points", entry_points)
    monkeypatch.setattr(registry, "_discovered", False)
    assert registry.get_model("ext.thing").description == "an external model"


def test_unknown_names_suggest(fresh_registry):
    with pytest.raises(UnknownNameError, match="did you mean 'queueing.mmc'"):
        registry.get_model("queueing.mcc")
    with pytest.raises(UnknownNameError, match="unknown nope policy"):
        registry.get_policy("nope", "x")


def test_duplicate_registration_is_an_error(fresh_registry):
    @registry.policy("d", "p")
    class P1(Policy):
        pass

    with pytest.raises(ValueError, match="registered twice"):

        @registry.policy("d", "p")
        class P2(Policy):
            pass


def test_decorator_checks_the_class(fresh_registry):
    with pytest.raises(TypeError):
        registry.model("x.y")(object)


def test_a_broken_module_is_reported_and_does_not_break_others(fresh_registry, monkeypatch, tmp_path, cli):
    pkg = tmp_path / "brokenpkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "good.py").write_text(
        "from sim import Model, model\n"
        "@model('ext.good', 'a fine model')\n"
        "class Good(Model):\n    pass\n"
    )
    (pkg / "bad.py").write_text("import this_module_does_not_exist\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    class EP:
        name = "brokenpkg"
        value = "brokenpkg"

    def entry_points(group):
        return [EP()] if group == "sim.models" else []

    monkeypatch.setattr(registry.importlib.metadata, "entry_points", entry_points)
    monkeypatch.setattr(registry, "_discovered", False)
    monkeypatch.setattr(registry, "_FAILED", {})
    assert registry.get_model("ext.good").description == "a fine model"
    assert "ModuleNotFoundError" in registry.failures()["brokenpkg.bad"]
    with pytest.raises(UnknownNameError, match=r"failed to import \(brokenpkg.bad"):
        registry.get_model("ext.bad")
    code, out, _ = cli("list")
    assert code == 0 and "brokenpkg.bad: ModuleNotFoundError" in out


def test_builtin_models_come_from_the_entry_point():
    import importlib.metadata

    eps = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="sim.models")}
    assert eps.get("sim_models") == "sim_models"
    bench = {ep.name for ep in importlib.metadata.entry_points(group="sim.bench")}
    assert {"mmc", "recorder", "maxmin", "allreduce"} <= bench


def test_installed_names_do_not_collide():
    import importlib.util

    assert importlib.util.find_spec("sim_models") is not None
    assert importlib.util.find_spec("sim_bench") is not None


def test_plugin_subcommands(monkeypatch, capsys):
    from sim import cli

    def add_parser(sub):
        p = sub.add_parser("hello", help="say hello")
        p.add_argument("who")
        p.set_defaults(func=lambda args: print(f"hello {args.who}") or 0)

    class EP:
        name = "hello"

        def load(self):
            return add_parser

    real = registry.importlib.metadata.entry_points

    def entry_points(group):
        return [EP()] if group == cli.COMMANDS_GROUP else real(group=group)

    monkeypatch.setattr("importlib.metadata.entry_points", entry_points)
    assert cli.main(["hello", "world"]) == 0
    assert capsys.readouterr().out.strip() == "hello world"
