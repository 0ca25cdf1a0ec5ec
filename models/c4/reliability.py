"""A training job's lifetime under faults: running, checkpoints, fault handling, downtime.

What it models
    One job over ``horizon_s`` of wall-clock time. While it runs, it makes *progress*
    (seconds of healthy training) and every ``ckpt_interval_s`` of progress it writes a
    checkpoint, which blocks it for ``ckpt_cost_s``. Faults arrive as a Poisson process
    of rate ``rate_per_s`` over the time the job is up (running or writing), each of a
    kind drawn from ``weights`` (:mod:`sim_models.c4.faults`). A detection policy
    (:mod:`sim_models.c4.recovery`) says how long detection, diagnosis and isolation take;
    a restart (``restart_s``, once more per C4D round that isolated a healthy node) then
    resumes the job from its last completed checkpoint, so the progress made since that
    checkpoint is *lost work*.

    A hang stops the job at once. A slow fault lets it run at ``1 / slowdown`` of its
    speed during detection and diagnosis (the time lost to the slowdown is booked to those
    phases); the job is then stopped, the part isolated and the job restarted. A fault
    that does not slow the job costs nothing.

    Healthy running is fast-forwarded: progress accrues at one second per second between
    events, which equals simulating every iteration on the flow network when the network
    is static (the tests check it); each fault's effect comes from a flow-level diagnosis
    probe (:mod:`sim_models.c4.diagnosis`).

Accounting
    Every wall-clock second is exactly one of: retained progress, lost work, time lost to
    a slowdown (detection or diagnosis), downtime in detection, diagnosis, isolation or
    restart, or checkpoint writing. The error-induced downtime fraction is the sum of
    detection, diagnosis, isolation, restart and lost work over the horizon; goodput is
    retained progress over the horizon.

What it leaves out
    Faults during fault handling (the fault clock stops while the job is down or degraded),
    shortage of spare nodes, repairs of the isolated parts, planned maintenance.

Checkpoint interval
    By default Young's optimum ``sqrt(2 x ckpt_cost_s x MTBF)`` (Young, CACM 1974; Daly,
    FGCS 2006, to first order), with MTBF ``1 / rate_per_s``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

CATEGORIES = ("detection", "diagnosis", "isolation", "restart", "lost_work")


def young_daly_interval(ckpt_cost_s: float, mtbf_s: float) -> float:
    """Young's checkpoint interval ``sqrt(2 C M)``."""
    return math.sqrt(2.0 * ckpt_cost_s * mtbf_s)


@dataclass
class LifetimeConfig:
    horizon_s: float
    rate_per_s: float
    kinds: Sequence[str]
    weights: Sequence[float]
    ckpt_interval_s: float
    ckpt_cost_s: float
    restart_s: float
    #: one fault at this time (of the only kind with weight) instead of a Poisson stream
    fault_at_s: float | None = None

    def check(self) -> LifetimeConfig:
        if self.horizon_s <= 0 or self.rate_per_s < 0:
            raise ValueError("horizon_s must be positive and rate_per_s non-negative")
        if self.ckpt_interval_s <= 0 or self.ckpt_cost_s < 0 or self.restart_s < 0:
            raise ValueError("ckpt_interval_s must be positive, costs non-negative")
        if len(self.kinds) != len(self.weights) or (self.kinds and sum(self.weights) <= 0):
            raise ValueError("kinds and positive weights must match")
        return self


@dataclass
class Lifetime:
    """The state and books of one lifetime; :meth:`run` is a SimPy process body."""

    cfg: LifetimeConfig
    policy: object  # a sim_models.c4.recovery.DetectionPolicy
    probe: Callable[[str], object]  # kind -> ProbeResult
    rng: np.random.Generator
    books: dict[str, float] = field(default_factory=dict)
    faults: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.cfg.check()
        for k in (*CATEGORIES, "retained", "checkpoint", "degraded_detection",
                  "degraded_diagnosis", "down_detection", "down_diagnosis"):  # fmt: skip
            self.books[k] = 0.0
        self._since_ckpt = 0.0  # progress since the last completed checkpoint
        self._write_left = 0.0  # of the checkpoint being written
        self._progress = 0.0
        self.checkpoints = 0

    # -- running ------------------------------------------------------------------------
    def _advance(self, dt: float, speed: float = 1.0, degraded: str | None = None) -> None:
        """Run for ``dt`` wall seconds at ``speed`` (progress per second)."""
        c = self.cfg
        left = dt
        while left > 1e-12:
            if self._write_left > 0:
                d = min(self._write_left, left)
                self._write_left -= d
                left -= d
                self.books["checkpoint"] += d
                if self._write_left <= 1e-12:
                    self._write_left = 0.0
                    self._since_ckpt = 0.0
                    self.checkpoints += 1
                continue
            need = (c.ckpt_interval_s - self._since_ckpt) / speed
            d = min(need, left)
            self._since_ckpt += d * speed
            self._progress += d * speed
            if degraded is not None:
                self.books[f"degraded_{degraded}"] += d * (1.0 - speed)
            left -= d
            if self._since_ckpt >= c.ckpt_interval_s - 1e-9:
                self._since_ckpt = c.ckpt_interval_s
                self._write_left = c.ckpt_cost_s
                if c.ckpt_cost_s == 0:
                    self._write_left = 0.0
                    self._since_ckpt = 0.0
                    self.checkpoints += 1

    def _stop(self) -> float:
        """The job stops: the progress since the last checkpoint is lost."""
        lost = self._since_ckpt
        self.books["lost_work"] += lost
        self._progress -= lost
        self._since_ckpt = 0.0
        self._write_left = 0.0
        return lost

    # -- the process --------------------------------------------------------------------
    def run(self, env):
        c = self.cfg
        H = c.horizon_s
        weights = np.asarray(c.weights, dtype=float)
        weights = weights / weights.sum() if weights.size else weights

        def left() -> float:
            return max(H - env.now, 0.0)

        single = c.fault_at_s
        while env.now < H:
            if single is not None:
                ttf, single = max(single - env.now, 0.0), math.inf
            else:
                ttf = self.rng.exponential(1.0 / c.rate_per_s) if c.rate_per_s > 0 else math.inf
            dt = min(ttf, left())
            self._advance(dt)
            yield env.timeout(dt)
            if env.now >= H:
                break
            kind = str(c.kinds[int(self.rng.choice(len(weights), p=weights))])
            probes: list = []

            def get_probe(kind=kind, probes=probes):
                probes.append(self.probe(kind))
                return probes[-1]

            t_fault = env.now
            resp = self.policy.respond(get_probe, self.rng)
            first = probes[0]
            rec = {"fault": len(self.faults), "kind": kind, "time_s": t_fault,
                   "hung": bool(first.hung), "slowdown": float(first.slowdown),
                   "harmful": resp is not None, "probes": len(probes)}  # fmt: skip
            if first.fault is not None:
                rec["class"] = first.fault.cls
            if resp is None:
                self.faults.append(rec)
                continue
            rec.update(detected_by=resp.detected_by, automatic=resp.automatic,
                       correct=resp.correct, rounds=resp.rounds, wrong_rounds=resp.wrong_rounds)  # fmt: skip
            phases = {"detection": resp.detect_s, "diagnosis": resp.diagnose_s}
            if first.hung:
                rec["lost_work_s"] = self._stop()
                for name, d in phases.items():
                    d = min(d, left())
                    self.books[name] += d
                    self.books[f"down_{name}"] += d
                    rec[f"{name}_s"] = d
                    yield env.timeout(d)
            else:
                speed = 1.0 / first.slowdown
                for name, d in phases.items():
                    d = min(d, left())
                    before = self.books[f"degraded_{name}"]
                    self._advance(d, speed, degraded=name)
                    self.books[name] += self.books[f"degraded_{name}"] - before
                    rec[f"{name}_s"] = d
                    yield env.timeout(d)
                rec["lost_work_s"] = self._stop() if env.now < H else 0.0
            for name, d in (("isolation", resp.isolate_s),
                            ("restart", c.restart_s * (1 + resp.wrong_rounds))):  # fmt: skip
                d = min(d, left())
                self.books[name] += d
                rec[f"{name}_s"] = d
                yield env.timeout(d)
            rec["resumed_s"] = env.now
            self.faults.append(rec)
        self.books["retained"] = self._progress

    # -- results ------------------------------------------------------------------------
    def summary(self) -> dict[str, float]:
        H = self.cfg.horizon_s
        b = self.books
        out = {f"downtime.{k}_fraction": b[k] / H for k in CATEGORIES}
        out["downtime_fraction"] = sum(b[k] for k in CATEGORIES) / H
        out["goodput"] = b["retained"] / H
        out["checkpoint_overhead_fraction"] = b["checkpoint"] / H
        out["accounted_fraction"] = (
            b["retained"] + b["lost_work"] + b["checkpoint"]
            + b["degraded_detection"] + b["degraded_diagnosis"]
            + b["down_detection"] + b["down_diagnosis"] + b["isolation"] + b["restart"]
        ) / H  # fmt: skip
        out["checkpoints"] = float(self.checkpoints)
        return out
