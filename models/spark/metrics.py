"""The paper's metrics over a run's job groups.

Response time (RT) of a job group: last completion minus first submission of its Spark jobs
(the artifact reads both from Spark's history server). Over a run
(``results/visualize_results.py``, ``utility.py`` of the artifact):

* ``rt_s.mean``; ``small_rt_s.mean``: mean of the 80% shortest RTs, the paper's "small
  jobs" (``floor(0.8 n)`` of them); ``rt_80_95_s.mean``: the next ones up to
  ``floor(0.95 n)``; ``rt_95_100_s.mean``: the rest; ``worst10_rt_s.mean``: mean of the
  ``max(1, int(0.1 n))`` largest;
* per user and per class means; proportional slowdown = RT / isolated RT of the class
  (1 for trace jobs, as in the paper's macro-benchmarks);
* fairness against a reference run under UJF (UJF-P for the "-P" schedulers): for each
  job, ``ratio = (end offset here - end offset in the reference) / reference RT``, offsets
  from each run's first submission; ``dvr`` = mean of the positive ratios (a job later than
  under user-fair sharing: a violation) with ``dvr_count``; ``dsr`` = mean of the others
  (slack) with ``dsr_count``.

The artifact's scripts match a job to a user when the user's name is a *substring* of the
job-group id, so in runs with ten or more users the jobs of ``user_10..19`` also count for
``user_1`` (and ``user_20..`` for ``user_2``), and their DVR lists are not reset between
users. The metrics here match users exactly and count every job once.
:func:`authors_matching` rebuilds the artifact's duplicated job list, only to show how much
that changes its published means (``*.authors_matching`` keys).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

BANDS = ("rt_s.mean", "small_rt_s.mean", "rt_80_95_s.mean", "rt_95_100_s.mean",
         "worst10_rt_s.mean")  # fmt: skip


def _mean(a: np.ndarray) -> float:
    return float(a.mean()) if a.size else math.nan


def rt_bands(values, suffix: str = "") -> dict[str, float]:
    """Mean, shortest-80%, 80-95%, top-5% and worst-10% means of ``values`` (keys
    :data:`BANDS`, each followed by ``suffix``)."""
    s = np.sort(np.asarray(values, dtype=float))
    n = s.size
    n80, n95 = int(math.floor(0.8 * n)), int(math.floor(0.95 * n))
    n10 = max(1, int(n * 0.1)) if n else 0
    values = (_mean(s), _mean(s[:n80]), _mean(s[n80:n95]), _mean(s[n95:]),
              _mean(s[n - n10 :]) if n else math.nan)  # fmt: skip
    return {k + suffix: v for k, v in zip(BANDS, values, strict=True)}


def fairness(jobs: pd.DataFrame, reference: pd.DataFrame) -> dict[str, float]:
    """DVR/DSR of ``jobs`` against ``reference`` (both with ``key``, ``submit_s``,
    ``end_s``, ``rt_s``), jobs matched by key."""
    ref = reference.set_index("key")
    here = jobs.set_index("key")
    common = here.index.intersection(ref.index)
    if common.empty:
        return {"dvr": math.nan, "dvr_count": 0.0, "dsr": math.nan, "dsr_count": 0.0}
    off_here = here.loc[common, "end_s"] - here["submit_s"].min()
    off_ref = ref.loc[common, "end_s"] - ref["submit_s"].min()
    ratio = ((off_here - off_ref) / ref.loc[common, "rt_s"]).to_numpy(dtype=float)
    pos, neg = ratio[ratio > 0], ratio[ratio <= 0]
    return {
        "dvr": _mean(pos),
        "dvr_count": float(pos.size),
        "dsr": _mean(neg),
        "dsr_count": float(neg.size),
    }


def sweep_fairness(table: pd.DataFrame, out_dir) -> pd.DataFrame:
    """DVR/DSR of every finished run of a scheduler sweep against the sweep's first UJF run
    (replication 0; UJF-P for the "-P" schedulers), as the artifact computes them, read from
    the runs' job tables (``runs/<run_id>/spark.cluster.jobs.parquet``). One row per run:
    ``run_id``, ``policy``, ``replication``, ``dvr``, ``dvr_count``, ``dsr``, ``dsr_count``."""
    from pathlib import Path

    ok = table[table["status"] == "ok"] if "status" in table else table
    key = (str(out_dir), tuple(ok["run_id"]))
    if key not in _FAIRNESS:
        _FAIRNESS.clear()
        _FAIRNESS[key] = _sweep_fairness(ok, Path(out_dir))
    return _FAIRNESS[key]


_FAIRNESS: dict = {}


def _sweep_fairness(ok: pd.DataFrame, out_dir) -> pd.DataFrame:
    def jobs_of(run_id) -> pd.DataFrame | None:
        path = out_dir / "runs" / str(run_id) / "spark.cluster.jobs.parquet"
        return pd.read_parquet(path) if path.exists() else None

    refs = {}
    for base in ("ujf", "ujf_p"):
        rows = ok[ok["policies.scheduler"] == base].sort_values("replication")
        if len(rows):
            refs[base] = jobs_of(rows.iloc[0]["run_id"])
    frame = ok[["run_id", "policies.scheduler", "replication"]].rename(
        columns={"policies.scheduler": "policy"}
    )
    values = []
    for run_id, policy in zip(frame["run_id"], frame["policy"], strict=True):
        ref = refs.get("ujf_p" if str(policy).endswith("_p") else "ujf")
        jobs = jobs_of(run_id)
        if ref is None or jobs is None:
            values.append({"dvr": math.nan, "dvr_count": math.nan, "dsr": math.nan,
                           "dsr_count": math.nan})  # fmt: skip
        else:
            values.append(fairness(jobs, ref))
    return pd.concat([frame.reset_index(drop=True), pd.DataFrame(values)], axis=1)


def authors_matching(jobs: pd.DataFrame, users: list[str]) -> np.ndarray:
    """RTs as the artifact's scripts collect them: for every user name, every job whose
    group id contains that name (so some jobs appear more than once)."""
    keys = jobs["key"].astype(str).to_numpy()
    rts = jobs["rt_s"].to_numpy(dtype=float)
    out = [rts[i] for u in users for i in range(len(keys)) if u in keys[i]]
    return np.asarray(out, dtype=float)


def job_metrics(
    jobs: pd.DataFrame,
    isolated_rt_s: dict[str, float] | None = None,
    users: list[str] | None = None,
) -> dict[str, float]:
    """The flat metrics of one run (see the module docstring)."""
    out: dict[str, float] = {}
    if jobs.empty:
        return {"jobs": 0.0}
    rt = jobs["rt_s"].to_numpy(dtype=float)
    out.update(rt_bands(rt))
    out["makespan_s"] = float(jobs["end_s"].max() - jobs["submit_s"].min())
    out["jobs"] = float(len(jobs))
    out["rt_s.p50"] = float(np.percentile(rt, 50))
    out["rt_s.p99"] = float(np.percentile(rt, 99))
    out["rt_s.max"] = float(rt.max())
    for user, grp in jobs.groupby("user", sort=False):
        out[f"rt_s.user.{user}.mean"] = float(grp["rt_s"].mean())
    for cls, grp in jobs.groupby("job_class", sort=False):
        out[f"rt_s.class.{cls}.mean"] = float(grp["rt_s"].mean())
    base = jobs["job_class"].map(lambda c: (isolated_rt_s or {}).get(c, 1.0)).to_numpy(float)
    slow = rt / base
    out["slowdown.mean"] = float(slow.mean())
    n10 = max(1, int(slow.size * 0.1))
    out["slowdown.worst10"] = float(np.sort(slow)[-n10:].mean())
    if users is not None:
        dup = authors_matching(jobs, users)
        if dup.size != rt.size:
            out.update(rt_bands(dup, ".authors_matching"))
            out["jobs.authors_matching"] = float(dup.size)
    return out
