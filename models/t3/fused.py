"""T3's fused GEMM + ring reduce-scatter on one GPU of a symmetric ring.

What it models (Pati et al., T3, ASPLOS'24, Sec. 4.1-4.4, Figs. 7, 9, 12)
    The producer GEMM runs on all CUs, unchanged, in a *staggered* tile order: its output
    is cut into ``p`` chunks (one per TP rank) and the simulated rank ``g = 0`` computes
    stage ``s = 1 .. p`` = chunk ``s mod p``, so stage ``p`` is the chunk it owns. Only the
    output mapping differs between stages (``remote_map`` / ``dma_map``, Sec. 4.4):

    * stage 1: each tile's store goes straight over the ring link to the downstream GPU,
      where it lands as a near-memory *update* (the chunk's first partial sum);
    * stages 2 .. p: each tile's store is a local near-memory update
      (:meth:`~sim_models.hw.memory.ComputeEnhancedMemory.update`) into the chunk buffer,
      which the upstream GPU also updates with its partial sum;
    * the tracker (:class:`~sim_models.t3.tracker.Tracker`) counts both updates per tile;
      at 2, a tile of stages 2 .. p-1 fires its pre-programmed DMA, which reads the
      partially reduced tile from local DRAM and sends it over the link (where it lands as
      an update); a tile of stage ``p`` is then fully reduced.

    No CU works on communication. The DMA engine serves fired tiles FIFO with at most
    ``dma_reads_in_flight`` tiles read but not yet delivered (its buffer). Stage-1 stores
    and DMA transfers share the outgoing link, FIFO. The GEMM's stores back-pressure it
    (one wave of stores in flight, :mod:`sim_models.hw.gpu` tile mode), so a stage-1 wave
    cannot outrun the link.

Symmetry (the paper's own method, Sec. 5.1: one GPU simulated, peer traffic injected)
    Every rank runs the same schedule shifted by one chunk. The upstream rank ``g+1``
    produces chunk ``g+s`` at its stage ``s-1``, exactly when rank ``g`` produces chunk
    ``g+s-1``; so when rank ``g``'s stage-``s-1`` tile reaches the downstream GPU, the
    upstream's matching tile reaches rank ``g``, as an update to its stage-``s`` tile at
    the same position in the chunk. Origins: ``gemm`` for this GPU's GEMM (compute class),
    ``gemm.remote`` for the upstream GEMM's stage-1 stores landing here, ``rs`` for DMA
    reads and arriving partial sums (both communication class for the arbiter).

Communication-aware arbitration (``mca``, Sec. 4.5)
    With an :class:`~sim_models.hw.arbiter.OccupancyThreshold` policy (``compute_first``: a
    waiting GEMM request always goes first; communication enters the controller queue only
    while fewer than ``threshold`` GEMM accesses wait, or after the starvation limit), the
    threshold is set
    once stage 1 has been computed, from the memory intensity the GEMM showed during
    stage 1: ``u`` = GEMM DRAM bytes served / (bandwidth x stage-1 time), threshold =
    ``max(1, round(threshold_max x (1 - u)))`` in the controller's units (accesses waiting
    per channel of a banked DRAM, bursts of the single server) [A: the paper gives the rule's
    shape, dynamic and set from stage 1, not its formula or values].

Units: bytes, seconds.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import simpy
from sim_models.hw.arbiter import OccupancyThreshold
from sim_models.hw.gemm import GemmPlan, Tile

from sim.events import call_later

from .tracker import Tracker

UPSTREAM_COUNT = 2  # local store + one upstream update per tile (Fig. 7 walk-through)


@dataclass
class FusedResult:
    gemm_end_s: float
    rs_end_s: float
    dma_transfers: int
    stage1_remote_stores: int
    tracker_peak_entries: int
    tracker_overflows: int
    mca_threshold_bursts: float
    stage1_memory_intensity: float


def _positions(n_from: int, n_to: int) -> list[list[int]]:
    """For each position of a chunk of ``n_from`` tiles, the positions of a chunk of
    ``n_to`` tiles it feeds (identity for equal chunks; spread evenly otherwise)."""
    targets: list[list[int]] = [[] for _ in range(n_from)]
    for i in range(n_to):
        targets[min(n_from - 1, i * n_from // n_to)].append(i)
    return targets


class FusedGemmRS:
    """One rank's fused GEMM + reduce-scatter (see the module docstring)."""

    def __init__(
        self,
        env: simpy.Environment,
        gpu,
        mem,
        link,
        plan: GemmPlan,
        stages: list[list[Tile]],
        *,
        k_steps: int,
        prefetch: int = 1,
        dma_reads_in_flight: int,
        tracker_entries: int,
        mca: OccupancyThreshold | None = None,
        mca_threshold_max: int = 16,
        comm_scale: float = 1.0,
    ):
        if len(stages) < 2:
            raise ValueError("a fused reduce-scatter needs at least 2 ranks")
        self.env, self.gpu, self.mem, self.link = env, gpu, mem, link
        self.comm_scale = comm_scale  # scales communication's memory time (0: free)
        self.plan, self.stages, self.k_steps, self.prefetch = plan, stages, k_steps, prefetch
        self.p = len(stages)
        self.b = plan.shape.dtype_bytes
        self.dma_limit = dma_reads_in_flight
        self.mca, self.mca_max = mca, mca_threshold_max
        self.tracker = Tracker(self._fire, entries=tracker_entries)
        self.where: dict[int, tuple[int, int]] = {}
        for s, tiles in enumerate(stages, start=1):
            for pos, t in enumerate(tiles):
                self.where[t.index] = (s, pos)
        # upstream[s][pos]: tiles of stage s+1 that the arrival of stage-s tile ``pos`` updates
        self.upstream: dict[int, list[list[Tile]]] = {
            s: [[stages[s][i] for i in idx] for idx in _positions(len(stages[s - 1]), len(stages[s]))]
            for s in range(1, self.p)
        }
        self._dma_q: deque[int] = deque()
        self._dma_busy = 0
        self.dma_transfers = 0
        self._stage1_left = len(stages[0])
        self._final_left = len(stages[-1])
        self.rs_done = env.event()
        self._t0 = 0.0
        self.threshold = float(mca.threshold_bursts) if mca is not None else float("nan")
        self.intensity = float("nan")
        self._tile = {t.index: t for tiles in stages for t in tiles}

    def start(self) -> simpy.Process:
        return self.env.process(self._run())

    def _run(self):
        env = self.env
        self._t0 = env.now
        for tiles in self.stages[1:]:
            for t in tiles:
                self.tracker.program(t.index, UPSTREAM_COUNT)
        gemm = self.gpu.run_plan(self.plan, k_steps=self.k_steps, prefetch=self.prefetch,
                                 store=self._store)
        yield gemm
        gemm_end = env.now
        if not self.rs_done.triggered:
            yield self.rs_done
        return FusedResult(
            gemm_end_s=gemm_end,
            rs_end_s=env.now,
            dma_transfers=self.dma_transfers,
            stage1_remote_stores=len(self.stages[0]),
            tracker_peak_entries=self.tracker.peak_entries,
            tracker_overflows=self.tracker.overflows,
            mca_threshold_bursts=self.threshold,
            stage1_memory_intensity=self.intensity,
        )

    # -- the GEMM's stores ----------------------------------------------------------------
    def _store(self, tile: Tile, nbytes: int) -> simpy.Event:
        stage, pos = self.where[tile.index]
        if stage == 1:  # remote_map: straight to the downstream GPU
            self._stage1_left -= 1
            if self._stage1_left == 0:
                self._stage1_computed()
            ev = self.link.send(nbytes, "stage1")
            ev.callbacks.append(lambda _e, p=pos: self._arrive(1, p))
            return ev
        ev = self.mem.update(nbytes, "gemm")  # dma_map: tracked local update
        ev.callbacks.append(lambda _e, k=tile.index: self.tracker.update(k))
        return ev

    def _stage1_computed(self) -> None:
        if self.mca is None:
            return
        dt = self.env.now - self._t0
        st = self.mem.channel.stats.get("gemm")
        served = st.bytes if st is not None else 0.0
        bw = self.mem.channel.bandwidth_Bps
        self.intensity = min(1.0, served / (bw * dt)) if dt > 0 else 0.0
        self.threshold = max(1, round(self.mca_max * (1.0 - self.intensity)))
        self.mca.threshold_bursts = self.threshold

    # -- arrivals from upstream (by symmetry) -----------------------------------------------
    def _arrive(self, stage: int, pos: int) -> None:
        origin = "gemm.remote" if stage == 1 else "rs"
        for t in self.upstream[stage][pos]:
            if self.comm_scale == 0:  # free communication: lands at once, touches no memory
                call_later(self.env, 0.0, lambda _e, k=t.index: self.tracker.update(k))
                continue
            self.mem.update_then(t.nbytes(self.b), origin, lambda k=t.index: self.tracker.update(k),
                                 cost_scale=self.comm_scale)  # fmt: skip

    # -- trigger -> DMA ---------------------------------------------------------------------
    def _fire(self, key: int) -> None:
        stage, _pos = self.where[key]
        if stage < self.p:
            self._dma_q.append(key)
            self._pump()
            return
        self._final_left -= 1
        if self._final_left == 0:
            self.rs_done.succeed(self.env.now)

    def _pump(self) -> None:
        while self._dma_q and self._dma_busy < self.dma_limit:
            key = self._dma_q.popleft()
            self._dma_busy += 1
            nbytes = self._tile[key].nbytes(self.b)
            if self.comm_scale == 0:
                call_later(self.env, 0.0, lambda _e, k=key, n=nbytes: self._dma_send(k, n))
                continue
            self.mem.channel.transfer_then(nbytes, "rs", lambda k=key, n=nbytes: self._dma_send(k, n),
                                           cost=self.comm_scale)  # fmt: skip

    def _dma_send(self, key: int, nbytes: int) -> None:
        self.link.send_then(nbytes, lambda k=key: self._dma_delivered(k), "dma")

    def _dma_delivered(self, key: int) -> None:
        self._dma_busy -= 1
        self.dma_transfers += 1
        stage, pos = self.where[key]
        self._arrive(stage, pos)
        self._pump()
