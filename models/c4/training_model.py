"""Registered model ``c4.training``: training jobs sharing the C4 fabric, their iteration
throughput under a routing policy.

What it models
    ``jobs`` identical jobs of ``gpus`` GPUs each (:mod:`sim_models.c4.job`: 8-way tensor
    parallelism in a node, data parallelism across nodes, a gradient all-reduce per
    iteration over one ring per rail) on one :mod:`sim_models.c4.fabric` Clos, placed
    contiguously or scattered (``placement``), their QPs routed by the ``routing`` slot:
    one routing policy for the whole fabric, so a global planner (``c4p``) sees every
    job's connections. Each job runs ``iterations`` iterations; throughput is measured
    after the first ``warmup``.

    The job is sized from its model (``model_params``, ``tokens_per_iteration``, ``mfu``
    on the catalog GPU's bf16 peak) unless ``compute_s`` / ``grad_bytes`` are given, or
    ``comm_share`` sets the compute time so that the exposed communication is that share
    of an iteration on the ideal fabric (the axis of the speedup-vs-communication
    experiment).

Outputs
    ``iteration_s.mean`` (over jobs), ``iterations_per_s``, ``samples_per_s`` (per job),
    ``comm_s.mean`` (all-reduce time), ``exposed_comm_share``, ``allreduce_busbw_GBps``,
    ``compute_s``, ``grad_bytes``; table ``iterations`` (job, iteration, start, end,
    compute, comm).

What it leaves out
    See :mod:`sim_models.c4.job` (pipeline parallelism, bucketing, jitter).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import Field, model_validator
from sim_models.c4.comm import Routes, busbw_Bps
from sim_models.c4.fabric import Fabric, place_job
from sim_models.c4.job import TrainingJob
from sim_models.c4.params import FabricParams, JobParams
from sim_models.hw.routing_policies import DOMAIN as ROUTING

from sim.model import Model, Slot
from sim.registry import model


@model("c4.training", "C4: training jobs (compute + gradient all-reduce) sharing the fabric")
class TrainingModel(Model):
    slots = {"routing": Slot(ROUTING, "ecmp", "path of every QP (ecmp, c4p, c4p_static, ideal)")}

    class Params(FabricParams, JobParams):
        jobs: int = Field(1, ge=1, le=256, description="identical jobs sharing the fabric")
        iterations: int = Field(8, ge=2, le=100_000, description="iterations per job")
        warmup: int = Field(1, ge=0, le=1000, description="iterations left out of the mean")

        @model_validator(mode="after")
        def _check(self):
            if self.warmup >= self.iterations:
                raise ValueError("warmup must be below iterations")
            self.check_fabric_for(self.gpus, jobs=self.jobs)
            return self

    def build(self, sim) -> None:
        p = self.params
        m = p.gpus // 8
        spec_f = p.fabric_spec(p.jobs * m)
        self.fabric = Fabric(spec_f, sim.env, self.scope.child("net"))
        self.spec = p.job_spec(p.qps, spec_f.port_Bps, spec_f.ports_per_nic)
        pol = self.policies["routing"]
        pol.setup(self.fabric.G)
        self.routes = Routes(self.fabric, pol)
        rng = self.scope.rng("placement")
        taken: list[int] = []
        self.jobs = []
        for j in range(p.jobs):
            if p.placement == "contiguous":
                nodes = place_job(self.fabric.nodes, m, "contiguous", exclude=taken)
            else:
                nodes = place_job(self.fabric.nodes, m, "scattered", rng, exclude=taken)
            taken += nodes
            job = TrainingJob(self.fabric, self.routes, ("job", j), nodes, self.spec,
                              max_iterations=p.iterations)  # fmt: skip
            self.jobs.append(job)
        for job in self.jobs:
            job.start()

    def _rows(self) -> pd.DataFrame:
        rows = []
        for j, job in enumerate(self.jobs):
            for i, (a, b) in enumerate(zip(job.iter_start, job.iter_end, strict=False)):
                comm = job.comm_time[i] if i < len(job.comm_time) else np.nan
                rows.append({"job": j, "iteration": i, "start_s": a, "end_s": b,
                             "compute_s": self.spec.compute_s, "comm_s": comm})  # fmt: skip
        return pd.DataFrame(rows)

    def summary(self) -> dict[str, float]:
        p = self.params
        df = self._rows()
        df = df[df["iteration"] >= p.warmup]
        per_job = df.groupby("job").agg(it=("end_s", "count"),
                                        t0=("start_s", "min"), t1=("end_s", "max"),
                                        comm=("comm_s", "mean"))  # fmt: skip
        it_s = (per_job["t1"] - per_job["t0"]) / per_job["it"]
        m = p.gpus // 8
        comm = float(per_job["comm"].mean())
        iteration = float(it_s.mean())
        return {
            "iteration_s.mean": iteration,
            "iteration_s.max": float(it_s.max()),
            "iterations_per_s": float((1.0 / it_s).mean()),
            "iterations_per_s.min": float((1.0 / it_s).min()),
            "samples_per_s": float((self.spec.samples_per_iteration / it_s).mean()),
            "comm_s.mean": comm,
            "exposed_comm_share": float((iteration - self.spec.compute_s) / iteration),
            "allreduce_busbw_GBps": busbw_Bps(self.spec.grad_bytes, comm, m) / 1e9,
            "compute_s": self.spec.compute_s,
            "grad_bytes": self.spec.grad_bytes,
        }

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"iterations": self._rows()}

    @classmethod
    def sweep_figures(cls, table: pd.DataFrame, out_dir: Path) -> list[Path]:
        from sim_models.c4 import figures

        return figures.training_sweep_figures(table, Path(out_dir))
