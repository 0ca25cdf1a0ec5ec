"""The Huawei 2025 cold-start release ("Serverless Cold Starts and Where to Find Them",
Joosen et al., EuroSys 2025; data CC BY 4.0): its tables, folder layout and readers.

Layout (the release's ``cold_start_dataset/`` folder; a folder written by
``sim trace generate`` has the same layout)::

    cold_start/R1..R5/*.csv            one row per cold start, one file per day (day_00 ...)
    per_request/R1..R5/*.csv           one row per request (the release: day 30 only)
    quantiles/R1..R5/<folder>/*.csv    per-minute wide tables: day, time, one column per funcID
    runtime_triggerType/df_funcID_runtime_triggerType.csv   Region 2 only (release)
    runtime_triggerType/<region>/df_funcID_runtime_triggerType.csv   (generated folders)

CSV files may also be compressed (``.csv.gz`` ...) or Parquet; every reader streams chunks
through :func:`sim.traces.read_chunks`, so memory stays bounded whatever the month.

Columns and units are those of the release's data README (seconds, cores, MB; timestamps
in seconds since the start of day 0). Function key: ``funcID = funcName---userID---poolName``
(the function name alone is not unique). A ``podID`` is ``<poolName>-<pod number>`` and a
pool name is ``poolNN-<cpu limit, millicores>-<memory limit, MB>``.

Checks beyond types and bounds: a ``podID`` must carry a pool name, a cold-start file must
be sorted by ``time``. Whether the four cold-start components sum to the total is not a
reading error (the release rounds them separately); :mod:`..analysis` reports mismatches.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import DataError
from sim.traces import Column, ReadStats, Schema, read_chunks

#: File suffixes a table file may have.
TABLE_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.xz", ".csv.zst", ".parquet")

#: Seconds per day; day ``d`` starts at ``d * DAY_S`` (day 30 at 2,592,000 s) [P, data README].
DAY_S = 86_400.0

#: CPU limit -> CPU requested at pod start, millicores [P, the release's demo notebook].
CPU_REQUEST_M = {
    300: 100, 400: 125, 600: 300, 800: 375, 1000: 500, 1200: 625, 1400: 750, 1600: 875,
    1800: 1000, 2200: 1250, 2600: 1500, 3000: 1750, 3400: 2000, 6600: 4000, 8200: 5000,
    13000: 6500, 25800: 12900,
}  # fmt: skip

#: The paper's small pods: at most 400 mCPU and 256 MB; anything bigger is large (§4.2).
SMALL_POD_CPU_M = 400
SMALL_POD_MEMORY_MB = 256

COLD_START_COMPONENTS = (
    "podAllocationCost",
    "deployCodeCost",
    "deployDependencyCost",
    "schedulingCost",
)

_COST = {"min": 0.0, "max": 1e6}

COLD_START_SCHEMA = Schema(
    (
        Column("day", "int", min=0, max=100_000),
        Column("time", "float", min=0.0, max=1e10),
        Column("clusterName", "int", min=0, max=1_000_000),
        Column("funcName", "int", min=0),
        Column("userID", "int", min=0),
        Column("requestID", "str", required=False, nullable=True, default=""),
        Column("totalCost_cold_start", "float", **_COST),
        *(Column(c, "float", **_COST) for c in COLD_START_COMPONENTS),
        Column("podID", "str"),
    ),
    sorted_by="time",
)

#: Frontend-log columns: empty when the request was not matched in the frontend log [P].
FRONTEND_COLUMNS = (
    "time_frontend",
    "totalCost_frontend",
    "frontendCost",
    "busCost",
    "readBodyCost",
    "writeRspCost",
    "requestBodySize",
)


#: The per-request table's columns in the release's order [P, data README].
PER_REQUEST_COLUMNS = (
    "time_worker", "time_frontend", "requestID", "clusterName", "funcName", "podID", "userID",
    "totalCost_worker", "workerCost", "runtimeCost", "totalCost_frontend", "frontendCost",
    "busCost", "readBodyCost", "writeRspCost", "cpu_usage", "memory_usage", "requestBodySize",
)  # fmt: skip


def per_request_schema(sorted_by_time: bool = False) -> Schema:
    """The per-request table; ``sorted_by_time`` also checks that ``time_worker`` never
    decreases within a file (needed to replay a file; the release does not promise it)."""
    return Schema(
        (
            Column("time_worker", "float", min=0.0, max=1e10),
            Column("time_frontend", "float", min=0.0, max=1e10, required=False, nullable=True),
            Column("requestID", "str", required=False, nullable=True, default=""),
            Column("clusterName", "int", min=0, max=1_000_000),
            Column("funcName", "int", min=0),
            Column("podID", "str"),
            Column("userID", "int", min=0),
            Column("totalCost_worker", "float", **_COST),
            Column("workerCost", "float", **_COST, required=False, nullable=True),
            Column("runtimeCost", "float", **_COST),
            *(
                Column(c, "float", min=0.0, max=1e12, required=False, nullable=True)
                for c in FRONTEND_COLUMNS[1:]
            ),
            Column("cpu_usage", "float", min=0.0, max=1e4, required=False, nullable=True),
            Column("memory_usage", "float", min=0.0, max=1e8, required=False, nullable=True),
        ),
        sorted_by="time_worker" if sorted_by_time else None,
    )


RUNTIME_TRIGGER_SCHEMA = Schema(
    (
        Column("funcID", "str"),
        Column("cpu_request", "int", min=0, max=10_000_000),
        Column("runtime", "str", nullable=True),
        Column("triggerType-invocationType", "str", nullable=True),
    )
)

RUNTIME_TRIGGER_FILE = "df_funcID_runtime_triggerType.csv"

#: Per-minute count folders (no statistic suffix) [P, data README].
COUNT_FOLDERS = ("requests", "num_pods", "num_cold_starts")
#: Statistic suffixes of the other quantile folders.
STATS = (
    "avg", "std", "quantile_000", "quantile_025", "quantile_050", "quantile_075",
    "quantile_090", "quantile_095", "quantile_099", "quantile_100",
)  # fmt: skip
#: The 16 metrics of the quantile folders.
METRICS = (
    "busCost", "cpu_usage", "deployCodeCost", "deployDependencyCost", "frontendCost",
    "memory_usage", "podAllocationCost", "readBodyCost", "requestBodySize", "runtimeCost",
    "schedulingCost", "totalCost", "totalCost_cold_start", "totalCost_frontend", "workerCost",
    "writeRspCost",
)  # fmt: skip

_POOL_RE = re.compile(r"^pool(\d+)-(\d+)-(\d+)$")
_POD_RE = r"^(pool\d+-\d+-\d+)-(\d+)$"
_DAY_RE = re.compile(r"day_?(\d+)")


@dataclass(frozen=True)
class Pool:
    """A resource configuration: ``poolNN-<cpu limit m>-<memory MB>``."""

    name: str
    number: int
    cpu_limit_m: int
    memory_mb: int

    @property
    def cpu_request_m(self) -> int:
        """CPU requested at pod start (the release's map; half the limit when unmapped)."""
        return CPU_REQUEST_M.get(self.cpu_limit_m, self.cpu_limit_m // 2)

    @property
    def small(self) -> bool:
        """The paper's small pods (§4.2): at most 400 mCPU and 256 MB."""
        return self.cpu_limit_m <= SMALL_POD_CPU_M and self.memory_mb <= SMALL_POD_MEMORY_MB


def parse_pool(name: str) -> Pool:
    """The :class:`Pool` named ``name``; a DataError when it is not ``poolNN-CPU-MEM``."""
    m = _POOL_RE.match(str(name).strip())
    if not m:
        raise DataError(f"not a pool name (poolNN-<cpu m>-<memory MB>): {name!r}")
    return Pool(name, int(m.group(1)), int(m.group(2)), int(m.group(3)))


def func_id(func_name, user_id, pool_name) -> str:
    """The release's unique function key ``funcName---userID---poolName``."""
    return f"{int(func_name)}---{int(user_id)}---{pool_name}"


def split_func_id(key: str) -> tuple[int, int, str]:
    """``(funcName, userID, poolName)`` of a funcID; a DataError when malformed."""
    parts = str(key).split("---")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        raise DataError(f"not a funcID (funcName---userID---poolName): {key!r}")
    parse_pool(parts[2])
    return int(parts[0]), int(parts[1]), parts[2]


def add_function_keys(frame: pd.DataFrame) -> pd.DataFrame:
    """Add ``pool`` (from podID), ``pod`` (pod number), ``cpu_limit_m``, ``memory_mb`` and
    ``funcID`` to a checked cold-start or per-request frame (in place; returned)."""
    parts = frame["podID"].astype(str).str.extract(_POD_RE)
    frame["pool"] = parts[0].to_numpy(dtype=object)
    frame["pod"] = pd.to_numeric(parts[1]).to_numpy(dtype=np.int64)
    cfg = frame["pool"].str.extract(r"^pool\d+-(\d+)-(\d+)$")
    frame["cpu_limit_m"] = pd.to_numeric(cfg[0]).to_numpy(dtype=np.int64)
    frame["memory_mb"] = pd.to_numeric(cfg[1]).to_numpy(dtype=np.int64)
    frame["funcID"] = (
        frame["funcName"].astype(str) + "---" + frame["userID"].astype(str) + "---" + frame["pool"]
    )
    return frame


def _check_pod_ids(
    frame: pd.DataFrame, path: Path, lenient: bool, stats: ReadStats
) -> pd.DataFrame:
    ok = frame["podID"].astype(str).str.match(_POD_RE).to_numpy()
    if ok.all():
        return frame
    bad = np.flatnonzero(~ok)
    line = int(frame["_line"].iloc[bad[0]])
    reason = f"podID: not <poolNN-cpu-mem>-<number>: {frame['podID'].iloc[bad[0]]!r}"
    if not lenient:
        raise DataError(reason, where=f"{path}:{line}")
    for i in bad:
        stats.note(f"{path}:{int(frame['_line'].iloc[i])}", "podID: not <pool>-<number>")
    stats.kept -= len(bad)
    return frame[ok].reset_index(drop=True)


def table_files(folder: Path) -> list[Path]:
    """The table files of a folder (CSV, compressed CSV, Parquet), sorted by name."""
    if not folder.is_dir():
        return []
    return sorted(
        p for p in folder.iterdir() if p.is_file() and p.name.lower().endswith(TABLE_SUFFIXES)
    )


def day_of(path: Path) -> int | None:
    """The day number in a file name such as ``day_07.csv`` (None when absent)."""
    m = _DAY_RE.search(path.name)
    return int(m.group(1)) if m else None


def _select_days(files: list[Path], days: range | list[int] | None) -> list[Path]:
    if days is None:
        return files
    wanted = set(days)
    return [f for f in files if day_of(f) is None or day_of(f) in wanted]


class Release:
    """A folder in the release's layout (real or generated).

    ``root`` may be the ``cold_start_dataset`` folder itself or a folder containing it.
    Readers take ``lenient`` (skip and count bad rows in ``stats``) and ``chunk_rows``.
    """

    TABLES = ("cold_start", "per_request", "quantiles", "runtime_triggerType")

    def __init__(self, root: str | Path):
        root = Path(root).expanduser()
        if not root.is_dir():
            raise DataError("trace folder not found", where=str(root))
        if not any((root / t).is_dir() for t in self.TABLES):
            inner = root / "cold_start_dataset"
            if inner.is_dir():
                root = inner
            else:
                raise DataError(
                    "not a folder in the release layout: expected one of "
                    f"{', '.join(self.TABLES)} (or cold_start_dataset/) inside",
                    where=str(root),
                )
        self.root = root

    def __repr__(self) -> str:
        return f"Release({str(self.root)!r})"

    # -- what is there ------------------------------------------------------------------
    def regions(self, table: str | None = None) -> list[str]:
        """Region folders (``R1`` ...) found under one table, or under any table."""
        tables = [table] if table else ["cold_start", "per_request", "quantiles"]
        found: set[str] = set()
        for t in tables:
            folder = self.root / t
            if folder.is_dir():
                found |= {p.name for p in folder.iterdir() if p.is_dir()}
        return sorted(found, key=_region_order)

    def files(self, table: str, region: str, days=None) -> list[Path]:
        """The files of ``table`` (cold_start or per_request) for ``region``."""
        return _select_days(table_files(self.root / table / region), days)

    def quantile_folders(self, region: str) -> list[str]:
        folder = self.root / "quantiles" / region
        return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []

    def quantile_files(self, region: str, name: str, days=None) -> list[Path]:
        check_quantile_folder(name)
        return _select_days(table_files(self.root / "quantiles" / region / name), days)

    def runtime_trigger_path(self, region: str) -> Path | None:
        """The runtime/trigger table of ``region``: ``runtime_triggerType/<region>/...``
        (generated folders), else the release's top-level file, which is Region 2's."""
        base = self.root / "runtime_triggerType"
        for suffix in ("", ".gz"):
            own = base / region / (RUNTIME_TRIGGER_FILE + suffix)
            if own.is_file():
                return own
        for suffix in ("", ".gz"):
            top = base / (RUNTIME_TRIGGER_FILE + suffix)
            if region == "R2" and top.is_file():
                return top
        return None

    # -- readers ------------------------------------------------------------------------
    def cold_starts(
        self,
        region: str,
        days=None,
        lenient: bool = False,
        stats: ReadStats | None = None,
        chunk_rows: int = 200_000,
        keys: bool = True,
    ) -> Iterator[pd.DataFrame]:
        """Checked cold-start rows of ``region`` in chunks, file by file (day order);
        with ``keys``, each chunk also has funcID, pool, pod, cpu_limit_m, memory_mb."""
        stats = stats if stats is not None else ReadStats()
        files = self.files("cold_start", region, days)
        if not files:
            raise DataError(f"no cold_start files for region {region}",
                            where=str(self.root / "cold_start" / region))  # fmt: skip
        for path in files:
            for frame in read_chunks(path, COLD_START_SCHEMA, chunk_rows, lenient, stats):
                frame = _check_pod_ids(frame, path, lenient, stats)
                yield add_function_keys(frame) if keys else frame

    def requests(
        self,
        region: str,
        days=None,
        lenient: bool = False,
        stats: ReadStats | None = None,
        chunk_rows: int = 200_000,
        sorted_by_time: bool = False,
        keys: bool = True,
    ) -> Iterator[pd.DataFrame]:
        """Checked per-request rows of ``region``, part file by part file (not merged in
        time: see :func:`.streams.merge_sorted` for that)."""
        stats = stats if stats is not None else ReadStats()
        for path in self._request_files(region, days):
            yield from self.request_file(path, lenient, stats, chunk_rows, sorted_by_time, keys)

    def _request_files(self, region: str, days=None) -> list[Path]:
        files = self.files("per_request", region, days)
        if not files:
            raise DataError(f"no per_request files for region {region}",
                            where=str(self.root / "per_request" / region))  # fmt: skip
        return files

    def request_parts(self, region: str, days=None) -> list[Path]:
        return self._request_files(region, days)

    @staticmethod
    def request_file(
        path: Path,
        lenient: bool = False,
        stats: ReadStats | None = None,
        chunk_rows: int = 200_000,
        sorted_by_time: bool = False,
        keys: bool = True,
    ) -> Iterator[pd.DataFrame]:
        stats = stats if stats is not None else ReadStats()
        schema = per_request_schema(sorted_by_time)
        for frame in read_chunks(path, schema, chunk_rows, lenient, stats):
            frame = _check_pod_ids(frame, path, lenient, stats)
            yield add_function_keys(frame) if keys else frame

    def minutes(
        self,
        region: str,
        name: str,
        days=None,
        lenient: bool = False,
        stats: ReadStats | None = None,
        chunk_rows: int = 1440,
    ) -> Iterator[pd.DataFrame]:
        """A per-minute wide table (``requests``, ``runtimeCost_avg`` ...) in chunks of
        minutes: columns ``day``, ``time`` and one float column per funcID (NaN = no
        data). Every funcID header is checked; times must increase."""
        stats = stats if stats is not None else ReadStats()
        files = self.quantile_files(region, name, days)
        if not files:
            raise DataError(f"no quantiles/{region}/{name} files",
                            where=str(self.root / "quantiles" / region / name))  # fmt: skip
        for path in files:
            yield from read_minute_table(path, lenient, stats, chunk_rows)

    def runtime_triggers(
        self, region: str, lenient: bool = False, stats: ReadStats | None = None
    ) -> pd.DataFrame | None:
        """The runtime/trigger table of ``region`` (None when the folder has none)."""
        path = self.runtime_trigger_path(region)
        if path is None:
            return None
        return read_runtime_triggers(path, lenient, stats)


def read_runtime_triggers(
    path: Path, lenient: bool = False, stats: ReadStats | None = None
) -> pd.DataFrame:
    """The runtime/trigger table: funcID, cpu_request, runtime, trigger (the
    ``triggerType-invocationType`` column) and its parts ``trigger_type`` and ``sync``."""
    stats = stats if stats is not None else ReadStats()
    frames = []
    for frame in read_chunks(path, RUNTIME_TRIGGER_SCHEMA, 200_000, lenient, stats):
        ok = np.array([_valid_func_id(k) for k in frame["funcID"]], dtype=bool)
        if not ok.all():
            bad = np.flatnonzero(~ok)
            where = f"{path}:{int(frame['_line'].iloc[bad[0]])}"
            if not lenient:
                raise DataError(f"funcID: not funcName---userID---poolName: "
                                f"{frame['funcID'].iloc[bad[0]]!r}", where=where)  # fmt: skip
            for i in bad:
                stats.note(f"{path}:{int(frame['_line'].iloc[i])}", "funcID: malformed")
            stats.kept -= len(bad)
            frame = frame[ok]
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=[*RUNTIME_TRIGGER_SCHEMA.names, "_line"])  # fmt: skip
    out = out.rename(columns={"triggerType-invocationType": "trigger"})
    parts = out["trigger"].astype(str).str.rsplit("-", n=1, expand=True)
    out["trigger_type"] = parts[0] if len(out) else []
    out["sync"] = (parts[1] == "S") if len(out) and parts.shape[1] > 1 else False
    return out


def _valid_func_id(key: str) -> bool:
    try:
        split_func_id(key)
    except DataError:
        return False
    return True


def check_quantile_folder(name: str) -> None:
    """A DataError unless ``name`` is a release quantile folder (count or metric_stat)."""
    if name in COUNT_FOLDERS:
        return
    for stat in STATS:
        if name.endswith("_" + stat) and name[: -len(stat) - 1] in METRICS:
            return
    from sim.errors import did_you_mean

    known = [*COUNT_FOLDERS, *(f"{m}_avg" for m in METRICS)]
    raise DataError(
        f"unknown quantile folder {name!r}{did_you_mean(name, known)}; expected a count "
        f"({', '.join(COUNT_FOLDERS)}) or <metric>_<stat> with stat in {', '.join(STATS)}"
    )


def minute_schema(path: Path) -> Schema:
    """The schema of a per-minute wide table, from its header: day, time, funcID columns
    (floats, empty allowed, >= 0)."""
    from sim.traces import check_data_path

    header = _header(check_data_path(path))
    if len(header) < 2 or header[0] != "day" or header[1] != "time":
        raise DataError("a per-minute table starts with the columns day,time",
                        where=f"{path}:1")  # fmt: skip
    cols = [Column("day", "int", min=0, max=100_000), Column("time", "float", min=0, max=1e10)]
    seen = set()
    for name in header[2:]:
        if name in seen:
            raise DataError(f"duplicate column {name!r}", where=f"{path}:1")
        seen.add(name)
        if not _valid_func_id(name):
            raise DataError(f"column {name!r} is not a funcID (funcName---userID---poolName)",
                            where=f"{path}:1")  # fmt: skip
        cols.append(Column(name, "float", min=0.0, max=1e15, nullable=True))
    return Schema(tuple(cols), sorted_by="time")


def _header(path: Path) -> list[str]:
    if path.name.lower().endswith((".parquet", ".pq")):
        import pyarrow.parquet as pq

        try:
            return list(pq.ParquetFile(path).schema_arrow.names)
        except Exception as exc:
            raise DataError(f"not a Parquet file: {str(exc).splitlines()[0]}",
                            where=str(path)) from None  # fmt: skip
    import csv
    import io

    try:
        opener = _text_opener(path)
        with opener() as fh:
            line = fh.readline()
    except (UnicodeDecodeError, OSError, EOFError) as exc:
        raise DataError(f"cannot read the header: {str(exc).splitlines()[0]}",
                        where=str(path)) from None  # fmt: skip
    if not line.strip():
        raise DataError("empty file (expected a header line)", where=str(path))
    return [c.strip() for c in next(csv.reader(io.StringIO(line.lstrip("\ufeff"))))]


def _text_opener(path: Path):
    name = path.name.lower()
    if name.endswith(".gz"):
        import gzip

        return lambda: gzip.open(path, "rt", encoding="utf-8")
    if name.endswith(".bz2"):
        import bz2

        return lambda: bz2.open(path, "rt", encoding="utf-8")
    if name.endswith(".xz"):
        import lzma

        return lambda: lzma.open(path, "rt", encoding="utf-8")
    if name.endswith(".zst"):
        import io

        import zstandard

        return lambda: io.TextIOWrapper(zstandard.open(path, "rb"), encoding="utf-8")
    return lambda: path.open(encoding="utf-8")


def read_minute_table(
    path: Path, lenient: bool = False, stats: ReadStats | None = None, chunk_rows: int = 1440
) -> Iterator[pd.DataFrame]:
    """One per-minute wide file in checked chunks (see :meth:`Release.minutes`)."""
    from .wide import wide_chunks

    stats = stats if stats is not None else ReadStats()
    yield from wide_chunks(path, minute_schema(path), chunk_rows, lenient, stats)


def _region_order(name: str) -> tuple[int, str]:
    m = re.match(r"^R(\d+)$", name)
    return (int(m.group(1)), name) if m else (10**9, name)
