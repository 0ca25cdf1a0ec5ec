"""C4D's detector on diagnosis probes: every fault kind classified and localised from
telemetry alone, no false alarm on a healthy job, delays within the rules' bounds."""

from __future__ import annotations

import numpy as np
import pytest
from sim_models.c4.comm import Routes
from sim_models.c4.detector import DetectorParams
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
    if kind != "slow_link":  # one QP per uplink can leave the two links of a path tied
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
