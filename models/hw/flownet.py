"""Flow-level network on SimPy: flows share links at max-min fair rates.

What it models
    A set of directed links, each with a capacity (bytes/s, per direction) and a
    propagation latency (s).  A *flow* moves ``size_bytes`` along a fixed path of links.
    At every instant the active flows get the weighted max-min fair rates of
    :func:`sim_models.hw.maxmin.maxmin_rates` (optionally capped per flow); rates are
    recomputed whenever a flow starts, finishes its transfer, is cancelled or rerouted, or a
    link's capacity changes (:meth:`FlowNetwork.set_capacity`: 0 is a failure, a smaller
    value a degradation).  A flow over a zero-capacity link gets rate 0 and stalls until the
    capacity comes back or the flow is rerouted (:meth:`FlowNetwork.reroute`).

How latency enters
    A flow's bytes are sent during a *bandwidth phase* that starts when the flow starts
    and ends when its last byte has been pushed at the (time-varying) max-min rate; the
    flow occupies link capacity only during this phase.  The path's summed propagation
    latency ``sum(latency_s of its links)`` is then added **once**: the flow completes
    (its event fires) at ``t_start + transfer_time + path_latency``.  With constant rate
    ``r`` this is the classic ``alpha + size / r`` (alpha = path latency).  Bytes in
    flight during the latency do not occupy capacity (no bandwidth-delay product).

What it leaves out
    Packets, queues and buffers, congestion-control transients, loss and retransmission,
    per-hop store-and-forward, multipath within one flow.  A path is fixed until the flow
    is rerouted; a rerouted flow keeps its bytes sent so far and pays the new path's latency.

Incremental solve
    After a change the network re-solves only the flows whose rates can change: in the
    compiled kernel (:mod:`sim_models.hw.maxmin_kernel`, which explains the rules) the flows
    above the level at which the old and new allocations part, connected to the changed
    links through saturated links; without it (pure Python) the *connected component* of
    the changed links in the flow-link graph.  The other flows keep their rates, and their
    remaining bytes are advanced lazily (each flow keeps the time of its last update).  For
    the kernel's rules the network notes, per link and instant, the summed rate and the
    highest level (rate / weight) of the flows that left it.  With ``incremental=False``
    every change re-solves all active flows (the reference the tests compare against).  A batch started with one
    :class:`PathSet` whose flows are alone in their component (every step of a collective
    on an idle network) reuses the rates solved for the same path set, weights, rate caps
    and link capacities before.

Event economy
    There is at most ONE live SimPy timeout for the next transfer completion: it is moved
    only when the earliest completion time changes, and a generation counter makes stale
    wakeups no-ops.  Arrivals, departures and capacity changes at one instant are batched:
    they mark the allocation dirty and a single *end-of-instant* event (after every other
    event of the same time) re-solves once, so 1,000 flows starting at t=0 cost one solve.
    :meth:`FlowNetwork.start_flows` starts a batch of flows with one SimPy event for the
    whole batch (fires when the last one completes), which is how collectives avoid one
    event per message.

Tags
    ``start_flow`` / ``start_flows`` take ``tags``: named values per flow (scalars or one
    value per flow), e.g. ``collective``, ``step``, ``src``, ``dst`` (ranks) and ``conn``
    (connection id); :meth:`FlowNetwork.flow_table` has one column per tag name.

Precision
    A flow is complete when its remaining bytes are at most ``1e-9 x size`` or would take
    less than ``1e-12`` of the current simulated time to send; the residue is booked to
    its links so per-link byte counters conserve bytes.

Units
    Bytes, seconds, bytes/s.  No constants beyond the tolerances above.

Sources
    Flow-level (fluid) network simulation with max-min sharing and component-wise
    ("selective") updates as in SimGrid's flow models (Velho et al., ACM TOMACS 2013) —
    the idea only; no code.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import simpy
from sim_models.hw.maxmin_kernel import (
    COMPILED,
    component,
    drop_from_index,
    due,
    event_solve,
    padded_rates,
    retire,
)

from sim.events import at_end_of_instant
from sim.scope import Scope, scope_of

#: Relative remaining-bytes tolerance under which a flow counts as finished.
SIZE_RTOL = 1e-9
#: Relative (to simulated time) time tolerance under which a flow counts as finished.
TIME_RTOL = 1e-12
#: Per-slot float arrays of the flow store.
_FLOAT_COLUMNS = (
    "_size", "_rem", "_tupd", "_rate", "_w", "_fcap", "_flat", "_start", "_booked", "_fin",
)  # fmt: skip
#: Per-slot integer arrays of the flow store.
_INT_COLUMNS = ("_fid", "_gid", "_gpos", "_len")


class PathSet:
    """Compiled paths: CSR ``(ptr, idx)`` of link ids and summed latency per path.

    Build with :meth:`FlowNetwork.compile_paths`; reuse it to start the same pattern of
    flows many times without re-resolving paths (collective steps do this, and reuse the
    rates solved for it).
    """

    __slots__ = ("ptr", "idx", "latency_s", "lens", "_padded", "_counts", "_solved")

    def __init__(self, ptr: np.ndarray, idx: np.ndarray, latency_s: np.ndarray):
        self.ptr = ptr
        self.idx = idx
        self.latency_s = latency_s
        self.lens = np.diff(ptr)
        self._padded: np.ndarray | None = None
        self._counts: np.ndarray | None = None
        self._solved: dict[tuple, np.ndarray] = {}

    def __len__(self) -> int:
        return self.ptr.size - 1

    @property
    def width(self) -> int:
        return int(self.lens.max()) if self.lens.size else 0

    def padded(self, width: int) -> np.ndarray:
        """Paths as a ``len x width`` matrix of link ids, padded with -1."""
        p = self._padded
        if p is None or p.shape[1] != width:
            n = len(self)
            p = np.full((n, width), -1, dtype=np.int64)
            if self.idx.size:
                row = np.repeat(np.arange(n), self.lens)
                col = np.arange(self.idx.size) - np.repeat(self.ptr[:-1], self.lens)
                p[row, col] = self.idx
            self._padded = p
        return p

    def link_counts(self, n_links: int) -> np.ndarray:
        """Number of paths crossing each link."""
        c = self._counts
        if c is None or c.size != n_links:
            c = self._counts = np.bincount(self.idx, minlength=n_links)
        return c


class Flow(simpy.Event):
    """One flow; a SimPy event that succeeds (value: the flow) when the flow completes.

    A cancelled flow's event never fires (``cancelled`` is then True).
    """

    def __init__(self, env: simpy.Environment, fid: int, size_bytes: float, start_s: float):
        super().__init__(env)
        self.id = fid
        self.size_bytes = size_bytes
        self.start_s = start_s
        self.transfer_end_s: float | None = None
        self.end_s: float | None = None
        self.cancelled = False


class _Group:
    """Flows started together: one event, a count of outstanding flows, their tags."""

    __slots__ = ("event", "outstanding", "end_max", "flow", "ps", "slots", "fid0", "key",
                 "pristine", "tags", "size_scalar", "on_each")  # fmt: skip

    def __init__(self, event, n, flow, ps, slots, fid0, key, tags, size_scalar=None):
        self.event = event
        self.outstanding = n
        self.end_max = -np.inf
        self.flow = flow
        self.ps = ps
        self.slots = slots
        self.fid0 = fid0
        self.key = key  # (weight, cap) scalars when uniform, else None: solve reuse key
        self.pristine = True  # no flow cancelled or rerouted
        self.tags = tags
        self.size_scalar = size_scalar  # the size of every flow, when they are equal
        self.on_each = None  # callback(positions, end_s) per completion instant


class FlowNetwork:
    """Links with capacities and latencies; flows at max-min fair rates (see module doc).

    Parameters
    ----------
    env: the SimPy environment.
    record_flows: keep one record per completed (or cancelled) flow (:meth:`flow_table`).
    scope: where the network records (:class:`sim.scope.Scope`); when the run is traced,
        every completed flow is a span on the track of its first link.
    incremental: re-solve only the changed component (default) or every active flow.
    """

    def __init__(
        self,
        env: simpy.Environment,
        record_flows: bool = True,
        scope: Scope | None = None,
        incremental: bool = True,
    ):
        self.env = env
        self.record_flows = record_flows
        self.scope = scope_of(scope)
        self.incremental = incremental
        self._names: dict[Hashable, int] = {}
        self._link_names: list[Hashable] = []
        self._cap_list: list[float] = []
        self._lat_list: list[float] = []
        self._cap = np.zeros(0)
        self._lat = np.zeros(0)
        self._done_bytes = np.zeros(0)  # bytes of finished flow segments, per link
        self._cap_time = np.zeros(0)  # integral of capacity up to _cap_t (bytes)
        self._cap_t = np.zeros(0)  # time of the last capacity change
        self._cap_version = 0
        self._lcnt = np.zeros(0, dtype=np.int64)  # active flows per link
        # per link, this instant's departures: summed rate and highest level (rate / weight)
        # of the flows that left it; ``_loose``: capacity changed (see the kernel)
        self._gone_load = np.zeros(0)
        self._gone_lam = np.zeros(0)
        self._loose = np.zeros(0, dtype=bool)
        self._gone_any = False  # some departure or capacity change noted this instant
        self._all_loose = False  # a batch left without notes: treat every link as loose
        # the compiled update's link-to-flow lists: per link the first entry, per entry
        # (slot x width + hop) the next and previous ones; per slot whether it is listed
        self._ix_head = np.zeros(0, dtype=np.int64)
        self._ix_next = np.zeros(0, dtype=np.int64)
        self._ix_prev = np.zeros(0, dtype=np.int64)
        self._ix_in = np.zeros(0, dtype=bool)
        self._links_dirty = False
        # flow store: slots, structure of arrays
        self._hw = 0  # high-water mark of used slots
        self._n_live = 0
        self._width = 1
        self._live = np.zeros(0, dtype=bool)
        for name in _FLOAT_COLUMNS:
            setattr(self, name, np.zeros(0))
        for name in _INT_COLUMNS:
            setattr(self, name, np.zeros(0, dtype=np.int64))
        self._P = np.full((0, 1), -1, dtype=np.int64)
        self._single: dict[int, Flow] = {}  # slot -> Flow of start_flow
        self._n_each = 0  # groups in progress with an on_each callback
        self._groups: dict[int, _Group] = {}
        self._touched: list[np.ndarray] = []  # links whose flow set or capacity changed
        self._new: list[np.ndarray] = []  # slots added this instant
        self._records: list[tuple] = []
        self._record_tags: dict[int, dict[str, Any]] = {}
        self._tag_names: list[str] = []
        self._next_fid = 0
        self._next_gid = 0
        self._gen = 0
        self._timer_t = np.inf
        self._dirty = False
        #: number of max-min solves so far (for benchmarks and tests)
        self.recomputes = 0
        #: number of solves answered from a path set's cached rates
        self.reused_solves = 0
        #: flows whose rates were solved, summed over solves
        self.solved_flows = 0

    # -- links ----------------------------------------------------------------------------
    def add_link(
        self, name: Hashable | None = None, capacity_Bps: float = 0.0, latency_s: float = 0.0
    ) -> int:
        """Add a directed link; returns its integer id (``name`` defaults to the id)."""
        if capacity_Bps < 0 or latency_s < 0:
            raise ValueError("capacity_Bps and latency_s must be non-negative")
        lid = len(self._cap_list)
        if name is None:
            name = lid
        if name in self._names:
            raise ValueError(f"link {name!r} already exists")
        self._names[name] = lid
        self._link_names.append(name)
        self._cap_list.append(float(capacity_Bps))
        self._lat_list.append(float(latency_s))
        self._links_dirty = True
        return lid

    def _sync_links(self) -> None:
        if not self._links_dirty:
            return
        n_old = self._cap.size
        n = len(self._cap_list)
        grow = np.zeros(n - n_old)
        self._cap = np.concatenate([self._cap, np.asarray(self._cap_list[n_old:], dtype=float)])
        self._lat = np.asarray(self._lat_list, dtype=float)
        self._done_bytes = np.concatenate([self._done_bytes, grow])
        self._cap_time = np.concatenate([self._cap_time, grow])
        self._cap_t = np.concatenate([self._cap_t, np.full(n - n_old, self.env.now)])
        self._lcnt = np.concatenate([self._lcnt, np.zeros(n - n_old, dtype=np.int64)])
        self._gone_load = np.concatenate([self._gone_load, grow])
        self._gone_lam = np.concatenate([self._gone_lam, np.full(n - n_old, -1.0)])
        self._loose = np.concatenate([self._loose, np.zeros(n - n_old, dtype=bool)])
        self._ix_head = np.concatenate([self._ix_head, np.full(n - n_old, -1, dtype=np.int64)])
        self._links_dirty = False

    @property
    def n_links(self) -> int:
        return len(self._cap_list)

    def link_id(self, link: Hashable) -> int:
        """Integer id of a link given by name or id."""
        if link in self._names:
            return self._names[link]
        if isinstance(link, int | np.integer) and 0 <= int(link) < self.n_links:
            return int(link)
        raise KeyError(f"unknown link {link!r}")

    def link_name(self, lid: int) -> Hashable:
        return self._link_names[lid]

    def capacity_Bps(self, link: Hashable) -> float:
        self._sync_links()
        return float(self._cap[self.link_id(link)])

    def set_capacity(self, link: Hashable, capacity_Bps: float) -> None:
        """Change a link's capacity now (0 = failed); rates are re-solved this instant."""
        if capacity_Bps < 0:
            raise ValueError("capacity_Bps must be non-negative")
        self._sync_links()
        lid = self.link_id(link)
        now = self.env.now
        self._cap_time[lid] += self._cap[lid] * (now - self._cap_t[lid])
        self._cap_t[lid] = now
        self._cap[lid] = float(capacity_Bps)
        self._cap_list[lid] = float(capacity_Bps)
        self._cap_version += 1
        self._loose[lid] = True
        self._gone_any = True
        self._touched.append(np.array([lid], dtype=np.int64))
        self._mark_dirty()

    # -- paths ----------------------------------------------------------------------------
    def compile_paths(self, paths: Sequence[Sequence[Hashable]] | PathSet) -> PathSet:
        """Resolve a list of paths (link names or ids) into a reusable :class:`PathSet`."""
        if isinstance(paths, PathSet):
            return paths
        self._sync_links()
        arrs = []
        names = self._names
        n_links = self.n_links
        for p in paths:
            if isinstance(p, np.ndarray) and p.dtype.kind in "iu":
                a = p.astype(np.int64, copy=False).reshape(-1)
            else:
                a = np.fromiter(
                    (names[x] if x in names else self.link_id(x) for x in p), dtype=np.int64
                )
            arrs.append(a)
        lens = np.fromiter((a.size for a in arrs), dtype=np.int64, count=len(arrs))
        ptr = np.zeros(len(arrs) + 1, dtype=np.int64)
        np.cumsum(lens, out=ptr[1:])
        idx = np.concatenate(arrs) if ptr[-1] else np.zeros(0, dtype=np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= n_links):
            raise KeyError("path refers to an unknown link id")
        row = np.repeat(np.arange(len(arrs)), lens)
        latency = np.bincount(row, weights=self._lat[idx], minlength=len(arrs)).astype(float)
        return PathSet(ptr, idx, latency)

    def path_latency_s(self, path: Sequence[Hashable]) -> float:
        """Summed propagation latency of one path."""
        return float(self.compile_paths([path]).latency_s[0])

    # -- flows ----------------------------------------------------------------------------
    def start_flow(
        self,
        path: Sequence[Hashable],
        size_bytes: float,
        weight: float = 1.0,
        rate_cap_Bps: float | None = None,
        on_done: Callable[[Flow], Any] | None = None,
        tags: dict[str, Any] | None = None,
    ) -> Flow:
        """Start one flow now; returns a :class:`Flow` event (yield it to wait for it).

        ``on_done(flow)`` is called when the flow completes (after the path latency).
        """
        if isinstance(path, list) and path and all(type(x) is int for x in path):
            idx = np.array(path, dtype=np.int64)  # link ids: no name lookups
            self._sync_links()
            if idx.min() < 0 or idx.max() >= self.n_links:
                raise KeyError("path refers to an unknown link id")
            ps = PathSet(np.array([0, idx.size], dtype=np.int64), idx,
                         np.array([self._lat[idx].sum()]))  # fmt: skip
        else:
            ps = self.compile_paths([path])
        flow = Flow(self.env, self._next_fid, float(size_bytes), self.env.now)
        self._add_one(ps, float(size_bytes), weight, rate_cap_Bps, tags, flow)
        if on_done is not None:
            flow.callbacks.append(on_done)
        return flow

    def start_flows(
        self,
        paths: Sequence[Sequence[Hashable]] | PathSet,
        sizes_bytes: float | Sequence[float] | np.ndarray,
        weights: float | Sequence[float] | np.ndarray = 1.0,
        rate_caps_Bps: float | Sequence[float] | np.ndarray | None = None,
        on_done: Callable[[simpy.Event], Any] | None = None,
        tags: dict[str, Any] | None = None,
        on_each: Callable[[np.ndarray, float], Any] | None = None,
    ) -> simpy.Event:
        """Start a batch of flows now; returns ONE event that succeeds when all complete.

        The event's value is the completion time of the last flow.  ``sizes_bytes``,
        ``weights``, ``rate_caps_Bps`` and each tag are scalars or one value per path.
        The flows' ids are consecutive; :meth:`group_flow_ids` gives them.
        ``on_each(positions, end_s)``, if given, is called at each time ``end_s`` at which
        some of the batch's flows complete (after their path latency), with their
        positions in ``paths``: one call per distinct end time, not per flow.
        """
        ps = self.compile_paths(paths)
        n = len(ps)
        sizes = np.broadcast_to(np.asarray(sizes_bytes, dtype=float), (n,))
        ev = simpy.Event(self.env)
        if on_done is not None:
            ev.callbacks.append(on_done)
        if n == 0:
            ev.succeed(self.env.now)
            return ev
        self._add(ps, sizes, weights, rate_caps_Bps, tags, None, ev, on_each)
        return ev

    def _alloc(self, n: int) -> np.ndarray:
        """``n`` free slots (reusing freed ones first), growing the store as needed."""
        hw = self._hw
        free = hw - self._n_live
        if free >= n and free:
            slots = np.flatnonzero(~self._live[:hw])[:n]
        else:
            reuse = np.flatnonzero(~self._live[:hw]) if free else np.zeros(0, dtype=np.int64)
            slots = np.concatenate([reuse, np.arange(hw, hw + n - reuse.size)])
            need = hw + n - reuse.size
            self._hw = need
            if need > self._live.size:
                cap = max(need, 2 * self._live.size, 64)
                grow = cap - self._live.size
                self._live = np.concatenate([self._live, np.zeros(grow, dtype=bool)])
                for name in _FLOAT_COLUMNS:
                    setattr(self, name, np.concatenate([getattr(self, name), np.zeros(grow)]))
                for name in _INT_COLUMNS:
                    arr = getattr(self, name)
                    setattr(self, name, np.concatenate([arr, np.zeros(grow, dtype=np.int64)]))
                self._P = np.concatenate(
                    [self._P, np.full((grow, self._width), -1, dtype=np.int64)]
                )
                self._reset_index()
        return slots.astype(np.int64, copy=False)

    def _reset_index(self) -> None:
        """Empty the link-to-flow lists (the path store changed shape); the compiled update
        lists every active flow again on its next call."""
        self._ix_head[:] = -1
        self._ix_next = np.full(self._P.size, -1, dtype=np.int64)
        self._ix_prev = np.full(self._P.size, -1, dtype=np.int64)
        self._ix_in = np.zeros(self._P.shape[0], dtype=bool)

    def _widen(self, width: int) -> None:
        if width > self._width:
            pad = np.full((self._P.shape[0], width - self._width), -1, dtype=np.int64)
            self._P = np.concatenate([self._P, pad], axis=1)
            self._width = width
            self._reset_index()

    def _add(self, ps, sizes, weights, caps, tags, flow=None, ev=None, on_each=None) -> None:
        self._sync_links()
        n = len(ps)
        if (sizes[0] < 0) if sizes.strides == (0,) else np.any(sizes < 0):
            raise ValueError("sizes must be non-negative")
        w_in = np.asarray(weights, dtype=float)
        w = np.broadcast_to(w_in, (n,))
        if (w_in <= 0) if w_in.ndim == 0 else np.any(w <= 0):
            raise ValueError("weights must be positive")
        if caps is None:
            c_in = np.asarray(np.inf)
        else:
            c_in = np.asarray(caps, dtype=float)
            c_in = np.where(np.isnan(c_in), np.inf, c_in)
        c = np.broadcast_to(c_in, (n,))
        self._widen(max(ps.width, 1))
        slots = self._alloc(n)
        sel = _as_slice(slots)
        now = self.env.now
        gid = self._next_gid
        self._next_gid += 1
        fid0 = self._next_fid
        self._next_fid += n
        self._live[sel] = True
        self._n_live += n
        self._fid[sel] = np.arange(fid0, fid0 + n)
        self._gid[sel] = gid
        self._gpos[sel] = np.arange(n)
        self._size[sel] = sizes
        self._rem[sel] = sizes
        self._tupd[sel] = now
        self._rate[sel] = 0.0
        self._w[sel] = w
        self._fcap[sel] = c
        self._flat[sel] = ps.latency_s
        self._start[sel] = now
        self._booked[sel] = 0.0
        self._fin[sel] = np.inf
        self._len[sel] = ps.lens
        self._P[sel] = -1
        self._P[sel, : ps.width] = ps.padded(ps.width)
        if n == 1:
            np.add.at(self._lcnt, ps.idx, 1)
        else:
            self._lcnt += ps.link_counts(self.n_links)
        key = (float(w_in), float(c_in)) if w_in.ndim == 0 and c_in.ndim == 0 else None
        if tags:
            for name in tags:
                if name not in self._tag_names:
                    self._tag_names.append(name)
        same_size = n == 1 or sizes.strides == (0,)
        g = _Group(flow if flow is not None else ev, n, flow, ps, slots, fid0, key, tags or None,
                   float(sizes[0]) if same_size else None)  # fmt: skip
        if on_each is not None:
            g.on_each = on_each
            self._n_each += 1
        self._groups[gid] = g
        if flow is not None:
            self._single[int(slots[0])] = flow
        self._touched.append(ps.idx)
        self._new.append(slots)
        self._mark_dirty()

    def _add_one(self, ps, size, weight, cap, tags, flow) -> None:
        """:meth:`_add` for one flow, with scalar stores (the common case of flow traffic)."""
        if size < 0:
            raise ValueError("sizes must be non-negative")
        weight = float(weight)
        if not weight > 0:
            raise ValueError("weights must be positive")
        cap = np.inf if cap is None or cap != cap else float(cap)
        idx = ps.idx
        self._widen(max(idx.size, 1))
        hw = self._hw
        s = int(np.argmin(self._live[:hw])) if self._n_live < hw else int(self._alloc(1)[0])
        now = self.env.now
        gid = self._next_gid
        self._next_gid += 1
        fid = self._next_fid
        self._next_fid += 1
        self._live[s] = True
        self._n_live += 1
        self._fid[s] = fid
        self._gid[s] = gid
        self._gpos[s] = 0
        self._size[s] = size
        self._rem[s] = size
        self._tupd[s] = now
        self._rate[s] = 0.0
        self._w[s] = weight
        self._fcap[s] = cap
        self._flat[s] = ps.latency_s[0]
        self._start[s] = now
        self._booked[s] = 0.0
        self._fin[s] = np.inf
        self._len[s] = idx.size
        row = self._P[s]
        row[:] = -1
        row[: idx.size] = idx
        np.add.at(self._lcnt, idx, 1)
        if tags:
            for name in tags:
                if name not in self._tag_names:
                    self._tag_names.append(name)
        slots = np.array([s], dtype=np.int64)
        self._groups[gid] = _Group(flow, 1, flow, ps, slots, fid, (weight, cap), tags or None,
                                   size)  # fmt: skip
        self._single[s] = flow
        self._touched.append(idx)
        self._new.append(slots)
        self._mark_dirty()

    def group_flow_ids(self, event: simpy.Event) -> np.ndarray:
        """Flow ids of the batch whose event is ``event`` (while it is in progress)."""
        for g in self._groups.values():
            if g.event is event:
                return np.arange(g.fid0, g.fid0 + g.slots.size)
        raise KeyError("no batch in progress with this event")

    def _slot_of(self, flow: Flow | int) -> int:
        fid = flow.id if isinstance(flow, Flow) else int(flow)
        hit = np.flatnonzero((self._fid[: self._hw] == fid) & self._live[: self._hw])
        if not hit.size:
            raise KeyError(f"flow {fid} is not active")
        return int(hit[0])

    def _remaining_now(self, slots: np.ndarray) -> np.ndarray:
        rate = self._rate[slots]
        dt = self.env.now - self._tupd[slots]
        with np.errstate(invalid="ignore"):
            sent = np.where(np.isfinite(rate), rate * dt, 0.0)
        return self._rem[slots] - sent

    def remaining_bytes(self, flow: Flow | int) -> float:
        """Bytes of an active flow still to send."""
        s = self._slot_of(flow)
        return max(float(self._remaining_now(np.array([s]))[0]), 0.0)

    def flow_path(self, flow: Flow | int) -> list[int]:
        """Link ids of an active flow's current path."""
        s = self._slot_of(flow)
        return self._P[s, : self._len[s]].tolist()

    def flows_on_link(self, link: Hashable) -> np.ndarray:
        """Ids of the active flows whose path crosses ``link``."""
        lid = self.link_id(link)
        hw = self._hw
        on = (self._P[:hw] == lid).any(axis=1) & self._live[:hw]
        return self._fid[:hw][on]

    def flow_tags(self, flow: Flow | int) -> dict[str, Any]:
        """Tags of an active flow."""
        s = self._slot_of(flow)
        g = self._groups[int(self._gid[s])]
        return _tags_at(g.tags, int(self._gpos[s]))

    def _book(self, slots: np.ndarray, sent: np.ndarray) -> None:
        """Book ``sent`` bytes per slot on each link of its current path."""
        links = self._P[slots]
        mask = links >= 0
        if mask.any():
            w = np.broadcast_to(sent[:, None], links.shape)[mask]
            if w.size < 64:
                np.add.at(self._done_bytes, links[mask], w)
            else:
                self._done_bytes += np.bincount(links[mask], weights=w, minlength=self.n_links)

    def _book_unlink(self, slots: np.ndarray, sent: np.ndarray) -> np.ndarray:
        """:meth:`_book` then :meth:`_unlink` (in one compiled call when available)."""
        if COMPILED:
            arrays = (self._P, self._rate, self._w, self._done_bytes, self._lcnt,
                      self._gone_load, self._gone_lam, self._ix_head, self._ix_next,
                      self._ix_prev, self._ix_in)  # fmt: skip
            self._gone_any = True
            return retire(arrays, slots, sent)
        self._book(slots, sent)
        return self._unlink(slots)

    def _index_arrays(self) -> tuple:
        return self._P, self._ix_head, self._ix_next, self._ix_prev, self._ix_in

    def _unlink(self, slots: np.ndarray) -> np.ndarray:
        """Take flows off their links; note their rates and levels as departures."""
        if COMPILED:
            drop_from_index(self._index_arrays(), np.asarray(slots))
        links = self._P[slots]
        mask = links >= 0
        rate = self._rate[slots]
        lam = rate / self._w[slots]
        links = links[mask]
        if links.size:
            self._gone_any = True
            if mask.shape[0] == 1:
                np.add.at(self._gone_load, links, rate[0])
                np.maximum.at(self._gone_lam, links, lam[0])
            else:
                np.add.at(self._gone_load, links, np.broadcast_to(rate[:, None], mask.shape)[mask])
                np.maximum.at(self._gone_lam, links, np.broadcast_to(lam[:, None], mask.shape)[mask])
        if links.size > 64:
            self._lcnt -= np.bincount(links, minlength=self.n_links)
        elif links.size:
            np.subtract.at(self._lcnt, links, 1)
        return links

    def reroute(self, flow: Flow | int, path: Sequence[Hashable] | PathSet) -> None:
        """Move an active flow's remaining bytes onto ``path`` now (same flow id, group,
        tags and start time; its end pays the new path's latency)."""
        s = self._slot_of(flow)
        ps = self.compile_paths(path if isinstance(path, PathSet) else [path])
        if len(ps) != 1:
            raise ValueError("reroute takes one path")
        rem = max(float(self._remaining_now(np.array([s]))[0]), 0.0)
        sent = self._size[s] - self._booked[s] - rem
        self._book(np.array([s]), np.array([sent]))
        self._booked[s] += sent
        old = self._unlink(np.array([s]))
        self._widen(max(ps.width, 1))
        self._P[s] = -1
        self._P[s, : ps.width] = ps.idx
        self._len[s] = ps.width
        np.add.at(self._lcnt, ps.idx, 1)
        self._flat[s] = ps.latency_s[0]
        self._rem[s] = rem
        self._tupd[s] = self.env.now
        self._rate[s] = 0.0
        self._fin[s] = np.inf
        self._groups[int(self._gid[s])].pristine = False
        self._touched.extend([old, ps.idx])
        self._new.append(np.array([s], dtype=np.int64))
        self._mark_dirty()

    def cancel(self, flow: Flow | int) -> float:
        """Stop an active flow now; returns its bytes not yet sent. A cancelled flow's own
        event never fires; its batch's event fires when the batch's other flows are done."""
        s = self._slot_of(flow)
        rem = max(float(self._remaining_now(np.array([s]))[0]), 0.0)
        sl = np.array([s], dtype=np.int64)
        sent = self._size[s] - self._booked[s] - rem
        self._book(sl, np.array([sent]))
        g = self._groups[int(self._gid[s])]
        g.pristine = False
        if self.record_flows:
            self._record(sl, np.array([np.nan]), cancelled=True)
        single = self._single.pop(s, None)
        if single is not None:
            single.cancelled = True
        self._touched.append(self._unlink(sl))
        self._live[s] = False
        self._n_live -= 1
        self._settle_groups(self._gid[sl], np.array([-np.inf]))
        self._mark_dirty()
        return rem

    # -- engine ---------------------------------------------------------------------------
    def _mark_dirty(self) -> None:
        if not self._dirty:
            self._dirty = True
            at_end_of_instant(self.env, self._recompute)

    def _recompute(self, _ev=None) -> None:
        self._dirty = False
        self._sync_links()
        touched = self._touched
        new = self._new
        self._touched, self._new = [], []
        hw = self._hw
        lone = len(new) == 1 and new[0].size > 1 and new[0].size == self._n_live
        all_loose = self._all_loose
        if self._gone_any and (self._n_live == 0 or not COMPILED or lone):
            for t in touched:  # the paths below do not use the departure notes
                self._gone_load[t] = 0.0
                self._gone_lam[t] = -1.0
                self._loose[t] = False
        self._gone_any = self._all_loose = False  # (the compiled call clears its notes)
        if self._n_live == 0:
            self._timer_t = np.inf
            self._gen += 1
            return
        if COMPILED and not lone:
            # the general case in one compiled call (a lone batch goes below: solve reuse)
            t = np.concatenate(touched) if touched else np.zeros(0, dtype=np.int64)
            nw = np.concatenate(new) if new else np.zeros(0, dtype=np.int64)
            arrays = (self._live, hw, self._P, self._rem, self._tupd, self._rate, self._w,
                      self._fcap, self._fin, self._cap, self._gone_load, self._gone_lam,
                      self._loose, self._ix_head, self._ix_next, self._ix_prev,
                      self._ix_in, all_loose)  # fmt: skip
            n, t_next = event_solve(arrays, t, nw, self.env.now, self.incremental)
            if n:
                self.recomputes += 1
                self.solved_flows += n
            self._schedule_at(t_next)
            return
        live = self._live[:hw]
        new_slots = (
            new[0] if len(new) == 1 else np.concatenate(new) if new else np.zeros(0, np.int64)
        )
        if new_slots.size != self._n_live or not live[new_slots].all():
            new_slots = new_slots[live[new_slots]]
        fresh = new_slots.size == self._n_live  # every active flow started this instant
        if not self.incremental or fresh:
            comp = np.flatnonzero(live)
        else:
            act = np.flatnonzero(live)
            t = np.concatenate(touched) if touched else np.zeros(0, dtype=np.int64)
            seed = np.searchsorted(act, new_slots)
            comp = act[component(self._P[act], t, seed, self.n_links)]
        if comp.size:
            self._solve(comp, fresh)
        self._schedule_next()

    def _solve(self, comp: np.ndarray, fresh: bool = False) -> None:
        now = self.env.now
        n = comp.size
        c = _as_slice(comp)
        if not fresh:  # bring the remaining bytes to now at the old rates
            self._rem[c] = self._remaining_now(c)
            self._tupd[c] = now
        rates = self._reuse(comp, c)
        if rates is None:
            rates = padded_rates(self._P[c], self._cap, self._w[c], self._fcap[c])
            self._remember(comp, c, rates)
        self.recomputes += 1
        self.solved_flows += n
        self._rate[c] = rates
        rem = np.maximum(self._rem[c], 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            fin = now + rem / rates
        fin[rates <= 0] = np.inf
        fin[np.isinf(rates)] = now
        self._fin[c] = fin

    def _single_group(self, comp: np.ndarray, c=None, need_key: bool = True) -> _Group | None:
        """The untouched batch that ``comp`` is exactly (all its flows, none else), if any."""
        gids = self._gid[comp if c is None else c]
        g0 = int(gids[0])
        if gids[-1] != g0 or not np.all(gids == g0):
            return None
        g = self._groups.get(g0)
        if g is None or not g.pristine or g.outstanding != comp.size:
            return None
        if need_key and g.key is None:
            return None
        if comp.size != g.slots.size:
            return None
        return g

    def _reuse(self, comp: np.ndarray, c) -> np.ndarray | None:
        g = self._single_group(comp, c)
        if g is None:
            return None
        rates = g.ps._solved.get((self._cap_version, g.key))
        if rates is None:
            return None
        self.reused_solves += 1
        return rates[self._gpos[c]]

    def _remember(self, comp: np.ndarray, c, rates: np.ndarray) -> None:
        g = self._single_group(comp, c)
        if g is None or len(g.ps) < 2:
            return
        full = np.empty(comp.size)
        full[self._gpos[c]] = rates
        g.ps._solved.clear()  # keep one entry: the latest capacities
        g.ps._solved[(self._cap_version, g.key)] = full

    def _schedule_next(self) -> None:
        hw = self._hw
        fin = self._fin[:hw][self._live[:hw]]
        self._schedule_at(float(fin.min()) if fin.size else np.inf)

    def _schedule_at(self, t_next: float) -> None:
        if t_next == self._timer_t:
            return  # the pending wakeup is still right
        self._gen += 1
        self._timer_t = t_next
        if not np.isfinite(t_next):
            return  # everything stalled: wait for a capacity change or a reroute
        gen = self._gen
        delay = max(t_next - self.env.now, 0.0)
        self.env.timeout(delay).callbacks.append(lambda _e: self._on_timer(gen))

    def _on_timer(self, gen: int) -> None:
        if gen != self._gen:
            return  # stale wakeup: the allocation changed since it was scheduled
        self._timer_t = np.inf
        now = self.env.now
        hw = self._hw
        if COMPILED:
            arrays = (self._live, hw, self._rem, self._tupd, self._rate, self._size, self._fin)
            done = due(arrays, now, SIZE_RTOL, TIME_RTOL)
            if not done.size:
                self._gen += 1
                self._schedule_next()
                return
            self._complete(done)
            self._mark_dirty()
            return
        act = np.flatnonzero(self._live[:hw])
        a = _as_slice(act)
        rem = self._remaining_now(a)
        rate = self._rate[a]
        eps_t = max(abs(now), 1e-30) * TIME_RTOL
        done = (rem <= SIZE_RTOL * self._size[a]) | (rem <= rate * eps_t)
        if not np.any(done):
            # Rounding left a sliver: wait for it (same rates).
            pos = rate > 0
            self._fin[act[pos]] = now + np.maximum(rem[pos], 0.0) / rate[pos]
            self._gen += 1
            self._schedule_next()
            return
        self._complete(act[done])
        self._mark_dirty()

    def _complete(self, done: np.ndarray) -> None:
        now = self.env.now
        d = _as_slice(done)
        g = self._single_group(done, d, need_key=False) if done.size > 64 else None
        if g is not None and g.size_scalar is not None:
            # a whole untouched batch of equal sizes: book per link from its path counts
            counts = g.ps.link_counts(self.n_links)
            self._done_bytes += g.size_scalar * counts
            self._lcnt -= counts
            self._all_loose = True
            if COMPILED:
                drop_from_index(self._index_arrays(), done)
            self._touched.append(g.ps.idx)
        else:
            # every byte not booked yet goes to the current path (residue included)
            self._touched.append(self._book_unlink(done, self._size[done] - self._booked[done]))
        ends = now + self._flat[d]
        if self.record_flows:
            self._record(done, ends)
        if self.scope.tracing:
            self._trace_flows(done, ends)
        self._live[d] = False
        self._n_live -= done.size
        if self._single:
            single = self._single
            for s in done[self._gpos[done] == 0].tolist() if done.size > 64 else done.tolist():
                flow = single.pop(s, None)
                if flow is not None:
                    flow.transfer_end_s = now
        gids = self._gid[d]
        if self._n_each:
            self._notify_each(gids, self._gpos[d], ends)
        self._settle_groups(gids, ends)

    def _notify_each(self, gids: np.ndarray, gpos: np.ndarray, ends: np.ndarray) -> None:
        """Tell batches with ``on_each`` which of their flows end, once per end time."""
        for g in np.unique(gids).tolist():
            grp = self._groups[g]
            if grp.on_each is None:
                continue
            m = gids == g
            pos, end = gpos[m], ends[m]
            for t in np.unique(end).tolist():
                sel = pos[end == t]
                delay = t - self.env.now
                cb = grp.on_each
                if delay <= 0:
                    at_end_of_instant(self.env, lambda _e, cb=cb, sel=sel, t=t: cb(sel, t))
                else:
                    self.env.timeout(delay).callbacks.append(
                        lambda _e, cb=cb, sel=sel, t=t: cb(sel, t)
                    )

    def _settle_groups(self, gids: np.ndarray, ends: np.ndarray) -> None:
        """Decrement the groups' outstanding counts; fire those that are done."""
        if gids.size == 1 or gids[0] == gids[-1] and np.all(gids == gids[0]):
            groups = [(int(gids[0]), int(gids.size), float(ends.max()))]
        else:
            order = np.argsort(gids, kind="stable")
            g_sorted, e_sorted = gids[order], ends[order]
            uniq, first, counts = np.unique(g_sorted, return_index=True, return_counts=True)
            gmax = np.maximum.reduceat(e_sorted, first)
            groups = zip(uniq.tolist(), counts.tolist(), gmax.tolist(), strict=True)
        for g, k, emax in groups:
            rec = self._groups[g]
            rec.outstanding -= k
            if emax > rec.end_max:
                rec.end_max = emax
            if rec.outstanding == 0:
                del self._groups[g]
                if rec.on_each is not None:
                    self._n_each -= 1
                self._fire(rec)

    def _record(self, slots: np.ndarray, ends: np.ndarray, cancelled: bool = False) -> None:
        gids = self._gid[slots]
        n = slots.size
        self._records.append(
            (self._fid[slots], gids, self._gpos[slots], self._start[slots],
             np.full(n, self.env.now), ends, self._size[slots], np.full(n, cancelled))
        )  # fmt: skip
        for g in np.unique(gids).tolist() if n > 1 else [int(gids[0])]:
            grp = self._groups.get(g)
            if grp is not None and grp.tags:
                self._record_tags[g] = grp.tags

    def _trace_flows(self, done: np.ndarray, ends: np.ndarray) -> None:
        """One span per completed flow, on the track of the flow's first link."""
        first = self._P[done, 0]
        for fid, lid, t0, t1, size in zip(
            self._fid[done].tolist(), first.tolist(), self._start[done].tolist(),
            ends.tolist(), self._size[done].tolist(), strict=True,
        ):  # fmt: skip
            track = str(self._link_names[lid]) if lid >= 0 else "local"
            self.scope.span(f"flow {fid}", t0, t1, track=track, args={"bytes": size})

    def _fire(self, rec: _Group) -> None:
        ev, end, flow = rec.event, rec.end_max, rec.flow
        now = self.env.now
        if flow is not None:
            if flow.cancelled:
                return
            flow.end_s = end
        if not np.isfinite(end):  # every flow of the batch was cancelled
            end = now
        value = flow if flow is not None else end
        delay = end - now
        if delay <= 0:
            ev.succeed(value)
        else:
            self.env.timeout(delay).callbacks.append(lambda _e: ev.succeed(value))

    # -- observation ----------------------------------------------------------------------
    @property
    def n_active(self) -> int:
        """Flows started and not yet through their bandwidth phase (nor cancelled)."""
        return self._n_live

    def _active(self) -> np.ndarray:
        return np.flatnonzero(self._live[: self._hw])

    def rates_Bps(self) -> dict[int, float]:
        """Current rate of every active flow, keyed by flow id."""
        act = self._active()
        return dict(zip(self._fid[act].tolist(), self._rate[act].tolist(), strict=True))

    def flow_rate_Bps(self, flow: Flow | int) -> float:
        try:
            return float(self._rate[self._slot_of(flow)])
        except KeyError:
            return 0.0

    def link_bytes(self) -> np.ndarray:
        """Bytes carried by each link so far (indexed by link id)."""
        self._sync_links()
        out = self._done_bytes.copy()
        act = self._active()
        if act.size:
            sent = self._size[act] - self._booked[act] - np.maximum(self._remaining_now(act), 0)
            links = self._P[act]
            mask = links >= 0
            w = np.broadcast_to(sent[:, None], links.shape)[mask]
            out += np.bincount(links[mask], weights=w, minlength=self.n_links)
        return out

    def link_utilization(self) -> np.ndarray:
        """Bytes carried / integral of capacity over time, per link (NaN if never up)."""
        self._sync_links()
        cap_time = self._cap_time + self._cap * (self.env.now - self._cap_t)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(cap_time > 0, self.link_bytes() / cap_time, np.nan)

    def link_table(self) -> pd.DataFrame:
        """One row per link: name, capacity, latency, bytes, utilization."""
        util = self.link_utilization()
        return pd.DataFrame(
            {
                "link": [str(n) for n in self._link_names],
                "capacity_Bps": self._cap.copy(),
                "latency_s": self._lat.copy(),
                "bytes": self.link_bytes(),
                "utilization": util,
            }
        )

    def flow_table(self) -> pd.DataFrame:
        """One row per completed or cancelled flow: id, group, start, transfer end, end
        (NaN when cancelled), size, ``cancelled``, and one column per tag name."""
        cols = ["flow", "group", "start_s", "transfer_end_s", "end_s", "size_bytes", "cancelled"]
        if not self._records:
            return pd.DataFrame({c: [] for c in cols + self._tag_names})
        fid, gid, gpos, start, tend, end, size, canc = (
            np.concatenate(x) for x in zip(*self._records, strict=True)
        )
        df = pd.DataFrame(dict(zip(cols, [fid, gid, start, tend, end, size, canc], strict=True)))
        for name in self._tag_names:
            df[name] = _tag_column(name, gid, gpos, self._record_tags)
        return df


def _as_slice(slots: np.ndarray) -> slice | np.ndarray:
    """Sorted, distinct ``slots`` as a slice when they are consecutive (cheaper to index)."""
    n = slots.size
    if n > 8 and int(slots[-1]) - int(slots[0]) == n - 1:
        return slice(int(slots[0]), int(slots[-1]) + 1)
    return slots


def _tags_at(tags: dict[str, Any] | None, pos: int) -> dict[str, Any]:
    if not tags:
        return {}
    out = {}
    for k, v in tags.items():
        out[k] = v[pos] if isinstance(v, np.ndarray | list | tuple) else v
    return out


def _tag_column(name: str, gid: np.ndarray, gpos: np.ndarray, tags: dict[int, dict]) -> list:
    out: list[Any] = [None] * gid.size
    for i, (g, p) in enumerate(zip(gid.tolist(), gpos.tolist(), strict=True)):
        t = tags.get(g)
        if t is None or name not in t:
            continue
        v = t[name]
        out[i] = v[p] if isinstance(v, np.ndarray | list | tuple) else v
    return out
