"""The calibrated generator and its written trace: the cold_start table agrees with the
per_request table (each pod created once, before its first request; no idle gap on a pod
longer than the keep-alive; parts sum to the total), the per-minute tables agree with the
requests, and replaying the written trace reproduces its cold starts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sim_models.serverless import calibration as cal
from sim_models.serverless.generator import make_population
from sim_models.serverless.placement import BURST, TIMER, UNIFORM, expand_minute
from sim_models.serverless.traces.huawei import COLD_START_COMPONENTS, Release
from sim_models.serverless.writer import GenerateOptions, generate_huawei


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("gen")
    opts = GenerateOptions(regions=["R2", "R5"], hours=3, start_hour=8, functions=250, seed=4)
    summary = generate_huawei(out, opts)
    return out, summary


def test_cold_starts_agree_with_requests(generated):
    out, summary = generated
    rel = Release(out)
    assert rel.regions() == ["R2", "R5"]
    for region in ("R2", "R5"):
        cs = pd.concat(rel.cold_starts(region))
        req = pd.concat(rel.requests(region, sorted_by_time=True))
        assert cs["podID"].is_unique  # each pod created once
        first = req.groupby("podID")["time_worker"].min()
        joined = cs.set_index("podID").join(first, how="inner")
        assert len(joined) == len(cs)  # every pod served a request
        ready = joined["time"] + joined["totalCost_cold_start"]
        # before its first request (to the release's ms resolution; parts rounded to ms)
        assert (joined["time_worker"] >= ready - 2e-3).all()
        assert req["podID"].isin(cs["podID"]).all()
        req = req.sort_values(["podID", "time_worker"])
        end = (req["time_worker"] + req["totalCost_worker"]).to_numpy()
        same = req["podID"].to_numpy()[1:] == req["podID"].to_numpy()[:-1]
        gaps = req["time_worker"].to_numpy()[1:] - end[:-1]
        assert gaps[same].max() <= cal.KEEPALIVE_S + 2e-3  # no idle gap beyond the keep-alive
        parts = cs[list(COLD_START_COMPONENTS)].sum(axis=1)
        np.testing.assert_allclose(parts, cs["totalCost_cold_start"], atol=1e-6)


def test_minute_tables_agree_with_requests(generated):
    out, _ = generated
    rel = Release(out)
    counts = pd.concat(rel.minutes("R2", "requests")).drop(columns=["day", "time", "_line"])
    req = pd.concat(rel.requests("R2"))
    assert int(np.nansum(counts.to_numpy())) == len(req)
    per_fn = req["funcID"].value_counts()
    np.testing.assert_array_equal(counts.sum().reindex(per_fn.index).to_numpy(), per_fn.to_numpy())
    cold = pd.concat(rel.minutes("R2", "num_cold_starts")).drop(columns=["day", "time", "_line"])
    assert int(np.nansum(cold.to_numpy())) == sum(len(f) for f in rel.cold_starts("R2"))
    pods = pd.concat(rel.minutes("R2", "num_pods")).drop(columns=["day", "time", "_line"])
    assert (np.nan_to_num(pods.to_numpy()) >= 0).all() and np.nansum(pods.to_numpy()) > 0
    assert rel.runtime_triggers("R2") is not None and rel.runtime_triggers("R5") is not None


def test_replaying_the_written_trace_reproduces_its_cold_starts(generated):
    from serverless_helpers import run_platform
    from sim_models.serverless.workloads import HuaweiMinutes, HuaweiRequests

    from sim.model import RunContext

    out, summary = generated
    written = summary["cold_starts"]
    for cls in (HuaweiRequests, HuaweiMinutes):
        wl = cls(cls.Params(path=str(out)))
        wl.context = RunContext()
        m = run_platform(wl, pool=("static", {}), function_seed=4)
        s = m.summary()
        assert s["requests"] == summary["requests"]
        # the same requests (from per_request) or the same counts placed by the same rule
        assert s["cold_starts"] == pytest.approx(written, rel=0.02), cls.name


def test_population_follows_the_calibration():
    rng = np.random.default_rng(0)
    pop = make_population("R2", rng, 4000)
    triggers = pd.Series([i.trigger for i in pop.infos]).value_counts(normalize=True)
    assert triggers["TIMER-A"] == pytest.approx(cal.REGION_WORKLOAD["R2"].timer_share, abs=0.03)
    assert (pop.period_min[pop.cls == TIMER] > 0).all() and (pop.rate[pop.cls == TIMER] == 0).all()
    assert (pop.rate <= 0.2).all()
    users = pd.Series([i.key.split("---")[1] for i in pop.infos]).value_counts()
    assert 0.6 <= (users == 1).mean() <= 0.9  # most users own one function (Fig 4)
    pools = pd.Series([i.pool for i in pop.infos]).value_counts(normalize=True)
    assert pools["pool22-300-128"] == pytest.approx(0.86, abs=0.03)
    counts = pop.minute_counts(rng, 0, 1440)
    day = counts.sum(axis=0)
    hourly = pop.period_min == 60
    assert (day[hourly] == 24).all()  # an hourly timer fires 24 times a day


def test_placement_rules():
    funcs = np.arange(3)
    keys = np.array([11, 12, 13], dtype=np.uint64)
    classes = np.array([UNIFORM, TIMER, BURST])
    t, f, e = expand_minute(7, 100, 6000.0, np.array([50, 2, 20]), funcs, keys, classes,
                            np.full(3, 0.1), np.full(3, 0.5))  # fmt: skip
    assert len(t) == 72 and np.all(np.diff(t) >= 0) and np.all((t >= 6000) & (t < 6060))
    timer = t[f == 1]
    np.testing.assert_allclose(timer - 6000.0, [0, 30], atol=0.5)  # cron-like, spread evenly
    burst = np.sort(t[f == 2])
    assert burst[-1] - burst[0] < 5.0  # one burst
    assert e.mean() == pytest.approx(0.1, rel=0.3)
    again = expand_minute(7, 100, 6000.0, np.array([50, 2, 20]), funcs, keys, classes,
                          np.full(3, 0.1), np.full(3, 0.5))  # fmt: skip
    np.testing.assert_array_equal(t, again[0])  # counter-based: the same every time
    # a function's requests do not depend on the other functions of the minute
    alone = expand_minute(7, 100, 6000.0, np.array([0, 0, 20]), funcs, keys, classes,
                          np.full(3, 0.1), np.full(3, 0.5))  # fmt: skip
    np.testing.assert_array_equal(np.sort(alone[0]), burst)


def test_daily_cycle_weekend_and_holiday():
    """Demand follows the day: a peak near the region's peak hour and a trough 12 h away,
    weekends at 1/1.3 of weekdays (§3.3), the holiday down in R2 (Fig 7); timers keep
    firing whatever the day."""
    from sim_models.serverless.generator import HOLIDAY_FACTOR, WEEKEND_FACTOR

    pop = make_population("R2", np.random.default_rng(3), 2000)
    poisson = pop.rate > 0

    def day_total(day):
        counts = pop.minute_counts(np.random.default_rng(day), day * 1440, 1440)
        return counts[:, poisson].sum(), counts, counts[:, pop.period_min > 0].sum()

    monday, counts, timers_mon = day_total(0)
    saturday, _, timers_sat = day_total(5)
    holiday, _, _ = day_total(15)  # a Tuesday in the holiday
    assert saturday / monday == pytest.approx(WEEKEND_FACTOR, rel=0.05)
    assert holiday / monday == pytest.approx(HOLIDAY_FACTOR["R2"], rel=0.05)
    assert timers_sat == pytest.approx(timers_mon, rel=0.02)
    hourly = counts[:, poisson].reshape(24, 60, -1).sum(axis=(1, 2))
    peak, trough = int(round(pop.peak_hour)) % 24, int(round(pop.peak_hour + 12)) % 24
    assert hourly[peak] > 1.2 * hourly[trough]
