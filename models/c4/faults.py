"""Fault kinds, the C4D anomaly class each one produces, and how they are injected.

What it models
    C4 sorts anomalies by their syndrome in collective telemetry into four classes:
    communication hang, non-communication hang, communication slow and non-communication
    slow. The faults injected here, each with the class it is expected to produce and the
    unit a correct diagnosis names (the *isolation unit*):

    ============  ===================  ========  ==============================================
    kind          class                unit      effect
    ============  ===================  ========  ==============================================
    node_crash    comm_hang            node      the node dies: no compute, silent agent, dead
                                                 NIC ports (traffic through them stalls)
    nic_down      comm_hang            nic       both ports of one NIC stop carrying traffic
                                                 (a bond cannot fail over)
    gpu_hang      noncomm_hang         node      a GPU or process hangs in compute; the
                                                 node's agent keeps reporting
    port_down     comm_slow            nic       one port of a bonded NIC fails; the bond
                                                 fails over to the other (half the NIC)
    slow_port     comm_slow            nic       one NIC port runs at ``factor`` of its rate
    slow_link     comm_slow            link      a ToR uplink the job uses runs at ``factor``
    slow_gpu      noncomm_slow         node      a GPU (hence its tensor-parallel node)
                                                 computes ``1 / factor`` times longer
    ============  ===================  ========  ==============================================

    Units are named ``("node", node)``, ``("nic", nic)`` and ``("link", (tor, spine))``
    (a link by its upward edge). Every fault takes effect at once; a ``port_down`` is
    announced to the routing (the bond fails over, QPs in flight move with their
    remaining bytes), the others are not (a slow or dead link looks alive to the control
    plane).

What it leaves out
    Silent data corruption, software faults outside the job (storage, scheduler),
    intermittent faults, several simultaneous faults.

Assumptions
    The severities (``factor``) are parameters with defaults stated in
    ``models/c4/NOTES.md``; no public source gives their distribution.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sim_models.c4.job import TrainingJob

KINDS: dict[str, tuple[str, str]] = {
    "node_crash": ("comm_hang", "node"),
    "nic_down": ("comm_hang", "nic"),
    "gpu_hang": ("noncomm_hang", "node"),
    "port_down": ("comm_slow", "nic"),
    "slow_port": ("comm_slow", "nic"),
    "slow_link": ("comm_slow", "link"),
    "slow_gpu": ("noncomm_slow", "node"),
}
CLASSES = ("comm_hang", "noncomm_hang", "comm_slow", "noncomm_slow")
HANG_CLASSES = ("comm_hang", "noncomm_hang")

Unit = tuple[str, Any]


@dataclass(frozen=True)
class Fault:
    """One injected fault (ground truth: never shown to the detector)."""

    kind: str
    node: int | None = None
    nic: str | None = None
    port: int | None = None
    link: tuple[str, str] | None = None
    factor: float = 1.0

    @property
    def cls(self) -> str:
        return KINDS[self.kind][0]

    @property
    def unit(self) -> Unit:
        level = KINDS[self.kind][1]
        if level == "node":
            return ("node", self.node)
        if level == "nic":
            return ("nic", self.nic)
        return ("link", self.link)

    @property
    def is_hang(self) -> bool:
        return self.cls in HANG_CLASSES


def sample_fault(
    kind: str,
    job: TrainingJob,
    rng: np.random.Generator,
    *,
    slow_port_factor: float = 0.25,
    slow_link_factor: float = 0.25,
    slow_gpu_factor: float = 0.5,
    used_uplinks: Sequence[tuple[str, str]] = (),
) -> Fault:
    """A fault of ``kind`` at a uniformly random place of ``job`` (a ``slow_link`` on one
    of ``used_uplinks``, the ToR uplinks the job's routes cross, when there are any; on a
    fabric without uplinks it becomes a ``slow_port``)."""
    if kind not in KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(KINDS)}")
    fab = job.fabric
    node = int(job.nodes[int(rng.integers(job.m))])
    rail = int(job.rails[int(rng.integers(len(job.rails)))])
    nic = fab.nic(node, rail)
    port = int(rng.integers(fab.spec.ports_per_nic))
    if kind in ("node_crash", "gpu_hang"):
        return Fault(kind, node=node)
    if kind == "slow_gpu":
        return Fault(kind, node=node, factor=slow_gpu_factor)
    if kind == "nic_down":
        return Fault(kind, node=node, nic=nic)
    if kind == "port_down":
        return Fault(kind, node=node, nic=nic, port=port)
    if kind == "slow_port":
        return Fault(kind, node=node, nic=nic, port=port, factor=slow_port_factor)
    links = sorted(set(used_uplinks)) or sorted(fab.uplinks())
    if not links:  # a single ToR pair has no uplinks: the slow link is a NIC's cable
        return Fault("slow_port", node=node, nic=nic, port=port, factor=slow_link_factor)
    link = links[int(rng.integers(len(links)))]
    return Fault(kind, link=tuple(link), factor=slow_link_factor)


def inject(fault: Fault, job: TrainingJob) -> None:
    """Apply ``fault`` to ``job`` and its fabric now."""
    fab = job.fabric
    k = fault.kind
    if k == "node_crash":
        job.crash_node(fault.node)
    elif k == "gpu_hang":
        job.hang_node(fault.node)
    elif k == "slow_gpu":
        job.slow_node(fault.node, 1.0 / fault.factor)
    elif k == "nic_down":
        for e in fab.nic_edges(fault.nic):
            fab.net.set_capacity(fab.lid[e], 0.0)
    elif k == "port_down":
        fab.set_link(*fab.port_edge(fault.nic, fault.port), 0.0)
    elif k == "slow_port":
        fab.set_link(*fab.port_edge(fault.nic, fault.port), fault.factor)
    elif k == "slow_link":
        fab.set_link(*fault.link, fault.factor)
    else:  # pragma: no cover - sample_fault validates kinds
        raise ValueError(k)


def used_uplinks(job: TrainingJob) -> list[tuple[str, str]]:
    """The ToR uplinks (upward edges) some QP of the job crosses."""
    fab = job.fabric
    ups = set(fab.uplinks())
    out = set()
    for key in job.ring.keys:
        for u, v in job.ring.routes.edges(key):
            if (u, v) in ups:
                out.add((u, v))
            elif (v, u) in ups:
                out.add((v, u))
    return sorted(out)
