"""Benchmarks behind ``sim bench``: each reports ratios to baselines run in the same process.

Groups: ``mmc`` (engine overhead on an M/M/c queue) and, when the hardware models are
present, ``network`` (max-min recomputation and a 1,024-rank ring all-reduce).
"""

from __future__ import annotations

import importlib
import platform
import time
from collections.abc import Callable
from pathlib import Path


def _groups() -> dict[str, Callable[[bool], dict[str, float]]]:
    groups: dict[str, Callable[[bool], dict[str, float]]] = {}
    from bench.bench_mmc import bench_mmc

    groups["mmc"] = bench_mmc
    try:
        net = importlib.import_module("bench.bench_network")
    except ImportError:
        return groups
    if hasattr(net, "bench_maxmin"):
        groups["maxmin"] = lambda quick: net.bench_maxmin(quick=quick)
    if hasattr(net, "bench_allreduce_1024"):
        groups["allreduce"] = lambda quick: net.bench_allreduce_1024(quick=quick)
    return groups


def run_all(quick: bool = False, out_dir: Path | None = None, only=None) -> dict[str, float]:
    """Run the benchmark groups (all, or ``only``) and write ``out_dir/bench.json``."""
    from sim.errors import UserError, did_you_mean
    from sim.results import read_json, write_json

    groups = _groups()
    for name in only or []:
        if name not in groups:
            raise UserError(f"unknown benchmark {name!r}{did_you_mean(name, groups)}",
                            where="--only")  # fmt: skip
    results: dict[str, float] = {}
    for name, fn in groups.items():
        if only and name not in only:
            continue
        t0 = time.perf_counter()
        results.update(fn(quick))
        results[f"{name}.bench_wall_s"] = time.perf_counter() - t0
    results["quick"] = float(quick)
    if out_dir is not None:
        path = Path(out_dir) / "bench.json"
        previous = read_json(path) if path.exists() else {}
        merged = {**previous, **results, "machine": platform.machine(),
                  "python": platform.python_version()}  # fmt: skip
        write_json(path, merged)
    return results
