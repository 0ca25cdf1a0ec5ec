"""A GPU: its spec sheet and a SimPy component that runs kernels on a pool of CUs.

What it models
    * :class:`GPUSpec`: compute units (CUs on AMD, SMs on NVIDIA), clock, dense peak FLOP/s
      per dtype, device-memory capacity and bandwidth, L2 size. Catalog entries with sources
      live in :mod:`sim_models.hw.catalog.gpus`.
    * :class:`GPU`: the CUs form a ``simpy.Container``. A kernel takes some CUs for its
      duration. CU partitioning (a share of CUs reserved for a communication kernel, as in
      T3's CU-contention study, Pati et al., ASPLOS'24, Sec. 3.2) is :meth:`GPU.reserve_cus`
      before the GEMM starts; the GEMM then
      runs on the CUs left. :meth:`GPU.gemm` runs a GEMM wave by wave (:mod:`sim_models.hw.gemm`)
      and calls ``on_wave`` / ``on_tile`` when a wave's output tiles are written, which is
      what T3's tracker needs.
    * DRAM traffic, wave mode (the default): without an ``hbm`` server, a wave takes
      ``max(compute, bytes / bw)`` (the roofline). With one
      (:class:`sim_models.hw.arbiter.HBMArbiter` or a :class:`sim_models.hw.memory.MemoryDevice`),
      a wave issues its reads and writes to it as origin ``"gemm"`` when it starts and ends
      when both the compute and the traffic are done, so other traffic (communication, NMC
      updates) slows memory-bound waves. ``on_tile`` fires for every tile at the wave's end.
    * Tile mode (``k_steps > 1`` or a ``store`` function): a wave's K loop runs in
      ``k_steps`` steps; step ``j`` computes on data loaded by step ``j``'s read while the
      reads of the next ``prefetch`` steps are in flight (``prefetch = 1``: double
      buffering, one read ahead; a kernel with ``s`` pipeline stages has ``s - 1``). A step
      cannot start before its read is done, so a wave starts with a read phase that no
      compute hides, and a read slowed by other traffic (queueing behind it, row conflicts)
      stalls the compute once it outlasts the ``prefetch`` steps of compute that cover it:
      the way communication bursts hurt a GEMM's read phases. With a memory that takes
      addresses (``supports_ranges``, a banked DRAM) each step reads the K block of every
      panel the wave fetches (``Wave.panel_reads``) at its place in A or B, both stored
      packed in K blocks of one step (as GEMM libraries pack operands) [A]. When the compute
      ends, every tile stores its own output through ``store(tile, nbytes)`` (default: a
      plain write of origin ``origin``), and ``on_tile(tile, t)`` fires when *that* tile's
      store completes, so tiles of one wave complete one by one as memory (or a link) takes
      their stores. One wave of stores may be in flight: a wave issues its stores only after
      the previous wave's have completed (a store buffer one wave deep, which is what
      back-pressures a GEMM whose stores go to a slower link).

Why compute is simulated per wave, not per tile
    All tiles of a wave start together on their own CUs and have the same work (edge tiles
    are padded as MFMA/tensor-core tiles are), so their compute ends at the same instant;
    what differs between them is when their stores land, and tile mode tracks that per tile.

What it leaves out
    Warp scheduling, occupancy beyond one workgroup per CU, kernel launch latency, power
    and clock throttling, and (in wave mode) the timing of writes inside a wave (a wave's
    writes are issued with its reads; in a pipelined kernel they stand for the previous
    wave's stores).

Units: Hz, FLOP/s, bytes, bytes/s, seconds.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import simpy
from sim_models.hw.gemm import GemmPlan, GemmShape, Tile, Wave, plan_gemm
from sim_models.hw.specs import GPUSpec, spec_from_cus

from sim.scope import Scope, scope_of

__all__ = ["GPU", "GPUSpec", "GemmResult", "MemoryServer", "spec_from_cus"]


#: How a tile's output is stored in tile mode: ``store(tile, nbytes)`` -> event of the
#: store landing (a local write, a near-memory update, a remote write over a link, ...).
StoreFn = Callable[[Tile, int], simpy.Event]


class MemoryServer(Protocol):
    """What :class:`GPU` needs from an HBM model."""

    def read(self, nbytes: float, origin: str) -> simpy.Event: ...

    def write(self, nbytes: float, origin: str) -> simpy.Event: ...


@dataclass
class GemmResult:
    plan: GemmPlan
    start_s: float
    end_s: float = 0.0
    wave_end_s: list[float] = field(default_factory=list)

    @property
    def time_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def n_waves(self) -> int:
        return self.plan.n_waves

    @property
    def read_bytes(self) -> float:
        return self.plan.read_bytes

    @property
    def write_bytes(self) -> float:
        return self.plan.write_bytes


class GPU:
    """A GPU in a SimPy environment: a pool of CUs and an optional HBM server.

    With a traced ``scope``, every GEMM wave is a span on the track ``<scope>/<origin>``.
    """

    def __init__(
        self,
        env: simpy.Environment,
        spec: GPUSpec,
        *,
        hbm: MemoryServer | None = None,
        name: str = "gpu",
        scope: Scope | None = None,
    ):
        self.env, self.spec, self.hbm, self.name = env, spec, hbm, name
        self.scope = scope_of(scope)
        self.cus = simpy.Container(env, capacity=spec.compute_units, init=spec.compute_units)

    @property
    def free_cus(self) -> int:
        return int(self.cus.level)

    def reserve_cus(self, n: int) -> simpy.Event:
        """Take ``n`` CUs (e.g. for a communication kernel); fires when they are free."""
        if not 1 <= n <= self.spec.compute_units:
            raise ValueError(f"n must be in 1..{self.spec.compute_units}")
        return self.cus.get(n)

    def release_cus(self, n: int) -> simpy.Event:
        return self.cus.put(n)

    def kernel(self, duration_s: float, cus: int) -> simpy.Process:
        """A kernel holding ``cus`` CUs for ``duration_s`` once they are free."""

        def run():
            yield self.reserve_cus(cus)
            yield self.env.timeout(duration_s)
            yield self.release_cus(cus)
            return self.env.now

        return self.env.process(run())

    def gemm(
        self,
        shape: GemmShape,
        *,
        cus: int | None = None,
        tile_m: int = 128,
        tile_n: int = 128,
        order: Sequence[int] | None = None,
        l2_bytes: float | None = None,
        on_wave: Callable[[Wave, float], Any] | None = None,
        on_tile: Callable[[Tile, float], Any] | None = None,
        origin: str = "gemm",
        cache_outputs: bool = False,
        k_steps: int = 1,
        store: StoreFn | None = None,
        tile_stores: bool = True,
        prefetch: int = 1,
    ) -> simpy.Process:
        """Run a GEMM on ``cus`` CUs (default: all CUs free now); value: :class:`GemmResult`.

        ``on_wave(wave, now)`` and ``on_tile(tile, now)`` are called when a wave ends, i.e.
        when its output tiles are in memory (in tile mode: when each tile's store, and then
        the whole wave's, has completed). ``k_steps > 1`` or ``store`` selects tile mode
        (see the module docstring); ``store(tile, nbytes)`` returns the event of that
        tile's store landing.
        """
        n = self.free_cus if cus is None else cus
        if n < 1:
            raise ValueError(f"{self.name}: no free CUs for the GEMM")
        plan = plan_gemm(
            shape, self.spec, cus=n, tile_m=tile_m, tile_n=tile_n, order=order,
            l2_bytes=l2_bytes, cache_outputs=cache_outputs,
        )  # fmt: skip
        return self.run_plan(plan, on_wave=on_wave, on_tile=on_tile, origin=origin,
                             k_steps=k_steps, store=store, tile_stores=tile_stores,
                             prefetch=prefetch)  # fmt: skip

    def run_plan(
        self,
        plan: GemmPlan,
        *,
        on_wave: Callable[[Wave, float], Any] | None = None,
        on_tile: Callable[[Tile, float], Any] | None = None,
        origin: str = "gemm",
        k_steps: int = 1,
        store: StoreFn | None = None,
        tile_stores: bool = True,
        prefetch: int = 1,
    ) -> simpy.Process:
        """Run a GEMM planned with :func:`sim_models.hw.gemm.plan_gemm` (its ``cus`` CUs).

        ``tile_stores=False`` (tile mode without a ``store`` function): a wave's stores are
        one write of its output with one burst per tile queued at once (as all its
        workgroups store together), and its tiles complete together when it lands (fewer
        events, for runs that do not need per-tile completion; needs an ``hbm`` whose
        ``write`` takes ``window``)."""
        if not 1 <= plan.cus <= self.spec.compute_units:
            raise ValueError(f"{self.name}: plan needs {plan.cus} CUs of {self.spec.compute_units}")
        if k_steps < 1:
            raise ValueError(f"k_steps must be >= 1, got {k_steps}")
        if prefetch < 1:
            raise ValueError(f"prefetch must be >= 1, got {prefetch}")
        if k_steps == 1 and store is None:
            return self.env.process(self._run_gemm(plan, on_wave, on_tile, origin))
        return self.env.process(
            self._run_tiles(plan, on_wave, on_tile, origin, k_steps, store, tile_stores, prefetch)
        )

    def _run_gemm(self, plan: GemmPlan, on_wave, on_tile, origin: str):
        env = self.env
        yield self.cus.get(plan.cus)
        result = GemmResult(plan, start_s=env.now)
        scope = self.scope
        for w_index, wave in enumerate(plan.waves):
            t0 = env.now
            if self.hbm is None:
                yield env.timeout(wave.time_s(plan.bandwidth_Bps))
            else:
                yield env.all_of(
                    [
                        env.timeout(wave.compute_s),
                        self.hbm.read(wave.read_bytes, origin),
                        self.hbm.write(wave.write_bytes, origin),
                    ]
                )
            result.wave_end_s.append(env.now)
            if scope.tracing:
                scope.span(f"{origin} wave {w_index}", t0, env.now, track=origin,
                           args={"tiles": len(wave.tiles), "read_bytes": wave.read_bytes,
                                 "write_bytes": wave.write_bytes})  # fmt: skip
            if on_wave is not None:
                on_wave(wave, env.now)
            if on_tile is not None:
                for tile in wave.tiles:
                    on_tile(tile, env.now)
        result.end_s = env.now
        yield self.cus.put(plan.cus)
        return result

    def _load(self, nbytes: float, origin: str) -> simpy.Event:
        if self.hbm is None or nbytes <= 0:
            return self.env.event().succeed()
        return self.hbm.read(nbytes, origin)

    def _load_step(self, wave: Wave, j: int, k_steps: int, origin: str, runs) -> simpy.Event:
        """Step ``j``'s read: ``1 / k_steps`` of the wave's reads; with ``runs`` (a memory
        that takes addresses, see :meth:`_step_runs`), at the addresses of the step's K
        block."""
        nbytes = wave.read_bytes / k_steps
        if not runs or nbytes <= 0:
            return self._load(nbytes, origin)
        return self.hbm.read(nbytes, origin,
                             ranges=[(reg, j * blk + lo, n) for reg, blk, lo, n in runs])  # fmt: skip

    @staticmethod
    def _step_runs(wave: Wave, k_steps: int, origin: str, shape) -> list:
        """The contiguous runs one K step of ``wave`` reads, as ``(region, block bytes,
        offset in the block, bytes)``: A and B stored packed in K blocks of one step (block
        ``j`` holds the step's K slice of all rows, rows in order), so the step's slices of
        adjacent panels form one run."""
        runs: list = []
        for m, off, sz in sorted(wave.panel_reads):
            rows = shape.m if m == "A" else shape.n
            blk = rows * shape.k * shape.dtype_bytes / k_steps
            lo, n = off / k_steps, sz / k_steps
            if runs and runs[-1][0] == f"{origin}.{m}" and abs(runs[-1][2] + runs[-1][3] - lo) < 1e-6:
                runs[-1][3] += n
            else:
                runs.append([f"{origin}.{m}", blk, lo, n])
        return [tuple(r) for r in runs]

    def _run_tiles(self, plan: GemmPlan, on_wave, on_tile, origin: str, k_steps: int, store,
                   tile_stores: bool = True, prefetch: int = 1):  # fmt: skip
        env = self.env
        yield self.cus.get(plan.cus)
        result = GemmResult(plan, start_s=env.now)
        scope = self.scope
        b = plan.shape.dtype_bytes
        stores_done: simpy.Event | None = None  # the previous wave's stores
        for w_index, wave in enumerate(plan.waves):
            t0 = env.now
            if self.hbm is None:  # roofline wave, then its stores
                yield env.timeout(wave.time_s(plan.bandwidth_Bps))
            else:
                step_s = wave.compute_s / k_steps
                runs = None
                if getattr(self.hbm, "supports_ranges", False) and wave.panel_reads:
                    runs = self._step_runs(wave, k_steps, origin, plan.shape)
                loads = deque(self._load_step(wave, j, k_steps, origin, runs)
                              for j in range(min(prefetch, k_steps)))  # fmt: skip
                for j in range(k_steps):
                    yield loads.popleft()  # step j's operands are in
                    if j + prefetch < k_steps:
                        loads.append(self._load_step(wave, j + prefetch, k_steps, origin, runs))
                    yield env.timeout(step_s)
            t_compute = env.now
            if stores_done is not None and not stores_done.processed:
                yield stores_done  # store buffer: one wave of stores in flight
            stores = []
            if store is None and not tile_stores and self.hbm is not None:
                # every workgroup stores at once: one burst in flight per tile
                ev = self.hbm.write(wave.write_bytes, origin, window=len(wave.tiles))
                if on_tile is not None:
                    ev.callbacks.append(
                        lambda _e, ts=wave.tiles: [on_tile(t, env.now) for t in ts]
                    )
                stores.append(ev)
            for tile in wave.tiles if not stores else ():
                nbytes = tile.nbytes(b)
                if store is not None:
                    ev = store(tile, nbytes)
                elif self.hbm is not None:
                    ev = self.hbm.write(nbytes, origin)
                else:
                    ev = env.event().succeed()
                if on_tile is not None:
                    ev.callbacks.append(lambda _e, t=tile: on_tile(t, env.now))
                stores.append(ev)
            stores_done = env.all_of(stores)
            stores_done.callbacks.append(
                lambda _e, w=wave, i=w_index, t0=t0, tc=t_compute: self._wave_stored(
                    result, w, i, t0, tc, on_wave, origin
                )
            )
            if scope.tracing:
                scope.span(f"{origin} wave {w_index} compute", t0, t_compute, track=origin,
                           args={"tiles": len(wave.tiles), "read_bytes": wave.read_bytes})  # fmt: skip
        if stores_done is not None and not stores_done.processed:
            yield stores_done
        result.end_s = env.now
        yield self.cus.put(plan.cus)
        return result

    def _wave_stored(self, result, wave, index, t0, t_compute, on_wave, origin) -> None:
        now = self.env.now
        result.wave_end_s.append(now)
        if self.scope.tracing:
            self.scope.span(f"{origin} wave {index} stores", t_compute, now, track=f"{origin}.stores")
        if on_wave is not None:
            on_wave(wave, now)
