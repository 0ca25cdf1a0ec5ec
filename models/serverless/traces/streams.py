"""Time order over several streams of chunks, with bounded memory.

:func:`merge_sorted`
    A k-way merge of streams that are each sorted by a time column (the release's per-request
    part files, several days of files). It holds at most one chunk per stream: rows up to
    the smallest "last time" among the streams' current chunks are safe to emit, since every
    row still unread in any stream is at least that late.

:func:`reorder`
    Re-sorts a stream that is sorted by another key but whose time column is late by at
    most ``max_lateness_s`` (Azure 2021: rows are in end-time order, arrivals are end time
    minus duration). A row more than ``max_lateness_s`` behind the newest seen is a
    :class:`~sim.errors.DataError` (or, leniently, skipped and counted).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import pandas as pd

from sim.errors import DataError
from sim.traces import ReadStats


def merge_sorted(streams: Iterable[Iterator[pd.DataFrame]], time_column: str) -> Iterator[pd.DataFrame]:
    """Merge streams of frames, each sorted by ``time_column``, into one sorted stream.
    Equal times keep stream order (a stable merge)."""
    its = [iter(s) for s in streams]
    buffers: list[pd.DataFrame | None] = [None] * len(its)

    def refill(k: int) -> None:
        while True:
            frame = next(its[k], None)
            if frame is None:
                buffers[k] = None
                return
            if len(frame):
                buffers[k] = frame
                return

    for k in range(len(its)):
        refill(k)
    while True:
        live = [k for k, b in enumerate(buffers) if b is not None]
        if not live:
            return
        if len(live) == 1:
            k = live[0]
            yield buffers[k]
            refill(k)
            continue
        horizon = min(float(buffers[k][time_column].iloc[-1]) for k in live)
        parts = []
        for k in live:
            b = buffers[k]
            t = b[time_column].to_numpy()
            n = int(np.searchsorted(t, horizon, side="right"))
            if n:
                parts.append(b.iloc[:n])
                buffers[k] = b.iloc[n:] if n < len(b) else None
        out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)
        order = np.argsort(out[time_column].to_numpy(), kind="stable")
        yield out.iloc[order].reset_index(drop=True)
        for k in live:
            if buffers[k] is None:
                refill(k)


def reorder(
    frames: Iterator[pd.DataFrame],
    time_column: str,
    max_lateness_s: float,
    where: str = "",
    lenient: bool = False,
    stats: ReadStats | None = None,
) -> Iterator[pd.DataFrame]:
    """Sort a nearly sorted stream (see the module docstring). ``where`` names the file
    for messages; frames should carry ``_line``."""
    stats = stats if stats is not None else ReadStats()
    held: pd.DataFrame | None = None
    newest = -np.inf
    released = -np.inf
    for frame in frames:
        if not len(frame):
            continue
        t = frame[time_column].to_numpy(dtype=float)
        late = t < released
        if late.any():
            i = int(np.flatnonzero(late)[0])
            line = int(frame["_line"].iloc[i]) if "_line" in frame else -1
            msg = (f"{time_column} {t[i]:g} is more than {max_lateness_s:g} s behind a later "
                   "row (raise max_lateness_s)")  # fmt: skip
            if not lenient:
                raise DataError(msg, where=f"{where}:{line}" if where else None)
            for j in np.flatnonzero(late):
                ln = int(frame["_line"].iloc[j]) if "_line" in frame else -1
                stats.note(f"{where}:{ln}", msg)
            stats.kept -= int(late.sum())
            frame = frame[~late]
            t = t[~late]
        newest = max(newest, float(t.max())) if t.size else newest
        held = frame if held is None else pd.concat([held, frame], ignore_index=True)
        cut = newest - max_lateness_s
        ht = held[time_column].to_numpy(dtype=float)
        ready = ht < cut
        if ready.any():
            out = held[ready]
            held = held[~ready].reset_index(drop=True)
            order = np.argsort(out[time_column].to_numpy(), kind="stable")
            released = max(released, float(out[time_column].max()))
            yield out.iloc[order].reset_index(drop=True)
    if held is not None and len(held):
        order = np.argsort(held[time_column].to_numpy(), kind="stable")
        yield held.iloc[order].reset_index(drop=True)
