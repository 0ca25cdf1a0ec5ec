"""serverless.single_function against closed forms (keep-alive 0 and infinite, and one
instance with any keep-alive), and its routing rules.

Tolerance: R independent replications; the mean must lie within 4 standard errors of the
formula, and the standard error must be small (so that a loose check cannot pass by
accident). Seeds are fixed, so outcomes are deterministic.
"""

from __future__ import annotations

import numpy as np
import pytest
from sim_models.serverless import theory
from sim_models.serverless.single_function import SingleFunction

from sim.core import Simulation


def replicate(reps: int = 4, **params) -> dict[str, np.ndarray]:
    out: dict[str, list[float]] = {}
    for r in range(reps):
        m = SingleFunction(SingleFunction.Params(**params))
        sim = Simulation(500 + r)
        m.build(sim)
        sim.run()
        for k, v in m.summary().items():
            out.setdefault(k, []).append(v)
    return {k: np.array(v) for k, v in out.items()}


def check(values: np.ndarray, expected: float, max_se: float) -> None:
    mean = values.mean()
    se = values.std(ddof=1) / np.sqrt(len(values))
    assert se < max_se, f"run too short to test: se={se:.4g}"
    assert abs(mean - expected) < 4 * se + 1e-12, f"{mean:.5g} vs {expected:.5g} (se {se:.3g})"


def test_keepalive_zero_is_an_erlang_loss_system_with_cold_services():
    lam, cold, c = 1.2, 2.0, 3
    r = replicate(arrival_rate=lam, warm_service_s=1.0, cold_service_s=cold, keepalive_s=0.0,
                  max_concurrency=c, horizon_s=50_000)  # fmt: skip
    ref = theory.keepalive_zero(lam, cold, c)
    for key in ("rejection_prob", "instances.mean", "instances_running.mean"):
        check(r[key], ref[key], max_se=0.02)
    # every admitted request is a cold start; no instance is ever idle
    np.testing.assert_allclose(r["cold_start_prob"] + r["rejection_prob"], 1.0)
    np.testing.assert_allclose(r["instances_idle.mean"], 0.0, atol=1e-9)


def test_infinite_keepalive_is_an_erlang_loss_system_with_warm_services():
    lam, warm, c = 0.9, 2.0, 4
    r = replicate(arrival_rate=lam, warm_service_s=warm, cold_service_s=3.0, keepalive_s=1e9,
                  max_concurrency=c, horizon_s=50_000)  # fmt: skip
    ref = theory.keepalive_infinite(lam, warm, c)
    for key in ("rejection_prob", "instances_running.mean", "instances_idle.mean"):
        check(r[key], ref[key], max_se=0.02)
    np.testing.assert_allclose(r["instances.mean"], c)  # all c exist before the window
    assert r["cold_start_prob"].max() == 0.0
    assert r["cold_starts"].max() == c


@pytest.mark.parametrize("keep", [0.5, 2.0])
def test_one_instance_cold_start_probability_exp_minus_lambda_k(keep):
    lam, warm, cold = 0.5, 1.0, 2.5
    r = replicate(arrival_rate=lam, warm_service_s=warm, cold_service_s=cold, keepalive_s=keep,
                  max_concurrency=1, horizon_s=50_000)  # fmt: skip
    ref = theory.single_instance(lam, warm, cold, keep)
    for key, se in (("cold_start_prob", 0.01), ("rejection_prob", 0.01),
                    ("instances.mean", 0.01), ("instances_running.mean", 0.01),
                    ("instance_lifespan_s.mean", 0.2)):  # fmt: skip
        check(r[key], ref[key], max_se=se)


def test_routing_rules_differ_as_expected():
    base = dict(arrival_rate=2.0, warm_service_s=1.0, cold_service_s=1.5, keepalive_s=30.0,
                horizon_s=20_000)  # fmt: skip
    newest = replicate(2, routing="newest", **base)
    oldest = replicate(2, routing="oldest", **base)
    rand = replicate(2, routing="random", **base)
    # random routing spreads requests, so every instance is used now and then and few
    # expire: more instances, far fewer cold starts than either ordered rule
    assert rand["instances.mean"].mean() > 1.2 * newest["instances.mean"].mean()
    assert rand["cold_start_prob"].mean() < newest["cold_start_prob"].mean() / 5
    # newest concentrates on young instances: the old ones expire, the young live long
    assert newest["instance_lifespan_s.mean"].mean() > oldest["instance_lifespan_s.mean"].mean()


def test_params_are_bounded():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="requests"):
        SingleFunction.Params(arrival_rate=1e6, horizon_s=1e9)
    with pytest.raises(ValidationError):
        SingleFunction.Params(keepalive_s=-1)
