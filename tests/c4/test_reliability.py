"""The lifetime under faults: exact accounting, renewal theory, the Young/Daly interval,
the detection policies, and the registered month model."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import simpy
from sim_models.c4.detector import Detection
from sim_models.c4.faults import Fault
from sim_models.c4.recovery import C4D, TimeoutManual
from sim_models.c4.reliability import Lifetime, LifetimeConfig, young_daly_interval

from sim import experiment
from sim.runner import run_experiment


def _probe(kind, hung=True, slowdown=math.inf, detected=True, ok=True, delay=20.0):
    fault = Fault(kind, node=1)

    def make(_kind=None):
        det = None
        if detected:
            unit = fault.unit if ok else ("node", 99)
            det = Detection(100.0 + delay, fault.cls, unit)
        return SimpleNamespace(fault=fault, hung=hung, slowdown=slowdown, detection=det,
                               delay_s=delay if detected else math.nan,
                               unit_ok=bool(detected and ok))  # fmt: skip

    return make


def _life(policy, probe, *, horizon, rate, tau, cost=0.0, restart=600.0, seed=0):
    cfg = LifetimeConfig(horizon, rate, ["gpu_hang"], [1.0], tau, cost, restart)
    life = Lifetime(cfg, policy, probe, np.random.default_rng(seed))
    env = simpy.Environment()
    env.process(life.run(env))
    env.run()
    return life


def _manual(**kw):
    return TimeoutManual(TimeoutManual.Params(manual_sigma=0.0, notice_sigma=0.0, **kw))


def test_every_second_is_accounted_for():
    for hung, slowdown in ((True, math.inf), (False, 2.0)):
        life = _life(_manual(), _probe("gpu_hang", hung, slowdown), horizon=200 * 86400.0,
                     rate=1 / 86400.0, tau=3000.0, cost=60.0)  # fmt: skip
        s = life.summary()
        assert s["accounted_fraction"] == pytest.approx(1.0, abs=1e-9)
        total = s["downtime_fraction"] + s["goodput"] + s["checkpoint_overhead_fraction"]
        assert total == pytest.approx(1.0, abs=1e-9)
        assert len(life.faults) > 100


def test_renewal_theory_one_failure_class_no_c4d():
    """Alternating renewal process: up time X ~ Exp(lam), then a fixed handling time
    T = timeout + diagnosis + isolation + restart; the work since the last checkpoint
    (X mod tau) is lost. Downtime fraction = (T + E[X mod tau]) / (1/lam + T)."""
    lam = 1 / (30 * 3600.0)
    tau = 4 * 3600.0
    pol = _manual(timeout_s=1800.0, manual_median_s=5 * 3600.0, isolate_manual_s=600.0)
    life = _life(pol, _probe("gpu_hang"), horizon=8e8, rate=lam, tau=tau, restart=900.0)
    T = 1800.0 + 5 * 3600.0 + 600.0 + 900.0
    e_mod = 1 / lam - tau * math.exp(-lam * tau) / (1 - math.exp(-lam * tau))
    expect = (T + e_mod) / (1 / lam + T)
    n = len(life.faults)
    assert n > 5000
    assert life.summary()["downtime_fraction"] == pytest.approx(expect, rel=3 / math.sqrt(n))


def test_young_daly_interval_minimises_lost_work_plus_checkpoints():
    lam = 1 / (20 * 3600.0)
    cost = 120.0
    yd = young_daly_interval(cost, 1 / lam)
    taus = yd * np.array([0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 4.0])
    waste = []
    for t in taus:  # common random numbers: the same fault times for every interval
        life = _life(_manual(), _probe("gpu_hang"), horizon=4e7, rate=lam, tau=float(t),
                     cost=cost, seed=5)  # fmt: skip
        b = life.books
        waste.append((b["lost_work"] + b["checkpoint"]) / life.cfg.horizon_s)
    waste = np.array(waste)
    best = taus[np.argmin(waste)]
    assert 0.5 * yd <= best <= 1.5 * yd
    assert waste[3] <= 1.03 * waste.min()
    assert waste[0] > 1.2 * waste[3] and waste[-1] > 1.2 * waste[3]


def test_c4d_against_the_baseline_and_its_fallbacks():
    rng = np.random.default_rng(1)
    c4d = C4D()
    base = _manual()
    good = c4d.respond(_probe("node_crash"), rng)
    assert good.detected_by == "c4d" and good.detect_s == 20.0 and good.diagnose_s == 0
    assert good.isolate_s == c4d.params.isolate_s and good.wrong_rounds == 0
    wrong = c4d.respond(_probe("node_crash", ok=False), rng)  # two wrong rounds: people
    assert wrong.wrong_rounds == 2 and not wrong.correct
    assert wrong.diagnose_s > 0 and wrong.isolate_s >= 2 * c4d.params.isolate_s
    slow_missed = c4d.respond(_probe("slow_gpu", False, 1.5, detected=False), rng)
    assert slow_missed.detected_by == "people"
    assert c4d.respond(_probe("port_down", False, 1.0), rng) is None  # no effect
    b = base.respond(_probe("node_crash"), rng)
    assert b.detect_s == base.params.timeout_s and b.diagnose_s == base.params.manual_median_s
    s = base.respond(_probe("slow_gpu", False, 1.5), rng)
    assert s.detect_s == base.params.notice_median_s


def test_month_model_runs_both_policies(tmp_path):
    out = {}
    for det in ("timeout_manual", "c4d"):
        exp = experiment.from_dict({
            "name": "m", "model": "c4.reliability", "seed": 4,
            "params": {"gpus": 64, "days": 20, "rate_scale": 8.0, "model_params": 2e9},
            "policies": {"detection": det},
        })  # fmt: skip
        out[det] = run_experiment(exp, tmp_path / det).summary
    for s in out.values():
        assert s["accounted_fraction"] == pytest.approx(1.0, abs=1e-9)
        assert s["faults"] >= 1
    assert out["c4d"]["downtime_fraction"] < out["timeout_manual"]["downtime_fraction"]
    assert out["c4d"]["detect_s.median"] < 120.0
    assert (tmp_path / "c4d" / "fault_timeline.png").exists()


def test_single_fault_timeline():
    exp = experiment.from_dict({
        "name": "m", "model": "c4.reliability",
        "params": {"gpus": 64, "days": 1, "single_fault": "gpu_hang", "single_fault_at_h": 2,
                   "model_params": 2e9},
    })  # fmt: skip
    res = run_experiment(exp, None)
    faults = res.tables["faults"]
    assert len(faults) == 1 and faults["time_s"].iloc[0] == pytest.approx(7200.0)
