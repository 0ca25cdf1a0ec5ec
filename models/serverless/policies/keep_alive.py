"""Keep-alive policies (domain ``serverless.keep_alive``): how long an idle pod stays.

The platform asks ``decide(fp, pod, t)`` when a pod's last request ends at ``t`` and gets
``(keep_s, prewarm_after_s)``: keep the pod ``keep_s`` (``inf``: until evicted), or, with a
pre-warm time, unload it now and load a fresh pod ``prewarm_after_s`` later, kept
``keep_s`` unless a request takes it. ``on_arrival(fp, t)`` lets a policy observe each
request (before the pod choice); ``setup(fp, info)`` gives it the function.

``ttl``
    A fixed keep-alive, reset by each request: the Huawei platform's default is 60 s
    (§2.2); AWS Lambda kept 10 min and Azure Functions 20 min at the time of "Serverless in
    the Wild" [U: secondary notes].
``hybrid_histogram``
    "Serverless in the Wild" (Shahrad et al., ATC 2020): per function a histogram of idle
    times over 4 hours in 1-minute bins. If it is representative (CV of bin counts >= 2),
    pre-warm at the head (5th percentile) minus 10 % and keep until the tail (99th
    percentile) plus 10 %; with the head in the first bin, no unload, just the keep-alive.
    If not representative, keep for the whole range (4 h). If out-of-bounds idle times
    dominate (> 50 %), the paper predicts the next one with ARIMA; here the mean of the last
    10 out-of-bounds idle times stands in for ARIMA's forecast [A], with a 15 % margin
    either side. The CV threshold, the 50 % and the 15 % come from the public
    reimplementations (aFuerst/faascache-sim, osukhoroslov/dslab) [U].
``faascache``
    FaasCache (Fuerst and Sharma, ASPLOS 2021): keep-alive as caching. No time limit; when a
    new pod does not fit the memory budget, the platform evicts idle pods with the lowest
    Greedy-Dual priority ``clock + frequency * cost / size`` (frequency: the function's
    invocations; cost: its pod's cold-start time; size: its memory), and the clock becomes
    the evicted priority. It couples functions through the budget, so it cannot be sharded
    by function and needs the SimPy engine.
``timer_aware``
    Keep-alive and pre-warm from timer periods (the direction of §5 of the Huawei paper:
    pre-warm timer functions): when the last arrivals of a function are evenly spaced
    (within ``tolerance`` of their median gap, at least ``min_repeats`` gaps), a pod is kept
    until just after the next expected arrival if that is within ``fallback_s``, else it
    is unloaded and a fresh one pre-warmed ``lead_s`` before the expected arrival. Other
    functions get a ``fallback_s`` keep-alive. Period detection uses arrivals only, so a
    function's trigger label is not needed [A].
"""

from __future__ import annotations

import math
from typing import ClassVar

from pydantic import Field

from sim.model import Params, Policy
from sim.registry import policy

from . import KEEP_ALIVE
from .histogram import IdleHistogram

INF = math.inf


class KeepAlive(Policy):
    """Base of the keep-alive policies."""

    #: True when decisions of one function depend on other functions (cannot be sharded)
    couples_functions: ClassVar[bool] = False
    #: True when the policy needs ``on_arrival``
    observes_arrivals: ClassVar[bool] = False

    def setup(self, fp, info) -> None:
        fp.state = None

    def on_arrival(self, fp, t: float) -> None:
        pass

    def decide(self, fp, pod, t: float) -> tuple[float, float | None]:
        raise NotImplementedError


@policy(KEEP_ALIVE, "ttl", "fixed keep-alive reset by each request (Huawei default 60 s)")
class TTL(KeepAlive):
    class Params(Params):
        seconds: float = Field(60.0, ge=0, le=1e7, description="idle time before deletion (s)")

    def decide(self, fp, pod, t):
        return self.params.seconds, None


class _HistogramParams(Params):
    range_s: float = Field(4 * 3600.0, gt=60, le=7 * 86400, description="histogram range (s)")
    bin_s: float = Field(60.0, gt=0, le=3600, description="bin width (s)")
    head_percentile: float = Field(5.0, ge=0, le=50, description="pre-warm percentile")
    tail_percentile: float = Field(99.0, ge=50, le=100, description="keep-alive percentile")
    margin: float = Field(0.10, ge=0, le=0.9, description="margin on head and tail")
    cv_threshold: float = Field(2.0, ge=0, le=1e3, description="representative if CV >= this")


def histogram_windows(h: IdleHistogram, p: _HistogramParams) -> tuple[float, float] | None:
    """``(prewarm_s, keep_until_s)`` measured from the end of execution, from a
    representative histogram; None when it is not representative."""
    if h.inside == 0:
        return None
    cv = h.cv()
    if not cv >= p.cv_threshold:
        return None
    lo, hi = h.percentile_bins(p.head_percentile, p.tail_percentile)
    head = lo * h.bin_s * (1.0 - p.margin)
    tail = (hi + 1) * h.bin_s * (1.0 + p.margin)
    return head, tail


@policy(KEEP_ALIVE, "hybrid_histogram", "idle-time histogram: pre-warm at the head, keep to the tail (Serverless in the Wild)")  # fmt: skip
class HybridHistogram(KeepAlive):
    observes_arrivals = True

    class Params(_HistogramParams):
        oob_threshold: float = Field(0.5, ge=0, le=1, description="share of OOB idle times above which the forecast is used")  # fmt: skip
        forecast_margin: float = Field(0.15, ge=0, le=0.9, description="margin around the forecast")  # fmt: skip

    def setup(self, fp, info) -> None:
        fp.state = IdleHistogram(self.params.range_s, self.params.bin_s)

    def on_arrival(self, fp, t):
        if fp.in_flight == 0 and fp.last_end_s > -INF:
            fp.state.add(t - fp.last_end_s)

    def decide(self, fp, pod, t):
        p = self.params
        h: IdleHistogram = fp.state
        if h.total and h.oob / h.total > p.oob_threshold and h.recent_oob:
            forecast = sum(h.recent_oob) / len(h.recent_oob)
            prewarm = forecast * (1.0 - p.forecast_margin)
            return forecast * 2.0 * p.forecast_margin, prewarm
        windows = histogram_windows(h, p)
        if windows is None:
            return p.range_s, None
        head, tail = windows
        if head <= 0.0:
            return tail, None
        return tail - head, head


@policy(KEEP_ALIVE, "faascache", "Greedy-Dual keep-alive under a memory budget (FaasCache)")
class FaasCache(KeepAlive):
    couples_functions = True

    class Params(Params):
        memory_budget_gb: float = Field(64.0, gt=0, le=1e7,
                                        description="memory for pods per region (GB)")  # fmt: skip
        default_cost_s: float = Field(1.0, gt=0, le=1e4,
                                      description="cold-start cost before one is seen (s)")  # fmt: skip

    def __init__(self, params=None):
        super().__init__(params)
        self.clock = 0.0

    def decide(self, fp, pod, t):
        return INF, None

    def priority(self, fp, pod) -> float:
        cost = pod.cold_start_s if pod.cold_start_s == pod.cold_start_s else self.params.default_cost_s
        size = max(pod.memory_mb, 1.0)
        return self.clock + fp.arrivals * cost / size

    def evicted(self, priority: float) -> None:
        self.clock = priority


@policy(KEEP_ALIVE, "timer_aware", "keep-alive and pre-warm from detected timer periods")
class TimerAware(KeepAlive):
    observes_arrivals = True

    class Params(Params):
        fallback_s: float = Field(60.0, ge=0, le=1e7, description="keep-alive of other functions (s)")  # fmt: skip
        tolerance: float = Field(0.05, gt=0, le=0.5, description="allowed spread of the gaps")
        min_repeats: int = Field(3, ge=2, le=100, description="evenly spaced gaps needed")
        lead_s: float = Field(15.0, ge=0, le=3600, description="pre-warm this long before the expected arrival (s)")  # fmt: skip
        linger: float = Field(0.1, ge=0, le=1, description="keep past the expected arrival (share of the period)")  # fmt: skip

    def setup(self, fp, info) -> None:
        fp.state = []  # the last arrival times

    def on_arrival(self, fp, t):
        arrivals = fp.state
        arrivals.append(t)
        if len(arrivals) > self.params.min_repeats + 1:
            del arrivals[0]

    def period(self, arrivals: list[float]) -> float | None:
        if len(arrivals) < self.params.min_repeats + 1:
            return None
        gaps = sorted(b - a for a, b in zip(arrivals, arrivals[1:], strict=False))
        mid = gaps[len(gaps) // 2]
        if mid <= 0 or (gaps[-1] - gaps[0]) > self.params.tolerance * mid:
            return None
        return mid

    def decide(self, fp, pod, t):
        p = self.params
        period = self.period(fp.state)
        if period is None:
            return p.fallback_s, None
        wait = fp.state[-1] + period - t  # until the next expected arrival
        linger = p.linger * period
        if wait <= p.fallback_s:
            return max(wait, 0.0) + linger, None
        prewarm = wait - p.lead_s
        if prewarm <= 0.0:
            return wait + linger, None
        return p.lead_s + linger, prewarm
