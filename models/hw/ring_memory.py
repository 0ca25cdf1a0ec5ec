"""Ring reduce-scatter and all-gather with their DRAM reads, writes and reduction cost, for
one rank of a symmetric ring; and a FIFO point-to-point link direction.

What it models
    * :class:`SerialLink`: one direction of a point-to-point link (a ring link). Messages
      are serialised one at a time, FIFO, at the link bandwidth; each arrives ``latency_s``
      after its last byte left, and the next message's serialisation overlaps that flight.
      Callback based (no process per message).
    * :func:`ring_reduce_scatter` / :func:`ring_all_gather`: one rank of the ring algorithm
      (the step structure of :func:`sim_models.hw.collectives.ring_schedule`: ``p - 1``
      steps, each moving one chunk ``c = N / p`` to the ring successor) with the memory
      traffic of a kernel that runs it (a CU-executed ring as in RCCL/NCCL, or DMA):

      reduce-scatter, per rank, store-and-forward at step granularity
        - step 1: read the local chunk (``c``), send it;
        - each arriving chunk is written into local memory (``c``), or, with near-memory
          reduction (``nmc=True``), added into the resident chunk by an op-and-store
          update (:meth:`~sim_models.hw.memory.ComputeEnhancedMemory.update`: one channel
          write plus in-DRAM read-add-write, no GPU read);
        - steps 2 .. p-1: read the received and the local chunk (``2c``), send their sum
          (it lands in the successor's memory); with NMC the received data is already
          reduced in place, so only the reduced chunk is read (``c``);
        - after the last arrival: read both (``2c``) and write the result (``c``); with
          NMC nothing is left to do.

        DRAM bytes per rank: reads ``(2p - 1) c``, writes ``p c`` (NMC: reads
        ``(p - 1) c``, writes ``(p - 1) c`` as updates); :func:`ring_rs_dram_bytes`.

      all-gather: each step reads a chunk (``c``), sends it and the arriving chunk is
      written (``c``): reads and writes ``(p - 1) c`` each.

      The reduction's adds cost ``c / dtype_bytes`` operations at ``add_flops`` per
      reduce phase, and a kernel restricted to few CUs moves at most ``cu_Bps`` of its own
      traffic (reads, final writes): a phase takes the longest of its DRAM time, its adds
      and its bytes at ``cu_Bps``. Arrival writes are done by the link's DMA and are not
      capped.

Symmetry
    Every rank runs the same steps at the same times, so one rank's memory and its outgoing
    link stand for all: the message a rank sends in step ``s`` arrives at its successor
    exactly when, by symmetry, its predecessor's step-``s`` message arrives at it; the
    arrival write is therefore applied to the simulated rank's own memory at that time.
    This is the method of T3's evaluation (one GPU simulated in detail, peer traffic
    injected; Pati et al., ASPLOS'24, Sec. 5.1).

Slices (pipelining)
    With ``slices = m > 1`` every chunk is cut into ``m`` slices that travel the ring
    independently, as NCCL/RCCL's Simple protocol pipelines a chunk slice by slice (slice i
    of step s+1 leaves as soon as slice i of step s has arrived and been reduced): ``m``
    concurrent store-and-forward rings of ``N / m``, whose messages share the link FIFO and
    whose phases share the memory. Then the memory time of one slice's phases hides behind
    the link transfers of the others. A CU-limited kernel's ``cu_Bps`` is split evenly
    among the slices in flight.

Closed form (idle memory and link, ``slices = 1``; :func:`ring_rs_time_s`)
    ``(p - 1)(alpha + c / B)`` (the ring's alpha-beta time) plus the DRAM time of every
    phase: a step is store-and-forward, so nothing of the memory time hides behind the link.

What it leaves out
    Protocol (LL/LL128/Simple) overheads, flag synchronisation latency, several rings
    (channels) on separate links, and asymmetric ranks.

Units: bytes, seconds, bytes/s, FLOP/s.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import simpy
from sim_models.hw.collectives import ring_schedule
from sim_models.hw.specs import LinkSpec

from sim.events import call_later
from sim.scope import Scope, scope_of

__all__ = [
    "RingResult",
    "SerialLink",
    "ring_ag_dram_bytes",
    "ring_ag_time_s",
    "ring_all_gather",
    "ring_reduce_scatter",
    "ring_rs_dram_bytes",
    "ring_rs_time_s",
    "slices_for",
]


class SerialLink:
    """One direction of a link: FIFO serialisation at ``spec.effective_Bps``, then
    ``spec.latency_s`` of flight. :meth:`send` returns the message's arrival event."""

    def __init__(self, env: simpy.Environment, spec: LinkSpec, *, scope: Scope | None = None):
        if spec.effective_Bps <= 0:
            raise ValueError("link bandwidth must be positive")
        self.env, self.spec = env, spec
        self.scope = scope_of(scope)
        self.bandwidth_Bps = spec.effective_Bps
        self.latency_s = spec.latency_s
        self.bytes = 0.0
        self.messages = 0
        self.busy_s = 0.0
        self._queue: deque = deque()
        self._busy = False

    def send(self, nbytes: float, tag: str = "msg") -> simpy.Event:
        """Queue a message of ``nbytes``; the event fires when it has arrived."""
        if nbytes < 0:
            raise ValueError("nbytes must be >= 0")
        ev = self.env.event()
        self._queue.append((nbytes, ev, tag))
        if not self._busy:
            self._start()
        return ev

    def send_then(self, nbytes: float, on_arrival, tag: str = "msg") -> None:
        """:meth:`send` without an event: ``on_arrival()`` is called when it has arrived."""
        if nbytes < 0:
            raise ValueError("nbytes must be >= 0")
        self._queue.append((nbytes, on_arrival, tag))
        if not self._busy:
            self._start()

    @property
    def queued(self) -> int:
        return len(self._queue)

    def _start(self) -> None:
        nbytes, ev, tag = self._queue.popleft()
        self._busy = True
        ser = nbytes / self.bandwidth_Bps
        call_later(self.env, ser, self._serialised, (nbytes, ev, tag, self.env.now))

    def _serialised(self, timer: simpy.Event) -> None:
        nbytes, ev, tag, t0 = timer.value
        now = self.env.now
        self.bytes += nbytes
        self.messages += 1
        self.busy_s += now - t0
        if self.scope.tracing:
            self.scope.span(tag, t0, now, args={"bytes": nbytes})
        if isinstance(ev, simpy.Event):
            if self.latency_s > 0:
                call_later(self.env, self.latency_s, lambda _t: ev.succeed(self.env.now))
            else:
                ev.succeed(now)
        elif self.latency_s > 0:
            call_later(self.env, self.latency_s, lambda _t: ev())
        else:
            ev()
        self._busy = False
        if self._queue:
            self._start()


@dataclass
class RingResult:
    start_s: float
    end_s: float = 0.0
    steps: int = 0

    @property
    def time_s(self) -> float:
        return self.end_s - self.start_s


# -- closed forms ------------------------------------------------------------------------
def ring_rs_dram_bytes(p: int, message_bytes: float, nmc: bool = False) -> tuple[float, float]:
    """(reads, writes) of one rank's DRAM channel in a ring reduce-scatter of
    ``message_bytes`` (the full buffer) over ``p`` ranks; NMC update bytes count as
    writes."""
    if p <= 1:
        return 0.0, 0.0
    c = message_bytes / p
    if nmc:
        return (p - 1) * c, (p - 1) * c
    return (2 * p - 1) * c, p * c


def ring_ag_dram_bytes(p: int, message_bytes: float) -> tuple[float, float]:
    """(reads, writes) of one rank in a ring all-gather of ``message_bytes`` (the output)."""
    if p <= 1:
        return 0.0, 0.0
    c = message_bytes / p
    return (p - 1) * c, (p - 1) * c


def _phase_s(nbytes: float, mem_Bps: float, lat: float, cu_Bps: float | None,
             adds_s: float = 0.0) -> float:  # fmt: skip
    t = nbytes / mem_Bps + lat
    if cu_Bps:
        t = max(t, nbytes / cu_Bps)
    return max(t, adds_s)


def ring_rs_time_s(
    p: int,
    message_bytes: float,
    link: LinkSpec,
    mem_Bps: float,
    *,
    nmc: bool = False,
    nmc_extra_occupancy: float = 0.5,
    mem_latency_s: float = 0.0,
    cu_Bps: float | None = None,
    add_flops: float | None = None,
    dtype_bytes: int = 2,
) -> float:
    """Time of :func:`ring_reduce_scatter` on an idle memory and link: the ring's
    ``(p - 1)(alpha + c / B)`` plus the time of every DRAM phase (store-and-forward)."""
    if p <= 1:
        return 0.0
    c = message_bytes / p
    lat = mem_latency_s
    adds = c / dtype_bytes / add_flops if add_flops else 0.0
    t = (p - 1) * (link.latency_s + c / link.effective_Bps)  # the ring closed form
    t += _phase_s(c, mem_Bps, lat, cu_Bps)  # step 1: read the local chunk
    if nmc:
        t += (p - 1) * ((1 + nmc_extra_occupancy) * c / mem_Bps + lat)  # arrival updates
        t += (p - 2) * _phase_s(c, mem_Bps, lat, cu_Bps)  # read the reduced chunk
    else:
        t += (p - 1) * (c / mem_Bps + lat)  # arrival writes
        t += (p - 2) * _phase_s(2 * c, mem_Bps, lat, cu_Bps, adds)  # reduce and send
        t += _phase_s(3 * c, mem_Bps, lat, cu_Bps, adds)  # final reduce and write
    return t


def ring_ag_time_s(
    p: int,
    message_bytes: float,
    link: LinkSpec,
    mem_Bps: float,
    *,
    mem_latency_s: float = 0.0,
    cu_Bps: float | None = None,
) -> float:
    """Time of :func:`ring_all_gather` on an idle memory and link."""
    if p <= 1:
        return 0.0
    c = message_bytes / p
    per_step = link.latency_s + c / link.effective_Bps + c / mem_Bps + mem_latency_s
    return (p - 1) * (per_step + _phase_s(c, mem_Bps, mem_latency_s, cu_Bps))


# -- simulation -----------------------------------------------------------------------------
ReadyFn = Callable[[int], simpy.Event]


def slices_for(chunk_bytes: float, slice_bytes: float) -> int:
    """Slices of at most ``slice_bytes`` that a chunk is pipelined in (at least 1)."""
    if slice_bytes <= 0:
        raise ValueError("slice_bytes must be positive")
    return max(1, math.ceil(chunk_bytes / slice_bytes - 1e-9))


def _joined(env, parts: list[simpy.Process]) -> simpy.Process:
    def run():
        res = RingResult(env.now)
        yield env.all_of(parts)
        res.end_s = env.now
        res.steps = parts[0].value.steps
        return res

    return env.process(run())


def _phase(env, mem, origin, reads, writes, cu_Bps, adds_s):
    """A kernel phase: its reads and writes in parallel, no faster than its CU limits."""
    evs = [mem.read(b, origin) for b in reads] + [mem.write(b, origin) for b in writes]
    total = sum(reads) + sum(writes)
    if cu_Bps:
        evs.append(env.timeout(total / cu_Bps))
    if adds_s > 0:
        evs.append(env.timeout(adds_s))
    return env.all_of(evs)


def ring_reduce_scatter(
    env: simpy.Environment,
    mem,
    link: SerialLink,
    p: int,
    message_bytes: float,
    *,
    nmc: bool = False,
    origin: str = "rs",
    cu_Bps: float | None = None,
    add_flops: float | None = None,
    dtype_bytes: int = 2,
    ready: ReadyFn | None = None,
    slices: int = 1,
) -> simpy.Process:
    """One rank of a ring reduce-scatter (see the module docstring); value: :class:`RingResult`.

    ``mem``: a :class:`~sim_models.hw.memory.MemoryDevice` (``nmc=True`` needs a
    :class:`~sim_models.hw.memory.ComputeEnhancedMemory`). ``ready(s)``, if given, is the
    event of the local chunk used by step ``s`` (1 .. p; ``p`` is the final reduction)
    being available: a reduce-scatter that runs beside the GEMM producing its input.
    ``slices``: pipeline each chunk in that many slices (see the module docstring).
    """
    if nmc and not hasattr(mem, "update"):
        raise TypeError("nmc=True needs a ComputeEnhancedMemory")
    if slices < 1:
        raise ValueError("slices must be >= 1")
    if slices > 1:
        parts = [
            ring_reduce_scatter(env, mem, link, p, message_bytes / slices, nmc=nmc, origin=origin,
                                cu_Bps=cu_Bps / slices if cu_Bps else None, add_flops=(
                                    add_flops / slices if add_flops else None),
                                dtype_bytes=dtype_bytes, ready=ready)
            for _ in range(slices)
        ]  # fmt: skip
        return _joined(env, parts)

    def run():
        res = RingResult(env.now)
        steps = ring_schedule("reduce_scatter", p, message_bytes).steps
        if not steps:
            res.end_s = env.now
            return res
        c = steps[0].size_bytes
        adds_s = c / dtype_bytes / add_flops if add_flops else 0.0

        def arrive():
            return mem.update(c, origin) if nmc else mem.write(c, origin)

        for s, _step in enumerate(steps, start=1):
            if ready is not None:
                yield ready(s)
            if s == 1 or nmc:
                yield _phase(env, mem, origin, [c], [], cu_Bps, 0.0)
            else:
                yield _phase(env, mem, origin, [c, c], [], cu_Bps, adds_s)
            yield link.send(c, "rs")
            yield arrive()
            res.steps += 1
        if ready is not None:
            yield ready(p)
        if not nmc:
            yield _phase(env, mem, origin, [c, c], [c], cu_Bps, adds_s)
        res.end_s = env.now
        return res

    return env.process(run())


def ring_all_gather(
    env: simpy.Environment,
    mem,
    link: SerialLink,
    p: int,
    message_bytes: float,
    *,
    origin: str = "ag",
    cu_Bps: float | None = None,
    slices: int = 1,
) -> simpy.Process:
    """One rank of a ring all-gather of ``message_bytes`` (the gathered output), each chunk
    pipelined in ``slices`` slices; value: :class:`RingResult`."""
    if slices < 1:
        raise ValueError("slices must be >= 1")
    if slices > 1:
        parts = [ring_all_gather(env, mem, link, p, message_bytes / slices, origin=origin,
                                 cu_Bps=cu_Bps / slices if cu_Bps else None)
                 for _ in range(slices)]  # fmt: skip
        return _joined(env, parts)

    def run():
        res = RingResult(env.now)
        for step in ring_schedule("all_gather", p, message_bytes).steps:
            c = step.size_bytes
            yield _phase(env, mem, origin, [c], [], cu_Bps, 0.0)
            yield link.send(c, "ag")
            yield mem.write(c, origin)
            res.steps += 1
        res.end_s = env.now
        return res

    return env.process(run())
