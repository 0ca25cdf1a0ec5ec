"""Azure Functions traces (Microsoft, CC-BY; ``Azure/AzurePublicDataset``), so that users
can compare the Huawei results with the peers on their own copies.

Azure Functions 2019 ("Serverless in the Wild", Shahrad et al., USENIX ATC 2020); files per
day ``dNN``:

* ``invocations_per_function_md.anon.dNN.csv``: HashOwner, HashApp, HashFunction, Trigger,
  then ``1`` .. ``1440``: invocations per minute of the day (counted after execution);
* ``function_durations_percentiles.anon.dNN.csv``: HashOwner, HashApp, HashFunction,
  Average, Count, Minimum, Maximum, percentile_Average_{0,1,25,50,75,99,100}, in ms,
  without cold start (percentiles of 30-second averages, weighted by count);
* ``app_memory_percentiles.anon.dNN.csv``: HashOwner, HashApp, SampleCount,
  AverageAllocatedMb and its percentiles _pct{1,5,25,50,75,95,99,100} (MB).

Azure Functions 2021 ("Faster and Cheaper Serverless Computing on Harvested Resources",
Zhang et al., SOSP 2021): one row per invocation, columns ``app``, ``func`` (unique within
its app), ``end_timestamp`` and ``duration`` (s). Rows are not in arrival order (arrival =
end - duration), so :func:`invocations_2021` re-sorts them with bounded lateness.

Source of the schemas: the dataset descriptions ``AzureFunctionsDataset2019.md`` and
``AzureFunctionsInvocationTrace2021.md`` in ``Azure/AzurePublicDataset``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import DataError
from sim.traces import Column, ReadStats, Schema, read_chunks

from .huawei import table_files
from .streams import reorder

#: Minutes of a day: the invocation table's count columns are "1" .. "1440".
MINUTES = 1440
#: Trigger groups of the 2019 trace [P, dataset description].
TRIGGERS_2019 = ("http", "timer", "event", "queue", "storage", "orchestration", "others")
DURATION_PERCENTILES = (0, 1, 25, 50, 75, 99, 100)
MEMORY_PERCENTILES = (1, 5, 25, 50, 75, 95, 99, 100)

_IDS = (Column("HashOwner", "str"), Column("HashApp", "str"))

INVOCATIONS_2019 = Schema(
    (
        *_IDS,
        Column("HashFunction", "str"),
        Column("Trigger", "str"),
        *(Column(str(m), "int", min=0, max=10**12) for m in range(1, MINUTES + 1)),
    )
)

DURATIONS_2019 = Schema(
    (
        *_IDS,
        Column("HashFunction", "str"),
        Column("Average", "float", min=0.0, max=1e12),
        Column("Count", "int", min=0, max=10**13),
        Column("Minimum", "float", min=0.0, max=1e12, nullable=True),
        Column("Maximum", "float", min=0.0, max=1e12, nullable=True),
        *(
            Column(f"percentile_Average_{q}", "float", min=0.0, max=1e12)
            for q in DURATION_PERCENTILES
        ),
    )
)

MEMORY_2019 = Schema(
    (
        *_IDS,
        Column("SampleCount", "int", min=0, max=10**13),
        Column("AverageAllocatedMb", "float", min=0.0, max=1e9),
        *(
            Column(f"AverageAllocatedMb_pct{q}", "float", min=0.0, max=1e9)
            for q in MEMORY_PERCENTILES
        ),
    )
)

INVOCATIONS_2021 = Schema(
    (
        Column("app", "str"),
        Column("func", "str"),
        Column("end_timestamp", "float", min=0.0, max=1e10),
        Column("duration", "float", min=0.0, max=1e7),
    )
)

_DAY_2019 = re.compile(r"\.d(\d+)\.")


def day_files_2019(folder: str | Path, kind: str) -> list[Path]:
    """The 2019 files of one kind (``invocations``, ``durations``, ``memory``), by day."""
    prefix = {
        "invocations": "invocations_per_function_md",
        "durations": "function_durations_percentiles",
        "memory": "app_memory_percentiles",
    }[kind]
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError("Azure 2019 folder not found", where=str(folder))
    files = [f for f in table_files(folder) if f.name.startswith(prefix)]
    return sorted(files, key=lambda f: int(m.group(1)) if (m := _DAY_2019.search(f.name)) else 0)


def day_number_2019(path: Path) -> int:
    m = _DAY_2019.search(path.name)
    if not m:
        raise DataError("an Azure 2019 file name carries its day as .dNN.", where=str(path))
    return int(m.group(1))


def _check_triggers(frame: pd.DataFrame, path: Path, lenient: bool, stats: ReadStats):
    ok = frame["Trigger"].isin(TRIGGERS_2019).to_numpy()
    if ok.all():
        return frame
    bad = np.flatnonzero(~ok)
    msg = f"Trigger: {frame['Trigger'].iloc[bad[0]]!r} is not one of {', '.join(TRIGGERS_2019)}"
    if not lenient:
        raise DataError(msg, where=f"{path}:{int(frame['_line'].iloc[bad[0]])}")
    for i in bad:
        stats.note(f"{path}:{int(frame['_line'].iloc[i])}", "Trigger: unknown")
    stats.kept -= len(bad)
    return frame[ok].reset_index(drop=True)


def invocations_2019(
    path: Path, lenient: bool = False, stats: ReadStats | None = None, chunk_rows: int = 20_000
) -> Iterator[pd.DataFrame]:
    """One day of per-minute invocation counts, one row per function (checked)."""
    from .wide import wide_chunks

    stats = stats if stats is not None else ReadStats()
    for frame in wide_chunks(path, INVOCATIONS_2019, chunk_rows, lenient, stats):
        yield _check_triggers(frame, Path(path), lenient, stats)


def durations_2019(path: Path, lenient: bool = False, stats: ReadStats | None = None):
    """One day of duration percentiles per function (ms), checked, as one frame."""
    return _all(path, DURATIONS_2019, lenient, stats, _check_monotone_durations)


def memory_2019(path: Path, lenient: bool = False, stats: ReadStats | None = None):
    """One day of allocated-memory percentiles per application (MB), as one frame."""
    return _all(path, MEMORY_2019, lenient, stats, None)


def _check_monotone_durations(frame: pd.DataFrame, path: Path, lenient: bool, stats: ReadStats):
    q = frame[[f"percentile_Average_{p}" for p in DURATION_PERCENTILES]].to_numpy(dtype=float)
    ok = (np.diff(q, axis=1) >= -1e-9).all(axis=1)
    if ok.all():
        return frame
    bad = np.flatnonzero(~ok)
    msg = "percentile_Average_* must not decrease from 0 to 100"
    if not lenient:
        raise DataError(msg, where=f"{path}:{int(frame['_line'].iloc[bad[0]])}")
    for i in bad:
        stats.note(f"{path}:{int(frame['_line'].iloc[i])}", msg)
    stats.kept -= len(bad)
    return frame[ok].reset_index(drop=True)


def _all(path, schema, lenient, stats, check) -> pd.DataFrame:
    stats = stats if stats is not None else ReadStats()
    frames = []
    for frame in read_chunks(path, schema, 200_000, lenient, stats):
        frames.append(check(frame, Path(path), lenient, stats) if check else frame)
    if not frames:
        return pd.DataFrame({c: [] for c in [*schema.names, "_line"]})
    return pd.concat(frames, ignore_index=True)


def invocations_2021(
    path: Path,
    lenient: bool = False,
    stats: ReadStats | None = None,
    chunk_rows: int = 200_000,
    max_lateness_s: float = 3600.0,
) -> Iterator[pd.DataFrame]:
    """Azure 2021 invocations in arrival order: frames with app, func, ``arrival_s``
    (end_timestamp - duration), ``duration`` and ``_line``. Rows arrive in end-time order
    at best, so they are re-sorted with at most ``max_lateness_s`` of look-back."""
    stats = stats if stats is not None else ReadStats()

    def with_arrival():
        for frame in read_chunks(path, INVOCATIONS_2021, chunk_rows, lenient, stats):
            frame["arrival_s"] = np.maximum(
                frame["end_timestamp"].to_numpy() - frame["duration"].to_numpy(), 0.0
            )
            yield frame

    yield from reorder(with_arrival(), "arrival_s", max_lateness_s, str(path), lenient, stats)
