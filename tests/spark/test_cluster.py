"""The cluster engine against closed forms: one job alone, N users at once under UWFQ,
FIFO with Poisson arrivals (Pollaczek-Khinchine), FAIR/UJF with fine tasks (processor
sharing), and Spark's hand-out order."""

import math

import numpy as np
import pytest
from sim_models.spark.cluster import ClusterConfig
from sim_models.spark.jobs import JOB_CLASSES, JobGroupSpec, QuerySpec
from sim_models.spark.model import jobs_frame, simulate_plan
from sim_models.spark.partitioning import skew_weights
from sim_models.spark.workloads import Plan, Stream

from sim import experiment
from sim.runner import simulate


def plan_of(groups_by_user, closed=False):
    streams = []
    for user, groups in groups_by_user.items():
        streams.append(Stream(user, "w", groups, 0.0, [0.0] * len(groups), closed))
    return Plan(streams, list(groups_by_user))


def group(user, key, work, tasks=None):
    return JobGroupSpec(
        user, key, "custom", [QuerySpec(work, work, tasks)], runtime_hint_core_s=work
    )


def run(plan, scheduler, seed=1, **cfg):
    cluster = simulate_plan(plan, ClusterConfig(**cfg), scheduler, {}, "oracle", {}, "oracle", seed)
    return jobs_frame(cluster), cluster


@pytest.mark.parametrize("partitioned", [False, True])
def test_one_job_alone_matches_the_closed_form(partitioned):
    o, g, w = 0.03, 0.2, JOB_CLASSES["loop1000"].work_core_s
    cfg = dict(cores=32, task_overhead_s=o, driver_gap_s=g, skew_sigma=0.6, task_cv=0.0)
    spec = JobGroupSpec("u", "k", "loop1000", [QuerySpec(w, w, 222)])
    jobs, _ = run(plan_of({"u": [spec]}), "fifo_p" if partitioned else "fifo", **cfg)
    listing = math.ceil(263 / 32) * o  # 263 listing tasks of o seconds on 32 cores
    # partitioned: 222 equal tasks, 7 waves of w/222 + o; else 32 skewed tasks in one wave
    scan = math.ceil(222 / 32) * (w / 222 + o) if partitioned else w * skew_weights(32, 0.6)[0] + o
    expected = listing + g + scan + g + o
    assert jobs["rt_s"].iloc[0] == pytest.approx(expected, rel=1e-9)


def test_one_job_of_fine_tasks_takes_work_over_cores():
    w = 64.0
    cfg = dict(cores=32, task_overhead_s=0.0, listing_tasks=0, driver_gap_s=0.0,
               result_stage=False, task_cv=0.0, min_partitions=320)  # fmt: skip
    jobs, _ = run(plan_of({"u": [group("u", "k", w)]}), "fair_p", **cfg)
    assert jobs["rt_s"].iloc[0] == pytest.approx(w / 32)


FINE = dict(cores=32, task_overhead_s=0.0, listing_tasks=0, driver_gap_s=0.0,
            result_stage=False, task_cv=0.0, min_partitions=320)  # fmt: skip


def test_n_equal_users_finish_by_their_fair_share_under_uwfq():
    n, r = 4, 32.0  # each job alone: 1 s on 32 cores
    groups = {f"u{i}": [group(f"u{i}", f"k{i}", r)] for i in range(n)}
    jobs, _ = run(plan_of(groups), "uwfq_p", **FINE)
    fair_finish = n * r / 32
    assert jobs["end_s"].max() == pytest.approx(fair_finish)
    assert (jobs["end_s"] <= fair_finish + 1e-9).all()
    # processor sharing among the same jobs finishes all of them at n r / C
    ps, _ = run(plan_of(groups), "fair_p", **FINE)
    assert ps["end_s"].to_numpy() == pytest.approx([fair_finish] * n, rel=0.1)
    assert jobs["rt_s"].mean() < ps["rt_s"].mean()


def test_uwfq_shares_by_user_not_by_job():
    # user A submits 3 jobs, user B one, all at once, each 1 s of the whole cluster
    groups = {"A": [group("A", f"a{i}", 32.0) for i in range(3)], "B": [group("B", "b", 32.0)]}
    uwfq, _ = run(plan_of(groups), "uwfq_p", **FINE)
    b_end = uwfq.set_index("user").loc["B", "end_s"]
    assert b_end <= 2.0 + 1e-9  # B's fair share among 2 users: its job by 2 s
    fair, _ = run(plan_of(groups), "fair_p", **FINE)  # job-level sharing: all end at 4 s
    assert fair.set_index("user").loc["B", "end_s"] == pytest.approx(4.0, rel=0.02)


def _trace(tmp_path, n, rho, cores, work, users=False, seed=3):
    rng = np.random.default_rng(seed)
    service = work / cores
    t = np.cumsum(rng.exponential(service / rho, n))
    rows = ["time_s,work_core_s,user"] + [
        f"{ti:.9f},{work},{i + 1 if users else 1}" for i, ti in enumerate(t)
    ]
    path = tmp_path / "arrivals.csv"
    path.write_text("\n".join(rows) + "\n")
    return path, service


def _generic(path, scheduler, cores, tasks):
    return experiment.from_dict({
        "name": "t", "model": "spark.cluster",
        "params": {"executors": 1, "cores_per_executor": cores, "task_overhead_s": 0.0,
                   "listing_tasks": 0, "driver_gap_s": 0.0, "result_stage": False,
                   "task_cv": 0.0, "skew_sigma": 0.0, "min_partitions": tasks,
                   "slowdown_base": "none"},
        "workload": {"name": "trace", "params": {"path": str(path),
                                                 "columns": ["work_core_s", "user"]}},
        "policies": {"scheduler": scheduler},
    })  # fmt: skip


def test_fifo_with_poisson_arrivals_matches_pollaczek_khinchine(tmp_path):
    # deterministic job sizes, equal tasks in whole waves: an M/D/1 queue of S = work/cores
    rho, cores = 0.5, 4
    path, s = _trace(tmp_path, 3000, rho, cores, work=8.0)
    model, _ = simulate(_generic(path, "fifo", cores, tasks=8))
    rt = model.jobs()["rt_s"].mean()
    pk_wait = rho * s / (2 * (1 - rho))  # lambda E[S^2] / (2 (1 - rho)), E[S^2] = S^2
    assert rt == pytest.approx(s + pk_wait, rel=0.06)
    assert model.jobs()["rt_s"].min() == pytest.approx(s)


@pytest.mark.parametrize("scheduler", ["fair", "ujf"])
def test_fair_with_fine_tasks_approaches_processor_sharing(tmp_path, scheduler):
    # every arrival its own user; M/D/1-PS: E[T] = S / (1 - rho), FIFO would give 1.5 S
    rho, cores = 0.5, 4
    path, s = _trace(tmp_path, 1500, rho, cores, work=8.0, users=True)
    model, _ = simulate(_generic(path, scheduler, cores, tasks=64))
    assert model.jobs()["rt_s"].mean() == pytest.approx(s / (1 - rho), rel=0.08)


def test_hand_out_gives_all_free_cores_to_the_first_task_set():
    # two one-query jobs submitted together; the first stage takes every free core, and a
    # core freed later goes (FAIR) to the task set with the fewest running tasks
    cfg = dict(cores=4, task_overhead_s=0.0, listing_tasks=0, driver_gap_s=0.0,
               result_stage=False, task_cv=0.0, min_partitions=8, skew_sigma=0.0)  # fmt: skip
    groups = {"a": [group("a", "ka", 8.0)], "b": [group("b", "kb", 8.0)]}
    jobs, cluster = run(plan_of(groups), "fair", **cfg)
    stages = sorted(cluster.stages)
    first_a, first_b = stages[0][6], stages[1][6]
    assert first_a == 0.0 and first_b == pytest.approx(1.0)  # b waits for a's first wave
    # then they alternate: a and b end together-ish, b 1 s after a at most
    assert abs(jobs["end_s"].iloc[1] - jobs["end_s"].iloc[0]) <= 1.0 + 1e-9


def test_fair_breaks_ties_by_name_in_string_order():
    # stage ids 9 and 10 (id_offset 9): with no task running, TaskSet_10.0 goes first
    cfg = dict(cores=1, task_overhead_s=0.0, listing_tasks=0, driver_gap_s=0.0,
               result_stage=False, task_cv=0.0, min_partitions=1, id_offset=9)  # fmt: skip
    groups = {"a": [group("a", "ka", 1.0)], "b": [group("b", "kb", 1.0)]}
    plan = plan_of(groups)
    plan.streams[1].start_s = 0.0
    jobs, cluster = run(plan, "fair", **cfg)
    # a (stage 9) is submitted first and takes the only core; b (stage 10) then waits.
    assert jobs.set_index("user")["end_s"].to_dict() == {"a": 1.0, "b": 2.0}
    # with two stages waiting, the name order decides: 3 jobs, one core busy first
    groups = {u: [group(u, f"k{u}", 1.0)] for u in "abc"}
    jobs, cluster = run(plan_of(groups), "fair", **cfg)
    ends = jobs.set_index("user")["end_s"].to_dict()
    # stages 9 (a), 10 (b), 11 (c): a runs first; then "TaskSet_10.0" < "TaskSet_11.0"
    assert ends == {"a": 1.0, "b": 2.0, "c": 3.0}
    cfg["id_offset"] = 8  # stages 8 (a), 9 (b), 10 (c): "TaskSet_10.0" < "TaskSet_9.0"
    jobs, cluster = run(plan_of(groups), "fair", **cfg)
    assert jobs.set_index("user")["end_s"].to_dict() == {"a": 1.0, "c": 2.0, "b": 3.0}


def test_every_scheduler_runs_every_job_to_completion():
    from sim_models.spark.schedulers import SCHEDULER_NAMES

    groups = {f"u{i}": [group(f"u{i}", f"k{i}{j}", 4.0 * (j + 1)) for j in range(3)]
              for i in range(3)}  # fmt: skip
    for name in SCHEDULER_NAMES:
        jobs, cluster = run(plan_of(groups), name, cores=8, task_cv=0.2)
        assert len(jobs) == 9, name
        assert cluster.free == 8, name
        work = sum(g.busy_core_s for g in cluster.groups)
        assert work == pytest.approx(cluster.busy_core_s)
