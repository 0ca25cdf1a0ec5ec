"""One data-parallel job placed on its fabric, with the routes of its QPs: the set-up that
the models probing a job share (``c4.detector``, ``c4.reliability``).

It builds the fabric from the model's :class:`~sim_models.c4.params.FabricParams`, sizes
the job from its :class:`~sim_models.c4.params.JobParams`, lets the routing policy see the
fabric, and places the job's nodes (the placement drawn from the model's ``placement``
stream). It leaves out running anything: each model probes the job its own way.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim_models.c4.comm import Routes
from sim_models.c4.fabric import Fabric, place_job
from sim_models.c4.job import JobSpec


@dataclass
class PlacedJob:
    fabric: Fabric
    spec: JobSpec  # the job's sizing (params.job_spec)
    routes: Routes
    nodes: list


def place_one_job(params, scope, routing) -> PlacedJob:
    """Fabric, job sizing, routes and placed nodes of one job of ``params.gpus`` GPUs."""
    nodes_needed = params.gpus // 8
    fabric_spec = params.fabric_spec(nodes_needed)
    fabric = Fabric(fabric_spec, scope=scope.child("net"))
    spec = params.job_spec(params.qps, fabric_spec.port_Bps, fabric_spec.ports_per_nic)
    routing.setup(fabric.G)
    routes = Routes(fabric, routing)
    nodes = place_job(fabric.nodes, nodes_needed, params.placement, scope.rng("placement"))
    return PlacedJob(fabric, spec, routes, nodes)
