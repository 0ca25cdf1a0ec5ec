"""Scenario files (bundled and user-written), the paper's arrival times, the generator, and
bad input exiting 2 with the file and key."""

import pytest
from sim_models.spark.java_random import authors_gaps_s
from sim_models.spark.workloads import bundled_scenarios, load_scenario, scenario_plan

from sim.errors import ConfigError


def test_bundled_scenarios_are_the_papers():
    names = bundled_scenarios()
    for n in ("s1_2_large_2_small", "s2_2_power_2_small", "s3_4_large", "s4_4_super_small"):
        assert n in names
    counts = {n: scenario_plan(load_scenario(n), "authors").jobs for n in names if n[0] == "s"}
    assert counts == {"s1_2_large_2_small": 20, "s2_2_power_2_small": 184, "s3_4_large": 16,
                      "s4_4_super_small": 120}  # fmt: skip


def test_scenario_1_streams():
    plan = scenario_plan(load_scenario("s1_2_large_2_small"), "authors")
    by = {(s.user, s.name): s for s in plan.streams}
    big = by[("user1_big", "loop1000")]
    assert big.closed and big.start_s == 0.1 and len(big.groups) == 4
    small = by[("user3_small", "loop100")]
    assert not small.closed and small.start_s == 0.15
    assert small.gaps_s == authors_gaps_s("user3_smallloop100", 15, 6)
    assert small.groups[2].key == "user:user3_small;workload:loop100_2;"
    assert plan.deterministic


def test_random_arrivals_differ_by_seed():
    import numpy as np

    spec = load_scenario("s1_2_large_2_small")
    a = scenario_plan(spec, "random", np.random.default_rng(1))
    b = scenario_plan(spec, "random", np.random.default_rng(2))
    assert a.streams[2].gaps_s != b.streams[2].gaps_s and not a.deterministic


def test_user_scenario_with_own_class(tmp_path):
    p = tmp_path / "mine.yaml"
    p.write_text(
        "name: mine\nclasses:\n  etl: {work_core_s: 40, estimate_core_s: 45, oracle_tasks: 80}\n"
        "users:\n  - name: alice\n    streams:\n"
        "      - {workload: etl, class: etl, jobs: 3, start_s: 1, loop: open, rate_per_min: 6}\n"
    )
    plan = scenario_plan(load_scenario(str(p)), "authors")
    g = plan.streams[0].groups[0]
    assert g.queries[0].work_core_s == 40 and g.meta["estimate_core_s"] == 45
    from sim_models.spark.estimators import oracle_estimate

    assert oracle_estimate(g) == 45


@pytest.mark.parametrize(
    "body, match",
    [
        ("name: x\nusers: []\n", "users"),
        ("name: x\nusers:\n  - name: a\n    streams:\n      - {workload: w, class: loop100, jobs: 0}\n", r"x\.yaml:5.*jobs"),
        ("name: x\nusers:\n  - name: a\n    streams:\n      - {workload: w, class: loop7, jobs: 1}\n", "unknown job class 'loop7'"),
        ("name: x\nusers:\n  - name: a\n    streams:\n      - {workload: w, class: loop100, jobs: 1, speed: 2}\n", "speed"),
        ("name: x\nusers: [\n", "malformed YAML"),
    ],
)  # fmt: skip
def test_bad_scenarios_name_file_and_key(tmp_path, body, match):
    p = tmp_path / "x.yaml"
    p.write_text(body)
    with pytest.raises(ConfigError, match=match):
        load_scenario(str(p))


def test_unknown_scenario_suggests_a_bundled_one(tmp_path):
    with pytest.raises(ConfigError, match="did you mean 's3_4_large'"):
        load_scenario("s3_4_larg", tmp_path)


def test_cli_exit_2_on_bad_scenario(cli, tmp_path):
    exp = tmp_path / "e.yaml"
    exp.write_text(
        "name: e\nmodel: spark.cluster\nworkload: {name: spark.scenario, params: {scenario: nope.yaml}}\n"
    )
    code, out, err = cli("run", str(exp), "--out", str(tmp_path / "o"))
    assert code == 2 and "no scenario 'nope.yaml'" in err and len(err.strip().splitlines()) == 1


def test_multi_user_generator(tmp_path):
    from sim import experiment
    from sim.runner import simulate

    exp = experiment.from_dict({
        "name": "g", "model": "spark.cluster",
        "params": {"listing_tasks": 10, "slowdown_base": "none"},
        "workload": {"name": "spark.multi_user", "params": {
            "users": 3, "jobs_per_user": 4, "classes": ["loop20", "loop100"],
            "rate_per_min": 30, "rate_skew": 2.0}},
        "policies": {"scheduler": "uwfq"},
    })  # fmt: skip
    model, _ = simulate(exp)
    jobs = model.jobs()
    assert len(jobs) == 12 and set(jobs["user"]) == {"user_1", "user_2", "user_3"}
    assert set(jobs["job_class"]) <= {"loop20", "loop100"}
