"""Writing a generated trace in the Huawei release's schema and folder layout.

``generate_huawei`` runs the calibrated generator's requests (:mod:`.generator`) through
the platform model (``serverless.platform``, SimPy engine, its default policies: 60 s
keep-alive, static pools) and writes what the release holds:

* ``cold_start/<R>/day_XX.csv``: one row per pod the platform created (so cold starts
  agree with arrivals and keep-alive by construction);
* ``per_request/<R>/part-00000-<tag>-c000.csv``: the requests of a share of the
  functions (``per_request_fraction``; the release subsamples too: Region 1 keeps the top
  100 pods per function, Region 3 is a subsample), with the platform's pod of each
  request; frontend, bus and worker overheads, CPU and memory use are drawn per function
  from small lognormals read off the release's example rows [A];
* ``quantiles/<R>/<folder>/day_XX.csv``: per-minute wide tables: the counts ``requests``,
  ``num_pods`` (pods alive during the minute), ``num_cold_starts``, and the averages and
  standard deviations of execution time and the cold-start parts;
* ``runtime_triggerType/<R>/df_funcID_runtime_triggerType.csv`` for every region (the
  release has Region 2's only, at ``runtime_triggerType/``; for Region 2 both are
  written).

Times are rounded as in the release: timestamps to ms, costs to µs (code and dependency
deployment to ms). Request IDs are 16 hex digits of the request's number (the release's
are hashes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.core import Simulation
from sim.results import _atomic

from . import calibration as cal
from .functions import stable_hash
from .results import cold_start_table
from .traces.huawei import COLD_START_SCHEMA, PER_REQUEST_COLUMNS, RUNTIME_TRIGGER_FILE

#: Metrics the writer can aggregate per function-minute (as <metric>_avg / <metric>_std).
SOURCES = ("runtimeCost", "totalCost_cold_start", "podAllocationCost", "deployCodeCost",
           "deployDependencyCost", "schedulingCost")  # fmt: skip
#: Quantile folders written besides the three counts.
DEFAULT_METRICS = (
    "runtimeCost_avg", "runtimeCost_std", "totalCost_cold_start_avg", "podAllocationCost_avg",
    "deployCodeCost_avg", "deployDependencyCost_avg", "schedulingCost_avg",
)  # fmt: skip


@dataclass
class GenerateOptions:
    regions: list[str] = field(default_factory=lambda: list(cal.REGIONS))
    start_day: int = 0
    days: float = 1.0
    start_hour: float = 0.0
    hours: float | None = None  # overrides days
    functions: int | None = None  # per region (default: the published counts)
    function_scale: float = 1.0
    seed: int = 1
    max_rate_per_s: float = 0.2
    per_request_fraction: float = 1.0
    compress: bool = False
    metrics: tuple[str, ...] = DEFAULT_METRICS


def _write_csv(path: Path, frame: pd.DataFrame, compress: bool, float_format=None) -> Path:
    if compress:
        path = path.with_name(path.name + ".gz")
    path.parent.mkdir(parents=True, exist_ok=True)

    def write(p: Path) -> None:
        frame.to_csv(p, index=False, float_format=float_format,
                     compression="gzip" if compress else None)  # fmt: skip

    return _atomic(path, write)


def generate_huawei(out: str | Path, opts: GenerateOptions, progress=None) -> dict:
    """Generate, simulate and write (see the module docstring); return a summary."""
    from .platform import Platform
    from .workloads import Synthetic

    out = Path(out)
    hours = opts.hours if opts.hours is not None else opts.days * 24.0
    functions = {r: opts.functions for r in opts.regions} if opts.functions else {}
    wl = Synthetic(Synthetic.Params(regions=opts.regions, start_day=opts.start_day,
                                    start_hour=opts.start_hour, hours=hours, functions=functions,
                                    function_scale=opts.function_scale,
                                    max_rate_per_s=opts.max_rate_per_s, seed=opts.seed))  # fmt: skip
    wl.keep_counts = True
    model = Platform(Platform.Params(record_requests=True, function_seed=opts.seed), workload=wl)
    sim = Simulation(opts.seed)
    model.attach(sim)
    model.build(sim)
    if progress:
        progress(f"simulating {len(wl.catalog)} functions over {hours:g} h")
    sim.run()
    model.finish()
    pods = model.records.frame()
    requests = model.requests_table.to_frame().sort_values("req", kind="stable")
    catalog = wl.catalog
    funcs = catalog.to_frame()
    first_min, n_min = wl.first_minute, wl.minutes
    counts = {pop.region: np.concatenate([c[i] for c in wl.minute_counts], axis=0)[:n_min]
              for i, pop in enumerate(wl.populations)}  # fmt: skip
    written = []
    for ri, name in enumerate(model._region_names):
        if progress:
            progress(f"writing {name}")
        pop = wl.populations[opts.regions.index(name)]
        ids = wl.catalog_ids[opts.regions.index(name)]
        r_pods = pods[pods["region"] == ri]
        cs = cold_start_table(r_pods, catalog, model._region_names)
        written += _write_cold_starts(out, name, cs, opts.compress)
        r_req = requests[requests["region"] == ri]
        written += _write_requests(out, name, r_req, r_pods, funcs, opts)
        written += _write_quantiles(out, name, pop.keys, ids, counts[name], first_min, r_req,
                                    r_pods, opts)  # fmt: skip
        written += _write_runtime(out, name, funcs[funcs["region"] == name], opts.compress)
    (out / "README.md").write_text(_readme(opts, hours), encoding="utf-8")
    summary = model.summary()
    return {"files": len(written), "requests": int(summary["requests"]),
            "cold_starts": int(summary["cold_starts"]), "out": str(out)}  # fmt: skip


def _write_cold_starts(out: Path, region: str, cs: pd.DataFrame, compress: bool) -> list[Path]:
    files = []
    cs = cs.drop(columns=["region"])
    for day, part in cs.groupby("day", sort=True):
        part = part.copy()
        for c in ("totalCost_cold_start",):
            part[c] = part[c].round(6)
        for c in ("podAllocationCost", "schedulingCost"):
            part[c] = part[c].round(9)
        for c in ("deployCodeCost", "deployDependencyCost"):
            part[c] = part[c].round(3)
        # the total is the sum of the parts as written (the release's rule)
        parts = part[["podAllocationCost", "deployCodeCost", "deployDependencyCost", "schedulingCost"]]
        part["totalCost_cold_start"] = parts.sum(axis=1).round(6)
        part = part[list(COLD_START_SCHEMA.names)]
        files.append(_write_csv(out / "cold_start" / region / f"day_{int(day):02d}.csv", part, compress))
    return files


def _function_draws(funcs: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Per-function constants of the per-request table [A]: CPU (cores), memory (share of
    the pod's limit), request body size, and the overhead medians."""
    rng = np.random.default_rng([seed, 7])
    n = len(funcs)
    return pd.DataFrame({
        "func": funcs["func"].to_numpy(),
        "cpu": np.minimum(rng.lognormal(np.log(0.2), 0.6, n), funcs["cpu_limit_m"].to_numpy() / 1000.0),
        "mem_share": np.clip(rng.lognormal(np.log(0.25), 0.3, n), 0.05, 0.95),
        "body": np.round(rng.lognormal(np.log(200.0), 2.0, n)),
    })  # fmt: skip


def _write_requests(out, region, req, pods, funcs, opts) -> list[Path]:
    if req.empty or opts.per_request_fraction <= 0:
        return []
    keys = funcs.set_index("func").loc[req["func"].to_numpy(), "funcID"].to_numpy()
    pick = np.array([stable_hash("per_request:" + k) % 10_000 < opts.per_request_fraction * 10_000
                     for k in keys])  # fmt: skip
    # the worker sees a request when it starts on its pod (after a cold start, if any)
    req = req[pick].sort_values(["start_s", "req"], kind="stable")
    if req.empty:
        return []
    n = len(req)
    rng = np.random.default_rng([opts.seed, 11, stable_hash(region) % 1000])
    per_fn = _function_draws(funcs, opts.seed).set_index("func").loc[req["func"].to_numpy()]
    fmeta = funcs.set_index("func").loc[req["func"].to_numpy()]
    parts = fmeta["funcID"].str.split("---", expand=True)
    over = {k: v.median * np.exp(v.sigma * rng.standard_normal(n)) for k, v in cal.REQUEST_OVERHEADS.items()}
    runtime = (req["end_s"] - req["start_s"]).to_numpy()
    wait = (req["start_s"] - req["arrival_s"]).to_numpy()
    worker = over["workerCost"]
    total_worker = worker + runtime
    total_frontend = over["frontendCost"] + over["busCost"] + over["readBodyCost"] + wait + total_worker + over["writeRspCost"]
    pod_index = req["pod"].to_numpy()
    frame = pd.DataFrame({
        "time_worker": np.round(req["start_s"].to_numpy(), 3),
        "time_frontend": np.round(req["arrival_s"].to_numpy() - over["frontendCost"], 3),
        "requestID": [f"{r:016x}" for r in req["req"].to_numpy()],
        "clusterName": req["cluster"].to_numpy(),
        "funcName": pd.to_numeric(parts[0]).to_numpy(),
        "podID": [f"{pl}-{i:010d}" for pl, i in zip(fmeta["pool"].to_numpy(), pod_index, strict=True)],
        "userID": pd.to_numeric(parts[1]).to_numpy(),
        "totalCost_worker": np.round(total_worker, 6),
        "workerCost": np.round(worker, 6),
        "runtimeCost": np.round(runtime, 6),
        "totalCost_frontend": np.round(total_frontend, 6),
        "frontendCost": np.round(over["frontendCost"], 6),
        "busCost": np.round(over["busCost"], 6),
        "readBodyCost": np.round(over["readBodyCost"], 6),
        "writeRspCost": np.round(over["writeRspCost"], 6),
        "cpu_usage": np.round(per_fn["cpu"].to_numpy() * np.exp(0.3 * rng.standard_normal(n)), 6),
        "memory_usage": np.round(per_fn["mem_share"].to_numpy() * fmeta["memory_mb"].to_numpy(), 6),
        "requestBodySize": per_fn["body"].to_numpy().astype(float),
    })  # fmt: skip
    frame = frame[list(PER_REQUEST_COLUMNS)]
    tag = f"{opts.seed:05d}"
    return [_write_csv(out / "per_request" / region / f"part-00000-{tag}-c000.csv", frame,
                       opts.compress)]  # fmt: skip


def _wide(keys: list[str], first_min: int, n_min: int, minute, col, values) -> pd.DataFrame:
    """A per-minute wide table: day, time, one column per funcID (NaN where no data)."""
    m = np.arange(first_min, first_min + n_min)
    dense = np.full((n_min, len(keys)), np.nan)
    if len(values):
        dense[minute - first_min, col] = values
    frame = pd.DataFrame(dense, columns=keys)
    frame.insert(0, "time", (m * 60).astype(np.int64))
    frame.insert(0, "day", (m // 1440).astype(np.int64))
    return frame


def _write_wide(out, region, name, frame, compress, fmt) -> list[Path]:
    files = []
    for day, part in frame.groupby("day", sort=True):
        files.append(_write_csv(out / "quantiles" / region / name / f"day_{int(day):02d}.csv",
                                part, compress, fmt))  # fmt: skip
    return files


def _write_quantiles(out, region, keys, ids, counts, first_min, req, pods, opts) -> list[Path]:
    n_min = counts.shape[0]
    col_of = {int(f): j for j, f in enumerate(ids)}
    files = []
    mins, cols = np.nonzero(counts)
    files += _write_wide(out, region, "requests",
                         _wide(keys, first_min, n_min, mins + first_min, cols, counts[mins, cols]),
                         opts.compress, "%.0f")  # fmt: skip
    # cold starts per minute (pods created in the minute)
    pm = (pods["created_s"].to_numpy() // 60).astype(np.int64)
    pc = np.array([col_of[int(f)] for f in pods["func"].to_numpy()], dtype=np.int64)
    inside = (pm >= first_min) & (pm < first_min + n_min)
    g = pd.DataFrame({"m": pm[inside], "c": pc[inside]}).value_counts().reset_index(name="n")
    files += _write_wide(out, region, "num_cold_starts",
                         _wide(keys, first_min, n_min, g["m"].to_numpy(), g["c"].to_numpy(), g["n"].to_numpy()),
                         opts.compress, "%.0f")  # fmt: skip
    # pods alive during each minute: +1 from the creation minute to the deletion minute
    alive = np.zeros((n_min + 1, len(keys)), dtype=np.int64)
    end = pods["deleted_s"].to_numpy()
    end = np.where(np.isnan(end), (first_min + n_min) * 60.0, end)
    a = np.clip(pm - first_min, 0, n_min)
    b = np.clip((end // 60).astype(np.int64) - first_min + 1, 0, n_min)
    np.add.at(alive, (a, pc), 1)
    np.add.at(alive, (b, pc), -1)
    alive = np.cumsum(alive, axis=0)[:n_min]
    mins, cols = np.nonzero(alive)
    files += _write_wide(out, region, "num_pods",
                         _wide(keys, first_min, n_min, mins + first_min, cols, alive[mins, cols]),
                         opts.compress, "%.0f")  # fmt: skip
    # statistics of requests and cold starts per function-minute
    rm = (req["arrival_s"].to_numpy() // 60).astype(np.int64)
    rc = np.array([col_of[int(f)] for f in req["func"].to_numpy()], dtype=np.int64)
    rt = (req["end_s"] - req["start_s"]).to_numpy()
    sources = {
        "runtimeCost": (rm, rc, rt),
        "totalCost_cold_start": (pm, pc, (pods["ready_s"] - pods["created_s"]).to_numpy()),
        "podAllocationCost": (pm, pc, pods["alloc_s"].to_numpy()),
        "deployCodeCost": (pm, pc, pods["code_s"].to_numpy()),
        "deployDependencyCost": (pm, pc, pods["deps_s"].to_numpy()),
        "schedulingCost": (pm, pc, pods["sched_s"].to_numpy()),
    }
    for name in opts.metrics:
        metric, stat = name.rsplit("_", 1)
        if metric not in sources or stat not in ("avg", "std"):
            raise ValueError(f"cannot write quantile folder {name!r}")
        m, c, v = sources[metric]
        ok = np.isfinite(v) & (m >= first_min) & (m < first_min + n_min)
        g = pd.DataFrame({"m": m[ok], "c": c[ok], "v": v[ok]}).groupby(["m", "c"])["v"]
        agg = g.mean() if stat == "avg" else g.std(ddof=0)
        agg = agg.reset_index()
        files += _write_wide(out, region, name,
                             _wide(keys, first_min, n_min, agg["m"].to_numpy(), agg["c"].to_numpy(), agg["v"].to_numpy()),
                             opts.compress, "%.6f")  # fmt: skip
    return files


def _write_runtime(out, region, funcs: pd.DataFrame, compress: bool) -> list[Path]:
    from .traces.huawei import CPU_REQUEST_M

    frame = pd.DataFrame({
        "funcID": funcs["funcID"].to_numpy(),
        "cpu_request": [CPU_REQUEST_M.get(int(c), int(c) // 2) for c in funcs["cpu_limit_m"]],
        "runtime": funcs["runtime"].to_numpy(),
        "triggerType-invocationType": funcs["trigger"].to_numpy(),
    })  # fmt: skip
    files = [_write_csv(out / "runtime_triggerType" / region / RUNTIME_TRIGGER_FILE, frame, compress)]
    if region == "R2":
        files.append(_write_csv(out / "runtime_triggerType" / RUNTIME_TRIGGER_FILE, frame, compress))
    return files


def _readme(opts: GenerateOptions, hours: float) -> str:
    window = (f"{hours:g} hours from hour {opts.start_hour:g} of day {opts.start_day}")
    return f"""# Generated serverless trace (Huawei 2025 release schema)

Generated by `sim trace generate huawei` (the `sim` project): regions {', '.join(opts.regions)},
{window}, seed {opts.seed}, function scale {opts.function_scale:g}, rate cap
{opts.max_rate_per_s:g}/s per function, per-request share {opts.per_request_fraction:g}.

**Synthetic data.** Every value was produced by the project's calibrated generator and its
platform model; nothing here is measured. The tables follow the schema and folder layout of
the Huawei public cold-start release ("Serverless Cold Starts and Where to Find Them",
Joosen et al., EuroSys 2025; data CC BY 4.0), whose statistics the generator is calibrated
to. The cold_start table was produced by running the platform model (60 s keep-alive,
static pools) over the generated requests.

Layout: cold_start/<R>/day_XX.csv, per_request/<R>/part-*.csv (a share of the functions),
quantiles/<R>/<folder>/day_XX.csv (per-minute wide tables), runtime_triggerType/<R>/ (and
runtime_triggerType/ for Region 2, as in the release).
"""


__all__ = ["DEFAULT_METRICS", "SOURCES", "GenerateOptions", "generate_huawei"]
