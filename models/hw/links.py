"""Point-to-point links (PCIe, NVLink, ring links), NIC ports, and DMA copy engines.

What it models
    * :class:`LinkSpec`: one direction of a full-duplex link: bandwidth, latency and an
      optional protocol-efficiency factor. ``transfer_time_s = latency + bytes / effective``.
    * PCIe generations 1-6 by lane count (:func:`pcie_bandwidth_Bps`), NVLink generations
      (:class:`NVLinkGen`: per-link and per-GPU aggregate bandwidth), NIC ports and bonds
      (:class:`NICSpec`).
    * :class:`DMAEngine`: a SimPy component that serves copy requests. Each copy costs a
      fixed per-call overhead (driver call, descriptor setup) on its engine, then holds the
      link direction for ``bytes / bandwidth``. One engine processes its copies one at a
      time; with several engines, the overhead of one copy overlaps another engine's data
      phase, so the link is used well even with small copies. Closed form for one engine:
      ``effective_bandwidth = size / (overhead + size / bw)``.

What it leaves out
    Credit-based flow control, TLP/flit packetisation at packet level, link training,
    congestion inside switches (the flow network in :mod:`sim_models.hw.maxmin` handles shared
    fabrics), IOMMU/ATS costs, and the size-dependent DMA ramp seen on real hardware beyond
    the fixed per-call overhead.

Assumptions
    * Links are full duplex; a ``LinkSpec`` describes one direction. Two directions are two
      independent channels (two ``DMAEngine`` pools, or two ``channel`` resources).
    * The link direction serves the data phases of copies one at a time, FIFO (a copy is the
      unit of store-and-forward); bandwidth is not split between concurrent copies.

Units: bytes, seconds, bytes/s (``_Bps``); NIC line rates in Gb/s (``_Gbps`` = 1e9 bit/s).

Sources of constants
    * PCIe per-lane signalling rates and line codes: PCI-SIG PCI Express Base Specification
      (1.0/2.0: 2.5/5 GT/s, 8b/10b; 3.0: 8 GT/s, 4.0: 16 GT/s, 5.0: 32 GT/s, all 128b/130b;
      6.0: 64 GT/s PAM4 with 1b/1b coding in 256-byte FLITs). For gen 6 the factor used is
      242/256: of a 256 B FLIT, 236 B carry TLPs and 6 B DLLPs, 8 B CRC and 6 B FEC are pure
      overhead. So gen4 x16 = 16e9 * 128/130 * 16 / 8 = 31.5 GB/s per direction.
    * PCIe TLP efficiency (optional, :func:`pcie_tlp_efficiency`): payload / (payload + 24 B),
      24 B = 4 B framing token with sequence number + 16 B 4-DW header + 4 B LCRC per TLP
      (PCIe 3.0+ framing; method as in Xilinx WP350 "Understanding Performance of PCI Express
      Systems"). Default max payload 256 B -> 0.914. ACK/flow-control DLLPs are ignored.
    * NVLink: NVIDIA A100 datasheet (NVLink 3: 12 links, 600 GB/s bidirectional per GPU ->
      25 GB/s per link per direction); H100 datasheet (NVLink 4: 18 links, 900 GB/s);
      H800 SXM: 400 GB/s NVLink (NVIDIA H800 product brief, export variant; 8 links [A]);
      V100 datasheet (NVLink 2: 6 links, 300 GB/s).
    * Per-call overhead of one ``cudaMemcpyAsync``: about 2.3 us on H20, from FlexKV PR #193
      as reported in github.com/taco-project/FlexKV PR #193 (:data:`CUDA_MEMCPY_CALL_OVERHEAD_S`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import simpy
from sim_models.hw.specs import LinkSpec

from sim.scope import Scope, scope_of

#: PCIe per-lane signalling rate in transfers/s, by generation (PCI-SIG Base Specs).
PCIE_GTPS: dict[int, float] = {1: 2.5e9, 2: 5e9, 3: 8e9, 4: 16e9, 5: 32e9, 6: 64e9}
#: Fraction of line bits that carry data, by generation (line code; FLIT payload for gen 6).
PCIE_ENCODING: dict[int, float] = {
    1: 8 / 10,
    2: 8 / 10,
    3: 128 / 130,
    4: 128 / 130,
    5: 128 / 130,
    6: 242 / 256,
}
#: Per-TLP overhead bytes for PCIe 3.0+ (framing+sequence 4, 4-DW header 16, LCRC 4).
PCIE_TLP_OVERHEAD_BYTES = 24
#: One cudaMemcpyAsync call, H20 (github.com/taco-project/FlexKV PR #193).
CUDA_MEMCPY_CALL_OVERHEAD_S = 2.3e-6


def pcie_bandwidth_Bps(generation: int, lanes: int = 16, efficiency: float = 1.0) -> float:
    """Bytes/s per direction of a PCIe link after line coding, times ``efficiency``."""
    if generation not in PCIE_GTPS:
        raise ValueError(f"unknown PCIe generation {generation}; known: {sorted(PCIE_GTPS)}")
    if lanes not in (1, 2, 4, 8, 16):
        raise ValueError(f"PCIe lanes must be 1, 2, 4, 8 or 16, not {lanes}")
    return PCIE_GTPS[generation] * PCIE_ENCODING[generation] * lanes / 8 * efficiency


def pcie_tlp_efficiency(
    max_payload_bytes: int = 256, overhead_bytes: int = PCIE_TLP_OVERHEAD_BYTES
) -> float:
    """Share of link bytes that are payload when every TLP carries ``max_payload_bytes``."""
    return max_payload_bytes / (max_payload_bytes + overhead_bytes)


def pcie_link(generation: int, lanes: int = 16, *, efficiency: float = 1.0) -> LinkSpec:
    """A PCIe link direction (latency 0: DMA setup costs live in :class:`DMAEngine`)."""
    return LinkSpec(
        name=f"pcie{generation}_x{lanes}",
        bandwidth_Bps=pcie_bandwidth_Bps(generation, lanes),
        efficiency=efficiency,
        source=f"PCIe {generation}.0 Base Spec: {PCIE_GTPS[generation] / 1e9:g} GT/s/lane, "
        f"coding efficiency {PCIE_ENCODING[generation]:.4f}",
    )


# ---- DMA ------------------------------------------------------------------------------
def copy_time_s(nbytes: float, bandwidth_Bps: float, call_overhead_s: float) -> float:
    """Time of one copy on an idle engine and link."""
    return call_overhead_s + nbytes / bandwidth_Bps


def effective_bandwidth_Bps(nbytes: float, bandwidth_Bps: float, call_overhead_s: float) -> float:
    """``size / (overhead + size / bw)``: what one engine achieves with copies of ``nbytes``."""
    return nbytes / copy_time_s(nbytes, bandwidth_Bps, call_overhead_s)


def copies_time_s(
    n_copies: int, nbytes: float, bandwidth_Bps: float, call_overhead_s: float, engines: int = 1
) -> float:
    """Closed form for ``n_copies`` equal copies issued at once on ``engines`` engines that
    share one link direction (FIFO data phases; ``engines >= 2`` assumes the overhead is
    at most ``(engines - 1)`` data phases, so the link never waits after the first copy)."""
    d = nbytes / bandwidth_Bps
    if engines == 1:
        return n_copies * (call_overhead_s + d)
    if call_overhead_s > (engines - 1) * d:
        raise ValueError("closed form holds only while overhead <= (engines - 1) * data time")
    return call_overhead_s + n_copies * d


@dataclass
class DMAStats:
    copies: int = 0
    bytes: float = 0.0
    link_busy_s: float = 0.0
    last_done_s: float = 0.0
    per_tag_bytes: dict[str, float] = field(default_factory=dict)


class DMAEngine:
    """``engines`` DMA engines serving copy requests FIFO over one link direction.

    ``channel`` is the link direction (a ``simpy.Resource`` of capacity 1); pass the same
    one to several ``DMAEngine`` objects to make them share a direction. With a traced
    ``scope``, every copy (from request to completion) is a span on ``<scope>/<tag>``.
    """

    def __init__(
        self,
        env: simpy.Environment,
        link: LinkSpec,
        *,
        call_overhead_s: float = CUDA_MEMCPY_CALL_OVERHEAD_S,
        engines: int = 1,
        channel: simpy.Resource | None = None,
        name: str = "dma",
        scope: Scope | None = None,
    ):
        if engines < 1:
            raise ValueError("engines must be >= 1")
        self.env, self.link, self.name = env, link, name
        self.scope = scope_of(scope)
        self.call_overhead_s = call_overhead_s
        self.engines = simpy.Resource(env, capacity=engines)
        self.channel = channel if channel is not None else simpy.Resource(env, capacity=1)
        self.stats = DMAStats()

    def copy(self, nbytes: float, *, tag: str = "copy") -> simpy.Process:
        """Queue one copy; the returned process's value is its completion time."""
        if nbytes < 0:
            raise ValueError("nbytes must be >= 0")
        return self.env.process(self._copy(nbytes, tag))

    def copy_many(self, sizes: list[float], *, tag: str = "copy") -> simpy.Event:
        """Queue several copies at once; the event fires when all are done."""
        return self.env.all_of([self.copy(s, tag=tag) for s in sizes])

    def batch_time_s(self, count: int, total_bytes: float) -> float:
        """Time of ``count`` copies of ``total_bytes`` in all, issued at once on this
        engine pool with the link direction to themselves: ``o + d + (count - 1) x max(d,
        (o + d) / engines)``, ``o`` the per-call overhead and ``d`` the mean data phase.
        Exact for equal copies where :func:`copies_time_s` is (one engine; several engines
        whose overhead fits in the other engines' data phases)."""
        if count <= 0:
            return 0.0
        o = self.call_overhead_s
        d = total_bytes / count / self.link.effective_Bps
        return o + d + (count - 1) * max(d, (o + d) / self.engines.capacity) + self.link.latency_s

    def copy_batch(self, count: int, total_bytes: float, *, tag: str = "copy") -> simpy.Event:
        """Queue ``count`` copies of ``total_bytes`` in all as one unit (a stream issuing its
        copies back to back): it waits for the link direction (FIFO with other batches and
        copies), holds it for :meth:`batch_time_s` and counts ``count`` copies. Callbacks
        instead of a process, and one event instead of one process per copy, for models
        that move thousands of small copies (a KV-cache swap is one copy per block, layer,
        and K or V). The event's value is the completion time."""
        if count < 0 or total_bytes < 0:
            raise ValueError("count and total_bytes must be >= 0")
        env = self.env
        done = env.event()
        t_request = env.now
        count, total_bytes = int(count), float(total_bytes)

        def finish(_ev, req=None):
            if req is not None:
                self.channel.release(req)
            s = self.stats
            s.copies += count
            s.bytes += total_bytes
            s.link_busy_s += total_bytes / self.link.effective_Bps
            s.last_done_s = env.now
            s.per_tag_bytes[tag] = s.per_tag_bytes.get(tag, 0.0) + total_bytes
            if self.scope.tracing and count:
                self.scope.span(f"copies {tag}", t_request, env.now, track=tag,
                                args={"copies": count, "bytes": total_bytes})  # fmt: skip
            done.succeed(env.now)

        if not count:
            finish(None)
            return done
        req = self.channel.request()

        def start(_ev):
            env.timeout(self.batch_time_s(count, total_bytes)).callbacks.append(
                lambda ev: finish(ev, req)
            )

        req.callbacks.append(start)
        return done

    def _copy(self, nbytes: float, tag: str):
        env = self.env
        t_request = env.now
        with self.engines.request() as engine:
            yield engine
            yield env.timeout(self.call_overhead_s)
            with self.channel.request() as ch:
                yield ch
                busy = nbytes / self.link.effective_Bps
                yield env.timeout(busy)
            if self.link.latency_s > 0:
                yield env.timeout(self.link.latency_s)
        s = self.stats
        s.copies += 1
        s.bytes += nbytes
        s.link_busy_s += busy
        s.last_done_s = env.now
        s.per_tag_bytes[tag] = s.per_tag_bytes.get(tag, 0.0) + nbytes
        if self.scope.tracing:
            self.scope.span(f"copy {tag}", t_request, env.now, track=tag, args={"bytes": nbytes})
        return env.now
