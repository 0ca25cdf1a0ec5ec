"""The ``sim`` command.

    sim run FILE [--set K=V ...] [--out DIR] [--seed N] [--quick] [--trace]
    sim sweep FILE [--set K=V ...] [--workers N] [--dask local|ADDRESS] [--out DIR] [--quick]
    sim validate FILE [--set K=V ...]
    sim list
    sim reproduce PAPER|all [--quick] [--out DIR] [--workers N] | sim reproduce --list
    sim bench [--quick] [--out DIR]
    sim <package command> ...       (entry-point group sim.commands: e.g. sim trace, sim llm)

User errors print one line and exit with code 2; anything else is a bug (exit 1).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from sim.errors import UserError


def _progress_bar(desc: str, total: int | None = None):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="run", file=sys.stderr, leave=False, disable=None)


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="experiment YAML file")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a key, e.g. --set params.servers=4 (repeatable)",
    )
    p.add_argument("--seed", type=int, default=None, help="override the base seed")
    p.add_argument("--quick", action="store_true", help="apply the file's quick: overrides")


def cmd_run(args) -> int:
    from sim import experiment
    from sim.runner import run_experiment

    exp = experiment.load(args.file, args.overrides, seed=args.seed, quick=args.quick)
    exp.check_inputs()
    if args.trace:
        exp.config.outputs.trace = True
    out = _out_dir(args.out, Path("results") / exp.config.name)
    bar = None
    if exp.config.replications > 1:
        bar = _progress_bar("replications", exp.config.replications)

    def tick(done, total):
        bar.n = done
        bar.refresh()

    try:
        result = run_experiment(
            exp, out, quick=args.quick, progress=tick if bar else None, max_wall_s=args.max_run_s
        )
    finally:
        if bar:
            bar.close()
    m = result.manifest
    print(f"{exp.config.name}: {exp.config.model}, seed {exp.config.seed}, "
          f"{m['event_count']:,} events in {m['wall_time_s']:.2f} s wall, "
          f"{m['simulated_time_s']:.6g} s simulated")  # fmt: skip
    _print_summary(result.summary)
    nan = m.get("nan_metrics") or {}
    if nan:
        first = next(iter(nan.items()))
        print(f"note: {len(nan)} metric(s) are empty (null in summary.json), e.g. "
              f"{first[0]}: {first[1]}; manifest.json lists them")  # fmt: skip
    print(f"results: {out}/ (summary.json, manifest.json, config.yaml)")
    return 0


def _out_dir(given: str | None, default: Path) -> Path:
    """The results folder: ``--out`` if given (checked), else ``default`` (checked)."""
    from sim.results import check_out_dir

    return check_out_dir(default if given is None else given)


MAX_WORKERS = 256


def _workers(value: str) -> int:
    """argparse type of --workers: an integer in 1..MAX_WORKERS."""
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {value!r}") from None
    if not 1 <= n <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_WORKERS}, got {n}")
    return n


def _seconds(value: str) -> float:
    """argparse type of a time limit: a positive, finite number of seconds."""
    import math

    try:
        x = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not (math.isfinite(x) and 0 < x <= 1e7):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {value}")
    return x


def _print_summary(summary: dict[str, float], limit: int = 24) -> None:
    keys = [k for k in summary if not k.endswith(".ci95")]
    width = max((len(k) for k in keys[:limit]), default=0)
    for k in keys[:limit]:
        ci = summary.get(f"{k}.ci95")
        extra = f"  ± {ci:.4g}" if ci is not None else ""
        print(f"  {k:<{width}}  {summary[k]:.6g}{extra}")
    if len(keys) > limit:
        print(f"  ... {len(keys) - limit} more in summary.json")


def cmd_sweep(args) -> int:
    from sim import experiment
    from sim.sweep import run_sweep

    exp = experiment.load(args.file, args.overrides, seed=args.seed, quick=args.quick)
    out = _out_dir(args.out, Path("results") / exp.config.name)
    if args.dask is not None:
        from sim.sweep import check_dask_address

        check_dask_address(args.dask)
    bar = _progress_bar("sweep")

    def tick(done, total):
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        res = run_sweep(
            args.file,
            out,
            args.overrides,
            workers=args.workers,
            dask=args.dask,
            seed=args.seed,
            quick=args.quick,
            progress=tick,
            max_wall_s=args.max_run_s,
            dask_timeout_s=args.dask_timeout,
        )
    finally:
        bar.close()
    print(f"{exp.config.name}: {len(res.table)} runs ({res.ran} ran, {res.skipped} already "
          f"done, {res.failed} failed)")  # fmt: skip
    print(f"results: {out}/sweep.parquet (one row per run), {out}/runs/")
    for fig in res.figures:
        print(f"figure: {fig}")
    if res.failed:
        errors = res.table.loc[res.table["status"] != "ok", ["run_id", "error"]]
        for run_id, err in errors.head(5).itertuples(index=False):
            print(f"  failed {run_id}: {err}", file=sys.stderr)
        return 1
    return 0


def cmd_validate(args) -> int:
    from sim.sweep import validate_all

    exp, n = validate_all(args.file, args.overrides, seed=args.seed, quick=args.quick)
    print(f"{args.file}: valid ({exp.config.model}; {n:,} run{'s' if n != 1 else ''}, "
          "every sweep point and data file checked)")  # fmt: skip
    return 0


def cmd_list(_args) -> int:
    from sim import registry
    from sim.reproduce import papers

    aliases: dict[str, list[str]] = {}
    for alias, target in registry.aliases().items():
        aliases.setdefault(target, []).append(alias)
    print("models:")
    for name, cls in registry.models_().items():
        also = f" (also: {', '.join(aliases[name])})" if name in aliases else ""
        print(f"  {name:<28} {cls.description}{also}")
        for slot_name, slot in cls.slots.items():
            default = slot.default or "none"
            print(f"    slot {slot_name}: {slot.domain} (default {default}) {slot.description}")
        if cls.workload_required:
            print("    needs a workload")
    print("policies:")
    for (domain, name), cls in registry.policies().items():
        print(f"  {domain + '/' + name:<28} {cls.description}")
    wl = registry.workloads()
    if wl:
        print("workloads:")
        for name, cls in wl.items():
            print(f"  {name:<28} {cls.description}")
    print("papers (sim reproduce):")
    for pid, paper in papers().items():
        print(f"  {pid:<28} {paper.title}")
    failed = registry.failures()
    if failed:
        print("failed to load:")
        for name, err in failed.items():
            print(f"  {name}: {err}")
    return 0


def cmd_reproduce(args) -> int:
    from sim.reproduce import get_paper, papers, reproduce

    if args.list:
        for pid, paper in papers().items():
            print(f"{pid}: {paper.title}")
            for c in paper.claims:
                pub = "" if c.published is None else f" (published {c.published:g} {c.unit})"
                print(f"  {c.id}: {c.description}{pub}")
        return 0
    if not args.paper:
        raise UserError("name a paper, or 'all' (sim reproduce --list shows them)")
    names = ["all"] if args.paper == "all" else [get_paper(args.paper).id]
    out = _out_dir(args.out, Path("results") / "reproduce")

    bar = None

    def note(msg: str) -> None:
        nonlocal bar
        if bar is not None:
            bar.close()
            bar = None
        print(msg, file=sys.stderr, flush=True)

    def sweep_tick(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = _progress_bar("  runs", total)
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        table = reproduce(names, out, quick=args.quick, workers=args.workers, progress=note,
                          sweep_progress=sweep_tick)  # fmt: skip
    finally:
        if bar is not None:
            bar.close()
    for row in table.itertuples(index=False):
        pub = "" if row.published is None or row.published != row.published else f"{row.published:.4g}"
        print(f"  {row.paper}/{row.claim_id}: simulated {row.simulated:.4g} {row.unit}"
              f"{' vs published ' + pub if pub else ''}")  # fmt: skip
    print(f"report: {out / 'REPORT.md'}  claims: {out / 'claims.csv'}")
    return 0


def cmd_bench(args) -> int:
    from sim.bench import run_all

    out = _out_dir(args.out, Path("."))
    results = run_all(quick=args.quick, out_dir=out, only=args.only)
    width = max(len(k) for k in results)
    print(f"{'benchmark':<{width}}  value")
    for key, value in results.items():
        shown = f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
        print(f"{key:<{width}}  {shown}")
    print(f"written: {out / 'bench.json'}")
    return 0


_CONTROL = {i: f"\\x{i:02x}" for i in (*range(32), 127)} | {10: "\\n", 13: "\\r", 9: "\\t"}


def one_line(text: str, limit: int = 600) -> str:
    """``text`` on one line: control characters escaped, at most ``limit`` characters."""
    flat = text.translate(_CONTROL)
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``error: <problem> (see: sim <command> --help)``."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"error: {one_line(message, 300)} (see: {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="sim", description=__doc__.split("\n")[0])
    from sim import __version__

    parser.add_argument("--version", action="version", version=f"sim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="run one experiment file")
    _add_common(p)
    p.add_argument("--out", help="results folder (default results/<name>)")
    p.add_argument("--trace", action="store_true", help="also write trace.json (Perfetto)")
    p.add_argument("--max-run-s", type=_seconds, default=None, metavar="S",
                   help="stop a replication that runs longer than S wall seconds (exit 2)")  # fmt: skip
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("sweep", help="run an experiment's sweep grid x replications")
    _add_common(p)
    p.add_argument("--out", help="results folder (default results/<name>)")
    p.add_argument("--workers", type=_workers, default=min(os.cpu_count() or 1, MAX_WORKERS),
                   help=f"local processes (1..{MAX_WORKERS}; default: the CPU count)")  # fmt: skip
    p.add_argument("--dask", metavar="local|ADDRESS", help="run on Dask (tcp://host:8786)")
    p.add_argument("--dask-timeout", type=_seconds, default=10.0, metavar="S",
                   help="give up on a Dask scheduler that does not answer in S s (default 10)")  # fmt: skip
    p.add_argument("--max-run-s", type=_seconds, default=None, metavar="S",
                   help="record a run that takes longer than S wall seconds as failed")  # fmt: skip
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("validate", help="check an experiment file without running it")
    _add_common(p)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("list", help="list registered models, policies, workloads, papers")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("reproduce", help="reproduce a paper's claims -> REPORT.md, claims.csv")
    p.add_argument("paper", nargs="?", help="paper id, or 'all'")
    p.add_argument("--list", action="store_true", help="list papers and their claims")
    p.add_argument("--quick", action="store_true", help="short runs")
    p.add_argument("--out", help="output folder (default results/reproduce)")
    p.add_argument("--workers", type=_workers, default=min(os.cpu_count() or 1, MAX_WORKERS),
                   help=f"local processes for sweeps (1..{MAX_WORKERS})")  # fmt: skip
    p.set_defaults(func=cmd_reproduce)

    p = sub.add_parser("bench", help="benchmarks, as ratios to baselines run alongside")
    p.add_argument("--quick", action="store_true", help="small sizes")
    p.add_argument("--out", help="folder for bench.json (default: current folder)")
    p.add_argument("--only", action="append", help="run only these benchmark groups")
    p.set_defaults(func=cmd_bench)
    _add_plugin_commands(sub)
    return parser


COMMANDS_GROUP = "sim.commands"


def _add_plugin_commands(sub) -> None:
    """Subcommands from packages: each entry point of group ``sim.commands`` names a
    function ``add_parser(subparsers)`` that adds one subcommand (``sim trace ...``,
    ``sim llm ...``) with ``set_defaults(func=handler)``; the handler takes the parsed
    arguments and returns an exit code. A package whose command fails to load is skipped
    (``sim list`` shows the error)."""
    import importlib.metadata

    from sim import registry

    for ep in importlib.metadata.entry_points(group=COMMANDS_GROUP):
        try:
            ep.load()(sub)
        except Exception as exc:
            registry._FAILED[f"command {ep.name}"] = f"{type(exc).__name__}: {exc}".splitlines()[0]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a one-line usage error
        return int(exc.code or 0) if isinstance(exc.code, int | None) else 2
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
