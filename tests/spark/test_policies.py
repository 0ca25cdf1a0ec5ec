"""Scheduler and estimator details: CFQ's stage sizes, UWFQ/T-FIFO when a stage misses its
estimate, FAIR with FIFO inside the default pool, the artifact's Random hash order, the
historic estimator, and the partitioners."""

import numpy as np
import pytest
from sim_models.spark.cluster import ClusterConfig
from sim_models.spark.estimators import Historic, Oracle
from sim_models.spark.java_random import objects_hash
from sim_models.spark.jobs import JobGroupSpec, QuerySpec
from sim_models.spark.model import jobs_frame, simulate_plan
from sim_models.spark.partitioning import scan_task_sizes
from sim_models.spark.workloads import Plan, Stream

from sim.core import Simulation
from sim.registry import get_policy

QUIET = dict(task_cv=0.0)


def plan_of(groups):
    return Plan([Stream(g.user, g.key, [g], 0.0, [0.0], False) for g in groups],
                [g.user for g in groups])  # fmt: skip


def loop(user, key, cls="loop100"):
    from sim_models.spark.workloads import class_query

    return JobGroupSpec(user, key, cls, [class_query(cls, {})[0]])


def cluster_of(groups, scheduler, estimator="oracle", est_params=None, **cfg):
    return simulate_plan(plan_of(groups), ClusterConfig(**{**QUIET, **cfg}), scheduler, {},
                         estimator, est_params or {}, "oracle", 1)  # fmt: skip


def test_cfq_stage_sizes_follow_the_artifact():
    cfq = get_policy("spark.scheduler", "cfq")()
    est = Oracle()

    class C:
        estimator = est

    cfq.cluster = C()

    class TS:
        def __init__(self, kind, spec):
            self.kind, self.group = kind, type("G", (), {"spec": spec})

    spec = loop("u", "k")
    assert cfq.stage_size(TS("listing", spec)) == 5.0
    assert cfq.stage_size(TS("scan", spec)) == pytest.approx(26.926)
    assert cfq.stage_size(TS("result", spec)) == 1.0
    trace = JobGroupSpec("u", "t", "custom", [QuerySpec(2.0, 2.0, 8)], runtime_hint_core_s=43.0)
    assert cfq.stage_size(TS("listing", trace)) == 43.0


def test_estimator_misses():
    sim = Simulation(3)
    est = Oracle(Oracle.Params(miss_probability=1.0))
    est.bind(sim.scope("e"))
    spec = loop("u", "k")
    assert est.stage_lookup(spec, "scan") is None
    listing_only = Oracle(Oracle.Params(miss_probability=1.0, miss_stages="listing"))
    listing_only.bind(sim.scope("e2"))
    assert listing_only.stage_lookup(spec, "listing") is None
    assert listing_only.stage_lookup(spec, "scan") == pytest.approx(26.926)
    # UWFQ: every missed stage is a job of its own; T-FIFO: missed stages get id -1 (first)
    groups = [loop(f"u{i}", f"k{i}") for i in range(3)]
    c = cluster_of(groups, "uwfq", est_params={"miss_probability": 1.0}, cores=8)
    assert len(jobs_frame(c)) == 3
    c = cluster_of(groups, "tfifo", est_params={"miss_probability": 1.0}, cores=8)
    assert len(jobs_frame(c)) == 3


def test_fair_with_fifo_inside_orders_like_fifo():
    groups = [loop(f"u{i}", f"k{i}") for i in range(4)]
    fifo = jobs_frame(cluster_of(groups, "fifo", cores=8))
    fair = get_policy("spark.scheduler", "fair")
    params = fair.Params(default_pool_mode="fifo")
    c = simulate_plan(plan_of(groups), ClusterConfig(cores=8, task_cv=0.0), "fair",
                      params.model_dump(), "oracle", {}, "oracle", 1)  # fmt: skip
    assert jobs_frame(c)["end_s"].tolist() == pytest.approx(fifo["end_s"].tolist())
    inside_fair = jobs_frame(cluster_of(groups, "fair", cores=8))
    assert inside_fair["end_s"].tolist() != pytest.approx(fifo["end_s"].tolist())


def test_random_orders_by_the_java_hash():
    rnd = get_policy("spark.scheduler", "random")()
    rnd.setup(type("C", (), {"cfg": ClusterConfig()})())

    class TS:
        min_share, version = 0, 0

        def __init__(self, sid, running, prio):
            self.name, self.stage_id, self.running, self.priority = (
                f"TaskSet_{sid}.0",
                sid,
                running,
                prio,
            )
            self.seq = sid

    items = [TS(s, r, p) for s, r, p in [(30, 0, 27), (31, 3, 27), (40, 1, 30), (52, 0, 41)]]
    keys = [objects_hash(t.name, 0, t.stage_id, t.running, t.priority) for t in items]
    assert [rnd.hash_key(t) for t in items] == keys
    for t in items:
        rnd.queue.add(t)
    assert rnd.first() is items[int(np.argmin(keys))]


def test_historic_estimator_learns_per_class():
    est = Historic()
    a, b = loop("u", "a"), loop("u", "b", "loop20")
    assert est.estimate(a) == 1.0
    est.observe(a, 20.0)
    est.observe(a, 30.0)
    assert est.estimate(a) == 25.0 and est.estimate(b) == 1.0
    prior = Historic(Historic.Params(prior="oracle"))
    assert prior.estimate(b) == pytest.approx(1.523)
    # in a run, UWFQ sees the estimate change and still finishes every job
    groups = [loop("u", f"k{i}") for i in range(4)] + [loop("v", "kv")]
    plan = Plan([Stream("u", "w", groups[:4], 0.0, [0.0] * 4, True),
                 Stream("v", "w", groups[4:], 0.0, [0.0], False)], ["u", "v"])  # fmt: skip
    c = simulate_plan(plan, ClusterConfig(cores=8, task_cv=0.0), "uwfq", {}, "historic", {},
                      "oracle", 1)  # fmt: skip
    assert len(jobs_frame(c)) == 5


def test_partitioners():
    even = scan_task_sizes(10.0, partitioning="oracle", min_partitions=32, skew_sigma=0.6,
                           oracle_count=222)  # fmt: skip
    assert even.size == 222 and np.allclose(even, 10.0 / 222)
    assert scan_task_sizes(10.0, partitioning="oracle", min_partitions=32, skew_sigma=0.6,
                           oracle_count=16).size == 32  # fmt: skip
    rt = scan_task_sizes(10.0, partitioning="runtime", min_partitions=32, skew_sigma=0.6,
                         estimate_core_s=26.9)  # fmt: skip
    assert rt.size == 53  # floor(26.9 / 0.5), Spark's minimum ignored
    skewed = scan_task_sizes(10.0, partitioning="none", min_partitions=32, skew_sigma=0.6)
    assert skewed.size == 32 and skewed.sum() == pytest.approx(10.0)
    assert (np.diff(skewed) < 0).all()  # largest first


@pytest.mark.parametrize("aqe", [True, False])
def test_explicit_dag_waits_for_parents(aqe):
    # two parallel stages (4 s and 1 s of work on 1 core each), then a join stage
    q = QuerySpec(0.0, 0.0, None, stages=((1, 4.0, ()), (1, 1.0, ()), (1, 2.0, (0, 1))))
    g = JobGroupSpec("u", "k", "custom", [q], runtime_hint_core_s=7.0)
    c = cluster_of([g], "fifo", cores=2, listing_tasks=0, driver_gap_s=0.0, task_overhead_s=0.0,
                   aqe=aqe)  # fmt: skip
    stages = {row[0] - 24: row for row in c.stages}
    assert stages[2][5] == pytest.approx(4.0)  # the join is submitted when both parents end
    assert jobs_frame(c)["rt_s"].iloc[0] == pytest.approx(6.0)
