"""One tensor-parallel sub-layer (producer GEMM, reduce-scatter, all-gather) on one GPU of a
symmetric ring, under each configuration T3 compares.

What it models
    One rank of ``tp`` GPUs on a ring (the paper's method: one GPU in detail, peer traffic
    injected by symmetry; Pati et al., T3, ASPLOS'24, Sec. 5.1). The rank has a GPU
    (:class:`~sim_models.hw.gpu.GPU`, tile mode: K-step reads, per-tile stores), HBM with
    near-memory compute (:class:`~sim_models.hw.memory.ComputeEnhancedMemory` on a banked
    DRAM, :class:`~sim_models.hw.dram.BankedHBM`: channels, banks, row buffers, FR-FCFS; or
    on the single bandwidth server :class:`~sim_models.hw.arbiter.HBMArbiter`; either with
    a ``hw.arbiter`` policy) and an outgoing ring link (:class:`~sim_models.hw.ring_memory.SerialLink`). The all-reduce of
    the GEMM's ``tokens x hidden`` output is a ring reduce-scatter (RS) and a ring
    all-gather (AG). Configurations (Sec. 5.3 and 3.2):

    ``sequential``
        GEMM on all CUs (outputs write-allocated in L2), then a CU-executed ring RS with its
        DRAM reads/writes (:func:`~sim_models.hw.ring_memory.ring_reduce_scatter`), then AG.
    ``t3``
        The fused GEMM-RS of :mod:`sim_models.t3.fused` (staggered stages, remote stage-1
        stores, near-memory updates, tracker-triggered DMA), FCFS DRAM arbitration; then AG.
    ``t3_mca``
        ``t3`` with communication-aware arbitration (threshold set from stage 1's memory
        intensity, starvation limit).
    ``ideal_overlap``
        The sequential GEMM and the sequential RS started together on *separate* memories
        (no contention, no dependence), then AG: ``max(GEMM, RS) + AG`` by construction.
    ``ideal_rs_nmc``
        ``sequential`` with the RS reducing near memory (arrivals are updates; no reduction
        reads).
    ``ideal_ar_overlap``
        The potential of overlapping the *whole* all-reduce with the GEMM (T3 Sec. 3.2,
        Fig. 6, "ideal"): the GEMM on all CUs and the all-reduce (RS then AG) started
        together on separate memories with all CUs each: ``max(GEMM, RS + AG)``.
    ``cu_split``
        The same overlap with the CUs split (Fig. 6): the GEMM on ``80 - k`` CUs and the
        all-reduce as a collective kernel on ``k`` CUs, whose memory traffic is limited to
        ``k`` CUs' worth of streams and whose adds run on ``k`` CUs; separate memories, no
        dependence (the study isolates CU contention): ``max(GEMM(80 - k), AR(k))``.

    With ``tp = 1`` there is nothing to reduce: every configuration is the GEMM alone.

What it leaves out
    The other ranks' details (symmetry), DMA-engine internals, caches for communication
    data, the sub-layer's element-wise epilogue, and kernel launch overheads.

Assumptions (each also in NOTES.md, with its sensitivity)
    A GEMM K loop of ``k_tile``-element steps (32) with ``prefetch_steps`` reads in flight
    (1); DMA reads issued as soon as a tile fires (up to ``dma_reads_in_flight``, 256);
    per-CU stream bandwidth of a collective kernel = ``cu_stream_share`` x (HBM bandwidth /
    CUs) (2x); RS adds at the CUs' fp32 vector rate; a near-memory update holds its bank
    ``nmc_bank_slots`` column slots per access (2; single server: 1.5 writes of channel
    time); MCA: compute first, threshold from stage 1, 2 us starvation limit; CU-executed collectives pipeline each chunk in
    slices of ``rs_slice_bytes`` (1 MiB, NCCL's Simple-protocol slice: 2 of the 8 steps of
    its 4 MiB buffer).

Units: bytes, seconds, bytes/s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy
from sim_models.hw.arbiter import FCFS, OccupancyThreshold
from sim_models.hw.dram import hbm2
from sim_models.hw.gemm import GemmShape, plan_gemm, tile_grid, tile_order
from sim_models.hw.gpu import GPU
from sim_models.hw.memory import ComputeEnhancedMemory, hbm_spec
from sim_models.hw.ring_memory import (
    SerialLink,
    ring_all_gather,
    ring_reduce_scatter,
    slices_for,
)
from sim_models.hw.specs import GPUSpec, LinkSpec

from sim.scope import Scope, scope_of

from .fused import FusedGemmRS

CONFIGURATIONS = ("sequential", "t3", "t3_mca", "ideal_overlap", "ideal_rs_nmc", "cu_split",
                  "ideal_ar_overlap")
#: DRAM-traffic categories (T3 Fig. 18)
CATEGORIES = ("gemm_read", "gemm_write", "rs_read", "rs_write", "ag_read", "ag_write")


@dataclass(frozen=True)
class Knobs:
    """The system and its assumptions, resolved (see NOTES.md for each value's source)."""

    gpu: GPUSpec
    link: LinkSpec
    l2_bytes: float
    tile: int = 128
    k_steps: int = 0  # read phases per wave; 0: one per k_tile elements of K
    k_tile: int = 32
    prefetch_steps: int = 1
    hbm_latency_s: float = 500e-9
    dram_model: str = "banked"  # "banked" (sim_models.hw.dram) or "single" (bandwidth server)
    dram_queue_entries: int = 64
    dram_refresh: bool = False
    nmc_bank_slots: float = 2.0
    burst_bytes: float = 64 * 1024
    window_bursts: int = 16
    nmc_extra_occupancy: float = 0.5
    cu_stream_share: float = 2.0
    dma_reads_in_flight: int = 256
    tracker_entries: int = 256
    mca_threshold_max_bursts: int = 16
    mca_threshold_max_entries: int = 32
    mca_starvation_limit_s: float = 2e-6
    mca_compute_first: bool = True
    comm_cost_scale: float = 1.0
    timeline_bin_s: float | None = None
    rs_slice_bytes: float = 2**20

    @property
    def banked(self) -> bool:
        return self.dram_model == "banked"

    @property
    def mca_threshold_max(self) -> int:
        """MCA threshold ceiling in the controller's queue units: entries (accesses) of a
        banked DRAM's channel queue, or bursts of the bandwidth server."""
        return self.mca_threshold_max_entries if self.banked else self.mca_threshold_max_bursts

    def steps(self, k: int) -> int:
        """K-loop read phases per wave for a GEMM of reduction size ``k``."""
        return self.k_steps if self.k_steps > 0 else max(1, math.ceil(k / self.k_tile))

    @property
    def cu_stream_Bps(self) -> float:
        """Memory traffic one CU of a collective kernel can drive [A]."""
        return self.cu_stream_share * self.gpu.hbm_bandwidth_Bps / self.gpu.compute_units


@dataclass
class SubLayerResult:
    config: str
    tp: int
    time_s: float
    gemm_s: float  # GEMM start to its last store
    rs_end_s: float  # GEMM start to the end of the reduce-scatter
    ag_s: float
    counters: dict[str, dict[str, float]]
    stats: dict[str, float] = field(default_factory=dict)
    timeline: list[tuple[float, str, str, float]] = field(default_factory=list)

    def category_bytes(self) -> dict[str, float]:
        """DRAM channel bytes by T3 Fig. 18 category (near-memory array traffic excluded)."""
        c = self.counters

        def get(origin, key):
            return c.get(origin, {}).get(key, 0.0)

        return {
            "gemm_read": get("gemm", "read_bytes"),
            "gemm_write": get("gemm", "write_bytes") + get("gemm.remote", "write_bytes"),
            "rs_read": get("rs", "read_bytes"),
            "rs_write": get("rs", "write_bytes"),
            "ag_read": get("ag", "read_bytes"),
            "ag_write": get("ag", "write_bytes"),
        }

    @property
    def dram_bytes(self) -> float:
        return sum(self.category_bytes().values())


class _CommPort:
    """Communication's view of memory: every transfer's channel time scaled by
    ``scale`` (1 = real). ``scale = 0`` is free communication (a what-if check): the
    transfer does not touch memory at all (no time, no latency, no bytes counted)."""

    def __init__(self, mem: ComputeEnhancedMemory, scale: float):
        self.mem, self.scale = mem, scale

    def _free(self) -> simpy.Event:
        return self.mem.env.event().succeed()

    def read(self, nbytes: float, origin: str) -> simpy.Event:
        if self.scale == 0:
            return self._free()
        return self.mem.channel.transfer(nbytes, origin, cost=self.scale)

    def write(self, nbytes: float, origin: str) -> simpy.Event:
        if self.scale == 0:
            return self._free()
        return self.mem.channel.transfer(nbytes, origin, write=True, cost=self.scale)

    def update(self, nbytes: float, origin: str) -> simpy.Event:
        if self.scale == 0:
            return self._free()
        return self.mem.update(nbytes, origin, cost_scale=self.scale)


def stage_chunks(order: list[int], p: int) -> list[list[int]]:
    """Cut a dispatch order into ``p`` contiguous chunks of near-equal tile counts."""
    if len(order) < p:
        raise ValueError(f"{len(order)} output tiles cannot be cut into {p} chunks")
    return [list(map(int, a)) for a in np.array_split(np.asarray(order), p)]


class SubLayerRun:
    """One sub-layer under one configuration, as SimPy processes in ``env``."""

    def __init__(
        self,
        env: simpy.Environment,
        shape: GemmShape,
        tp: int,
        config: str,
        knobs: Knobs,
        *,
        comm_cus: int = 8,
        scope: Scope | None = None,
        record_timeline: bool = False,
    ):
        if config not in CONFIGURATIONS:
            raise ValueError(f"unknown configuration {config!r}; known: {CONFIGURATIONS}")
        if tp < 1:
            raise ValueError("tp must be >= 1")
        cus = knobs.gpu.compute_units
        if config == "cu_split" and not 1 <= comm_cus < cus:
            raise ValueError(f"cu_split needs 1 <= k < {cus} CUs, got {comm_cus}")
        self.env, self.shape, self.tp, self.config, self.k = env, shape, tp, config, knobs
        self.k_steps = knobs.steps(shape.k)
        self.comm_cus = comm_cus
        self.scope = scope_of(scope)
        self.bin_s = knobs.timeline_bin_s if record_timeline else None
        self.mems: list[ComputeEnhancedMemory] = []
        self.links: list[SerialLink] = []
        self.policy: Any = None
        self.result: SubLayerResult | None = None

    # -- parts ------------------------------------------------------------------------------
    def _memory(self, policy=None) -> ComputeEnhancedMemory:
        k = self.k
        dram = None
        if k.banked:
            dram = hbm2(k.gpu.hbm_bandwidth_Bps, queue_entries=k.dram_queue_entries,
                        nmc_bank_slots=k.nmc_bank_slots, refresh=k.dram_refresh)  # fmt: skip
        mem = ComputeEnhancedMemory(
            self.env,
            hbm_spec(k.gpu, latency_s=k.hbm_latency_s),
            nmc_extra_occupancy=k.nmc_extra_occupancy,
            policy=policy if policy is not None else FCFS(),
            burst_bytes=k.burst_bytes,
            window_bursts=k.window_bursts,
            compute_origins=("gemm",),
            bin_s=self.bin_s,
            scope=self.scope.child(f"hbm{len(self.mems)}"),
            dram=dram,
        )
        self.mems.append(mem)
        return mem

    def _link(self) -> SerialLink:
        s = self.k.comm_cost_scale
        spec = self.k.link
        scaled = LinkSpec(
            spec.name,
            spec.effective_Bps / s if s > 0 else float("inf"),
            spec.latency_s * s,
            source=spec.source,
        )
        link = SerialLink(self.env, scaled, scope=self.scope.child("link"))
        self.links.append(link)
        return link

    def _port(self, mem):
        return mem if self.k.comm_cost_scale == 1.0 else _CommPort(mem, self.k.comm_cost_scale)

    def _cu_Bps(self, cus: int) -> float | None:
        s = self.k.comm_cost_scale
        return cus * self.k.cu_stream_Bps / s if s > 0 else None

    def _add_flops(self, cus: int) -> float | None:
        s = self.k.comm_cost_scale
        if s <= 0:
            return None
        return self.k.gpu.peak("fp32") * cus / self.k.gpu.compute_units / s

    def _plan(self, order, cus, cache_outputs):
        k = self.k
        return plan_gemm(self.shape, k.gpu, cus=cus, tile_m=k.tile, tile_n=k.tile, order=order,
                         l2_bytes=k.l2_bytes, cache_outputs=cache_outputs)  # fmt: skip

    def base_order(self) -> list[int]:
        k = self.k
        return tile_order(self.shape, "grouped", tile_m=k.tile, tile_n=k.tile, l2_bytes=k.l2_bytes)

    def staggered(self) -> tuple[list[int], list[list[int]]]:
        """The dispatch order of rank 0 (stage s = chunk s mod p) and its stages."""
        chunks = stage_chunks(self.base_order(), self.tp)
        stages = [chunks[s % self.tp] for s in range(1, self.tp + 1)]
        return [i for st in stages for i in st], stages

    # -- run ---------------------------------------------------------------------------------
    def start(self) -> simpy.Process:
        return self.env.process(self._run())

    def _run(self):
        env, k, tp, cfg = self.env, self.k, self.tp, self.config
        t0 = env.now
        S = self.shape.output_bytes
        cus = k.gpu.compute_units
        slices = slices_for(S / tp, k.rs_slice_bytes)
        stats: dict[str, float] = {"collective_slices": slices}
        if tp == 1:  # nothing to reduce: the GEMM alone
            mem = self._memory()
            gpu = GPU(env, k.gpu, hbm=mem, scope=self.scope.child("gpu"))
            plan = self._plan(self.base_order(), cus, True)
            yield gpu.run_plan(plan, k_steps=self.k_steps, prefetch=k.prefetch_steps, tile_stores=False)
            gemm_end = rs_end = env.now
        elif cfg in ("sequential", "ideal_rs_nmc"):
            mem = self._memory()
            gpu = GPU(env, k.gpu, hbm=mem, scope=self.scope.child("gpu"))
            link = self._link()
            plan = self._plan(self.base_order(), cus, True)
            yield gpu.run_plan(plan, k_steps=self.k_steps, prefetch=k.prefetch_steps, tile_stores=False)
            gemm_end = env.now
            yield ring_reduce_scatter(env, self._port(mem), link, tp, S,
                                      nmc=cfg == "ideal_rs_nmc", cu_Bps=self._cu_Bps(cus),
                                      add_flops=self._add_flops(cus), slices=slices)  # fmt: skip
            rs_end = env.now
        elif cfg == "ideal_overlap":
            mem_g, mem_c = self._memory(), self._memory()
            gpu = GPU(env, k.gpu, hbm=mem_g, scope=self.scope.child("gpu"))
            link = self._link()
            plan = self._plan(self.base_order(), cus, True)
            g = gpu.run_plan(plan, k_steps=self.k_steps, prefetch=k.prefetch_steps, tile_stores=False)
            r = ring_reduce_scatter(env, self._port(mem_c), link, tp, S, cu_Bps=self._cu_Bps(cus),
                                    add_flops=self._add_flops(cus), slices=slices)  # fmt: skip
            yield g
            gemm_end = env.now
            yield r
            rs_end = env.now
            mem = mem_c
        elif cfg in ("t3", "t3_mca"):
            policy = None
            if cfg == "t3_mca":
                policy = OccupancyThreshold(OccupancyThreshold.Params(
                    threshold_bursts=k.mca_threshold_max,
                    starvation_limit_s=k.mca_starvation_limit_s,
                    compute_first=k.mca_compute_first))  # fmt: skip
            self.policy = policy
            mem = self._memory(policy)
            gpu = GPU(env, k.gpu, hbm=mem, scope=self.scope.child("gpu"))
            link = self._link()
            order, stage_idx = self.staggered()
            plan = self._plan(order, cus, False)  # uncached (bypassing) output stores
            tiles = {t.index: t for t in tile_grid(self.shape, k.tile, k.tile)}
            stages = [[tiles[i] for i in st] for st in stage_idx]
            fused = FusedGemmRS(env, gpu, mem, link, plan, stages,
                                k_steps=self.k_steps, prefetch=k.prefetch_steps,
                                dma_reads_in_flight=k.dma_reads_in_flight,
                                tracker_entries=k.tracker_entries, mca=policy,
                                mca_threshold_max=k.mca_threshold_max,
                                comm_scale=k.comm_cost_scale)  # fmt: skip
            fr = yield fused.start()
            gemm_end, rs_end = fr.gemm_end_s, fr.rs_end_s
            stats.update(
                dma_transfers=fr.dma_transfers,
                tracker_peak_entries=fr.tracker_peak_entries,
                tracker_overflows=fr.tracker_overflows,
                mca_threshold_bursts=fr.mca_threshold_bursts,
                stage1_memory_intensity=fr.stage1_memory_intensity,
            )
            if policy is not None:
                stats["mca_forced_bursts"] = policy.forced
            stats["max_comm_wait_s"] = mem.channel.max_comm_wait_s
        else:  # cu_split, ideal_ar_overlap: GEMM and the whole all-reduce side by side
            split = cfg == "cu_split"
            ar_cus = self.comm_cus if split else cus
            mem_g, mem_c = self._memory(), self._memory()
            gpu = GPU(env, k.gpu, hbm=mem_g, scope=self.scope.child("gpu"))
            link = self._link()
            if split:
                yield gpu.reserve_cus(ar_cus)
            plan = self._plan(self.base_order(), cus - ar_cus if split else cus, True)
            g = gpu.run_plan(plan, k_steps=self.k_steps, prefetch=k.prefetch_steps, tile_stores=False)
            marks: dict[str, float] = {}

            def all_reduce():
                t0_ar = env.now
                yield ring_reduce_scatter(env, self._port(mem_c), link, tp, S,
                                          cu_Bps=self._cu_Bps(ar_cus), add_flops=self._add_flops(ar_cus),
                                          slices=slices)  # fmt: skip
                marks["rs"] = env.now
                yield ring_all_gather(env, self._port(mem_c), link, tp, S,
                                      cu_Bps=self._cu_Bps(ar_cus), slices=slices)  # fmt: skip
                marks["ar"] = env.now - t0_ar

            a = env.process(all_reduce())
            yield g
            gemm_end = env.now
            yield a
            rs_end = marks["rs"]
            stats["ar_s"] = marks["ar"]
            if split:
                yield gpu.release_cus(ar_cus)
            mem = mem_c
        t_ag = env.now
        if tp > 1 and cfg not in ("cu_split", "ideal_ar_overlap"):
            yield ring_all_gather(env, self._port(mem), self.links[0], tp, S,
                                  cu_Bps=self._cu_Bps(cus), slices=slices)  # fmt: skip
        elif tp > 1:
            t_ag = rs_end  # the AG ran inside the overlapped all-reduce
        end = env.now
        counters: dict[str, dict[str, float]] = {}
        for m in self.mems:
            for origin, c in m.counters().items():
                acc = counters.setdefault(origin, {"read_bytes": 0.0, "write_bytes": 0.0})
                acc["read_bytes"] += c["read_bytes"]
                acc["write_bytes"] += c["write_bytes"]
        stats["link_bytes"] = sum(ln.bytes for ln in self.links)
        stats.setdefault("max_comm_wait_s", max(m.channel.max_comm_wait_s for m in self.mems))
        timeline = [row for m in self.mems for row in m.channel.timeline()]
        self.result = SubLayerResult(
            config=cfg, tp=tp, time_s=end - t0, gemm_s=gemm_end - t0, rs_end_s=rs_end - t0,
            ag_s=end - t_ag, counters=counters, stats=stats, timeline=timeline,
        )  # fmt: skip
        return self.result
