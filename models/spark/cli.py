"""``sim spark``: the Spark package's command line.

    sim spark cut-window TASK_EVENTS... --start-s S [--period-s 500] --out EXCERPT.csv
        cut a window of job submissions from Google 2011 ``task_events`` files (gzip or
        plain CSV) into a WTA-format excerpt, which the ``spark.google_window`` workload
        replays with the paper's scaling rules
    sim spark window EXCERPT.csv [--window hetero|homo|custom] [--scaling X]
                     [--filter-large F]
        what the scaling rules make of an excerpt: users, job groups, Spark queries and
        their total nominal runtime, as one JSON object
    sim spark scenarios
        the bundled scenario files and their users, jobs and loops

Registered through the entry-point group ``sim.commands`` (``add_parser``).
"""

from __future__ import annotations

import argparse
import json


def _positive(text: str) -> float:
    value = float(text)
    if not 0 < value <= 1e9:
        raise argparse.ArgumentTypeError(f"must be in (0, 1e9], got {value}")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1e9:
        raise argparse.ArgumentTypeError(f"must be in [0, 1e9], got {value}")
    return value


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("spark", help="Spark/UWFQ tools: cut Google trace windows, scenarios")
    sub = p.add_subparsers(dest="spark_command", required=True)

    cw = sub.add_parser("cut-window", help="Google 2011 task_events -> a WTA-format excerpt")
    cw.add_argument("task_events", nargs="+", help="task_events CSV files (.csv or .csv.gz)")
    cw.add_argument("--start-s", type=_seconds, required=True, help="window start (trace seconds)")
    cw.add_argument("--period-s", type=_positive, default=500.0, help="window length (default 500)")
    cw.add_argument("--out", required=True, help="excerpt CSV to write")
    cw.set_defaults(func=cmd_cut_window)

    wi = sub.add_parser("window", help="an excerpt under the paper's scaling rules, as JSON")
    wi.add_argument("excerpt", help="WTA-format excerpt CSV")
    wi.add_argument("--window", choices=["hetero", "homo", "custom"], default="custom")
    wi.add_argument("--scaling", type=_positive, default=None, help="SCALING (default: window's)")
    wi.add_argument("--filter-large", type=_positive, default=None,
                    help="drop workflows >= this x the median length")  # fmt: skip
    wi.set_defaults(func=cmd_window)

    sc = sub.add_parser("scenarios", help="the bundled scenario files")
    sc.set_defaults(func=cmd_scenarios)


def cmd_cut_window(args) -> int:
    from .google import read_task_events, write_wta

    frame = read_task_events(args.task_events, args.start_s, args.period_s)
    path = write_wta(frame, args.out)
    print(
        f"{len(frame):,} tasks of {frame['workflow_id'].nunique() if len(frame) else 0:,} jobs "
        f"({frame['user_id'].nunique() if len(frame) else 0} users) -> {path}"
    )
    return 0


def window_summary(path, window: str = "custom", scaling=None, filter_large=None) -> dict:
    """Users, job groups, queries and nominal runtimes of an excerpt under the rules."""
    import numpy as np

    from .google import read_wta
    from .workloads import _TraceScaling

    rules = _TraceScaling(window=window, scaling=scaling, filter_large_factor=filter_large)
    scale, filt = rules.rules()
    from .google import scale_window

    jobs, users = scale_window(read_wta(path), scale, filter_large_factor=filt)
    lengths = np.array([j.job_runtime_s for j in jobs]) if jobs else np.zeros(0)
    return {
        "scaling": scale,
        "filter_large_factor": filt,
        "users": len(users),
        "users_with_jobs": len({j.user for j in jobs}),
        "job_groups": len(jobs),
        "spark_queries": sum(len(j.task_runtimes_s) for j in jobs),
        "job_runtime_s.sum": float(lengths.sum()),
        "job_runtime_s.median": float(np.median(lengths)) if lengths.size else 0.0,
        "job_runtime_s.max": float(lengths.max()) if lengths.size else 0.0,
        "arrivals_s.span": max((j.start_s for j in jobs), default=0.0),
    }


def cmd_window(args) -> int:
    print(json.dumps(window_summary(args.excerpt, args.window, args.scaling, args.filter_large),
                     indent=2))  # fmt: skip
    return 0


def cmd_scenarios(args) -> int:
    from .workloads import bundled_scenarios, load_scenario, scenario_plan

    for name in bundled_scenarios():
        spec = load_scenario(name)
        plan = scenario_plan(spec, "authors")
        print(f"{name}: {plan.jobs} jobs, {len(spec.users)} users")
        for user in spec.users:
            parts = [f"{s.jobs} x {s.job_class} ({s.loop}, {s.rate_per_min:g}/min, "
                     f"start {s.start_s:g} s)" for s in user.streams]  # fmt: skip
            print(f"  {user.name}: " + "; ".join(parts))
    return 0
