"""How a scan stage is cut into tasks: Spark's own file-split rule, or runtime partitioning.

Without a partitioner (Spark 3.5 file sources)
    Spark sizes file splits as ``totalBytes / minPartitionNum`` (capped by
    ``spark.sql.files.maxPartitionBytes``, 800 MB in the artifact's configuration, and
    floored by the 4 MB open cost), with ``minPartitionNum`` the default parallelism (the
    application's cores), and packs the files, largest first, into partitions
    (``FilePartition.maxSplitBytes`` / ``getFilePartitions``). The model therefore gives a scan
    ``min_partitions`` tasks (32 on the paper's cluster) [D]. The input is the NYC
    high-volume for-hire-vehicle trips of August 2024 written partitioned by pickup zone, so
    the splits are uneven: the model gives task ``i`` (launched in index order, largest
    first) the share ``w_i`` of the stage's work, ``w_i`` proportional to
    ``exp(sigma * z_i)`` with ``z_i`` the standard-normal quantiles at ``(i + 1/2)/n`` in
    decreasing order: lognormal quantiles, deterministic because every run reads the same
    files. ``sigma`` is an assumption [A] fixed once for all jobs (see ``calibration.py``).

With runtime partitioning (the paper's "-P" schedulers)
    * ``oracle`` (what every "-P" run used, ``OraclePartitioner.java``): a fixed count per
      class (loop1000 222, loop100 40, loop20 16, other classes 32; trace jobs
      ``4 + 1.832672 r^1.012495``), then Spark's minimum: ``max(minPartitionNum, count)``.
    * ``runtime`` (``RuntimePartitioner.java``): ``floor(estimated runtime / 0.5 s)`` tasks,
      Spark's minimum ignored.
    Both make equal byte splits, so the model gives the tasks equal shares [A].
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

#: Default task count of the oracle partitioner for classes it does not list.
ORACLE_DEFAULT_TASKS = 32
#: Target task length of the runtime partitioner (``MAX_TASK_RUNTIME``, 500 ms).
RUNTIME_TARGET_TASK_S = 0.5


@lru_cache(maxsize=256)
def skew_weights(n: int, sigma: float) -> np.ndarray:
    """Shares of a stage's work over ``n`` tasks, largest first: lognormal quantiles with
    shape ``sigma`` (all equal for ``sigma = 0``), summing to 1."""
    if n <= 0:
        raise ValueError("a stage needs at least one task")
    if sigma <= 0 or n == 1:
        w = np.full(n, 1.0 / n)
    else:
        from statistics import NormalDist

        inv = NormalDist().inv_cdf
        z = np.array([inv((i + 0.5) / n) for i in range(n - 1, -1, -1)])
        w = np.exp(sigma * z)
        w /= w.sum()
    w.setflags(write=False)
    return w


def spark_split_tasks(min_partitions: int) -> int:
    """Spark's task count for a scan without a partitioner (one split per core)."""
    return max(1, int(min_partitions))


def oracle_tasks(count: int | None, min_partitions: int) -> int:
    """The oracle partitioner: the class's count (default 32), at least Spark's minimum."""
    return max(int(min_partitions), int(count if count is not None else ORACLE_DEFAULT_TASKS))


def runtime_tasks(estimate_core_s: float, target_task_s: float = RUNTIME_TARGET_TASK_S) -> int:
    """The runtime partitioner: ``floor(estimate / target)`` tasks, at least one."""
    return max(1, int(estimate_core_s // target_task_s))


def scan_task_sizes(
    work_core_s: float,
    *,
    partitioning: str,
    min_partitions: int,
    skew_sigma: float,
    oracle_count: int | None = None,
    estimate_core_s: float | None = None,
    target_task_s: float = RUNTIME_TARGET_TASK_S,
    max_tasks: int = 100_000,
) -> np.ndarray:
    """Work (core-seconds) of each task of a scan stage, in launch order.

    ``partitioning``: ``"none"`` (Spark's split rule, skewed), ``"oracle"`` or
    ``"runtime"`` (equal shares). ``max_tasks`` caps the count (memory guard).
    """
    if partitioning == "none":
        n = spark_split_tasks(min_partitions)
        return work_core_s * skew_weights(min(n, max_tasks), float(skew_sigma))
    if partitioning == "oracle":
        n = oracle_tasks(oracle_count, min_partitions)
    elif partitioning == "runtime":
        est = work_core_s if estimate_core_s is None else estimate_core_s
        n = runtime_tasks(est, target_task_s)
    else:
        raise ValueError(f"unknown partitioning {partitioning!r}")
    n = min(n, max_tasks)
    return np.full(n, work_core_s / n)
