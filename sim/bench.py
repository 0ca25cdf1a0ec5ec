"""``sim bench``: run the registered benchmark groups and merge their numbers into bench.json.

Groups come from the entry-point group ``sim.bench`` (``name = "module:function"``, the
function taking ``quick: bool`` and returning ``{key: number}``); this project's own live in
the ``sim_bench`` package. Each reports ratios to baselines run in the same process, since
absolute speeds differ between machines.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from pathlib import Path


def _groups() -> dict[str, Callable[[bool], dict[str, float]]]:
    """Benchmark groups by name: the entry points of group ``sim.bench`` (this project's
    own are declared in pyproject.toml; another distribution can add its own)."""
    from sim.registry import benchmarks

    return benchmarks()


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
