"""``sim trace``: generate traces in the Huawei release's schema, and analyse any folder in
that schema.

    sim trace generate huawei --region R2 --days 1 --functions 500 --seed 1 --out DIR
    sim trace generate huawei --region all --hours 2 --start-hour 10 --out DIR --compress
    sim trace stats DIR [--out OUT] [--lenient] [--regions R1,R2]

``generate`` runs the calibrated generator's requests through the platform model and
writes cold_start, per_request, quantiles and runtime_triggerType tables
(:mod:`.writer`). ``stats`` draws the paper's figures and writes their numbers
(:mod:`.analysis.stats`). Bad input prints one line naming the file and line and exits 2.
"""

from __future__ import annotations

import argparse
import sys

from sim.errors import ConfigError

from . import calibration as cal


def add_parser(subparsers) -> None:
    trace = subparsers.add_parser("trace", help="generate and analyse serverless traces (Huawei 2025 schema)")  # fmt: skip
    sub = trace.add_subparsers(dest="trace_command", required=True)

    g = sub.add_parser("generate", help="generate a calibrated trace in the release's layout")
    g.add_argument("format", choices=["huawei"], help="trace format (huawei: the 2025 release)")
    g.add_argument("--region", default="R2", help="R1..R5, a comma list, or all (default R2)")
    g.add_argument("--days", type=float, default=1.0, help="days to generate (default 1)")
    g.add_argument("--hours", type=float, default=None, help="hours instead of days")
    g.add_argument("--start-day", type=int, default=0, help="first day (default 0)")
    g.add_argument("--start-hour", type=float, default=0.0, help="hour the window starts (default 0)")  # fmt: skip
    g.add_argument("--functions", type=int, default=None, help="functions per region (default: the published counts)")  # fmt: skip
    g.add_argument("--function-scale", type=float, default=1.0, help="multiplies the default counts")  # fmt: skip
    g.add_argument("--seed", type=int, default=1, help="seed (default 1)")
    g.add_argument("--max-rate", type=float, default=0.2, help="cap of a function's mean rate, 1/s (default 0.2)")  # fmt: skip
    g.add_argument("--per-request-fraction", type=float, default=1.0, help="share of functions whose requests are written (default 1)")  # fmt: skip
    g.add_argument("--compress", action="store_true", help="write .csv.gz files")
    g.add_argument("--metrics", default=None, help="quantile folders besides the counts, comma list (default: runtimeCost_avg/_std and the cold-start parts' _avg)")  # fmt: skip
    g.add_argument("--out", required=True, help="output folder")
    g.set_defaults(func=cmd_generate)

    s = sub.add_parser("stats", help="the paper's statistics and figures from a folder in the release's layout")  # fmt: skip
    s.add_argument("folder", help="a folder in the release's layout (real or generated)")
    s.add_argument("--out", default=None, help="output folder (default: results/trace-stats)")
    s.add_argument("--regions", default=None, help="comma list of regions (default: all found)")
    s.add_argument("--lenient", action="store_true", help="skip and count bad rows instead of failing")
    s.add_argument("--keepalive-s", type=float, default=cal.KEEPALIVE_S, help="keep-alive assumed for pod deletion (default 60)")  # fmt: skip
    s.add_argument("--no-figures", action="store_true", help="write stats.json only")
    s.add_argument("--max-rows", type=int, default=2_000_000, help="cold starts kept per region for distributions (default 2e6)")  # fmt: skip
    s.set_defaults(func=cmd_stats)


def _regions(text: str) -> list[str]:
    if text.strip().lower() == "all":
        return list(cal.REGIONS)
    regions = [r.strip() for r in text.split(",") if r.strip()]
    bad = [r for r in regions if r not in cal.REGIONS]
    if bad or not regions:
        raise ConfigError(f"unknown region {bad[0] if bad else text!r}; use R1..R5, a comma list or all",
                          where="--region")  # fmt: skip
    return regions


def _check_positive(name: str, value, upper: float) -> None:
    if value is not None and not (0 < value <= upper):
        raise ConfigError(f"must be in (0, {upper:g}], got {value:g}", where=name)


def cmd_generate(args) -> int:
    from .writer import GenerateOptions, generate_huawei

    regions = _regions(args.region)
    _check_positive("--days", args.days, 62)
    _check_positive("--hours", args.hours, 24 * 62)
    _check_positive("--max-rate", args.max_rate, 1e4)
    _check_positive("--function-scale", args.function_scale, 10)
    if args.functions is not None and not 1 <= args.functions <= 1_000_000:
        raise ConfigError("must be between 1 and 1,000,000", where="--functions")
    if not 0 <= args.per_request_fraction <= 1:
        raise ConfigError("must be between 0 and 1", where="--per-request-fraction")
    if not 0 <= args.start_hour < 24 or not 0 <= args.start_day <= 365:
        raise ConfigError("start hour in [0, 24), start day in [0, 365]", where="--start-hour/--start-day")  # fmt: skip
    if args.seed < 0:
        raise ConfigError("must be >= 0", where="--seed")
    opts = GenerateOptions(regions=regions, start_day=args.start_day, days=args.days,
                           start_hour=args.start_hour, hours=args.hours, functions=args.functions,
                           function_scale=args.function_scale, seed=args.seed,
                           max_rate_per_s=args.max_rate,
                           per_request_fraction=args.per_request_fraction, compress=args.compress)  # fmt: skip
    if args.metrics is not None:
        from .writer import SOURCES

        metrics = tuple(m.strip() for m in args.metrics.split(",") if m.strip())
        for m in metrics:
            metric, _, stat = m.rpartition("_")
            if metric not in SOURCES or stat not in ("avg", "std"):
                raise ConfigError(f"cannot write {m!r}: use <metric>_avg or _std with metric in "
                                  f"{', '.join(SOURCES)}", where="--metrics")  # fmt: skip
        opts.metrics = metrics
    result = generate_huawei(args.out, opts, progress=lambda m: print(m, file=sys.stderr))
    print(f"{result['requests']:,} requests, {result['cold_starts']:,} cold starts; "
          f"{result['files']} files in {result['out']}")  # fmt: skip
    return 0


def cmd_stats(args) -> int:
    from pathlib import Path

    from .analysis.stats import trace_stats

    regions = _regions(args.regions) if args.regions else None
    out = Path(args.out or Path("results") / "trace-stats")
    report = trace_stats(args.folder, out, regions=regions, lenient=args.lenient,
                         keepalive_s=args.keepalive_s, max_rows=args.max_rows,
                         progress=lambda m: print(m, file=sys.stderr),
                         figures=not args.no_figures)  # fmt: skip
    for line in report.lines:
        print(line)
    return 0


__all__ = ["add_parser", "argparse"]
