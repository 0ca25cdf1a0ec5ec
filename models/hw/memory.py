"""Memory devices (HBM, host DRAM, CXL-attached memory) and compute-enhanced memory that
reduces incoming data in place (near-memory compute, "op-and-store").

What it models
    * :class:`MemorySpec`: capacity, bandwidth, latency of a device.
    * :class:`MemoryDevice`: a SimPy component whose channel is an
      :class:`~sim_models.hw.arbiter.HBMArbiter` (bandwidth server with an arbitration policy;
      ``read``/``write`` take ``latency_s + queueing + bytes / bandwidth``) or, given a
      ``dram`` configuration, a :class:`~sim_models.hw.dram.BankedHBM` (channels, banks,
      row buffers, FR-FCFS; the same policies). Capacity is a
      byte counter (:meth:`MemoryDevice.allocate` / :meth:`MemoryDevice.free`). Channel
      bytes are counted by origin (``gemm``, ``rs``, ``dma``, ...).
    * :class:`ComputeEnhancedMemory` adds :meth:`~ComputeEnhancedMemory.update`: the data
      crosses the channel once as a write and is added into the resident data by near-bank
      ALUs ("op-and-store", Pati et al., T3, ASPLOS'24, Sec. 4.3): no GPU read. The
      in-DRAM read-add-write is counted as ``nmc`` array reads and writes, and costs
      ``nmc_extra_occupancy`` of a write's channel time on top of the write (one channel
      write plus extra bank occupancy); on a banked DRAM it is timed in the bank instead
      (``HBMConfig.nmc_bank_slots``). :meth:`MemoryDevice.reduce_baseline` is the
      GPU-side alternative: read both operands and write the sum (3 channel transfers).

What it leaves out
    With the bandwidth server: banks, rows, refresh and channel interleaving (the banked
    DRAM has them); always: caching and NUMA effects on the host.

Assumptions and sources of constants
    * HBM of a GPU: capacity and bandwidth from its :class:`~sim_models.hw.gpu.GPUSpec`
      (catalog sources). Latency 500 ns [A]: order of magnitude of GPU DRAM load latency
      reported by microbenchmark studies (several hundred ns); it does not affect throughput.
    * ``nmc_extra_occupancy = 0.5`` [A]: the T3 paper models the update's DRAM timing
      (Sec. 5.1) but its per-update cost is not known here; 0.5 sits between perfect
      bank-level overlap (0) and a full extra write (1). Exposed as a knob.
    * Host DDR4-3200, 8 channels: 3200 MT/s x 8 B = 25.6 GB/s per channel (JEDEC JESD79-4),
      204.8 GB/s; DDR5-4800, 8 channels: 307.2 GB/s (JEDEC JESD79-5). Idle latency 100 ns [A]
      (typical measured local-socket latency, 80-120 ns).
    * CXL memory expander on a PCIe 5.0 x16 link: 63 GB/s per direction (PCIe 5.0 x16 after
      128b/130b, see :mod:`sim_models.hw.links`); latency 250 ns [A]: roughly 2-3x local DRAM,
      the range reported for real CXL devices (Sun et al., "Demystifying CXL Memory with
      Genuine CXL-Ready Systems and Devices", MICRO 2023). Bandwidth counts reads and writes
      together, a simplification of a full-duplex link.

Units: bytes, seconds, bytes/s.
"""

from __future__ import annotations

import simpy
from sim_models.hw.arbiter import ArbiterPolicy, HBMArbiter
from sim_models.hw.dram import BankedHBM, HBMConfig
from sim_models.hw.links import pcie_bandwidth_Bps
from sim_models.hw.specs import GiB, GPUSpec, MemorySpec

from sim.scope import Scope, scope_of

__all__ = ["GiB", "MemorySpec", "MemoryDevice", "ComputeEnhancedMemory", "hbm_spec"]



HBM_LATENCY_S = 500e-9  # [A], see module docstring

HOST_DDR4_3200_8CH = MemorySpec(
    "ddr4-3200-8ch",
    "dram",
    512 * GiB,
    8 * 25.6e9,
    100e-9,
    "JEDEC JESD79-4 DDR4-3200: 25.6 GB/s per channel x 8; latency [A]; 512 GiB [A]",
)
HOST_DDR5_4800_8CH = MemorySpec(
    "ddr5-4800-8ch",
    "dram",
    512 * GiB,
    8 * 38.4e9,
    100e-9,
    "JEDEC JESD79-5 DDR5-4800: 38.4 GB/s per channel x 8; latency [A]; 512 GiB [A]",
)
CXL_PCIE5_X16 = MemorySpec(
    "cxl-pcie5-x16",
    "cxl",
    256 * GiB,
    pcie_bandwidth_Bps(5, 16),
    250e-9,
    "CXL 2.0 over PCIe 5.0 x16 (32 GT/s, 128b/130b); latency [A] after Sun et al. MICRO'23",
)


def hbm_spec(gpu: GPUSpec, latency_s: float = HBM_LATENCY_S) -> MemorySpec:
    """The device memory of a GPU as a :class:`MemorySpec`."""
    return MemorySpec(
        f"{gpu.name}-hbm",
        "hbm",
        gpu.hbm_capacity_bytes,
        gpu.hbm_bandwidth_Bps,
        latency_s,
        gpu.source,
    )


class MemoryDevice:
    """A memory device in SimPy: capacity counter + bandwidth server with per-origin counts."""

    def __init__(
        self,
        env: simpy.Environment,
        spec: MemorySpec,
        *,
        policy: ArbiterPolicy | None = None,
        burst_bytes: float = 64 * 1024,
        window_bursts: int = 16,
        compute_origins: tuple[str, ...] = ("gemm",),
        bin_s: float | None = None,
        scope: Scope | None = None,
        dram: HBMConfig | None = None,
    ):
        """``dram``: serve the traffic with a banked DRAM of this configuration (its
        bandwidth replaces ``spec.bandwidth_Bps``; ``window_bursts`` becomes the segments a
        transfer keeps queued, ``burst_bytes`` is unused); default: the bandwidth server."""
        self.env, self.spec = env, spec
        self.scope = scope_of(scope)
        if dram is not None:
            self.channel: HBMArbiter | BankedHBM = BankedHBM(
                env,
                dram,
                policy=policy,
                latency_s=spec.latency_s,
                window_segments=window_bursts,
                compute_origins=compute_origins,
                bin_s=bin_s,
                scope=self.scope,
            )
        else:
            self.channel = HBMArbiter(
                env,
                spec.bandwidth_Bps,
                policy=policy,
                burst_bytes=burst_bytes,
                window_bursts=window_bursts,
                latency_s=spec.latency_s,
                compute_origins=compute_origins,
                bin_s=bin_s,
                scope=self.scope,
            )
        self.banked = dram is not None
        self.used_bytes = 0.0

    # capacity
    def allocate(self, nbytes: float) -> None:
        if self.used_bytes + nbytes > self.spec.capacity_bytes:
            raise MemoryError(
                f"{self.spec.name}: {nbytes:.0f} B do not fit "
                f"({self.used_bytes:.0f} of {self.spec.capacity_bytes:.0f} B used)"
            )
        self.used_bytes += nbytes

    def free(self, nbytes: float) -> None:
        self.used_bytes = max(0.0, self.used_bytes - nbytes)

    # traffic
    @property
    def supports_ranges(self) -> bool:
        """Whether reads and writes use addresses (``ranges``): a banked DRAM."""
        return self.banked

    def read(self, nbytes: float, origin: str, *, window: int | None = None,
             ranges=None) -> simpy.Event:  # fmt: skip
        return self.channel.read(nbytes, origin, window=window, ranges=ranges)

    def write(self, nbytes: float, origin: str, *, window: int | None = None,
              ranges=None) -> simpy.Event:  # fmt: skip
        return self.channel.write(nbytes, origin, window=window, ranges=ranges)

    def reduce_baseline(self, nbytes: float, origin: str) -> simpy.Event:
        """GPU-side reduction of a received chunk into a resident one: read both, write the
        sum (3 x ``nbytes`` over the channel; the add itself is not timed here)."""
        env = self.env

        def run():
            yield env.all_of([self.read(nbytes, origin), self.read(nbytes, origin)])
            yield self.write(nbytes, origin)
            return env.now

        return env.process(run())

    # counters
    def read_bytes(self, origin: str | None = None) -> float:
        st = self.channel.stats
        if origin is not None:
            return st[origin].read_bytes if origin in st else 0.0
        return sum(s.read_bytes for s in st.values())

    def write_bytes(self, origin: str | None = None) -> float:
        st = self.channel.stats
        if origin is not None:
            return st[origin].write_bytes if origin in st else 0.0
        return sum(s.write_bytes for s in st.values())

    def counters(self) -> dict[str, dict[str, float]]:
        """``{origin: {"read_bytes": ..., "write_bytes": ...}}`` over the channel."""
        return {
            o: {"read_bytes": s.read_bytes, "write_bytes": s.write_bytes}
            for o, s in self.channel.stats.items()
        }


class ComputeEnhancedMemory(MemoryDevice):
    """Memory whose near-bank ALUs reduce incoming data in place (op-and-store)."""

    def __init__(self, env: simpy.Environment, spec: MemorySpec, *, nmc_extra_occupancy=0.5, **kw):
        super().__init__(env, spec, **kw)
        self.nmc_extra_occupancy = nmc_extra_occupancy
        self.nmc_read_bytes = 0.0  # in-array reads of the resident operand
        self.nmc_write_bytes = 0.0  # in-array writes of the sum
        self.updates = 0

    def update(self, nbytes: float, origin: str, *, cost_scale: float = 1.0) -> simpy.Event:
        """Add ``nbytes`` of incoming data into resident data: one channel write by
        ``origin`` plus an in-memory read-modify-write (origin ``nmc``), no GPU read.
        ``cost_scale`` multiplies the channel time (0: a free update, for what-if runs)."""
        if self.banked:
            ev = self.channel.transfer(nbytes, origin, update=True, cost=cost_scale)
        else:
            cost = (1 + self.nmc_extra_occupancy) * cost_scale
            ev = self.channel.transfer(nbytes, origin, write=True, cost=cost)
        ev.callbacks.append(lambda _e: self._count_update(nbytes))
        return ev

    def update_then(self, nbytes: float, origin: str, on_done, *, cost_scale: float = 1.0) -> None:
        """:meth:`update` without an event: ``on_done()`` is called when it is done."""
        def done():
            self._count_update(nbytes)
            on_done()

        if self.banked:
            self.channel.transfer_then(nbytes, origin, done, update=True, cost=cost_scale)
        else:
            cost = (1 + self.nmc_extra_occupancy) * cost_scale
            self.channel.transfer_then(nbytes, origin, done, write=True, cost=cost)

    def _count_update(self, nbytes: float) -> None:
        self.updates += 1
        self.nmc_read_bytes += nbytes
        self.nmc_write_bytes += nbytes

    def counters(self) -> dict[str, dict[str, float]]:
        c = super().counters()
        c["nmc"] = {"read_bytes": self.nmc_read_bytes, "write_bytes": self.nmc_write_bytes}
        return c
