"""An HBM device with channels, banks and row buffers: a per-channel controller with a
bounded request queue, FR-FCFS scheduling, bank and bus timing, and pluggable arbitration
between compute and communication traffic (FCFS, compute first, T3's MCA).

What it models
    Organisation (:class:`HBMGeometry`): ``channels`` independent channels (an HBM2 stack
    has 8 legacy 128-bit channels; 4 stacks give the 32 channels of a 1 TB/s GPU), each with
    ``banks`` banks (16 in 4 bank groups for 8 Gb HBM2 dies) of ``row_bytes`` rows (a 2 KiB
    page in legacy mode) served in ``atom_bytes`` accesses (64 B: burst length 4 on the
    128-bit bus).

    Address interleaving (:meth:`HBMGeometry.locate`): consecutive ``interleave_bytes``
    (256 B) of the physical address space go to consecutive channels; inside a channel the
    next row's worth goes to the next bank (row : bank : channel : offset, low bits last), so
    a long sequential stream fills each bank's open row before moving to the next bank.

    Per channel, a controller (the model of GPGPU-Sim's, whose HBM configuration the
    paper's simulator used):

    * two input FIFOs, compute and communication (the memory system's buffers before the
      controller), and a request queue of ``queue_entries`` access-sized entries (64);
    * admission from the FIFOs into the queue whenever it has room, by the arbitration
      policy (a ``hw.arbiter`` policy: ``fcfs`` takes the older head, ``priority`` compute
      first, ``threshold`` is T3's memory-controller arbitration: communication enters only
      while fewer than ``threshold`` compute accesses wait at the controller (queued or in
      its input FIFO), or once it has waited the starvation limit) --
      :meth:`BankedHBM.occupancy` is the occupancy the policy reads;
    * FR-FCFS scheduling from the queue: the oldest request that hits an open row, else
      the oldest request; open-page policy (a row stays open until another row of its bank
      is needed);
    * timing of each request from the bank's and the bus's state: row hit (column access
      only), row closed (ACT, tRCD), row conflict (PRE after tRAS/tWR/tRTP, tRP, then ACT);
      ACT spacing tRRD, at most 4 ACTs per tFAW, one ACT per bank per tRC; read data tCL
      after the column command, write data tCWL after it; bus turnarounds (write to read:
      tWTR + tCL after the last write data; read to write: a 2-cycle gap); each access holds
      the data bus ``atom_bytes / channel bandwidth``;
    * near-memory updates (op-and-store, T3 Sec. 4.3): the data crosses the bus once, as a
      write; the bank then reads the old value and writes the sum, holding the bank for
      ``nmc_bank_slots`` column slots per access (2: one internal read, one write) [A], and
      write recovery (tWR) before the row may close;
    * optional all-bank refresh (tRFC every tREFI, all rows closed).

    A request of the model is a *segment*: the part of a transfer that falls in one row of
    one bank (at most ``row_bytes``). Its accesses go back to back (row hits after the
    first), which is what FR-FCFS does with consecutive requests to an open row. Interleaving
    with other banks on the data bus is kept by letting a bank's own work (row opening,
    near-memory read-modify-write) run beside other segments' bus time.

Symmetry (the one-GPU-in-detail method of T3's evaluation, one level down)
    Every transfer is spread over all channels by the interleaving, and the channels are
    alike, so one channel is simulated: a transfer of ``n`` bytes at address ``a`` puts the
    range ``[a / C, (a + n) / C)`` of channel-local addresses on the simulated channel
    (fluid: a fraction of an access costs that fraction of its bus time); every byte count
    and bandwidth is reported for the whole device (times ``C``). Channel imbalance
    (partition camping) is therefore not modelled.

Addresses
    A transfer either gives explicit ``ranges`` ``(region, offset, nbytes)`` (e.g. a GEMM's
    A and B panels, see :mod:`sim_models.hw.gpu`), or streams through its own region: one
    sequential cursor per ``(origin, kind)`` (e.g. the reduce-scatter's reads). Regions are
    placed far apart and start on different banks (region ``i`` starts at bank ``5 i mod
    banks``), so different streams meet in the banks and conflict in the row buffers.

What it leaves out
    Per-bank refresh, power-down, the command bus (one command per cycle), bank-group
    limits beyond tCCD_L (consecutive banks are in different groups, as GPGPU-Sim's
    ``dram_bnkgrp_indexing_policy 1``), ECC, address hashing of banks, and channel
    imbalance (see Symmetry). The input FIFOs are unbounded (the requesters' own limits --
    ``window`` segments in flight per transfer, a GEMM's prefetch depth, a DMA engine's
    buffer -- bound them).

Sources of the constants (:func:`hbm2`)
    * Timing: DRAMsim3's ``configs/HBM2_8Gb_x128.ini`` (umd-memsys/DRAMsim3; tCK 1 ns at
      2 Gb/s per pin): tCL 14, tCWL 4, tRCD 14, tRP 14, tRAS 34, tRRD_S 4, tFAW 30, tWR 16,
      tWTR_S 6, tRTP_S 4, tCCD_L 2, BL 4, tREFI 3,900, tRFC 260 (cycles of 1 ns). Accel-Sim's
      QV100 configuration (accel-sim/accel-sim-framework, ``SM7_QV100/gpgpusim.config``,
      "HBM timing adopted from Hynix JESD235", 1 GHz line) agrees on the core: RCD 14, RP
      14, CL 14, RAS 33, RC 47.
    * Organisation: JEDEC JESD235 HBM (8 channels of 128 bits per stack, 2 KiB page in
      legacy mode); 16 banks in 4 bank groups for 8 Gb dies (DRAMsim3 ``bankgroups = 4,
      banks_per_group = 4``); 256 B channel interleave and a 64-entry FR-FCFS queue per
      channel from the Accel-Sim QV100 configuration (``dramid@8``,
      ``gpgpu_frfcfs_dram_sched_queue_size 64``).
    * The data rate is set so that the channels give the GPU's bandwidth (1 TB/s over 32
      channels: 31.25 GB/s per channel, 2.05 ns per 64 B access, i.e. 1.95 Gb/s per pin).
    * ``nmc_bank_slots = 2`` [A]: the in-DRAM add of an op-and-store reads the old value
      and writes the sum; the paper models the update's DRAM timing but its value is not
      known here.
    * Refresh is off by default: the DRAM model of GPGPU-Sim, on which the paper's
      simulator is built, has none; ``refresh=True`` costs tRFC / tREFI = 6.7% of the time.

Units: bytes, seconds, bytes/s.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from itertools import count

import simpy
from sim_models.hw.arbiter import FCFS, OriginStats

from sim.events import call_later
from sim.scope import Scope, scope_of

__all__ = [
    "BankedHBM",
    "DRAMStats",
    "HBMConfig",
    "HBMGeometry",
    "HBMTiming",
    "hbm2",
    "random_miss_bandwidth_Bps",
]

COMPUTE, COMM = False, True  # input FIFO keys, as in sim_models.hw.arbiter
READ, WRITE, UPDATE = 0, 1, 2
NS = 1e-9


@dataclass(frozen=True)
class HBMTiming:
    """DRAM timing constraints, in seconds (see the module docstring for sources)."""

    tCL: float = 14 * NS  # read command to data
    tCWL: float = 4 * NS  # write command to data
    tRCD: float = 14 * NS  # ACT to column command
    tRP: float = 14 * NS  # PRE to ACT
    tRAS: float = 34 * NS  # ACT to PRE
    tRRD: float = 4 * NS  # ACT to ACT, different banks
    tFAW: float = 30 * NS  # window holding at most four ACTs
    tWR: float = 16 * NS  # end of write data to PRE
    tWTR: float = 6 * NS  # end of write data to read command
    tRTP: float = 4 * NS  # read command to PRE
    tCCD_L: float = 2 * NS  # column to column, same bank (group)
    tRTW_gap: float = 2 * NS  # bus idle between read data and write data
    tREFI: float = 3900 * NS  # refresh interval
    tRFC: float = 260 * NS  # refresh cycle

    @property
    def tRC(self) -> float:
        """ACT to ACT, same bank."""
        return self.tRAS + self.tRP


@dataclass(frozen=True)
class HBMGeometry:
    """Channels, banks, rows and the address interleaving."""

    channels: int = 32
    banks: int = 16
    row_bytes: int = 2048
    atom_bytes: int = 64
    interleave_bytes: int = 256

    def locate(self, address: int) -> tuple[int, int, int]:
        """(channel, bank, row) of a physical byte address."""
        chunk, off = divmod(address, self.interleave_bytes)
        stripe, channel = divmod(chunk, self.channels)
        local = stripe * self.interleave_bytes + off
        page = local // self.row_bytes
        return channel, page % self.banks, page // self.banks


@dataclass(frozen=True)
class HBMConfig:
    """An HBM device: geometry, timing, data rate and controller settings."""

    bandwidth_Bps: float
    geometry: HBMGeometry = field(default_factory=HBMGeometry)
    timing: HBMTiming = field(default_factory=HBMTiming)
    queue_entries: int = 64
    nmc_bank_slots: float = 2.0
    refresh: bool = False
    name: str = "hbm2"

    def __post_init__(self):
        g = self.geometry
        if self.bandwidth_Bps <= 0 or g.channels < 1 or g.banks < 1 or self.queue_entries < 1:
            raise ValueError("bandwidth, channels, banks and queue entries must be positive")
        if g.row_bytes < g.atom_bytes or g.atom_bytes <= 0 or g.interleave_bytes <= 0:
            raise ValueError("need row_bytes >= atom_bytes > 0 and interleave_bytes > 0")

    @property
    def channel_Bps(self) -> float:
        return self.bandwidth_Bps / self.geometry.channels

    @property
    def t_burst(self) -> float:
        """Data-bus time of one access."""
        return self.geometry.atom_bytes / self.channel_Bps

    @property
    def queue_bytes(self) -> int:
        return self.queue_entries * self.geometry.atom_bytes

    def with_(self, **kw) -> HBMConfig:
        return replace(self, **kw)


def hbm2(bandwidth_Bps: float = 1e12, **kw) -> HBMConfig:
    """HBM2 (8 Gb dies, legacy 128-bit channels) with 32 channels at ``bandwidth_Bps``
    (the sources of every value are in the module docstring)."""
    return HBMConfig(bandwidth_Bps, **kw)


# -- closed forms (the references the tests hold the simulation to) -------------------------
def random_miss_bandwidth_Bps(cfg: HBMConfig, access_bytes: float | None = None,
                              banks: int | None = None) -> float:  # fmt: skip
    """Device read bandwidth when every access opens a new row, spread evenly over
    ``banks`` banks per channel: each bank cycles ACT -> RD -> PRE -> ACT in
    ``max(tRC, tRCD + n tBURST + tRTP + tRP)``; ACTs are spaced by tRRD with at most four
    per tFAW; the bus moves one access per ``n tBURST``."""
    t, g = cfg.timing, cfg.geometry
    a = g.atom_bytes if access_bytes is None else access_bytes
    k = g.banks if banks is None else banks
    n = a / g.atom_bytes
    bus = n * cfg.t_burst
    cycle = max(t.tRC, t.tRCD + max(0.0, bus - cfg.t_burst) + t.tRTP + t.tRP, t.tRCD + t.tCL + bus)
    per_access = max(bus, t.tRRD, t.tFAW / 4, cycle / k)
    return g.channels * a / per_access


# -- statistics ------------------------------------------------------------------------------
@dataclass
class DRAMStats(OriginStats):
    """Per-origin counters (bytes for the whole device): the arbiter's (bytes, ``bursts`` =
    segments served on the simulated channel, queue delay from arrival to issue) and the
    row-buffer outcomes."""

    row_hits: int = 0  # segments whose row was open
    row_misses: int = 0  # segments that found their bank closed
    row_conflicts: int = 0  # segments that found another row open
    accesses: float = 0.0  # accesses (atom_bytes each) on the simulated channel

    @property
    def activations(self) -> int:
        return self.row_misses + self.row_conflicts

    @property
    def row_hit_rate(self) -> float:
        """Share of accesses that found their row open."""
        return 1.0 - self.activations / self.accesses if self.accesses else 0.0


class _Transfer:
    __slots__ = ("origin", "comm", "kind", "cost", "ranges", "ri", "cur", "hi", "unqueued",
                 "inflight", "window", "end", "event", "on_done", "st")  # fmt: skip

    def __init__(self, origin, comm, kind, cost, ranges, window, event, on_done, st):
        self.origin, self.comm, self.kind, self.cost = origin, comm, kind, cost
        self.ranges = ranges  # [(lo, hi)] channel-local
        self.ri = 0
        self.cur, self.hi = ranges[0]
        self.unqueued = sum(h - lo for lo, h in ranges)
        self.inflight = 0  # segments in a FIFO or the queue
        self.window = window
        self.end = 0.0
        self.event, self.on_done, self.st = event, on_done, st


class BankedHBM:
    """An HBM device (one channel simulated, the others by symmetry) with the interface of
    :class:`~sim_models.hw.arbiter.HBMArbiter`: ``read`` / ``write`` / ``transfer`` /
    ``transfer_then``, per-origin ``stats``, ``occupancy`` / ``head_key`` /
    ``comm_wait_s`` for the arbitration policies, ``timeline``.

    ``window``: segments a transfer keeps in the FIFO and queue at once (its memory-level
    parallelism on one channel; default ``window_segments``). ``latency_s``: fixed latency
    of the path to and from the controller, added once a transfer's last access is done.
    """

    supports_ranges = True

    def __init__(
        self,
        env: simpy.Environment,
        config: HBMConfig,
        *,
        policy=None,
        latency_s: float = 0.0,
        window_segments: int = 16,
        compute_origins: tuple[str, ...] = ("gemm",),
        bin_s: float | None = None,
        scope: Scope | None = None,
    ):
        if window_segments < 1:
            raise ValueError("window_segments must be >= 1")
        if bin_s is not None and bin_s <= 0:
            raise ValueError("bin_s must be positive")
        self.env, self.config = env, config
        self.policy = policy if policy is not None else FCFS()
        self.latency_s = latency_s
        self.window_segments = window_segments
        self.compute_origins = frozenset(compute_origins)
        self.scope = scope_of(scope)
        self.bin_s = bin_s
        g, t = config.geometry, config.timing
        self.bandwidth_Bps = config.bandwidth_Bps
        self._C = g.channels
        self._row = float(g.row_bytes)
        self._banks = g.banks
        self._atom = float(g.atom_bytes)
        self._tb = config.t_burst
        self._cap = float(config.queue_entries)
        self._slot = max(t.tCCD_L, self._tb)
        self._nmc = config.nmc_bank_slots
        self._t = t
        self._lead = t.tRP + t.tRCD + t.tCL  # decide this long before the bus frees
        self._ready_lead = t.tCL + t.tRCD  # a bank ready by bus_free - this is in time
        self._nmc_slots = max(1.0, config.nmc_bank_slots)
        for name in ("tCL", "tCWL", "tRCD", "tRP", "tRAS", "tRRD", "tFAW", "tWR", "tWTR", "tRTP",
                     "tRTW_gap", "tRC"):  # fmt: skip
            setattr(self, "_" + name, getattr(t, name))
        # controller state
        self._fifo = {COMPUTE: deque(), COMM: deque()}
        self._queue: list = []  # admitted segments, oldest first
        self._occ = {COMPUTE: 0.0, COMM: 0.0}  # entries (accesses) queued per class
        self._pend = {COMPUTE: 0.0, COMM: 0.0}  # accesses in the input FIFOs per class
        self._seq = count()
        self._comm_since = 0.0
        self._decision: simpy.Event | None = None
        # bank and bus state
        nb = g.banks
        self._open = [-1] * nb
        self._act = [-math.inf] * nb
        self._col_ok = [0.0] * nb
        self._pre_ok = [0.0] * nb
        self._faw: deque = deque(maxlen=4)
        self._last_act = -math.inf
        self._bus_free = 0.0
        self._last_dir = -1  # no data on the bus yet
        self._last_w_end = -math.inf
        self._last_r_end = -math.inf
        self._next_ref = t.tREFI if config.refresh else math.inf
        # regions and counters
        self._regions: dict = {}
        self._cursor: dict = {}
        self.stats: dict[str, DRAMStats] = {}
        self.busy_s = 0.0  # data-bus time of the simulated channel
        self.max_comm_wait_s = 0.0
        self.refreshes = 0
        self.turnarounds = 0
        self._bins: dict[tuple[str, bool, int], float] = {}

    # -- requests -------------------------------------------------------------------------
    def read(
        self, nbytes: float, origin: str, *, window: int | None = None, ranges=None
    ) -> simpy.Event:
        return self.transfer(nbytes, origin, window=window, ranges=ranges)

    def write(
        self, nbytes: float, origin: str, *, window: int | None = None, ranges=None
    ) -> simpy.Event:
        return self.transfer(nbytes, origin, write=True, window=window, ranges=ranges)

    def transfer(
        self,
        nbytes: float,
        origin: str,
        *,
        write: bool = False,
        cost: float = 1.0,
        window: int | None = None,
        ranges=None,
        update: bool = False,
    ) -> simpy.Event:
        """Move ``nbytes`` for ``origin`` (``update``: a near-memory op-and-store). ``cost``
        scales the bus and bank time of every access (a what-if knob; 1 = real).
        ``ranges``: ``[(region, offset, nbytes), ...]`` (default: the origin's own
        sequential stream). Fires when the last access is done plus ``latency_s``."""
        event = self.env.event()
        if nbytes <= 0:
            return event.succeed(self.env.now)
        self._start(nbytes, origin, write, update, cost, window, ranges, event, None)
        return event

    def transfer_then(self, nbytes: float, origin: str, on_done: Callable[[], object], *,
                      write: bool = False, cost: float = 1.0, update: bool = False,
                      ranges=None) -> None:  # fmt: skip
        """:meth:`transfer` without an event: ``on_done()`` is called when it is done."""
        if nbytes <= 0:
            call_later(self.env, 0.0, lambda _e: on_done())
            return
        self._start(nbytes, origin, write, update, cost, None, ranges, None, on_done)

    # -- state the policies read ----------------------------------------------------------
    def occupancy(self, comm: bool) -> float:
        """Accesses of a class waiting at the controller: in its queue or in the input
        buffer in front of it (the load MCA's threshold is compared with)."""
        return self._occ[comm] + self._pend[comm]

    def head_key(self, comm: bool) -> tuple[float, int]:
        """(arrival time, sequence number) of the oldest waiting request of a class."""
        seg = self._fifo[comm][0]
        return (seg[0], seg[1])

    def comm_wait_s(self) -> float:
        """How long communication has waited since it last entered the queue or began
        waiting."""
        return self.env.now - self._comm_since if self._fifo[COMM] else 0.0

    def served_bytes(self) -> float:
        return sum(s.bytes for s in self.stats.values())

    def origin(self, name: str) -> DRAMStats:
        return self.stats.setdefault(name, DRAMStats())

    def row_hit_rate(self) -> float:
        """Share of all accesses that found their row open."""
        a = sum(s.accesses for s in self.stats.values())
        return 1.0 - sum(s.activations for s in self.stats.values()) / a if a else 0.0

    def timeline(self) -> list[tuple[float, str, str, float]]:
        """``(bin start s, origin, "read"|"write", bytes)`` per non-empty bin (``bin_s``
        set); a segment counts in the bin where its data starts."""
        if self.bin_s is None:
            return []
        return [
            (i * self.bin_s, origin, "write" if write else "read", nbytes)
            for (origin, write, i), nbytes in sorted(self._bins.items(), key=lambda kv: kv[0][2])
        ]

    # -- internals: transfers and segments ------------------------------------------------
    def _region(self, key) -> float:
        base = self._regions.get(key)
        if base is None:
            i = len(self._regions)
            # 2^30 channel-local bytes apart, starting on bank 5 i mod banks
            base = float(i * 2**30 + ((5 * i) % self._banks) * self._row)
            self._regions[key] = base
        return base

    def _local_ranges(self, nbytes, origin, kind, ranges):
        C = self._C
        if ranges is None:
            key = (origin, kind)
            lo = self._cursor.get(key)
            if lo is None:
                lo = self._region(key)
            hi = lo + nbytes / C
            self._cursor[key] = hi
            return [(lo, hi)]
        out = []
        for region, off, n in ranges:
            if n > 0:
                base = self._region(region)
                out.append((base + off / C, base + (off + n) / C))
        return out or None

    def _start(self, nbytes, origin, write, update, cost, window, ranges, event, on_done):
        kind = UPDATE if update else (WRITE if write else READ)
        local = self._local_ranges(nbytes, origin, kind, ranges)
        st = self.stats.get(origin)
        if st is None:
            st = self.stats[origin] = DRAMStats()
        if local is None:  # only empty ranges
            if event is not None:
                event.succeed(self.env.now)
            else:
                call_later(self.env, 0.0, lambda _e: on_done())
            return
        tr = _Transfer(origin, origin not in self.compute_origins, kind, cost, local,
                       self.window_segments if window is None else max(1, window), event,
                       on_done, st)  # fmt: skip
        while tr.unqueued > 1e-12 and tr.inflight < tr.window:
            self._enqueue(tr)
        self._kick()

    def _enqueue(self, tr: _Transfer) -> None:
        """Put the transfer's next segment (up to the end of the current row) in its FIFO."""
        row = self._row
        if tr.cur >= tr.hi:
            tr.ri += 1
            tr.cur, tr.hi = tr.ranges[tr.ri]
        lo = tr.cur
        page = int(lo // row)
        hi = min(tr.hi, (page + 1) * row)
        n = hi - lo
        tr.cur = hi
        tr.unqueued -= n
        if tr.unqueued < 1e-9:
            tr.unqueued = 0.0
        tr.inflight += 1
        self._pend[tr.comm] += n / self._atom
        q = self._fifo[tr.comm]
        if tr.comm and not q:
            self._comm_since = self.env.now
        q.append((self.env.now, next(self._seq), tr, page % self._banks, page // self._banks, n))

    def _kick(self) -> None:
        if self._decision is None:
            delay = max(0.0, self._bus_free - self._lead - self.env.now)
            self._decision = call_later(self.env, delay, self._decide)

    # -- internals: the controller -------------------------------------------------------------
    def _admit(self) -> None:
        cq, mq = self._fifo[COMPUTE], self._fifo[COMM]
        occ, pend, cap, atom = self._occ, self._pend, self._cap + 1e-9, self._atom
        pol = self.policy
        queue = self._queue
        limit = getattr(pol, "starvation_limit_s", math.inf)
        while cq or mq:
            used = occ[COMPUTE] + occ[COMM]
            comm_fits = bool(mq) and (used == 0 or used + mq[0][5] / atom <= cap)
            if mq and not comm_fits and self.env.now - self._comm_since >= limit:
                return  # starved communication waits for room; compute may not pass it
            if cq and comm_fits:
                comm = pol.select(self)
            elif comm_fits and not cq:
                if not pol.comm_alone(self):
                    return
                comm = COMM
            elif cq:
                comm = COMPUTE
            else:
                return
            q = mq if comm else cq
            seg = q[0]
            need = seg[5] / atom
            if used + need > cap and used > 0:
                return
            q.popleft()
            occ[comm] += need
            pend[comm] -= need
            if pend[comm] < 1e-9:
                pend[comm] = 0.0
            if comm:
                now = self.env.now
                wait = now - self._comm_since
                if wait > self.max_comm_wait_s:
                    self.max_comm_wait_s = wait
                self._comm_since = now
            queue.append(seg)

    def _pick(self, now: float):
        """FR-FCFS: the oldest row hit; else the oldest request whose bank can open its row
        in time for the bus; else the oldest."""
        q, open_ = self._queue, self._open
        if len(q) == 1:
            return q.pop()
        for i, seg in enumerate(q):
            if open_[seg[3]] == seg[4]:
                return q.pop(i)
        target = self._bus_free - self._ready_lead
        if now > target:
            target = now
        act, pre_ok, trc, trp = self._act, self._pre_ok, self._tRC, self._tRP
        for i, seg in enumerate(q):
            b = seg[3]
            ready = act[b] + trc
            if open_[b] >= 0 and pre_ok[b] + trp > ready:
                ready = pre_ok[b] + trp
            if ready <= target:
                return q.pop(i)
        return q.pop(0)

    def _decide(self, _ev=None) -> None:
        self._decision = None
        now = self.env.now
        cq, mq = self._fifo[COMPUTE], self._fifo[COMM]
        if cq or mq:
            self._admit()
        queue, lead = self._queue, self._lead
        horizon = now + lead + 1e-15
        while queue and self._bus_free <= horizon:
            self._issue(self._pick(now), now)
            if cq or mq:
                self._admit()
        if queue:
            self._decision = call_later(
                self.env, max(0.0, self._bus_free - lead - now), self._decide
            )
        elif self._fifo[COMM] or self._fifo[COMPUTE]:  # held by the policy: retry at starvation
            limit = getattr(self.policy, "starvation_limit_s", 0.0)
            delay = max(self._comm_since + limit - now, self._bus_free - lead - now, 1e-9)
            self._decision = call_later(self.env, delay, self._decide)

    def _refresh(self, t: float) -> float:
        """All-bank refresh due at or before ``t``: close every row, block for tRFC. Returns
        the earliest time after it."""
        tm = self._t
        while self._next_ref <= t:
            start = max(self._next_ref, max(self._pre_ok))
            end = start + tm.tRP + tm.tRFC
            self._open[:] = [-1] * self._banks
            self._act[:] = [end - tm.tRC] * self._banks
            self._bus_free = max(self._bus_free, end)
            self._last_act = max(self._last_act, end - tm.tRRD)
            self._next_ref += tm.tREFI
            self.refreshes += 1
            t = max(t, end)
        return t

    def _issue(self, seg, now: float) -> None:
        t_enq, _seq, tr, b, row, nbytes = seg
        kind = tr.kind
        acc = nbytes / self._atom
        n = acc * tr.cost  # accesses (fluid), scaled by cost
        st = tr.st
        bus_free = self._bus_free
        if self._next_ref <= (now if now > bus_free else bus_free):
            now = self._refresh(now if now > bus_free else bus_free)
            bus_free = self._bus_free
        open_ = self._open
        if open_[b] == row:
            t_col = self._col_ok[b]
            if now > t_col:
                t_col = now
            st.row_hits += 1
        else:
            if open_[b] >= 0:
                t_act = self._pre_ok[b]
                if now > t_act:
                    t_act = now
                t_act += self._tRP
                st.row_conflicts += 1
            else:
                t_act = now
                st.row_misses += 1
            x = self._act[b] + self._tRC
            if x > t_act:
                t_act = x
            x = self._last_act + self._tRRD
            if x > t_act:
                t_act = x
            faw = self._faw
            if len(faw) == 4:
                x = faw[0] + self._tFAW
                if x > t_act:
                    t_act = x
            faw.append(t_act)
            self._last_act = t_act
            self._act[b] = t_act
            open_[b] = row
            self._pre_ok[b] = t_act + self._tRAS
            t_col = t_act + self._tRCD
        bus = n * self._tb
        slot = self._slot
        if kind == READ:
            ds = t_col + self._tCL
            if bus_free > ds:
                ds = bus_free
            if self._last_dir == WRITE:
                x = self._last_w_end + self._tWTR + self._tCL
                if x > ds:
                    ds = x
                self.turnarounds += 1
            self._last_dir = READ
            de = ds + bus
            t_col = ds - self._tCL
            self._col_ok[b] = t_col + n * slot
            x = t_col + (n - 1 if n > 1 else 0.0) * slot + self._tRTP
            if x > self._pre_ok[b]:
                self._pre_ok[b] = x
            self._last_r_end = de
            done = de
            st.read_bytes += nbytes * self._C
        else:
            ds = t_col + self._tCWL
            if bus_free > ds:
                ds = bus_free
            if self._last_dir == READ:
                x = self._last_r_end + self._tRTW_gap
                if x > ds:
                    ds = x
                self.turnarounds += 1
            self._last_dir = WRITE
            de = ds + bus
            t_col = ds - self._tCWL
            if kind == UPDATE:  # the bank reads the old value and writes the sum
                bank_end = t_col + n * self._nmc_slots * slot
                done = de if de > bank_end else bank_end
            else:
                bank_end = t_col + n * slot
                done = de
            self._col_ok[b] = bank_end
            x = done + self._tWR
            if x > self._pre_ok[b]:
                self._pre_ok[b] = x
            self._last_w_end = de
            st.write_bytes += nbytes * self._C
        self._bus_free = de
        self.busy_s += bus
        # counters (whole device)
        st.bursts += 1
        st.accesses += acc
        delay = now - t_enq
        st.queue_delay_s += delay
        if delay > st.max_queue_delay_s:
            st.max_queue_delay_s = delay
        if self.bin_s is not None:
            key = (tr.origin, kind != READ, int(ds / self.bin_s))
            self._bins[key] = self._bins.get(key, 0.0) + nbytes * self._C
        if self.scope.tracing:
            self.scope.span("read" if kind == READ else "write", ds, de, track=tr.origin,
                            args={"bytes": nbytes * self._C, "bank": b})  # fmt: skip
        occ = self._occ
        c = tr.comm
        occ[c] -= acc
        if occ[c] < 1e-9:
            occ[c] = 0.0
        tr.inflight -= 1
        if done > tr.end:
            tr.end = done
        if tr.unqueued > 0:
            self._enqueue(tr)
        elif tr.inflight == 0:
            self._finish(tr)

    def _finish(self, tr: _Transfer) -> None:
        env = self.env
        delay = tr.end - env.now + self.latency_s
        if tr.event is None:
            f = tr.on_done
            call_later(env, max(0.0, delay), lambda _e: f())
        else:
            ev = tr.event
            call_later(env, max(0.0, delay), lambda _e: ev.succeed(env.now))
