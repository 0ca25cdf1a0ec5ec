"""NCCL-style protocols, fixed costs and algorithm choice for collectives.

What it models
    A collective library moves data with a *protocol* that trades bandwidth for latency,
    and pays a fixed cost per collective (kernel launch, setup) and per step (one hop of
    synchronisation between neighbours). NCCL's three protocols:

    * ``simple``: bulk copies with a memory fence per chunk; all bytes on the wire are
      data (efficiency 1) but each step waits for the fence (highest per-step latency);
    * ``ll128``: 128-byte lines of which 120 bytes are data and 8 a flag (efficiency
      120/128), flag polling instead of fences;
    * ``ll`` (low latency): 8-byte stores of 4 bytes of data and a 4-byte flag
      (efficiency 1/2), the lowest per-step latency.

    :func:`protocol_costs` gives, for a protocol and the transport of a step (NVLink inside
    a node, the network across nodes), the wire-bytes factor ``1 / efficiency``, the
    per-step latency and the per-collective base latency. The collective model inflates each
    message's bytes by the factor (the flag bytes really cross the links), waits the
    per-step latency before a step's messages start, and the base latency once.

    :func:`choose` picks algorithm and protocol by message size as NCCL's tuner does: it
    predicts each candidate's time with an alpha-beta model (base + steps x per-step
    latency + bytes on the bottleneck / (bandwidth x efficiency)) and takes the fastest.

Where the constants come from
    Protocol efficiencies are [D] from the line formats (NCCL's LL and LL128 protocols,
    documented in NVIDIA's NCCL source, ``src/include/device.h`` line layouts, and the NCCL
    2.12 release notes for LL128). Latencies are NCCL's own tuning-model constants
    (``src/graph/tuning.cc``, NCCL 2.x: ``baseLat`` per algorithm/protocol and ``hwLat``
    per transport), in microseconds: Ring base {LL 6.6, LL128 14.0, Simple 8.4}; Tree base
    {LL 6.8, LL128 14.0, Simple 0}; per-hop NVLink Ring {0.6, 1.9, 3.4}, Tree {0.6, 1.25,
    4.0}; network Ring {2.7, 4.0, 14.0}, Tree {5.0, 8.5, 14.0}. These values differ a
    little between NCCL releases [U: exact release not pinned]; they are defaults, every one
    a parameter.

What it leaves out
    NCCL's per-channel bandwidth caps, tree correction factors, NVLS/CollNet algorithms,
    the number of channels NCCL would pick (the caller sets it), and PCIe-only transports.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

PROTOCOLS = ("simple", "ll128", "ll")
#: Fraction of the bytes on the wire that are data, per protocol.
EFFICIENCY = {"simple": 1.0, "ll128": 120.0 / 128.0, "ll": 0.5}
#: Base latency per collective (s), by algorithm family and protocol.
BASE_LATENCY_S = {
    "ring": {"ll": 6.6e-6, "ll128": 14.0e-6, "simple": 8.4e-6},
    "tree": {"ll": 6.8e-6, "ll128": 14.0e-6, "simple": 0.0},
}
#: Latency per step (one hop between neighbours) (s), by transport, algorithm, protocol.
HOP_LATENCY_S = {
    "nvlink": {
        "ring": {"ll": 0.6e-6, "ll128": 1.9e-6, "simple": 3.4e-6},
        "tree": {"ll": 0.6e-6, "ll128": 1.25e-6, "simple": 4.0e-6},
    },
    "net": {
        "ring": {"ll": 2.7e-6, "ll128": 4.0e-6, "simple": 14.0e-6},
        "tree": {"ll": 5.0e-6, "ll128": 8.5e-6, "simple": 14.0e-6},
    },
}


def family(algorithm: str) -> str:
    """Latency family of an algorithm: trees use the tree table, the rest the ring one."""
    return "tree" if algorithm == "tree" else "ring"


@dataclass(frozen=True)
class ProtocolCosts:
    """What a protocol costs on one collective: wire-bytes factor and fixed latencies."""

    protocol: str
    wire_factor: float  # bytes on the wire per data byte
    base_s: float  # once per collective
    step_intra_s: float  # per step whose messages stay inside nodes
    step_inter_s: float  # per step with a message across nodes


def protocol_costs(protocol: str, algorithm: str) -> ProtocolCosts:
    """The costs of ``protocol`` for ``algorithm`` (see the module doc for the sources)."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; known: {', '.join(PROTOCOLS)}")
    fam = family(algorithm)
    return ProtocolCosts(
        protocol,
        1.0 / EFFICIENCY[protocol],
        BASE_LATENCY_S[fam][protocol],
        HOP_LATENCY_S["nvlink"][fam][protocol],
        HOP_LATENCY_S["net"][fam][protocol],
    )


def predicted_time_s(
    algorithm: str,
    protocol: str,
    ranks: int,
    message_bytes: float,
    bottleneck_Bps: float,
    inter_node: bool,
    chunks: int = 1,
) -> float:
    """Alpha-beta prediction used for the choice (not the simulation itself).

    Ring all-reduce: ``2(p-1)`` steps, ``2(p-1)/p N`` bytes through the slowest link. Tree
    (the binary tree of :mod:`sim_models.hw.collectives`, ``D = floor(log2 p)`` levels
    below the root, ``k`` pipeline chunks, reduce then broadcast): ``2(D + k - 1)`` steps,
    each moving ``N/k`` bytes from two children into a parent's link (``2N/k``).
    """
    c = protocol_costs(protocol, algorithm)
    hop = c.step_inter_s if inter_node else c.step_intra_s
    p = max(int(ranks), 2)
    bw = bottleneck_Bps / c.wire_factor
    if algorithm == "tree":
        depth = int(math.floor(math.log2(p)))
        k = max(int(chunks), 1)
        steps = 2 * (depth + k - 1)
        return c.base_s + steps * (hop + 2 * message_bytes / k / bw)
    steps = 2 * (p - 1)
    return c.base_s + steps * hop + 2 * (p - 1) / p * message_bytes / bw


def choose(
    ranks: int,
    message_bytes: float,
    bottleneck_Bps: float,
    inter_node: bool,
    algorithms: tuple[str, ...] = ("ring", "tree"),
    protocols: tuple[str, ...] = PROTOCOLS,
    chunks: int = 1,
) -> tuple[str, str]:
    """The (algorithm, protocol) with the smallest predicted time (ties: first listed)."""
    best = None
    for a in algorithms:
        for pr in protocols:
            t = predicted_time_s(a, pr, ranks, message_bytes, bottleneck_Bps, inter_node, chunks)
            if best is None or t < best[0]:
                best = (t, a, pr)
    assert best is not None
    return best[1], best[2]
