"""Combining the runs of a replay sharded by function (``params.shard`` / ``params.shards``
of ``serverless.platform``, one shard per sweep point, on any sweep backend).

Shards partition the functions (a stable hash of region and key), and each function's
pods depend only on its own requests and its own random stream when the keep-alive policy
does not couple functions, pools are unlimited and the scheduler does not queue (the
platform refuses to shard otherwise). So the whole run's additive metrics are the sums of
the shards', and its rates the ratios of those sums.
"""

from __future__ import annotations

import pandas as pd

from sim.stats import ok_rows

#: Summary metrics that add up over shards.
ADDITIVE = ("requests", "cold_starts", "prewarm_pods", "pods_created", "idle_pod_s",
            "wasted_gb_s", "remote_requests")  # fmt: skip


def combine_shards(table: pd.DataFrame) -> dict[str, float]:
    """The metrics of the whole replay from a sweep table with one row per shard."""
    rows = ok_rows(table)
    if "params.shard" in rows and rows["params.shard"].duplicated().any():
        raise ValueError("a shard appears twice in the table")
    out = {k: float(rows[k].sum()) for k in ADDITIVE if k in rows}
    if out.get("requests"):
        out["cold_start_rate"] = out["cold_starts"] / out["requests"]
        if "added_latency_s.mean" in rows:
            out["added_latency_s.mean"] = float(
                (rows["added_latency_s.mean"] * rows["requests"]).sum() / out["requests"])
    out["shards"] = float(len(rows))
    return out
