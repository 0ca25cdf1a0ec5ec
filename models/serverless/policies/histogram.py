"""A function's histogram of idle times, as the hybrid-histogram policy of "Serverless in
the Wild" (Shahrad et al., USENIX ATC 2020, §4.2) keeps it.

An idle time (IT) is the time from the end of the function's last execution (no request
of the function in flight any more) to its next invocation. ITs fall into 1-minute bins
over a range (4 hours); longer ones are out of bounds (OOB). From the histogram: the head
(5th percentile) and the tail (99th percentile) of ITs, and whether the histogram is
representative (the coefficient of variation of its bin counts is at least a threshold,
2 in the public reimplementations ``aFuerst/faascache-sim`` and ``osukhoroslov/dslab``).
Counts are kept incrementally (sum of squares included), so a decision costs no scan of
the bins beyond the walk to the percentiles.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from itertools import accumulate


class IdleHistogram:
    __slots__ = ("bin_s", "bins", "counts", "inside", "sum_sq", "oob", "recent_oob")

    def __init__(self, range_s: float = 4 * 3600.0, bin_s: float = 60.0, recent: int = 10):
        self.bin_s = bin_s
        self.bins = max(1, int(round(range_s / bin_s)))
        self.counts = [0] * self.bins
        self.inside = 0
        self.sum_sq = 0
        self.oob = 0
        self.recent_oob: list[float] = []

    def add(self, idle_s: float) -> None:
        b = int(idle_s // self.bin_s)
        if b < self.bins:
            c = self.counts[b]
            self.counts[b] = c + 1
            self.sum_sq += 2 * c + 1
            self.inside += 1
        else:
            self.oob += 1
            self.recent_oob.append(idle_s)
            if len(self.recent_oob) > 10:
                del self.recent_oob[0]

    @property
    def total(self) -> int:
        return self.inside + self.oob

    def cv(self) -> float:
        """Coefficient of variation of the bin counts (NaN when empty)."""
        if self.inside == 0:
            return math.nan
        mean = self.inside / self.bins
        var = self.sum_sq / self.bins - mean * mean
        return math.sqrt(max(var, 0.0)) / mean

    def percentile_bins(self, low: float, high: float) -> tuple[int, int]:
        """Bins holding the ``low`` and ``high`` percentiles of the in-range ITs."""
        n = self.inside
        lo_target = low / 100.0 * n
        hi_target = high / 100.0 * n
        acc = list(accumulate(self.counts))
        last = self.bins - 1
        hi = min(bisect_left(acc, hi_target), last)  # first bin reaching the high target
        lo = bisect_right(acc, lo_target)  # first bin passing the low target
        return (lo if lo <= hi else last), hi
