"""Registered model ``c4.reliability``: a month (or any span) of a training job under a
failure mix, with C4D or with the timeout-and-manual-diagnosis baseline.

What it models
    The lifetime of one job (:mod:`sim_models.c4.reliability`) of ``gpus`` GPUs on the
    C4 fabric. Faults arrive at ``interruptions_per_gpu_day x gpus x rate_scale`` per day
    for the kinds that stop a job (``w_gpu_hang``, ``w_node_crash``, ``w_nic_down``,
    ``w_port_down`` as relative weights) plus ``slow_per_interruption`` times that rate for
    the kinds that slow it (``w_slow_gpu``, ``w_slow_port``, ``w_slow_link``). Each fault's
    effect on the job (hang, or slowdown factor) and what C4D's detector makes of it come
    from a diagnosis probe: the job, on the flow network with the ``routing`` policy's
    routes, with that fault injected and telemetry noise ``noise_rel`` / ``noise_s``
    (:mod:`sim_models.c4.diagnosis`). The ``detection`` slot (``c4d`` or
    ``timeout_manual``, :mod:`sim_models.c4.recovery`) turns it into phase durations.

Outputs
    ``downtime_fraction`` and its parts ``downtime.<detection|diagnosis|isolation|restart|
    lost_work>_fraction``, ``goodput``, ``checkpoint_overhead_fraction``, ``faults``,
    ``faults_harmful``, ``detect_s.median`` (harmful faults), ``c4d_correct_fraction``,
    ``mtbf_h``, ``ckpt_interval_s``, ``healthy_iteration_s``; table ``faults`` (one row
    per fault: kind, time, phases, lost work, who detected it).

Defaults and their sources
    ``interruptions_per_gpu_day`` 4.736e-4: Llama 3 training had 419 unexpected
    interruptions in 54 days on 16,384 GPUs. The kind weights map that run's root causes
    (GPU and software faults -> a hung rank; host faults -> a node crash; NIC and NCCL
    watchdog -> a dead NIC; switch and cable -> a port down, which a dual-ToR bond
    survives). Slow faults, restart time, checkpoint cost and telemetry noise are
    assumptions. All in ``models/c4/NOTES.md``, each swept by an experiment.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator
from sim_models.c4.detector import DetectorParams
from sim_models.c4.diagnosis import run_probe
from sim_models.c4.job_fabric import place_one_job
from sim_models.c4.params import FabricParams, JobParams
from sim_models.c4.recovery import DOMAIN as DETECTION
from sim_models.c4.reliability import Lifetime, LifetimeConfig, young_daly_interval
from sim_models.hw.routing_policies import DOMAIN as ROUTING

from sim.model import Model, Slot
from sim.registry import model

DAY = 86400.0
#: Llama 3 (arXiv 2407.21783, section 3.3.4): 419 unexpected interruptions, 54 days, 16,384 GPUs.
LLAMA3_RATE = 419.0 / (16384.0 * 54.0)
INTERRUPTIONS = ("gpu_hang", "node_crash", "nic_down", "port_down")
SLOWS = ("slow_gpu", "slow_port", "slow_link")


@model("c4.reliability", "C4D: a job's month under faults, downtime with C4D or the baseline")
class ReliabilityModel(Model):
    slots = {
        "detection": Slot(DETECTION, "c4d", "who detects and diagnoses (c4d, timeout_manual)"),
        "routing": Slot(ROUTING, "c4p", "path of every QP of the job"),
    }

    class Params(FabricParams, JobParams):
        days: float = Field(30.0, gt=0.0, le=3650.0, description="wall-clock span simulated")
        interruptions_per_gpu_day: float = Field(
            LLAMA3_RATE, ge=0.0, le=1.0, description="faults that stop a job, per GPU-day"
        )
        rate_scale: float = Field(1.0, ge=0.0, le=100.0, description="multiplies every rate")
        slow_per_interruption: float = Field(
            0.25, ge=0.0, le=10.0, description="slow faults per interruption"
        )
        w_gpu_hang: float = Field(324.0, ge=0.0, le=1e6, description="GPU/software (Llama 3)")
        w_node_crash: float = Field(46.0, ge=0.0, le=1e6, description="host faults (Llama 3)")
        w_nic_down: float = Field(14.0, ge=0.0, le=1e6, description="NIC + NCCL watchdog")
        w_port_down: float = Field(35.0, ge=0.0, le=1e6, description="switch + cable (Llama 3)")
        w_slow_gpu: float = Field(0.4, ge=0.0, le=1e6, description="slow faults: GPU")
        w_slow_port: float = Field(0.4, ge=0.0, le=1e6, description="slow faults: NIC port")
        w_slow_link: float = Field(0.2, ge=0.0, le=1e6, description="slow faults: ToR uplink")
        slow_gpu_factor: float = Field(0.5, gt=0.0, le=1.0, description="speed of a slow GPU")
        slow_port_factor: float = Field(0.25, gt=0.0, le=1.0, description="rate of a slow port")
        slow_link_factor: float = Field(0.25, gt=0.0, le=1.0, description="rate of a slow link")
        ckpt_interval_s: float | None = Field(
            None, gt=0.0, le=1e7, description="checkpoint interval (default: Young/Daly)"
        )
        ckpt_cost_s: float = Field(60.0, ge=0.0, le=86400.0, description="blocking write")
        restart_s: float = Field(900.0, ge=0.0, le=86400.0, description="re-initialisation")
        noise_rel: float = Field(0.05, ge=0.0, le=2.0, description="telemetry: log-sd of rates")
        noise_s: float = Field(0.005, ge=0.0, le=60.0, description="telemetry: timestamp sd")
        single_fault: (
            Literal[
                "gpu_hang",
                "node_crash",
                "nic_down",
                "port_down",
                "slow_gpu",
                "slow_port",
                "slow_link",
            ]
            | None
        ) = Field(None, description="inject exactly one fault of this kind, no others")
        single_fault_at_h: float = Field(
            1.5, ge=0.0, le=87600.0, description="when the single fault happens (hours)"
        )

        @model_validator(mode="after")
        def _check(self):
            self.check_fabric_for(self.gpus)
            return self

    def _config(self) -> LifetimeConfig:
        p = self.params
        base = p.interruptions_per_gpu_day * p.gpus * p.rate_scale / DAY
        w_int = np.array([p.w_gpu_hang, p.w_node_crash, p.w_nic_down, p.w_port_down])
        w_slow = np.array([p.w_slow_gpu, p.w_slow_port, p.w_slow_link])
        rate_int = base if w_int.sum() > 0 else 0.0
        rate_slow = base * p.slow_per_interruption if w_slow.sum() > 0 else 0.0
        weights = []
        if rate_int > 0:
            weights += list(w_int / w_int.sum() * rate_int)
        else:
            weights += [0.0] * 4
        if rate_slow > 0:
            weights += list(w_slow / w_slow.sum() * rate_slow)
        else:
            weights += [0.0] * 3
        rate = rate_int + rate_slow
        mtbf = 1.0 / rate if rate > 0 else math.inf
        interval = p.ckpt_interval_s
        if interval is None:
            interval = young_daly_interval(p.ckpt_cost_s, mtbf) if math.isfinite(mtbf) else 86400.0
        self.mtbf_s = mtbf
        if p.single_fault is not None:
            kinds = (*INTERRUPTIONS, *SLOWS)
            one = [1.0 if k == p.single_fault else 0.0 for k in kinds]
            interval = p.ckpt_interval_s or (
                young_daly_interval(p.ckpt_cost_s, mtbf) if math.isfinite(mtbf) else 3600.0
            )
            return LifetimeConfig(p.days * DAY, 0.0, kinds, one, interval, p.ckpt_cost_s,
                                  p.restart_s, fault_at_s=p.single_fault_at_h * 3600.0)  # fmt: skip
        return LifetimeConfig(p.days * DAY, rate, (*INTERRUPTIONS, *SLOWS),
                              weights if rate > 0 else [1.0] * 7, interval, p.ckpt_cost_s,
                              p.restart_s)  # fmt: skip

    def build(self, sim) -> None:
        p = self.params
        job = place_one_job(p, self.scope, self.policies["routing"])
        self.fabric, self.spec, self.routes, self.nodes = (
            job.fabric, job.spec, job.routes, job.nodes
        )  # fmt: skip
        self.probe_rng = self.scope.rng("probes")
        self.probes: list = []
        factors = {"slow_port_factor": p.slow_port_factor, "slow_link_factor": p.slow_link_factor,
                   "slow_gpu_factor": p.slow_gpu_factor}  # fmt: skip
        self._factors = factors
        self.cfg = self._config()
        self.lifetime = Lifetime(self.cfg, self.policies["detection"], self._probe,
                                 self.scope.rng("faults"))  # fmt: skip
        sim.env.process(self.lifetime.run(sim.env))

    def _probe(self, kind: str):
        p = self.params
        res = run_probe(self.fabric, self.routes, self.nodes, self.spec, kind, self.probe_rng,
                        noise_s=p.noise_s, noise_rel=p.noise_rel, detector=DetectorParams(),
                        name="job", fault_factors=self._factors)  # fmt: skip
        self.probes.append(res)
        return res

    def summary(self) -> dict[str, float]:
        out = self.lifetime.summary()
        faults = pd.DataFrame(self.lifetime.faults)
        harmful = faults[faults["harmful"]] if len(faults) else faults
        out["faults"] = float(len(faults))
        out["faults_harmful"] = float(len(harmful))
        out["hangs"] = float(faults["hung"].sum()) if len(faults) else 0.0
        if len(harmful):
            out["detect_s.median"] = float(harmful["detection_s"].median())
            out["detect_s.mean"] = float(harmful["detection_s"].mean())
            c4d = harmful[harmful["detected_by"] == "c4d"]
            out["c4d_correct_fraction"] = (
                float((c4d["correct"] & (c4d["wrong_rounds"] == 0)).mean())
                if len(c4d)
                else math.nan
            )
        else:
            out["detect_s.median"] = out["detect_s.mean"] = math.nan
            out["c4d_correct_fraction"] = math.nan
        out["mtbf_h"] = self.mtbf_s / 3600.0
        out["ckpt_interval_s"] = self.cfg.ckpt_interval_s
        healthy = [r.healthy_iter_s for r in self.probes if np.isfinite(r.healthy_iter_s)]
        out["healthy_iteration_s"] = float(np.median(healthy)) if healthy else math.nan
        return out

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"faults": pd.DataFrame(self.lifetime.faults)}

    def figures(self, out_dir: Path) -> list[Path]:
        from sim_models.c4 import figures

        path = figures.fault_timeline(pd.DataFrame(self.lifetime.faults), self.cfg,
                                      Path(out_dir) / "fault_timeline.png")  # fmt: skip
        return [path] if path is not None else []

    @classmethod
    def sweep_figures(cls, table: pd.DataFrame, out_dir: Path) -> list[Path]:
        from sim_models.c4 import figures

        return figures.reliability_sweep_figures(table, Path(out_dir))
