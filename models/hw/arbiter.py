"""An HBM memory controller shared by compute and communication traffic, with pluggable
arbitration (FCFS, strict compute priority, T3's communication-aware MCA).

What it models
    One SimPy server process that serves bursts of ``burst_bytes`` at the memory bandwidth,
    one burst at a time (service time = bytes x cost / bandwidth). A transfer (``read``,
    ``write`` or ``transfer``) is split into bursts; it keeps at most ``window_bursts`` of
    them in the controller queue at once (the requester's memory-level parallelism), adding
    the next one when one is served. Each burst belongs to the compute class (origins in
    ``compute_origins``, default ``{"gemm"}``) or the communication class (every other
    origin). Before each burst the policy picks the class to serve:

    * ``fcfs``: the burst that entered the queue first;
    * ``priority``: compute whenever a compute burst waits;
    * ``threshold`` (T3's communication-aware memory-controller arbitration, MCA: Pati et
      al., ASPLOS'24, Sec. 4.5): a communication burst may issue only while the compute
      queue holds fewer than ``threshold_bursts`` bursts (then FCFS among the two heads);
      with a bounded controller queue (:mod:`sim_models.hw.dram`) the same rule also holds
      communication back when no compute request waits (:meth:`ArbiterPolicy.comm_alone`);
      once communication has waited ``starvation_limit_s`` (since it last got service or
      since it started waiting) one communication burst is forced. With
      ``compute_first`` (T3's stated rule: GEMM requests first), a waiting compute burst
      goes before communication below the threshold too, so the threshold only gates
      communication while no compute request waits (bounded queues): a small compute
      request that arrives behind a backlog of older communication does not wait for it. So communication never
      waits longer than ``starvation_limit_s`` plus one burst's service time
      (:attr:`HBMArbiter.max_comm_wait_s` records the longest wait), and gets at least
      ``burst_bytes`` per ``starvation_limit_s + one burst time``. ``threshold_bursts`` is a
      mutable attribute so a model can set it from the memory intensity of the first GEMM
      stage (the paper's dynamic threshold).

    Counters per origin: bytes read and written, bursts, queueing delay of bursts (enqueue to
    start of service), and server busy time. With ``bin_s``, bytes served per origin and
    direction in time bins of ``bin_s`` (:meth:`HBMArbiter.timeline`): a DRAM-traffic
    timeline.

Granularity
    ``burst_bytes`` (default 64 KiB) trades fidelity for events: one SimPy timeout per burst.
    At 1 TB/s a 64 KiB burst lasts 65.5 ns, far below the 1-4 us starvation limits and the
    microsecond GEMM waves of interest, and a 100 MB GEMM costs ~1,500 events instead of the
    ~1.6 million of 64 B requests. The server is a chain of callbacks on timeouts (no SimPy
    process): one event per burst. Real controllers arbitrate 32-64 B requests per channel
    over many channels; here all channels are lumped into one server.

What it leaves out
    Channels, banks, row-buffer hits and misses, read/write turnaround, refresh, and address
    mapping. Reads and writes cost the same per byte unless ``cost`` says otherwise.

Assumptions (the T3 paper gives no MCA values; all [A])
    Defaults: ``window_bursts = 16``; threshold policy ``threshold_bursts = 8``,
    ``starvation_limit_s = 2 us`` (within the 1-4 us range suggested there).

Units: bytes, seconds, bytes/s.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from itertools import count

import simpy
from pydantic import Field

from sim.events import call_later
from sim.model import Params, Policy
from sim.registry import policy
from sim.scope import Scope, scope_of

COMPUTE, COMM = False, True  # queue keys: is the burst communication?


class ArbiterPolicy(Policy):
    """Chooses the class of the next burst; ``select`` returns True for communication.
    Only called when both classes have a burst waiting."""

    def select(self, arb: HBMArbiter) -> bool:
        raise NotImplementedError

    def comm_alone(self, arb) -> bool:
        """May a communication request go ahead when no compute request waits? Asked by
        controllers with a bounded queue (:class:`sim_models.hw.dram.BankedHBM`); the
        bandwidth server :class:`HBMArbiter` always serves it."""
        return True


@policy("hw.arbiter", "fcfs", "first come, first served over bursts of both classes")
class FCFS(ArbiterPolicy):
    def select(self, arb: HBMArbiter) -> bool:
        return arb.head_key(COMM) < arb.head_key(COMPUTE)


@policy("hw.arbiter", "priority", "strict priority: compute bursts first")
class ComputeFirst(ArbiterPolicy):
    def select(self, arb: HBMArbiter) -> bool:
        return False


@policy("hw.arbiter", "threshold", "T3 MCA: comm only below a compute-queue threshold")
class OccupancyThreshold(ArbiterPolicy):
    class Params(Params):
        threshold_bursts: int = Field(8, ge=0, description="comm issues while compute queue < this")
        starvation_limit_s: float = Field(2e-6, gt=0, description="force one comm burst after")
        compute_first: bool = Field(
            False, description="a waiting compute request always goes before communication "
            "(below the threshold too); false: FCFS between the two heads below the threshold")

    def __init__(self, params: Params | None = None):
        super().__init__(params)
        self.threshold_bursts = self.params.threshold_bursts
        self.starvation_limit_s = self.params.starvation_limit_s
        self.compute_first = self.params.compute_first
        self.forced = 0

    def select(self, arb: HBMArbiter) -> bool:
        if arb.comm_wait_s() >= self.starvation_limit_s:
            self.forced += 1
            return True
        if self.compute_first:
            return False
        if arb.occupancy(COMPUTE) < self.threshold_bursts:
            return arb.head_key(COMM) < arb.head_key(COMPUTE)
        return False

    def comm_alone(self, arb) -> bool:
        if arb.comm_wait_s() >= self.starvation_limit_s:
            self.forced += 1
            return True
        return arb.occupancy(COMPUTE) < self.threshold_bursts


@dataclass
class OriginStats:
    read_bytes: float = 0.0
    write_bytes: float = 0.0
    bursts: int = 0
    queue_delay_s: float = 0.0  # sum over bursts
    max_queue_delay_s: float = 0.0

    @property
    def bytes(self) -> float:
        return self.read_bytes + self.write_bytes

    @property
    def mean_queue_delay_s(self) -> float:
        return self.queue_delay_s / self.bursts if self.bursts else 0.0


class _Transfer:
    __slots__ = ("origin", "comm", "write", "cost", "unqueued", "left", "event", "on_done")

    def __init__(self, origin, comm, write, cost, nbytes, event, on_done=None):
        self.origin, self.comm, self.write, self.cost = origin, comm, write, cost
        self.unqueued = self.left = nbytes
        self.event = event
        self.on_done = on_done


class HBMArbiter:
    """Memory controller: a bandwidth server with a pluggable arbitration policy.

    With a traced ``scope``, every burst is a span on the track ``<scope>/<origin>``.
    """

    def __init__(
        self,
        env: simpy.Environment,
        bandwidth_Bps: float,
        *,
        policy: ArbiterPolicy | None = None,
        burst_bytes: float = 64 * 1024,
        window_bursts: int = 16,
        latency_s: float = 0.0,
        compute_origins: tuple[str, ...] = ("gemm",),
        bin_s: float | None = None,
        scope: Scope | None = None,
    ):
        if bandwidth_Bps <= 0 or burst_bytes <= 0 or window_bursts < 1:
            raise ValueError("bandwidth_Bps, burst_bytes and window_bursts must be positive")
        if bin_s is not None and bin_s <= 0:
            raise ValueError("bin_s must be positive")
        self.env, self.bandwidth_Bps = env, bandwidth_Bps
        self.policy = policy if policy is not None else FCFS()
        self.burst_bytes, self.window_bursts, self.latency_s = burst_bytes, window_bursts, latency_s
        self.compute_origins = frozenset(compute_origins)
        self.scope = scope_of(scope)
        self.stats: dict[str, OriginStats] = {}
        self.busy_s = 0.0
        #: longest time communication waited with a burst queued and none served
        self.max_comm_wait_s = 0.0
        self.bin_s = bin_s
        self._bins: dict[tuple[str, bool, int], float] = {}
        self._q: dict[bool, deque] = {COMPUTE: deque(), COMM: deque()}
        self._seq = count()
        self._comm_since = 0.0
        self._busy = False

    # -- requests ---------------------------------------------------------------------------
    def read(self, nbytes: float, origin: str, *, window: int | None = None,
             ranges=None) -> simpy.Event:  # fmt: skip
        """``ranges`` (addresses, for a banked DRAM) are accepted and ignored here."""
        return self.transfer(nbytes, origin, window=window)

    def write(self, nbytes: float, origin: str, *, window: int | None = None,
              ranges=None) -> simpy.Event:  # fmt: skip
        return self.transfer(nbytes, origin, write=True, window=window)

    def transfer(
        self,
        nbytes: float,
        origin: str,
        *,
        write: bool = False,
        cost: float = 1.0,
        window: int | None = None,
    ) -> simpy.Event:
        """Move ``nbytes`` for ``origin``; each burst occupies the server ``cost`` times its
        plain transfer time (NMC updates use ``cost > 1``). ``window``: bursts kept queued
        (default ``window_bursts``; e.g. the number of workgroups storing at once). Fires
        when all bytes are served plus ``latency_s``."""
        event = self.env.event()
        if nbytes <= 0:
            return event.succeed(self.env.now)
        self._start(_Transfer(origin, origin not in self.compute_origins, write, cost, nbytes,
                              event), window)  # fmt: skip
        return event

    def transfer_then(
        self,
        nbytes: float,
        origin: str,
        on_done: Callable[[], object],
        *,
        write: bool = False,
        cost: float = 1.0,
    ) -> None:
        """:meth:`transfer` without an event: ``on_done()`` is called when the transfer is
        done (one event fewer per transfer, for models that issue very many)."""
        if nbytes <= 0:
            call_later(self.env, 0.0, lambda _e: on_done())
            return
        self._start(_Transfer(origin, origin not in self.compute_origins, write, cost, nbytes,
                              None, on_done))  # fmt: skip

    def _start(self, tr: _Transfer, window: int | None = None) -> None:
        for _ in range(self.window_bursts if window is None else max(1, window)):
            if tr.unqueued <= 0:
                break
            self._enqueue(tr)
        self._kick()

    # -- state the policies read ------------------------------------------------------------
    def occupancy(self, comm: bool) -> int:
        """Bursts of a class waiting in the controller queue."""
        return len(self._q[comm])

    def head_key(self, comm: bool) -> tuple[float, int]:
        """(enqueue time, sequence number) of the oldest waiting burst of a class."""
        t, seq, _tr, _b = self._q[comm][0]
        return (t, seq)

    def comm_wait_s(self) -> float:
        """How long communication has waited since it last got service or began waiting."""
        return self.env.now - self._comm_since if self._q[COMM] else 0.0

    def served_bytes(self) -> float:
        return sum(s.bytes for s in self.stats.values())

    def origin(self, name: str) -> OriginStats:
        return self.stats.setdefault(name, OriginStats())

    def timeline(self) -> list[tuple[float, str, str, float]]:
        """``(bin start s, origin, "read"|"write", bytes)`` per non-empty bin (``bin_s`` set);
        a burst counts in the bin where its service starts."""
        if self.bin_s is None:
            return []
        return [
            (i * self.bin_s, origin, "write" if write else "read", nbytes)
            for (origin, write, i), nbytes in sorted(self._bins.items(), key=lambda kv: kv[0][2])
        ]

    # -- internals --------------------------------------------------------------------------
    def _enqueue(self, tr: _Transfer) -> None:
        b = min(self.burst_bytes, tr.unqueued)
        tr.unqueued -= b
        q = self._q[tr.comm]
        if tr.comm and not q:
            self._comm_since = self.env.now
        q.append((self.env.now, next(self._seq), tr, b))

    def _kick(self) -> None:
        """Start serving at the end of this instant's scheduling if the server is idle (so
        requests made at the same instant all queue before the first pick)."""
        if not self._busy:
            self._busy = True
            call_later(self.env, 0.0, self._next)

    def _next(self, _ev=None) -> None:
        env, qs = self.env, self._q
        if not qs[COMPUTE] and not qs[COMM]:
            self._busy = False
            return
        if not qs[COMM]:
            comm = COMPUTE
        elif not qs[COMPUTE]:
            comm = COMM
        else:
            comm = self.policy.select(self)
        t_enq, _seq, tr, b = qs[comm].popleft()
        now = env.now
        if comm:
            wait = now - self._comm_since
            if wait > self.max_comm_wait_s:
                self.max_comm_wait_s = wait
            self._comm_since = now
        st = self.stats.get(tr.origin)
        if st is None:
            st = self.stats[tr.origin] = OriginStats()
        delay = now - t_enq
        st.queue_delay_s += delay
        if delay > st.max_queue_delay_s:
            st.max_queue_delay_s = delay
        service = b * tr.cost / self.bandwidth_Bps
        call_later(env, service, self._served, (tr, b, st, now, service))

    def _served(self, ev) -> None:
        tr, b, st, t0, service = ev.value
        env = self.env
        if self.scope.tracing:
            self.scope.span("write" if tr.write else "read", t0, env.now, track=tr.origin,
                            args={"bytes": b})  # fmt: skip
        self.busy_s += service
        if self.bin_s is not None:
            key = (tr.origin, tr.write, int(t0 / self.bin_s))
            self._bins[key] = self._bins.get(key, 0.0) + b
        st.bursts += 1
        if tr.write:
            st.write_bytes += b
        else:
            st.read_bytes += b
        tr.left -= b
        if tr.unqueued > 0:
            self._enqueue(tr)
        elif tr.left <= 0:
            if tr.event is None:
                if self.latency_s > 0:
                    call_later(env, self.latency_s, lambda _e, f=tr.on_done: f())
                else:
                    tr.on_done()
            elif self.latency_s > 0:
                call_later(env, self.latency_s, lambda _e, e=tr.event: e.succeed(env.now))
            else:
                tr.event.succeed(env.now)
        self._next()
