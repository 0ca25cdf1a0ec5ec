"""Scopes: dotted names for streams, probes and spans; hardware components record spans
under their scope, so --trace shows an all-reduce's steps and flows."""

from __future__ import annotations

import json

import numpy as np

from sim.core import Simulation
from sim.scope import NULL_SCOPE


def test_scoped_streams_are_independent_and_named():
    sim = Simulation(3)
    a, b = sim.scope("pkg.a"), sim.scope("pkg.b")
    assert a.child("x").name == "pkg.a.x"
    x = a.rng("draws").random(3)
    assert not np.allclose(x, b.rng("draws").random(3))
    assert np.allclose(x, Simulation(3).scope("pkg.a").rng("draws").random(3))
    assert "pkg.a.draws" in sim.streams.names()
    a.probe("wait_s").record(1.0)
    assert sim.recorder.values("pkg.a.wait_s").tolist() == [1.0]


def test_null_scope_records_nothing():
    NULL_SCOPE.span("x", 0, 1)
    assert NULL_SCOPE.probe("p").name == "p" and not NULL_SCOPE.tracing


def test_spans_only_when_tracing():
    quiet, loud = Simulation(0), Simulation(0, trace=True)
    for sim in (quiet, loud):
        sim.scope("hw.gpu0").span("wave 0", 0.0, 1e-6, track="gemm")
    assert len(quiet.timeline) == 0
    ev = loud.timeline.to_chrome_trace()["traceEvents"]
    names = {e["args"]["name"] for e in ev if e["ph"] == "M"}
    assert names == {"hw.gpu0/gemm"}


def test_trace_json_shows_allreduce_steps_and_flows(cli, tmp_path, root):
    out = tmp_path / "ar"
    code, _, err = cli("run", root / "experiments/hw/allreduce.yaml", "--quick", "--trace",
                       "--set", "params.ranks=4", "--out", out)  # fmt: skip
    assert code == 0, err
    events = json.loads((out / "trace.json").read_text())["traceEvents"]
    tracks = {e["args"]["name"] for e in events if e["ph"] == "M"}
    assert "hw.collective/allreduce" in tracks  # one span per step
    assert any(t.startswith("hw.collective.net/") for t in tracks)  # one per flow, per link
    steps = [e for e in events if e["ph"] == "X" and "step" in e["name"]]
    assert len(steps) == 2 * (4 - 1)


def test_hardware_components_record_spans():
    import simpy
    from sim_models.hw.arbiter import HBMArbiter
    from sim_models.hw.catalog import gpu, link
    from sim_models.hw.gemm import GemmShape
    from sim_models.hw.gpu import GPU
    from sim_models.hw.links import DMAEngine

    sim = Simulation(0, trace=True)
    env = sim.env
    spec = gpu("t3_sim")
    hbm = HBMArbiter(env, spec.hbm_bandwidth_Bps, scope=sim.scope("hw.hbm"))
    g = GPU(env, spec, hbm=hbm, scope=sim.scope("hw.gpu"))
    dma = DMAEngine(env, link("pcie4_x16"), scope=sim.scope("hw.dma"))
    g.gemm(GemmShape(1024, 1024, 1024))
    dma.copy(1e6, tag="swap_out")
    env.run()
    assert isinstance(env, simpy.Environment)
    tracks = {t for (_n, _c, t, *_rest) in sim.timeline._spans}
    assert {"hw.gpu/gemm", "hw.hbm/gemm", "hw.dma/swap_out"} <= tracks
