"""Timeline spans, exported as Chrome / Perfetto trace JSON.

A span is a named interval on a *track* (one row in the viewer: a server, a GPU, a link).
:meth:`Timeline.to_chrome_trace` writes the Trace Event Format's complete events
(``"ph": "X"``), with times in microseconds, which chrome://tracing and ui.perfetto.dev open.
Recording is off unless enabled, so models may call :meth:`span` unconditionally at the cost
of one attribute check.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class Timeline:
    def __init__(self, enabled: bool = False, max_spans: int = 1_000_000):
        self.enabled = enabled
        self.max_spans = max_spans
        self.dropped = 0
        self._spans: list[tuple[str, str, str, float, float, dict[str, Any] | None]] = []

    def span(
        self,
        name: str,
        start_s: float,
        end_s: float,
        track: str = "main",
        category: str = "",
        args: dict[str, Any] | None = None,
    ) -> None:
        if not self.enabled:
            return
        if end_s < start_s:
            raise ValueError(f"span {name!r} ends ({end_s}) before it starts ({start_s})")
        if len(self._spans) >= self.max_spans:
            self.dropped += 1
            return
        self._spans.append((name, category, track, start_s, end_s, args))

    def __len__(self) -> int:
        return len(self._spans)

    def to_chrome_trace(self) -> dict[str, Any]:
        tracks: dict[str, int] = {}
        events: list[dict[str, Any]] = []
        for name, cat, track, start, end, args in self._spans:
            tid = tracks.setdefault(track, len(tracks) + 1)
            ev: dict[str, Any] = {
                "name": name,
                "cat": cat or "sim",
                "ph": "X",
                "ts": start * 1e6,
                "dur": (end - start) * 1e6,
                "pid": 1,
                "tid": tid,
            }
            if args:
                ev["args"] = args
            events.append(ev)
        for track, tid in tracks.items():
            events.append(
                {"name": "thread_name", "ph": "M", "pid": 1, "tid": tid, "args": {"name": track}}
            )
        return {"traceEvents": events, "displayTimeUnit": "ns"}

    def write(self, path: str | Path) -> Path:
        from sim.results import atomic_write_text

        return atomic_write_text(Path(path), json.dumps(self.to_chrome_trace()))
