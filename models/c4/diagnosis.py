"""A diagnosis probe: one job on the flow network, one injected fault, C4D watching.

What it models
    A short flow-level run of a job (:mod:`sim_models.c4.job`) with telemetry and the C4D
    detector (:mod:`sim_models.c4.detector`): the job runs ``warmup + 1`` healthy
    iterations (the detector's reference), a fault (:mod:`sim_models.c4.faults`) is
    injected at a uniformly random moment of the next iteration, and the run goes on until
    the detector reports and at least ``measure`` iterations after the fault have
    finished, or until ``max_after`` healthy-iteration times (plus the hang threshold)
    have passed since the fault. It returns
    what the detector said (class, unit, time), whether that was right, and how the fault
    changed the job's iteration time (slow faults) or whether it stopped it (hangs).

    ``kind=None`` runs the same without a fault: any detection is a false alarm.

    Each probe gets a fresh flow network on the same fabric graph (routes stay planned and
    cached), and the fabric is restored afterwards.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import simpy
from sim_models.c4.comm import Routes
from sim_models.c4.detector import Detection, Detector, DetectorParams
from sim_models.c4.fabric import Fabric
from sim_models.c4.faults import Fault, inject, sample_fault, used_uplinks
from sim_models.c4.job import JobSpec, TrainingJob
from sim_models.c4.telemetry import Telemetry


@dataclass
class ProbeResult:
    fault: Fault | None
    inject_s: float
    detection: Detection | None
    healthy_iter_s: float
    faulty_iter_s: float  # NaN when the job hung (or no iteration finished after the fault)
    hung: bool

    @property
    def detected(self) -> bool:
        return self.detection is not None

    @property
    def delay_s(self) -> float:
        """Detection time after injection (NaN if not detected)."""
        if self.detection is None:
            return math.nan
        return self.detection.time_s - self.inject_s

    @property
    def class_ok(self) -> bool:
        return bool(self.fault and self.detection and self.detection.cls == self.fault.cls)

    @property
    def unit_ok(self) -> bool:
        return bool(self.fault and self.detection and self.detection.unit == self.fault.unit)

    @property
    def slowdown(self) -> float:
        """Faulty over healthy iteration time (1 without effect; inf for a hang)."""
        if self.hung:
            return math.inf
        if math.isnan(self.faulty_iter_s) or self.healthy_iter_s <= 0:
            return math.nan
        return self.faulty_iter_s / self.healthy_iter_s


def run_probe(
    fabric: Fabric,
    routes: Routes,
    nodes: Sequence[int],
    spec: JobSpec,
    kind: str | None,
    rng: np.random.Generator,
    *,
    noise_s: float = 0.0,
    noise_rel: float = 0.0,
    detector: DetectorParams | None = None,
    measure: int = 3,
    max_after: int = 15,
    name: str = "probe",
    fault_factors: dict[str, float] | None = None,
) -> ProbeResult:
    """Run one probe (see the module docstring)."""
    dp = detector or DetectorParams()
    env = simpy.Environment()
    fabric.attach(env)
    tel = Telemetry(rng, noise_s=noise_s, noise_rel=noise_rel)
    stop = env.event()
    state = {"fault": None, "inject_s": math.nan, "after": []}

    def finish(_e=None) -> None:
        if not stop.triggered:
            stop.succeed()

    def on_iteration(job: TrainingJob, t0: float, t1: float) -> None:
        if job.iteration == dp.warmup + 1:
            it = t1 - t0
            hang_thr = max(dp.hang_min_s, dp.hang_factor * it)
            limit = it * (1 + max_after) + hang_thr + dp.probe_s + 3 * dp.poll_s
            env.timeout(limit).callbacks.append(finish)
        if job.iteration == dp.warmup + 1 and kind is not None:
            at = float(rng.uniform(0.0, it))

            def fire(_e) -> None:
                f = sample_fault(kind, job, rng, used_uplinks=used_uplinks(job),
                                 **(fault_factors or {}))  # fmt: skip
                state["fault"] = f
                state["inject_s"] = env.now
                inject(f, job)

            env.timeout(at).callbacks.append(fire)
        if not math.isnan(state["inject_s"]) and t0 >= state["inject_s"]:
            state["after"].append(t1 - t0)
        check_stop()

    job = TrainingJob(fabric, routes, name, nodes, spec, telemetry=tel, on_iteration=on_iteration)
    det = Detector(job, dp, on_detect=lambda _d: check_stop())

    def check_stop() -> None:
        enough = len(state["after"]) >= measure or job.stalled
        if det.detection is not None and (enough or det.detection.cls.endswith("hang")):
            finish()

    job.start()
    det.start()
    env.run(until=stop | env.timeout(_horizon(spec, dp.warmup + 2 + max_after)))
    job.stop()
    det.stop()
    times = job.iteration_times()
    healthy = float(np.median(times[1 : dp.warmup + 1])) if len(times) > 1 else math.nan
    after = state["after"]
    fabric.restore_all()
    return ProbeResult(
        fault=state["fault"],
        inject_s=state["inject_s"] if kind is not None else (times and sum(times[:2]) or 0.0),
        detection=det.detection,
        healthy_iter_s=healthy,
        faulty_iter_s=float(np.median(after)) if after else math.nan,
        hung=job.stalled
        or (
            kind is not None and not after and state["fault"] is not None and state["fault"].is_hang
        ),  # fmt: skip
    )


def _horizon(spec: JobSpec, iterations: int) -> float:
    """A safety limit: ``iterations`` iterations at the compute time plus the all-reduce
    at a tenth of a 200 Gb/s port, plus time for hang detection (normally the probe stops
    long before, ``max_after`` iterations after the warm-up)."""
    comm = 2.0 * spec.grad_bytes / 2.5e9
    return iterations * (spec.compute_s + comm) + 600.0
