"""Training jobs: sizing, iteration structure, fast-forwarding, and a ring with one link at
half capacity against a hand-computed per-rank schedule."""

from __future__ import annotations

import numpy as np
import pytest
from sim_models.c4.comm import RingCollective, Routes
from sim_models.c4.fabric import Fabric, FabricSpec
from sim_models.c4.job import JobSpec, TrainingJob, job_from_model
from sim_models.c4.params import JobParams
from sim_models.c4.routing import C4PRouting, IdealRouting
from sim_models.hw.collectives import run_collective

from sim import experiment
from sim.core import Simulation
from sim.runner import run_experiment


def _fabric(nodes=8, policy=C4PRouting, seed=1):
    sim = Simulation(seed)
    fab = Fabric(FabricSpec(nodes=nodes), sim.env)
    pol = policy()
    pol.bind(sim.scope("c4.test"))
    pol.setup(fab.G)
    return sim, fab, Routes(fab, pol)


def test_job_sizing_from_the_model():
    spec = job_from_model(22e9, 512, 4194304, 989.4e12, 0.4, seq_len=4096)
    assert spec.compute_s == pytest.approx(6 * 22e9 * 4194304 / (512 * 989.4e12 * 0.4))
    assert spec.grad_bytes == pytest.approx(2 * 22e9 / 8)
    assert spec.samples_per_iteration == 1024
    with pytest.raises(ValueError):
        job_from_model(0, 512, 1, 1, 1)


def test_comm_share_sets_compute_for_the_ideal_fabric():
    p = JobParams(gpus=64, comm_share=0.3, overlap=0.5)
    spec = p.job_spec(2, 25e9)
    t_comm = 2 * 7 / 8 * spec.grad_bytes / 50e9
    exposed = t_comm - 0.5 * spec.compute_s
    assert exposed / (spec.compute_s + exposed) == pytest.approx(0.3)


@pytest.mark.parametrize("overlap", [0.0, 0.6])
def test_iterations_are_compute_plus_exposed_allreduce_and_fast_forward_exactly(overlap):
    """On a static network every iteration is identical, so simulating N iterations
    equals N times one (the reliability model fast-forwards healthy running this way)."""
    sim, fab, routes = _fabric(nodes=8, policy=IdealRouting)
    spec = JobSpec(compute_s=0.05, grad_bytes=1e9, overlap=overlap)
    job = TrainingJob(fab, routes, "j", list(range(8)), spec, max_iterations=12)
    job.start()
    sim.env.run()
    times = np.array(job.iteration_times())
    assert len(times) == 12
    t_comm = 2 * 7 / 8 * 1e9 / 50e9 + 2 * 1e-6  # ideal: ports only, two hops of latency
    assert job.comm_time[0] == pytest.approx(t_comm, rel=1e-9)
    expect = max(spec.compute_s, spec.compute_s * (1 - overlap) + t_comm)
    assert times == pytest.approx(expect, rel=1e-9)
    assert job.iter_end[-1] == pytest.approx(12 * times[0], rel=1e-9)


def test_slowest_node_gates_every_iteration():
    sim, fab, routes = _fabric()
    spec = JobSpec(compute_s=0.1, grad_bytes=1e8)
    job = TrainingJob(fab, routes, "j", list(range(8)), spec, max_iterations=4)
    job.slow_node(3, 1.5)
    job.start()
    sim.env.run()
    comm = job.comm_time[0]
    assert job.iteration_times() == pytest.approx([0.15 + comm] * 4, rel=1e-9)


def test_a_hung_node_stalls_the_job():
    sim, fab, routes = _fabric()
    job = TrainingJob(fab, routes, "j", list(range(8)), JobSpec(0.1, 1e8), max_iterations=10)
    job.start()
    sim.env.run(until=0.25)
    job.hang_node(5)
    sim.env.run(until=5.0)
    assert job.stalled and job.iteration < 10


def test_ring_with_one_link_at_half_capacity_matches_the_hand_computed_per_rank_schedule():
    """Ring all-reduce of S over 4 ranks (NIC 0 of 4 nodes under one ToR pair, one QP
    each): with rank 1's uplink at half rate, rank r enters step k+1 when its own send and
    its predecessor's send of step k have arrived. The per-rank executor of
    sim_models.hw.collectives must follow that recurrence exactly; the fluid ring
    (sim_models.c4.comm) is then the same up to pipeline fill and latency."""
    sim, fab, routes = _fabric(nodes=4)
    ring = RingCollective(fab, routes, "r", [0, 1, 2, 3], [0], 1, lambda i, g: i)
    fab.set_link("n1.nic0", "tor0.0", 0.5, both=False)
    p, S = 4, 64e6
    paths = {(c.src, c.dst): routes.edges(ring.keys[c.index]) for c in ring.conns}
    proc = sim.env.process(
        run_collective(
            fab.net,
            [c.src for c in ring.conns],
            lambda a, b: paths[(a, b)],
            "allreduce",
            "ring",
            S,
            executor="rank",
        )  # fmt: skip
    )
    sim.env.run()
    # hand-computed: d[r] = latency + (S/p) / rate of rank r's send link
    lat = 2e-6
    rate = [25e9, 12.5e9, 25e9, 25e9]
    d = [lat + S / p / rate[r] for r in range(p)]
    E = np.zeros(p)
    for _k in range(2 * (p - 1)):
        E = np.array([max(E[r] + d[r], E[r - 1] + d[r - 1]) for r in range(p)])
    assert proc.value.time_s == pytest.approx(E.max(), rel=1e-12)
    # the fluid ring: the slowest connection sets the pace, one latency per operation
    done = []
    t0 = sim.env.now
    ring.start(S, done.append)
    sim.env.run()
    fluid = done[0] - t0
    assert fluid == pytest.approx(2 * (p - 1) / p * S / 12.5e9 + lat, rel=1e-12)
    assert proc.value.time_s - fluid == pytest.approx((2 * (p - 1) - 1) * lat, rel=1e-9)


def test_training_model_runs_several_jobs_and_c4p_beats_ecmp():
    base = {"name": "t", "model": "c4.training", "seed": 3,
            "params": {"gpus": 64, "jobs": 2, "cluster_nodes": 32, "placement": "scattered",
                       "comm_share": 0.3, "iterations": 3}}  # fmt: skip
    res = {}
    for pol in ("ecmp", "c4p", "ideal"):
        exp = experiment.from_dict({**base, "policies": {"routing": pol}})
        res[pol] = run_experiment(exp, None).summary
    assert res["ideal"]["exposed_comm_share"] == pytest.approx(0.3, abs=0.01)
    assert res["c4p"]["iterations_per_s"] > 1.1 * res["ecmp"]["iterations_per_s"]
    assert res["c4p"]["iterations_per_s"] == pytest.approx(
        res["ideal"]["iterations_per_s"], rel=0.01
    )
