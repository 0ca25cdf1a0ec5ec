"""The UWFQ paper's claims: what ``sim reproduce uwfq`` reports.

Paper: D. Kazemaks, L. Versluis, B. Kulahcioglu Ozkan, J. Decouchant, "Balancing Fairness
and Performance in Multi-User Spark Workloads with Dynamic Scheduling (extended version)",
arXiv 2510.15485 (SoCC '25). Published values are the authors' measured means of 3 runs
(:mod:`.published`), empty where their tables have none (Spark FIFO everywhere; T-Fifo and
Random on the Google windows). Every simulated value is computed from the experiments'
sweep tables (mean over replications).

Claim ids:
* ``uwfq.<scenario>.<policy>.mean_rt_s``: mean job response time;
* ``uwfq.<scenario>.<policy>.small_rt_s``: mean of the 80% shortest response times (the
  paper's "small jobs");
* ``uwfq.<scenario>.<policy>.dvr``: mean positive lateness against UJF (UJF-P for "-P"),
  for every policy but UJF and UJF-P themselves;
* ``uwfq.small_rt_reduction.google_homo.uwfq_p_vs_ujf_p`` (the abstract's "up to 74%":
  6.05 s vs 23.02 s, the only reduction near 74% in the authors' tables) and
  ``uwfq.small_rt_reduction.<window>.uwfq_p_vs_fair`` for both Google windows.

Each claim's source names the table, and what drives the simulated value (the model's
assumptions, NOTES.md): where a value lands far from the measured one, that is where to
look.
"""

from __future__ import annotations

import math

import numpy as np

from sim.reproduce import Claim, Outcome, Paper, register_paper
from sim.stats import ok_rows

from .published import TABLES
from .schedulers import SCHEDULER_NAMES

SCENARIOS = {
    "s1_2_large_2_small": "scenario 1 (2 large + 2 small users)",
    "s2_2_power_2_small": "scenario 2 (2 power + 2 small users)",
    "s3_4_large": "scenario 3 (4 large users)",
    "s4_4_super_small": "scenario 4 (4 super-small users)",
    "google_hetero": "heterogeneous Google benchmark",
    "google_homo": "homogeneous Google benchmark",
}
_TABLE_FILE = {
    "s1_2_large_2_small": "2_large_2_small_users",
    "s2_2_power_2_small": "2_power_2_small_users",
    "s3_4_large": "4_large_users",
    "s4_4_super_small": "4_super_small_users",
    "google_hetero": "hetero_macro",
    "google_homo": "homo_macro",
}

#: What drives each scenario's simulated values (the assumptions of NOTES.md).
DRIVERS = {
    "s1_2_large_2_small": "loop1000 RT set by the skew of its 32 unpartitioned tasks "
    "(skew_sigma) and, with -P, by the per-task overhead; loop100 RT by the per-query "
    "fixed cost (listing_tasks x task_overhead_s, driver_gap_s)",
    "s2_2_power_2_small": "overloaded by bursts: response times set by the per-query "
    "work (UDF fit) plus fixed cost (listing_tasks x task_overhead_s); small users' RT by "
    "the scheduler's user fairness",
    "s3_4_large": "loop1000 work (UDF fit, 109.9 core-s) and the skew of unpartitioned "
    "tasks (skew_sigma)",
    "s4_4_super_small": "throughput-bound on the per-query fixed cost (listing_tasks x "
    "task_overhead_s, fixed on this scenario's Fair makespan); CFQ/UWFQ also by the "
    "estimates they get (the model's oracle always answers; the artifact falls back to "
    "1 s for stages its listener has not registered yet)",
    "google_hetero": "per-query fixed cost (824 queries x listing) and the size hints "
    "(4.3 x nominal); measured means include the artifact's user-substring duplication",
    "google_homo": "per-query fixed cost and the skew of unpartitioned tasks; measured "
    "means include the artifact's user-substring duplication",
}


#: Why a simulated value may land far (> 25%) from the measured one: the assumption or the
#: unmodelled effect that drives it, keyed by (scenarios, policies, metric); ``None`` = any.
DEVIATIONS: list[tuple[tuple | None, tuple | None, str | None, str]] = [
    (
        None,
        None,
        "dvr",
        "DVR is the mean lateness against a single UJF run, small and noise-dominated: it "
        "grows with run-to-run noise, which the model has less of (task_cv = 0.1 [A], "
        "arrival times replayed exactly) than the measured cluster; see sensitivity_noise",
    ),
    (
        ("s4_4_super_small",),
        ("cfq", "cfq_p"),
        None,
        "measured CFQ (and the other CUSTOM-mode schedulers) ran scenario 4 in 50.8 s against "
        "43.3 s for Fair on the same work; the model has no scheduler cost (43 s for all). CFQ "
        "reaches the measured 43 s if the file-listing stages miss their estimate (the "
        "artifact's estimator falls back to 1 s for stages its listener has not registered "
        "yet), but that also slows UWFQ and T-Fifo beyond their measurements "
        "(sensitivity_estimator): unsettled [U]",
    ),
    (
        ("google_homo",),
        ("cfq", "cfq_p", "uwfq", "uwfq_p"),
        "mean_rt_s",
        "measured CFQ/UWFQ runs took 592-624 s against 563 s for Fair/UJF on the same work "
        "(about 10% less throughput in CUSTOM mode), delaying the largest jobs (95-100% band "
        "298-344 s measured); the model has no scheduler cost and equal makespans [U]",
    ),
    (
        ("google_hetero",),
        ("fair", "fair_p"),
        None,
        "under Fair a small job shares the cores with every active job, so its RT scales with "
        "each query's fixed cost (263 listing tasks x task_overhead_s [A]); see "
        "sensitivity_overhead (Fair's small-job RT +45% from 0.025 to 0.05 s per task)",
    ),
    (
        None,
        ("random", "random_p"),
        None,
        "Random orders by a hash of stage and job ids; the model's ids (from id_offset = 24 "
        "[A], three Spark jobs per query) need not match the measured run's, and any shift "
        "reshuffles the order",
    ),
]


def deviation_note(scenario: str, policy: str | None, metric: str) -> str:
    notes = [
        text
        for scs, pols, met, text in DEVIATIONS
        if (scs is None or scenario in scs)
        and (pols is None or policy in pols)
        and (met is None or met == metric)
    ]
    return (" Deviation drivers: " + " / ".join(notes) + ".") if notes else ""


def sweep_mean(oc: Outcome, policy: str, metric: str) -> float:
    """Mean of ``metric`` over the finished runs of ``policy`` in a scheduler sweep."""
    rows = ok_rows(oc.table)
    if "policies.scheduler" not in rows:
        raise KeyError(f"experiment {oc.name!r} is not a scheduler sweep")
    sel = rows.loc[rows["policies.scheduler"] == policy, metric] if metric in rows else []
    if len(sel) == 0:
        raise ValueError(f"no finished run of {policy} with {metric} in {oc.name!r}")
    return float(sel.mean())


def _metric(policy: str, metric: str):
    return lambda oc: sweep_mean(oc, policy, metric)


def sweep_dvr(oc: Outcome, policy: str) -> float:
    """Mean DVR of ``policy``'s runs against the sweep's first UJF (UJF-P) run."""
    from .metrics import sweep_fairness

    if "dvr" in oc.table:  # runs made with params.fairness_reference
        return sweep_mean(oc, policy, "dvr")
    f = sweep_fairness(oc.table, oc.out_dir)
    vals = f.loc[f["policy"] == policy, "dvr"].to_numpy(dtype=float)
    if vals.size == 0:
        raise ValueError(f"no finished run of {policy} in {oc.name!r}")
    vals = vals[~np.isnan(vals)]
    return float(vals.mean()) if vals.size else math.nan


def _dvr(policy: str):
    return lambda oc: sweep_dvr(oc, policy)


def _reduction(policy: str, baseline: str):
    def compute(oc: Outcome) -> float:
        base = sweep_mean(oc, baseline, "small_rt_s.mean")
        return 1.0 - sweep_mean(oc, policy, "small_rt_s.mean") / base

    return compute


def _pub_reduction(scenario: str, policy: str, baseline: str) -> float:
    t = TABLES[scenario]
    return round(1.0 - t[policy]["small_rt_s"] / t[baseline]["small_rt_s"], 4)


def _source(scenario: str, what: str) -> str:
    return (
        f"artifact results/tables/{_TABLE_FILE[scenario]}_run_data_avg.csv ({what}; "
        f"paper table '{SCENARIOS[scenario]}'). Drivers: {DRIVERS[scenario]}"
    )


def _published(scenario: str, policy: str, key: str) -> float | None:
    v = TABLES.get(scenario, {}).get(policy, {}).get(key)
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


def _claims() -> list[Claim]:
    out: list[Claim] = []
    for sc, label in SCENARIOS.items():
        for pol in SCHEDULER_NAMES:
            out.append(
                Claim(
                    id=f"uwfq.{sc}.{pol}.mean_rt_s",
                    description=f"{label}, {pol}: mean job response time",
                    experiment=sc,
                    unit="s",
                    compute=_metric(pol, "rt_s.mean"),
                    published=_published(sc, pol, "mean_rt_s"),
                    source=_source(sc, "column 'average response time'")
                    + deviation_note(sc, pol, "mean_rt_s"),
                )
            )
            out.append(
                Claim(
                    id=f"uwfq.{sc}.{pol}.small_rt_s",
                    description=f"{label}, {pol}: mean RT of the 80% shortest jobs",
                    experiment=sc,
                    unit="s",
                    compute=_metric(pol, "small_rt_s.mean"),
                    published=_published(sc, pol, "small_rt_s"),
                    source=_source(sc, "column 'average response time (worst80)' = 0-80%")
                    + deviation_note(sc, pol, "small_rt_s"),
                )
            )
        for pol in SCHEDULER_NAMES:
            if pol in ("ujf", "ujf_p"):
                continue
            ref = "UJF-P" if pol.endswith("_p") else "UJF"
            out.append(
                Claim(
                    id=f"uwfq.{sc}.{pol}.dvr",
                    description=f"{label}, {pol}: deadline violation ratio against {ref}",
                    experiment=sc,
                    unit="",
                    compute=_dvr(pol),
                    published=_published(sc, pol, "dvr"),
                    source=_source(sc, f"column 'Total DVR', against the first {ref} run")
                    + deviation_note(sc, pol, "dvr"),
                )
            )
    out.append(
        Claim(
            id="uwfq.small_rt_reduction.google_homo.uwfq_p_vs_ujf_p",
            description="homogeneous Google benchmark: small-job RT reduction of UWFQ-P "
            "over UJF-P (the abstract's 'up to 74%')",
            experiment="google_homo",
            unit="",
            compute=_reduction("uwfq_p", "ujf_p"),
            published=_pub_reduction("google_homo", "uwfq_p", "ujf_p"),
            source="abstract ('up to 74%'); artifact homo_macro table: 1 - 6.05 s / 23.02 s. "
            f"Drivers: {DRIVERS['google_homo']}",
        )
    )
    for sc in ("google_homo", "google_hetero"):
        out.append(
            Claim(
                id=f"uwfq.small_rt_reduction.{sc}.uwfq_p_vs_fair",
                description=f"{SCENARIOS[sc]}: small-job RT reduction of UWFQ-P over Fair",
                experiment=sc,
                unit="",
                compute=_reduction("uwfq_p", "fair"),
                published=_pub_reduction(sc, "uwfq_p", "fair"),
                source=f"artifact {_TABLE_FILE[sc]} table, 0-80% column. Drivers: {DRIVERS[sc]}",
            )
        )
    return out


PAPER = register_paper(
    Paper(
        id="uwfq",
        title="UWFQ: fair multi-user scheduling of Spark jobs with runtime partitioning "
        "(Kazemaks et al., SoCC '25 / arXiv 2510.15485)",
        section="the authors' artifact result tables (means of 3 runs, kazemaksOG/"
        "spark-benchmark-tool @8d07df3, results/tables/); published values are measured on "
        "a 32-core Spark 3.5.5 cluster, simulated ones on the model of models/spark "
        "(assumptions and their sources: models/spark/NOTES.md)",
        experiments=[
            *SCENARIOS,
            "isolated",
            "sensitivity_overhead",
            "sensitivity_skew",
            "sensitivity_estimator",
            "sensitivity_noise",
        ],
        claims=_claims(),
    )
)
