"""queueing.mmc against closed forms.

Tolerance: each check runs R independent replications and accepts the simulated mean when it
lies within 4 standard errors (estimated from the replications) of the formula; it also
requires the standard error to be small (a few percent of the value) so that a loose check
cannot pass by accident. With R = 8 and Student t(7), 4 standard errors is a false-alarm
rate below 1%; seeds are fixed, so the outcome is deterministic.
"""

from __future__ import annotations

import numpy as np
import pytest
from sim_models.queueing import theory
from sim_models.queueing.mmc import MMc

from sim.core import Simulation
from sim.model import Workload
from sim.workload import Arrivals


class Replay(Workload):
    """Fixed batches of arrivals (a test double)."""

    def __init__(self, batches):
        super().__init__()
        self._batches = batches

    def batches(self):
        return iter(self._batches)


def replicate(reps: int = 8, **params) -> dict[str, np.ndarray]:
    out: dict[str, list[float]] = {}
    for r in range(reps):
        m = MMc(MMc.Params(**params))
        sim = Simulation(1000 + r)
        m.build(sim)
        sim.run()
        for k, v in m.summary().items():
            out.setdefault(k, []).append(v)
    return {k: np.array(v) for k, v in out.items()}


def check(values: np.ndarray, expected: float, max_rel_se: float) -> None:
    mean = values.mean()
    se = values.std(ddof=1) / np.sqrt(len(values))
    assert se / expected < max_rel_se, f"run too short to test: se={se:.4g}"
    assert abs(mean - expected) < 4 * se, f"mean {mean:.5g} vs {expected:.5g} (se {se:.3g})"


@pytest.mark.parametrize("servers,rho", [(1, 0.5), (3, 0.8), (8, 0.9)])
def test_mmc_fifo_mean_wait_matches_erlang_c(servers, rho):
    lam = rho * servers
    r = replicate(servers=servers, arrival_rate=lam, service_rate=1.0, customers=40_000)
    check(r["wait_s.mean"], theory.mmc_mean_wait(servers, lam, 1.0), max_rel_se=0.05)
    check(r["utilization.mean"], rho, max_rel_se=0.01)


def test_mmc_wait_quantile_matches_erlang_c_tail():
    r = replicate(servers=2, arrival_rate=1.4, service_rate=1.0, customers=40_000)
    check(r["wait_s.p90"], theory.mmc_wait_quantile(2, 1.4, 1.0, 0.90), max_rel_se=0.05)


@pytest.mark.parametrize("dist,cv", [("deterministic", 0.0), ("gamma", 2.0), ("lognormal", 0.5)])
def test_mg1_fifo_matches_pollaczek_khinchine(dist, cv):
    r = replicate(
        servers=1, arrival_rate=0.7, service_rate=1.0, customers=40_000,
        service_distribution=dist, service_cv=cv,
    )  # fmt: skip
    check(r["wait_s.mean"], theory.mg1_mean_wait(0.7, 1.0, cv), max_rel_se=0.06)


@pytest.mark.parametrize("dist,cv", [("exponential", 1.0), ("deterministic", 0.0), ("gamma", 3.0)])
def test_mg1_ps_mean_response_is_insensitive(dist, cv):
    r = replicate(
        servers=1, arrival_rate=0.6, service_rate=1.0, customers=40_000,
        discipline="ps", service_distribution=dist, service_cv=cv,
    )  # fmt: skip
    check(r["response_s.mean"], theory.mg1_ps_mean_response(0.6, 1.0), max_rel_se=0.05)


def test_mmc_ps_has_mmc_mean_response():
    r = replicate(servers=3, arrival_rate=2.1, service_rate=1.0, customers=40_000, discipline="ps")
    check(r["response_s.mean"], theory.mmc_mean_response(3, 2.1, 1.0), max_rel_se=0.04)


def test_ps_shares_the_server_exactly():
    """Two customers, work 1 and 3, arriving together at a 1-server PS queue: the first
    leaves at t=2 (rate 1/2), the second at t=4."""
    workload = Replay([Arrivals(np.zeros(2), {"service_s": np.array([1.0, 3.0])})])
    m = MMc(MMc.Params(servers=1, arrival_rate=0.5, customers=2, discipline="ps",
                       warmup_fraction=0.0), workload=workload)  # fmt: skip
    sim = Simulation(0)
    m.build(sim)
    sim.run()
    assert sorted(m._response.values()) == pytest.approx([2.0, 4.0])


def test_unstable_queue_is_rejected():
    with pytest.raises(ValueError, match="unstable"):
        MMc.Params(servers=2, arrival_rate=2.0, service_rate=1.0)


def test_erlang_c_known_value():
    # A textbook value: c=2, a=1 Erlang -> P(wait) = 1/3.
    assert theory.erlang_c(2, 1.0, 1.0) == pytest.approx(1 / 3)
