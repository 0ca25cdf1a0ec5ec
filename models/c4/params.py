"""Parameters shared by the c4 models: the fabric's shape and hardware.

Every field has finite bounds so that no value that validates can hang a run or exhaust
memory. Defaults and their sources: :mod:`sim_models.c4.fabric` and ``models/c4/NOTES.md``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
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
