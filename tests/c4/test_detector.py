"""C4D's detector on diagnosis probes: every fault kind classified and localised from
telemetry alone, no false alarm on a healthy job, delays within the rules' bounds."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import sim_models.c4.diagnosis as diagnosis
from sim_models.c4.comm import Routes
from sim_models.c4.detector import Detector, DetectorParams, probe_path
from sim_models.c4.diagnosis import run_probe
from sim_models.c4.fabric import Fabric, FabricSpec
from sim_models.c4.faults import KINDS
from sim_models.c4.job import JobSpec
from sim_models.c4.routing import C4PRouting

from sim import experiment
from sim.core import Simulation
from sim.runner import run_experiment

SPEC = JobSpec(compute_s=0.5, grad_bytes=1e9)


@pytest.fixture(scope="module")
def setup():
    sim = Simulation(2)
    fab = Fabric(FabricSpec(nodes=16))
    pol = C4PRouting()
    pol.bind(sim.scope("c4.test"))
    pol.setup(fab.G)
    return fab, Routes(fab, pol)


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_fault_kind_is_classified_and_localised(setup, kind):
    fab, routes = setup
    rng = np.random.default_rng(list(KINDS).index(kind) + 11)
    dp = DetectorParams()
    r = run_probe(fab, routes, list(range(16)), SPEC, kind, rng, detector=dp, name="job")
    assert r.fault is not None and r.fault.kind in (kind, "slow_port")
    assert r.detected, f"{kind}: not detected"
    assert r.class_ok, f"{kind}: {r.detection.cls} != {r.fault.cls}"
    assert r.unit_ok, f"{kind}: {r.detection.unit} != {r.fault.unit}"
    if r.fault.is_hang:
        thr = max(dp.hang_min_s, dp.hang_factor * r.healthy_iter_s)
        assert thr <= r.delay_s <= thr + 2 * dp.poll_s + dp.probe_s + r.healthy_iter_s
        assert r.hung
    else:
        assert r.slowdown > 1.01
        assert r.delay_s <= (dp.window + 2) * r.healthy_iter_s * r.slowdown + 2 * dp.poll_s


def test_no_false_alarm_on_a_healthy_noisy_job(setup):
    fab, routes = setup
    rng = np.random.default_rng(3)
    for _ in range(3):
        r = run_probe(fab, routes, list(range(16)), SPEC, None, rng, noise_rel=0.1,
                      noise_s=0.05 * SPEC.compute_s, name="job")  # fmt: skip
        assert r.detection is None


def test_probes_restore_the_fabric(setup):
    fab, routes = setup
    rng = np.random.default_rng(4)
    run_probe(fab, routes, list(range(16)), SPEC, "port_down", rng, name="job")
    assert not fab.factors() and not fab.down


def test_detector_model_precision_recall_and_noise():
    def run(noise):
        exp = experiment.from_dict({
            "name": "d", "model": "c4.detector", "seed": 5,
            "params": {"gpus": 64, "probes_per_kind": 2, "healthy_probes": 2, "noise": noise},
        })  # fmt: skip
        return run_experiment(exp, None).summary

    clean = run(0.0)
    assert clean["false_alarm_rate"] == 0.0
    assert clean["class.accuracy"] == 1.0
    assert clean["recall"] >= 0.85 and clean["precision"] >= 0.85
    assert 5.0 <= clean["detect_s.median"] <= 60.0
    noisy = run(0.6)
    assert noisy["recall"] < clean["recall"]


def test_no_hang_before_the_first_operation_of_a_slow_iteration(setup):
    """Iterations longer than the poll period: silence before the first operation ends is
    not a hang."""
    fab, routes = setup
    long = JobSpec(compute_s=12.0, grad_bytes=1e9)
    r = run_probe(fab, routes, list(range(16)), long, None, np.random.default_rng(6), name="job")
    assert r.detection is None
    r = run_probe(fab, routes, list(range(16)), long, "gpu_hang", np.random.default_rng(7),
                  name="job")  # fmt: skip
    assert r.detected and r.class_ok and r.unit_ok


class _Blind:
    """A view of an object that lets through only the listed attributes (each possibly
    wrapped in a view of its own) and fails the test on any other read."""

    def __init__(self, obj, name: str, allowed: dict):
        object.__setattr__(self, "_obj", obj)
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_allowed", allowed)

    def __getattr__(self, attr):
        if attr not in self._allowed:
            raise AssertionError(f"the detector read {self._name}.{attr}")
        value = getattr(self._obj, attr)
        wrap = self._allowed[attr]
        return wrap(value) if wrap is not None else value


def _blind_job(job):
    """What the C4D master may know of a job: its nodes and ranks, every QP's current
    path (from the traffic planner), the topology's graph (failed links leave it when the
    switches announce them), and the network to send probes on. Not the job's fault state
    (hung, slow or silent nodes) nor any link's capacity."""
    net = lambda n: _Blind(n, "net", {"compile_paths": None, "start_flows": None})  # noqa: E731
    fabric = _Blind(job.fabric, "fabric", {"G": None, "ids": None, "net": net})
    routes = lambda r: _Blind(r, "routes", {"edges": None})  # noqa: E731
    ring = _Blind(job.ring, "ring", {"keys": None, "qps": None, "probe": None,
                                     "routes": routes})  # fmt: skip
    return _Blind(job, "job", {"nodes": None, "rails": None, "m": None, "ring": lambda _r: ring,
                               "fabric": lambda _f: fabric, "env": None, "telemetry": None})  # fmt: skip


class _BlindDetector(Detector):
    def __init__(self, job, *a, **kw):
        super().__init__(_blind_job(job), *a, **kw)


@pytest.mark.parametrize("kind", list(KINDS))
def test_the_detector_localises_faults_it_is_not_told_about(setup, kind, monkeypatch):
    """The detector runs on a view of the job without its fault state or link capacities
    (any other read fails the test) and still names the faulty unit, for faults at random
    places it never hears of."""
    monkeypatch.setattr(diagnosis, "Detector", _BlindDetector)
    fab, routes = setup
    rng = np.random.default_rng(100 + list(KINDS).index(kind))
    units = set()
    for _ in range(2):
        r = run_probe(fab, routes, list(range(16)), SPEC, kind, rng, noise_rel=0.02,
                      noise_s=0.01 * SPEC.compute_s, name="job")  # fmt: skip
        assert r.detected and r.unit_ok, f"{kind}: {r.detection} vs {r.fault.unit}"
        units.add(r.fault.unit)
    assert len(units) == 2  # two different places, both found


def test_probe_paths_cross_one_suspect_and_are_shortest():
    for spec, cable, other in (
        (FabricSpec(nodes=16), ("tor0.0", "spine3"), ("tor1.0", "spine3")),
        (FabricSpec(nodes=64, tiers=3, tor_pairs_per_pod=2), ("agg0.1", "core1.2"),
         ("agg1.1", "core1.2")),
        (FabricSpec(nodes=64, tiers=3, tor_pairs_per_pod=2), ("tor0.0", "agg0.4"),
         ("tor1.0", "agg0.4")),
        (FabricSpec(nodes=16), ("n3.nic2", "tor0.1"), ("n4.nic2", "tor0.1")),
    ):  # fmt: skip
        G = Fabric(spec).G
        avoid = {other, other[::-1]}
        path = probe_path(G, cable, avoid)
        assert path is not None and cable in path and not avoid & set(path)
        src, dst = path[0][0], path[-1][1]
        assert G.nodes[src]["kind"] == G.nodes[dst]["kind"] == "nic"
        assert len(path) == nx.shortest_path_length(G, src, dst)
        assert all(G.has_edge(*e) for e in path)
