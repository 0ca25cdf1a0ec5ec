"""Pre-warm policies (domain ``serverless.prewarm``), applied on top of the keep-alive
decision.

``none``
    The keep-alive policy's decision stands.
``histogram``
    Pre-warming from an idle-time histogram (the pre-warm half of "Serverless in the
    Wild"'s hybrid policy, §4.2): when the function's histogram is representative and its
    head (5th percentile, minus 10 %) comes after the keep-alive would have run out, the
    pod is unloaded at once and a fresh one loaded at the head, kept until the tail (99th
    percentile, plus 10 %). A keep-alive decision that already pre-warms is left alone.
"""

from __future__ import annotations

from typing import ClassVar

from sim.model import Policy
from sim.registry import policy

from . import PREWARM
from .histogram import IdleHistogram
from .keep_alive import _HistogramParams, histogram_windows


class Prewarm(Policy):
    observes_arrivals: ClassVar[bool] = False

    def setup(self, fp, info):
        return None

    def on_arrival(self, state, fp, t: float) -> None:
        pass

    def adjust(self, state, fp, t: float, keep_s: float, prewarm_s):
        return keep_s, prewarm_s


@policy(PREWARM, "none", "no pre-warming beyond the keep-alive policy's own")
class NoPrewarm(Prewarm):
    pass


@policy(PREWARM, "histogram", "pre-warm at the head of the idle-time histogram (Serverless in the Wild)")  # fmt: skip
class HistogramPrewarm(Prewarm):
    observes_arrivals = True

    class Params(_HistogramParams):
        pass

    def setup(self, fp, info):
        return IdleHistogram(self.params.range_s, self.params.bin_s)

    def on_arrival(self, state, fp, t):
        if fp.in_flight == 0 and fp.last_end_s > -float("inf"):
            state.add(t - fp.last_end_s)

    def adjust(self, state, fp, t, keep_s, prewarm_s):
        if prewarm_s is not None:
            return keep_s, prewarm_s
        windows = histogram_windows(state, self.params)
        if windows is None:
            return keep_s, prewarm_s
        head, tail = windows
        if head <= keep_s:
            return keep_s, prewarm_s
        return tail - head, head
