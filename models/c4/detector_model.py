"""Registered model ``c4.detector``: how well C4D's detector classifies and localises
faults it is not told about, against telemetry noise.

What it models
    ``probes_per_kind`` diagnosis probes (:mod:`sim_models.c4.diagnosis`) of every fault
    kind of :mod:`sim_models.c4.faults`, each at a random place and moment of a job of
    ``gpus`` GPUs on the flow network, plus ``healthy_probes`` runs without a fault (any
    detection there is a false alarm). The detector sees only the telemetry, whose noise
    is ``noise``: the log-sd of every QP throughput measurement, and ``noise`` times the
    job's compute time as the standard deviation of every timestamp.

Outputs
    Over the faults that affect the job (a hang, or a slowdown above 1%):
    ``recall`` (detected with the right unit / faults), ``precision`` (right unit / all
    detections of all probes, false alarms included), ``localization.accuracy`` (right unit / detected),
    ``class.accuracy`` (right class / detected), ``detected_fraction``,
    ``false_alarm_rate`` (healthy runs with a detection), ``detect_s.median`` / ``.p90``;
    per class ``recall.<class>`` and ``detect_s.median.<class>``; ``no_effect_faults``.
    Table ``probes``: one row per probe.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from pydantic import Field, model_validator
from sim_models.c4.detector import DetectorParams
from sim_models.c4.diagnosis import run_probe
from sim_models.c4.faults import CLASSES, KINDS
from sim_models.c4.job_fabric import place_one_job
from sim_models.c4.params import FabricParams, JobParams
from sim_models.hw.routing_policies import DOMAIN as ROUTING

from sim.model import Model, Slot
from sim.registry import model


@model("c4.detector", "C4D: detector precision, recall and delay over injected faults and noise")
class DetectorModel(Model):
    slots = {"routing": Slot(ROUTING, "c4p", "path of every QP of the job")}

    class Params(FabricParams, JobParams):
        gpus: int = Field(128, ge=16, le=8192, description="GPUs of the probed job")
        probes_per_kind: int = Field(10, ge=1, le=10_000, description="probes per fault kind")
        healthy_probes: int = Field(10, ge=0, le=10_000, description="probes without a fault")
        noise: float = Field(0.05, ge=0.0, le=2.0, description="telemetry noise (see docs)")
        window: int = Field(5, ge=1, le=100, description="detector: operations per window")
        drop: float = Field(0.2, gt=0.0, lt=1.0, description="detector: QP throughput drop")
        late_frac: float = Field(0.03, gt=0.0, le=1.0, description="detector: lateness")
        hang_min_s: float = Field(10.0, ge=0.0, le=3600.0, description="detector: hang floor")
        poll_s: float = Field(5.0, gt=0.0, le=600.0, description="detector: poll period")
        comm_share: float | None = Field(
            0.25, gt=0.0, lt=1.0, description="exposed communication share (sets compute)"
        )

        @model_validator(mode="after")
        def _check(self):
            self.check_fabric_for(self.gpus)
            return self

    def build(self, sim) -> None:
        p = self.params
        job = place_one_job(p, self.scope, self.policies["routing"])
        self.fabric, self.spec, self.routes, nodes = job.fabric, job.spec, job.routes, job.nodes
        rng = self.scope.rng("probes")
        dp = DetectorParams(poll_s=p.poll_s, window=p.window, drop=p.drop,
                            late_frac=p.late_frac, hang_min_s=p.hang_min_s)  # fmt: skip
        rows = []
        plan = [None] * p.healthy_probes + [k for k in KINDS for _ in range(p.probes_per_kind)]
        for kind in plan:
            r = run_probe(self.fabric, self.routes, nodes, self.spec, kind, rng,
                          noise_rel=p.noise, noise_s=p.noise * self.spec.compute_s,
                          detector=dp, name="job")  # fmt: skip
            d = r.detection
            rows.append({
                "kind": kind or "none",
                "class": r.fault.cls if r.fault else "none",
                "unit": repr(r.fault.unit) if r.fault else "",
                "detected": d is not None,
                "detected_class": d.cls if d else "",
                "detected_unit": repr(d.unit) if d else "",
                "class_ok": r.class_ok,
                "unit_ok": r.unit_ok,
                "delay_s": r.delay_s,
                "hung": r.hung,
                "slowdown": r.slowdown,
            })  # fmt: skip
            sim.completed()
        self.rows = pd.DataFrame(rows)

    def summary(self) -> dict[str, float]:
        df = self.rows
        healthy = df[df["kind"] == "none"]
        faults = df[df["kind"] != "none"]
        effect = faults[faults["hung"] | (faults["slowdown"] > 1.01)]
        det = effect[effect["detected"]]
        all_det = int(df["detected"].sum())
        nan = math.nan
        out = {
            "faults": float(len(effect)),
            "no_effect_faults": float(len(faults) - len(effect)),
            "detected_fraction": float(len(det) / len(effect)) if len(effect) else nan,
            "recall": float(effect["unit_ok"].mean()) if len(effect) else nan,
            "precision": float(df["unit_ok"].sum() / all_det) if all_det else nan,
            "localization.accuracy": float(det["unit_ok"].mean()) if len(det) else nan,
            "class.accuracy": float(det["class_ok"].mean()) if len(det) else nan,
            "false_alarm_rate": float(healthy["detected"].mean()) if len(healthy) else nan,
            "detect_s.median": float(det["delay_s"].median()) if len(det) else nan,
            "detect_s.p90": float(det["delay_s"].quantile(0.9)) if len(det) else nan,
        }
        for cls in CLASSES:
            sub = effect[effect["class"] == cls]
            out[f"recall.{cls}"] = float(sub["unit_ok"].mean()) if len(sub) else nan
            d = sub[sub["detected"]]
            out[f"detect_s.median.{cls}"] = float(d["delay_s"].median()) if len(d) else nan
        return out

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"probes": self.rows}

    @classmethod
    def sweep_figures(cls, table: pd.DataFrame, out_dir: Path) -> list[Path]:
        from sim_models.c4 import figures

        return figures.detector_sweep_figures(table, Path(out_dir))
