"""Detection-and-recovery policies (domain ``c4.detection``): how long each phase of a
fault takes, with C4D and with the baseline.

What it models
    After a fault, a job loses time in phases: **detection** (until someone knows
    something is wrong), **diagnosis** (until the faulty part is known), **isolation**
    (taking it out and bringing in a spare) and **restart** (re-initialising the job from
    its last checkpoint; :mod:`sim_models.c4.reliability` adds it, and the work lost since
    that checkpoint). A hang stops the job for all of it; a slow fault lets it run
    degraded until isolation.

    ``timeout_manual`` (the baseline)
        a hang is detected when the collective library's watchdog fires, ``timeout_s``
        after the last progress; a slowdown is noticed by people after a lognormal time
        (median ``notice_median_s``); then operators diagnose by hand (lognormal, median
        ``manual_median_s``) and isolate (``isolate_manual_s``). They always find the
        right part eventually.
    ``c4d``
        the C4D detector reads the job's telemetry (:mod:`sim_models.c4.detector`); its
        detection time, class and localisation come from a diagnosis probe of the same
        fault on the flow network (:mod:`sim_models.c4.diagnosis`), plus ``delay_s`` for
        the master. A correct localisation is isolated automatically (``isolate_s``). A
        wrong one isolates a healthy node: the job restarts and meets the fault again,
        and C4D tries again with a fresh probe, up to ``max_rounds`` rounds, after which
        operators take over as in the baseline. A fault C4D does not detect (a slowdown
        below its thresholds) is left to people, as in the baseline; a fault that does not
        slow the job costs nothing.

Assumptions (defaults, each a parameter; sources and sweeps in ``models/c4/NOTES.md``)
    ``timeout_s`` 1800 s: PyTorch's NCCL process-group timeout was 30 min until late 2023
    (then 10 min). Manual diagnosis "hours to days" (C4): lognormal with median 7 h (the
    geometric middle of 1 h and 2 days) and log-sd 1. People notice a slowdown after a
    lognormal time of median 4 h, log-sd 1. Manual isolation 10 min; automatic isolation
    2 min.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from pydantic import Field

from sim.model import Params, Policy
from sim.registry import policy

DOMAIN = "c4.detection"

HOUR = 3600.0


@dataclass
class Response:
    """The phases of one fault's handling (seconds) and how it went."""

    detect_s: float
    diagnose_s: float
    isolate_s: float
    rounds: int = 1  # C4D attempts
    #: rounds that isolated a healthy node (their isolation is in ``isolate_s``; each also
    #: costs a restart, added by the lifetime model)
    wrong_rounds: int = 0
    automatic: bool = False
    detected_by: str = "people"
    correct: bool = True


class ManualParams(Params):
    timeout_s: float = Field(1800.0, ge=1.0, le=86400.0, description="collective watchdog")
    notice_median_s: float = Field(
        4 * HOUR, ge=60.0, le=30 * 86400.0, description="people notice a slowdown (median)"
    )
    notice_sigma: float = Field(1.0, ge=0.0, le=3.0, description="log-sd of the notice time")
    manual_median_s: float = Field(
        7 * HOUR, ge=60.0, le=30 * 86400.0, description="manual diagnosis (median)"
    )
    manual_sigma: float = Field(1.0, ge=0.0, le=3.0, description="log-sd of manual diagnosis")
    isolate_manual_s: float = Field(600.0, ge=0.0, le=86400.0, description="manual isolation")
    min_slowdown: float = Field(
        0.01, ge=0.0, le=1.0, description="slowdowns below this go unnoticed and cost nothing"
    )


def lognormal(rng: np.random.Generator, median: float, sigma: float) -> float:
    return float(median * math.exp(rng.normal(0.0, sigma))) if sigma > 0 else float(median)


class DetectionPolicy(Policy):
    """Base of the ``c4.detection`` policies."""

    uses_detector = False

    class Params(ManualParams):
        pass

    def manual(self, hang: bool, rng: np.random.Generator) -> Response:
        p = self.params
        detect = p.timeout_s if hang else lognormal(rng, p.notice_median_s, p.notice_sigma)
        return Response(detect, lognormal(rng, p.manual_median_s, p.manual_sigma),
                        p.isolate_manual_s)  # fmt: skip

    def respond(self, probes, rng: np.random.Generator) -> Response | None:
        """The handling of one fault. ``probes()`` returns a fresh diagnosis probe of the
        fault (:class:`sim_models.c4.diagnosis.ProbeResult`); the first one also says how
        the fault affects the job. ``None``: the fault does not affect the job."""
        raise NotImplementedError


@policy(DOMAIN, "timeout_manual", "baseline: collective timeout, people notice, manual diagnosis")
class TimeoutManual(DetectionPolicy):
    def respond(self, probes, rng):
        first = probes()
        if not first.hung and not (first.slowdown > 1.0 + self.params.min_slowdown):
            return None
        return self.manual(first.hung, rng)


@policy(DOMAIN, "c4d", "C4D: telemetry-driven detection, localisation and automatic isolation")
class C4D(DetectionPolicy):
    uses_detector = True

    class Params(ManualParams):
        delay_s: float = Field(0.0, ge=0.0, le=3600.0, description="C4D master processing")
        isolate_s: float = Field(120.0, ge=0.0, le=86400.0, description="automatic isolation")
        max_rounds: int = Field(2, ge=1, le=10, description="C4D attempts before people")

    def respond(self, probes, rng):
        p = self.params
        first = probes()
        if not first.hung and not (first.slowdown > 1.0 + p.min_slowdown):
            return None
        detect_total = 0.0
        wrong = 0
        probe = first
        for rnd in range(1, p.max_rounds + 1):
            extra = wrong * p.isolate_s  # healthy nodes isolated by the wrong rounds
            if probe.detection is None:  # not detected: people, as in the baseline
                r = self.manual(first.hung, rng)
                r.detect_s += detect_total
                r.isolate_s += extra
                r.rounds, r.wrong_rounds = rnd, wrong
                return r
            detect_total += probe.delay_s + p.delay_s
            if probe.detection.unit[0] == "unknown":  # detected, not localised
                diag = lognormal(rng, p.manual_median_s, p.manual_sigma)
                return Response(detect_total, diag, p.isolate_manual_s + extra, rnd, wrong,
                                False, "c4d", True)  # fmt: skip
            if probe.unit_ok:
                return Response(detect_total, 0.0, p.isolate_s + extra, rnd, wrong, True, "c4d")
            wrong += 1
            if rnd < p.max_rounds:
                probe = probes()
        r = self.manual(first.hung, rng)  # C4D gave up: operators diagnose
        r.detect_s = detect_total
        r.isolate_s += wrong * p.isolate_s
        r.rounds, r.wrong_rounds, r.detected_by, r.correct = p.max_rounds, wrong, "c4d", False
        return r
