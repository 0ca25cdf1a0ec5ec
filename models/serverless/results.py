"""Records of the platform's pods and the metrics computed from them.

:class:`PodRecords` keeps one row per pod (a typed columnar table that spills to disk past
a few million rows) and running cold-start means per function and region.
:func:`platform_summary` turns a finished run into the flat metrics of ``summary.json``;
:func:`cold_start_table` writes the pods in the release's ``cold_start`` schema.

Metrics (all from exact pod records)
    ``requests``, ``cold_starts`` (pods created for a request), ``prewarm_pods``,
    ``pods_created``, ``cold_start_rate`` (cold starts / requests),
    ``added_latency_s.mean`` / ``.p99`` (time requests waited for a starting pod, or a
    remote region's penalty), ``cold_start_s.*`` (creation to readiness), the four parts'
    means, ``idle_pod_s`` (ready, alive and serving nothing; up to the horizon),
    ``wasted_gb_s`` (idle pod-seconds times the pod's memory), ``utility_ratio.median``
    and ``.frac_below_1`` (§4.5: (lifetime - keep-alive) / cold-start time, lifetime from
    readiness to deletion; computed as (last request end - readiness) / cold-start time,
    which is the same for a fixed keep-alive, over pods that served a request), per-region
    ``cold_start_s.p50.<R>``, ``cold_start_s.mean.<R>``, ``cold_starts.<R>``,
    ``requests.<R>``, and the fits of §4.1 (``fit.lognormal.mean_s`` ...).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .analysis.fits import gaps_by_region, lognormal_fit, weibull_fit

POD_SCHEMA = {
    "pod": "int", "func": "int", "region": "int", "cluster": "int", "created_s": "float",
    "ready_s": "float", "alloc_s": "float", "code_s": "float", "deps_s": "float",
    "sched_s": "float", "stage": "int", "prewarmed": "bool", "served": "int",
    "busy_s": "float", "first_request_s": "float", "last_end_s": "float",
    "deleted_s": "float", "memory_mb": "float", "trigger_req": "int",
}  # fmt: skip


class PodRecords:
    """One row per pod, added when the pod is deleted (or at the end of the run)."""

    def __init__(self, scope) -> None:
        self.table = scope.columns("pods", POD_SCHEMA)
        self._row = self.table.append
        self._cs: dict[int, list[float]] = {}  # func*16+region -> [sum, count]
        self._region_cs: dict[int, list[float]] = {}
        self.regions: list[str] = []

    def note_cold_start(self, func: int, region: int, seconds: float) -> None:
        for d, k in ((self._cs, func * 16 + region), (self._region_cs, region)):
            acc = d.get(k)
            if acc is None:
                d[k] = [seconds, 1]
            else:
                acc[0] += seconds
                acc[1] += 1

    def mean_cold_start(self, func: int, region: int) -> float:
        acc = self._cs.get(func * 16 + region)
        return acc[0] / acc[1] if acc else math.nan

    def region_mean_cold_start(self, region: int) -> float:
        acc = self._region_cs.get(region)
        return acc[0] / acc[1] if acc else 1.0

    def add(self, pod, region_name: str) -> None:
        ri, stage, req, _ = pod.info
        a, c, d, _s = pod.components
        ready = pod.ready_s if pod.ready_s is not None else math.nan
        sched = ready - pod.created_s - (a + c + d) if ready == ready else math.nan
        self._row(pod.index, pod.func, ri, pod.cluster, pod.created_s, ready, a, c, d, sched,
                  stage, pod.prewarmed, pod.served, pod.busy_s, pod.first_request_s,
                  pod.last_end_s, pod.deleted_s, pod.memory_mb, req)  # fmt: skip

    def frame(self) -> pd.DataFrame:
        return self.table.to_frame().sort_values("pod", kind="stable").reset_index(drop=True)

    def cold_start_table(self, catalog, region_names: list[str]) -> pd.DataFrame:
        return cold_start_table(self.frame(), catalog, region_names)


def cold_start_table(pods: pd.DataFrame, catalog, region_names: list[str]) -> pd.DataFrame:
    """The pods in the release's cold_start schema (plus ``region``), by creation time.
    Pods deleted before they were ready (a pre-warm not used in time) are left out."""
    pods = pods[pods["ready_s"].notna()].sort_values(["created_s", "pod"], kind="stable")
    funcs = catalog.to_frame().set_index("func")
    keys = funcs.loc[pods["func"].to_numpy(), "funcID"].to_numpy()
    parts = pd.Series(keys).str.split("---", expand=True)
    pools = funcs.loc[pods["func"].to_numpy(), "pool"].to_numpy()
    created = pods["created_s"].to_numpy()
    total = pods["ready_s"].to_numpy() - created
    req = pods["trigger_req"].to_numpy()
    return pd.DataFrame(
        {
            "day": (created // 86400).astype(np.int64),
            "time": np.round(created, 3),
            "clusterName": pods["cluster"].to_numpy(),
            "funcName": pd.to_numeric(parts[0]).to_numpy(),
            "userID": pd.to_numeric(parts[1]).to_numpy(),
            "requestID": [f"{r:016x}" if r >= 0 else "" for r in req],
            "totalCost_cold_start": np.round(total, 6),
            "podAllocationCost": pods["alloc_s"].to_numpy(),
            "deployCodeCost": pods["code_s"].to_numpy(),
            "deployDependencyCost": pods["deps_s"].to_numpy(),
            "schedulingCost": np.round(pods["sched_s"].to_numpy(), 9),
            "podID": [f"{pl}-{i:010d}" for pl, i in zip(pools, pods["pod"], strict=True)],
            "region": [region_names[r] for r in pods["region"].to_numpy()],
        }
    )


def utility_ratios(pods: pd.DataFrame) -> np.ndarray:
    """(last request end - readiness) / cold-start time, for pods that served a request."""
    served = pods[(pods["served"] > 0) & pods["ready_s"].notna()]
    cs = served["ready_s"] - served["created_s"]
    ok = cs > 0
    return ((served["last_end_s"] - served["ready_s"])[ok] / cs[ok]).to_numpy()


def idle_seconds(pods: pd.DataFrame, horizon: float) -> np.ndarray:
    """Per pod: ready, alive and serving nothing, until deletion (or ``horizon`` for a pod
    still alive at the end)."""
    ready = pods["ready_s"].to_numpy()
    gone = pods["deleted_s"].to_numpy()
    gone = np.where(np.isnan(gone), horizon, gone)
    alive = np.nan_to_num(gone - ready, nan=0.0)
    return np.clip(alive - pods["busy_s"].to_numpy(), 0.0, None)


def platform_summary(platform) -> dict[str, float]:
    from .platform import wait_summary

    pods = platform.records.frame()
    n = platform.n_requests
    names = platform._region_names
    out: dict[str, float] = {"requests": float(n)}
    triggered = pods["trigger_req"] >= 0
    out["cold_starts"] = float(triggered.sum())
    out["prewarm_pods"] = float(pods["prewarmed"].sum())
    out["pods_created"] = float(len(pods))
    out["cold_start_rate"] = out["cold_starts"] / n if n else math.nan
    out["remote_requests"] = float(platform.n_remote)
    out["skipped_requests"] = float(platform.n_skipped)
    out.update(wait_summary(platform._waits, n))
    ready = pods[pods["ready_s"].notna()]
    cs = (ready["ready_s"] - ready["created_s"]).to_numpy()
    for stat, val in _stats(cs).items():
        out[f"cold_start_s.{stat}"] = val
    for col in ("alloc_s", "code_s", "deps_s", "sched_s"):
        out[f"{col[:-2]}_s.mean"] = float(ready[col].mean()) if len(ready) else math.nan
    idle = idle_seconds(pods, platform.horizon)
    out["idle_pod_s"] = float(idle.sum())
    out["wasted_gb_s"] = float((idle * pods["memory_mb"].to_numpy() / 1024.0).sum())
    ratios = utility_ratios(pods)
    out["utility_ratio.median"] = float(np.median(ratios)) if ratios.size else math.nan
    out["utility_ratio.frac_below_1"] = float((ratios < 1).mean()) if ratios.size else math.nan
    out["stage_pool_share"] = float((ready["stage"] == 1).mean()) if len(ready) else math.nan
    out["stage_scratch_share"] = float((ready["stage"] == 3).mean()) if len(ready) else math.nan
    regions = ready["region"].to_numpy()
    for ri, name in enumerate(names):
        sel = cs[regions == ri]
        out[f"cold_starts.{name}"] = float((pods["region"] == ri).sum())
        out[f"cold_start_s.p50.{name}"] = float(np.median(sel)) if sel.size else math.nan
        out[f"cold_start_s.mean.{name}"] = float(sel.mean()) if sel.size else math.nan
    for ri, name in enumerate(names):
        out[f"requests.{name}"] = float(platform.region_requests(ri))
    fit = lognormal_fit(cs)
    out["fit.lognormal.mean_s"] = fit["mean_s"]
    out["fit.lognormal.sd_s"] = fit["sd_s"]
    gaps = gaps_by_region(pods["created_s"].to_numpy(), pods["region"].to_numpy())
    wfit = weibull_fit(gaps)
    out["fit.weibull_iat.mean_s"] = wfit["mean_s"]
    out["fit.weibull_iat.sd_s"] = wfit["sd_s"]
    out["iat_s.mean"] = float(gaps.mean()) if gaps.size else math.nan
    return out


def _stats(values: np.ndarray) -> dict[str, float]:
    if values.size == 0:
        return {k: math.nan for k in ("mean", "p50", "p90", "p99")}
    q = np.percentile(values, [50, 90, 99])
    return {"mean": float(values.mean()), "p50": float(q[0]), "p90": float(q[1]), "p99": float(q[2])}
