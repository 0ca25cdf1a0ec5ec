"""A GPU: its spec sheet and a SimPy component that runs kernels on a pool of CUs.

What it models
    * :class:`GPUSpec`: compute units (CUs on AMD, SMs on NVIDIA), clock, dense peak FLOP/s
      per dtype, device-memory capacity and bandwidth, L2 size. Catalog entries with sources
      live in :mod:`sim_models.hw.catalog.gpus`.
    * :class:`GPU`: the CUs form a ``simpy.Container``. A kernel takes some CUs for its
      duration. CU partitioning (T3 (Pati et al., ASPLOS'24) §2.5: a share of CUs reserved for a
      communication kernel) is :meth:`GPU.reserve_cus` before the GEMM starts; the GEMM then
      runs on the CUs left. :meth:`GPU.gemm` runs a GEMM wave by wave (:mod:`sim_models.hw.gemm`)
      and calls ``on_wave`` / ``on_tile`` when a wave's output tiles are written, which is
      what T3's tracker needs.
    * DRAM traffic: without an ``hbm`` server, a wave takes ``max(compute, bytes / bw)``
      (the roofline). With one (:class:`sim_models.hw.arbiter.HBMArbiter` or a
      :class:`sim_models.hw.memory.MemoryDevice`), a wave issues its reads and writes to it as
      origin ``"gemm"`` when it starts and ends when both the compute and the traffic are
      done, so other traffic (communication, NMC updates) slows memory-bound waves.

What it leaves out
    Warp scheduling, occupancy beyond one workgroup per CU, kernel launch latency, power
    and clock throttling, and the timing of writes inside a wave (a wave's writes are issued
    with its reads; in a pipelined kernel they stand for the previous wave's stores).

Units: Hz, FLOP/s, bytes, bytes/s, seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import simpy
from sim_models.hw.gemm import GemmPlan, GemmShape, Tile, Wave, plan_gemm
from sim_models.hw.specs import GPUSpec, spec_from_cus

from sim.scope import Scope, scope_of

__all__ = ["GPU", "GPUSpec", "GemmResult", "MemoryServer", "spec_from_cus"]


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
    ) -> simpy.Process:
        """Run a GEMM on ``cus`` CUs (default: all CUs free now); value: :class:`GemmResult`.

        ``on_wave(wave, now)`` and ``on_tile(tile, now)`` are called when a wave ends, i.e.
        when its output tiles are in memory.
        """
        n = self.free_cus if cus is None else cus
        if n < 1:
            raise ValueError(f"{self.name}: no free CUs for the GEMM")
        plan = plan_gemm(
            shape, self.spec, cus=n, tile_m=tile_m, tile_n=tile_n, order=order, l2_bytes=l2_bytes
        )
        return self.env.process(self._run_gemm(plan, on_wave, on_tile, origin))

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
