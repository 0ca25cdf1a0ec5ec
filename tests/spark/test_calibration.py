"""The calibrated assumptions (task overhead, driver gap, skew) are what the calibration rule
gives, and the rule's targets are met (slow: about a minute)."""

import pytest
from sim_models.spark import cluster
from sim_models.spark.calibration import calibrate, isolated_rt
from sim_models.spark.cluster import ClusterConfig
from sim_models.spark.published import ISOLATED_RT_S


def test_isolated_runtimes_with_the_defaults_are_near_the_papers():
    cfg = ClusterConfig()
    for cls, measured in ISOLATED_RT_S.items():
        assert isolated_rt(cfg, cls) == pytest.approx(measured, rel=0.1), cls


@pytest.mark.slow
def test_defaults_are_the_calibrated_values():
    out = calibrate(rounds=1)
    assert out["task_overhead_s"] == pytest.approx(cluster.TASK_OVERHEAD_S, rel=0.1)
    assert out["driver_gap_s"] == pytest.approx(cluster.DRIVER_GAP_S, abs=0.05)
    assert out["skew_sigma"] == pytest.approx(cluster.SKEW_SIGMA, abs=0.05)
    assert out["s4_fair_makespan_s"] == pytest.approx(43.27, rel=0.02)
