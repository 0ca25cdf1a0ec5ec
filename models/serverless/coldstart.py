"""The four parts of a cold start, drawn per pod from a function's own random stream.

What it models
    A cold start is pod allocation + code deployment + dependency deployment + scheduling
    (§2.2, Fig 2 of the Huawei paper; the release's ``totalCost_cold_start`` is their sum).
    Pod allocation depends on where the pod came from (``stage``: the local pool, the
    wider search, or built from scratch), which the platform's pools decide. Code and
    dependency deployment depend on the function: each function has its own code-size
    factor and either has dependencies (layers) or not, drawn once, so its cold starts are
    alike. Scheduling here is the service part; waiting at a busy cluster scheduler is
    added by the platform. Large pods and some runtimes scale the parts
    (:mod:`.calibration`).

Randomness
    Everything is drawn from the generator passed in (a per-function stream), so a
    function's cold starts do not depend on which other functions run in the same process.
    The parts' standard normals are taken from a :class:`NormalBlock` over that stream
    (blocks of 32 drawn at once): the same numbers in the same order as one draw per
    part, at a fraction of the cost per cold start.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .calibration import COLD_START, RUNTIME_FACTORS, ColdStartParams
from .functions import FunctionInfo

#: Where a pod came from: the local pool, the wider search, or built from scratch.
POOL, SEARCH, SCRATCH = 1, 2, 3
STAGE_NAMES = {POOL: "pool", SEARCH: "search", SCRATCH: "scratch"}


@dataclass
class FunctionTraits:
    """What is fixed per function: code and dependency factors, runtime multipliers."""

    code_factor: float
    deps_factor: float  # 0 when the function has no dependencies
    sched_factor: float


class NormalBlock:
    """Standard normals of one generator, drawn ``size`` at a time and handed out in
    order. Numpy's generators give the same sequence whether drawn one by one or as an
    array, so a block changes no value, only the cost (one call per ``size`` normals).
    Nothing else may draw from the generator once the block is in use."""

    __slots__ = ("rng", "buf", "i", "size")

    def __init__(self, rng: np.random.Generator, size: int = 32):
        self.rng = rng
        self.size = size
        self.buf: list[float] = []
        self.i = 0

    def take(self, n: int) -> list[float]:
        i = self.i
        buf = self.buf
        if i + n > len(buf):
            buf = self.buf = buf[i:] + self.rng.standard_normal(self.size).tolist()
            i = 0
        self.i = i + n
        return buf[i : i + n]


class ColdStartModel:
    """Draws cold-start components for one region's functions."""

    def __init__(self, region: str, params: ColdStartParams | None = None, scale: float = 1.0,
                 sigma_scale: float = 1.0):  # fmt: skip
        if params is None:
            if region not in COLD_START:
                raise ValueError(f"no cold-start calibration for region {region!r}")
            params = COLD_START[region]
        self.region = region
        self.p = params
        self.scale = scale  # multiplies every part (sensitivity studies)
        self.k = sigma_scale  # multiplies every part's log-sigma: the tails (sensitivity)

    def traits(self, rng: np.random.Generator, info: FunctionInfo) -> FunctionTraits:
        p = self.p
        code = math.exp(p.code_function_sigma * rng.standard_normal())
        has_deps = rng.random() < p.deps_share
        deps = math.exp(0.5 * rng.standard_normal()) if has_deps else 0.0
        rc, rd, rs = RUNTIME_FACTORS.get(info.runtime, (1.0, 1.0, 1.0))
        if not info.small:
            code *= p.large_code_factor
            deps *= p.large_deps_factor
            rs *= p.large_sched_factor
        return FunctionTraits(code * rc, deps * rd, rs)

    def draw(
        self, normals: NormalBlock, traits: FunctionTraits, stage: int
    ) -> tuple[float, float, float, float]:
        """``(pod allocation, code, dependencies, scheduling service)`` in seconds, from
        the function's normals (allocation, code, dependencies if any, scheduling)."""
        p = self.p
        a = p.alloc_pool if stage == POOL else p.alloc_search if stage == SEARCH else p.alloc_scratch
        exp = math.exp
        s = self.scale
        k = self.k
        if traits.deps_factor > 0:
            za, zc, zd, zs = normals.take(4)
            deps = p.deps.median * exp(p.deps.sigma * k * zd) * traits.deps_factor * s
        else:
            za, zc, zs = normals.take(3)
            deps = 0.0
        return (
            a.median * exp(a.sigma * k * za) * s,
            p.code.median * exp(p.code.sigma * k * zc) * traits.code_factor * s,
            deps,
            p.sched.median * exp(p.sched.sigma * k * zs) * traits.sched_factor * s,
        )
