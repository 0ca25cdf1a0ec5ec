"""The README's code examples run as written."""

import re

from sim.core import Simulation


def test_readme_model_and_policy_example(root, monkeypatch):
    from sim import registry

    registry.discover()
    # register the example into throw-away copies of the registry
    monkeypatch.setattr(registry, "_MODELS", dict(registry._MODELS))
    monkeypatch.setattr(registry, "_POLICIES", dict(registry._POLICIES))
    text = (root / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    example = next(b for b in blocks if '@model("toy.servers"' in b)
    namespace: dict = {}
    exec(compile(example, "README.md", "exec"), namespace)

    cls = registry.get_model("toy.servers")
    policy = registry.get_policy("toy.pick", "always_one")()
    m = cls(cls.Params(jobs=200), policy=policy)
    sim = Simulation(3)
    m.build(sim)
    sim.run()
    assert m.summary()["latency_s.count"] == 200


def test_readme_commands_exist(root):
    text = (root / "README.md").read_text()
    assert "make demo" in text and "make test" in text
    make = (root / "Makefile").read_text()
    assert "\ndemo:" in make and "\ntest:" in make
    assert "make test" in (root / ".ci" / "run").read_text()
