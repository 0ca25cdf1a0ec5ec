"""Parameters shared by the c4 models: the fabric's shape and hardware.

Every field has finite bounds so that no value that validates can hang a run or exhaust
memory. Defaults and their sources: :mod:`sim_models.c4.fabric` and ``models/c4/NOTES.md``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator
from sim_models.c4.fabric import FabricSpec

from sim.model import Params

MAX_NODES = 1024  # 8,192 GPUs


class FabricParams(Params):
    """The cluster fabric (:mod:`sim_models.c4.fabric`)."""

    cluster_nodes: int | None = Field(
        None, ge=1, le=MAX_NODES, description="nodes in the fabric (default: the job's nodes)"
    )
    tiers: Literal[2, 3] = Field(2, description="Clos tiers: 2 (leaf-spine) or 3 (pods + core)")
    oversubscription: float = Field(
        1.0, ge=0.25, le=16.0, description="ToR downlink / uplink capacity (1: non-blocking)"
    )
    rail_optimized: bool = Field(False, description="fill ToR pairs rail by rail")
    tor_ports: int = Field(64, ge=8, le=512, description="NIC ports per ToR")
    uplinks: int | None = Field(
        None, ge=1, le=256, description="uplinks per ToR (default: 1:1 by count)"
    )
    tor_pairs_per_pod: int = Field(4, ge=1, le=64, description="3-tier: ToR pairs per pod")
    port_Gbps: float = Field(200.0, ge=1.0, le=1600.0, description="NIC port rate (Gb/s)")
    uplink_Gbps: float = Field(400.0, ge=1.0, le=3200.0, description="switch uplink rate")
    qps: int = Field(2, ge=1, le=64, description="QPs per ring connection")
    placement: Literal["contiguous", "scattered"] = Field(
        "contiguous", description="job nodes: in order, or scattered over the fabric"
    )

    def check_fabric_for(self, gpus: int, jobs: int = 1) -> None:
        """A validator's check: ``jobs`` jobs of ``gpus`` GPUs (whole 8-GPU nodes) fit
        this fabric."""
        if gpus % 8:
            raise ValueError(f"gpus must be a multiple of 8, got {gpus}")
        self.fabric_spec(jobs * gpus // 8)

    def fabric_spec(self, job_nodes: int) -> FabricSpec:
        nodes = self.cluster_nodes or job_nodes
        if nodes < job_nodes:
            raise ValueError(f"cluster_nodes ({nodes}) < the jobs' nodes ({job_nodes})")
        return FabricSpec(
            nodes=nodes,
            port_Bps=self.port_Gbps * 1e9 / 8,
            uplink_Bps=self.uplink_Gbps * 1e9 / 8,
            tor_ports=self.tor_ports,
            uplinks=self.uplinks,
            rail_optimized=self.rail_optimized,
            tiers=self.tiers,
            tor_pairs_per_pod=self.tor_pairs_per_pod,
            oversubscription=self.oversubscription,
        ).check()


class JobParams(Params):
    """A data-parallel job with 8-way tensor parallelism (:mod:`sim_models.c4.job`),
    sized from its model or given directly."""

    gpus: int = Field(512, ge=16, le=8 * MAX_NODES, description="GPUs per job (multiple of 8)")
    model_params: float = Field(22e9, ge=1e6, le=1e13, description="parameters of the model")
    tokens_per_iteration: float = Field(
        4194304.0, ge=1.0, le=1e9, description="global batch in tokens per iteration"
    )
    seq_len: int = Field(4096, ge=1, le=1_048_576, description="tokens per sample")
    mfu: float = Field(0.40, gt=0.0, le=1.0, description="model FLOPs utilization")
    gpu: str = Field("h800", description="GPU from the hw catalog (bf16 peak)")
    overlap: float = Field(
        0.0, ge=0.0, le=1.0, description="share of compute the all-reduce may overlap"
    )
    compute_s: float | None = Field(
        None, ge=0.0, le=1e5, description="compute per iteration (overrides the model sizing)"
    )
    grad_bytes: float | None = Field(
        None, ge=0.0, le=1e12, description="gradient bytes per GPU (overrides the sizing)"
    )
    comm_share: float | None = Field(
        None, ge=0.0, lt=1.0,
        description="set compute so exposed comm is this share of an ideal-fabric iteration "
        "(0 or null: size the job from its model)",
    )  # fmt: skip

    @field_validator("gpu")
    @classmethod
    def _known_gpu(cls, v: str) -> str:
        from sim_models.hw.catalog import GPUS

        if v.strip().lower() not in GPUS:
            raise ValueError(f"unknown GPU {v!r}; known: {', '.join(sorted(GPUS))}")
        return v.strip().lower()

    def job_spec(self, qps: int, port_Bps: float, ports: int = 2):
        """The :class:`sim_models.c4.job.JobSpec` of these params."""
        from sim_models.c4.job import JobSpec, job_from_model
        from sim_models.hw.catalog import gpu

        if self.gpus % 8:
            raise ValueError(f"gpus must be a multiple of 8, got {self.gpus}")
        spec = job_from_model(
            self.model_params, self.gpus, self.tokens_per_iteration,
            gpu(self.gpu).peak("bf16"), self.mfu, seq_len=self.seq_len, overlap=self.overlap,
            qps=qps,
        )  # fmt: skip
        grad = self.grad_bytes if self.grad_bytes is not None else spec.grad_bytes
        compute = self.compute_s if self.compute_s is not None else spec.compute_s
        if self.comm_share:
            m = self.gpus // 8
            t_comm = 2.0 * (m - 1) / m * grad / (ports * port_Bps)
            s, w = self.comm_share, self.overlap
            compute = t_comm * (1.0 - s) / (s + w - s * w)
        return JobSpec(compute, grad, self.overlap, qps, spec.samples_per_iteration).check()
