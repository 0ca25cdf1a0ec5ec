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
