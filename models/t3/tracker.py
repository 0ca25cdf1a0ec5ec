"""T3's track & trigger unit: per-tile update counters at the memory controller that fire a
pre-programmed DMA when a tile has received all its updates.

What it models (Pati et al., T3, ASPLOS'24, Sec. 4.2, Fig. 9)
    Software programs, per output tile of the producer GEMM, how many updates the tile
    must receive before its DMA may run (the ``dma_map`` trigger condition, Sec. 4.4): for
    a ring reduce-scatter, the tile's local GEMM store plus one update from the upstream
    GPU, i.e. 2. The tracker watches the stores and updates that reach memory: the first
    one allocates an entry, each one increments it, and the one that brings the entry to
    its programmed count fires the tile's DMA command and frees the entry. A tile fires
    exactly once; an update to a tile that has already fired, or that was never
    programmed, is an error (it would be lost data in hardware).

    Entries are keyed by tile (workgroup/wavefront metadata carried with the stores), not
    address ranges. The hardware has 256 entries (~19 KB, Sec. 4.2); the model counts the
    live entries and records the peak and how many updates arrived while all entries were
    taken (``overflows``), without stalling them: what a full tracker would do is not
    known here.

Units: counts.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

#: Tracker entries of T3's hardware (Sec. 4.2).
TRACKER_ENTRIES = 256


class TrackerError(RuntimeError):
    """An update the tracker cannot account for (a modelling error, not a user error)."""


class Tracker:
    """Counts updates per tile; calls ``on_fire(key, now)`` once when a tile's count is
    reached."""

    def __init__(
        self,
        on_fire: Callable[[Hashable], None],
        *,
        entries: int = TRACKER_ENTRIES,
    ):
        if entries < 1:
            raise ValueError("entries must be >= 1")
        self.on_fire = on_fire
        self.entries = entries
        self._required: dict[Hashable, int] = {}
        self._live: dict[Hashable, int] = {}
        self._fired: set[Hashable] = set()
        self.updates = 0
        self.fires = 0
        self.peak_entries = 0
        self.overflows = 0

    def program(self, key: Hashable, count: int) -> None:
        """Arm ``key``: fire after ``count`` updates (``dma_map``'s trigger condition)."""
        if count < 1:
            raise ValueError("a trigger count must be >= 1")
        if key in self._required or key in self._fired:
            raise TrackerError(f"tile {key!r} is already programmed")
        self._required[key] = count

    @property
    def live_entries(self) -> int:
        return len(self._live)

    def pending(self) -> int:
        """Programmed tiles that have not fired yet."""
        return len(self._required)

    def update(self, key: Hashable) -> bool:
        """One store/update of ``key`` reached memory; True if it fired the tile."""
        if key in self._fired:
            raise TrackerError(f"tile {key!r} updated after its DMA fired")
        need = self._required.get(key)
        if need is None:
            raise TrackerError(f"tile {key!r} was never programmed")
        self.updates += 1
        n = self._live.get(key, 0) + 1
        if n == 1 and len(self._live) >= self.entries:
            self.overflows += 1
        if n < need:
            self._live[key] = n
            self.peak_entries = max(self.peak_entries, len(self._live))
            return False
        self._live.pop(key, None)
        del self._required[key]
        self._fired.add(key)
        self.fires += 1
        self.on_fire(key)
        return True
