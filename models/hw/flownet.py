"""Flow-level network on SimPy: flows share links at max-min fair rates.

What it models
    A set of directed links, each with a capacity (bytes/s, per direction) and a
    propagation latency (s).  A *flow* moves ``size_bytes`` along a fixed path of links.
    At every instant the active flows get the weighted max-min fair rates of
    :func:`sim_models.hw.maxmin.maxmin_rates` (optionally capped per flow); rates are
    recomputed whenever a flow starts, a flow finishes its transfer, or a link's capacity
    changes (:meth:`FlowNetwork.set_capacity`: 0 is a failure, a smaller value a
    degradation).  A flow over a zero-capacity link gets rate 0 and stalls until the
    capacity comes back.

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
    per-hop store-and-forward, multipath within one flow.  A path is fixed for the life of
    a flow (rerouting = finish/cancel and start a new flow).

Event economy
    There is at most ONE live SimPy timeout for the next transfer completion: it is
    rescheduled on every change, and a generation counter makes stale wakeups no-ops.
    Arrivals, departures and capacity changes at one instant are batched: they mark the
    allocation dirty and a single *end-of-instant* event (priority below SimPy's NORMAL,
    so it runs after every other event of the same time) re-solves once, so 1,000 flows
    starting at t=0 cost one solve.  :meth:`FlowNetwork.start_flows` starts a batch of
    flows with one SimPy event for the whole batch (fires when the last one completes),
    which is how collectives avoid one event per message.

Precision
    A flow is complete when its remaining bytes are at most ``1e-9 x size`` or would take
    less than ``1e-12`` of the current simulated time to send; the residue is booked to
    its links so per-link byte counters conserve bytes.

Units
    Bytes, seconds, bytes/s.  No constants beyond the tolerances above.

Sources
    Flow-level (fluid) network simulation with max-min sharing as in, e.g., SimGrid's
    flow models (Velho et al., ACM TOMACS 2013) — the idea only; no code.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import simpy
from sim_models.hw.maxmin import maxmin_rates

from sim.events import at_end_of_instant
from sim.scope import Scope, scope_of

#: Relative remaining-bytes tolerance under which a flow counts as finished.
SIZE_RTOL = 1e-9
#: Relative (to simulated time) time tolerance under which a flow counts as finished.
TIME_RTOL = 1e-12
#: Per-flow arrays of the active set (compacted together when flows complete).
_FLOW_COLUMNS = (
    "_fid",
    "_gid",
    "_rem",
    "_size",
    "_w",
    "_fcap",
    "_flat",
    "_start",
    "_rate",
    "_lens",
)


class PathSet:
    """Compiled paths: CSR ``(ptr, idx)`` of link ids and summed latency per path.

    Build with :meth:`FlowNetwork.compile_paths`; reuse it to start the same pattern of
    flows many times without re-resolving paths (collective steps do this).
    """

    __slots__ = ("ptr", "idx", "latency_s", "lens")

    def __init__(self, ptr: np.ndarray, idx: np.ndarray, latency_s: np.ndarray):
        self.ptr = ptr
        self.idx = idx
        self.latency_s = latency_s
        self.lens = np.diff(ptr)

    def __len__(self) -> int:
        return self.ptr.size - 1


class Flow(simpy.Event):
    """One flow; a SimPy event that succeeds (value: the flow) when the flow completes."""

    def __init__(self, env: simpy.Environment, fid: int, size_bytes: float, start_s: float):
        super().__init__(env)
        self.id = fid
        self.size_bytes = size_bytes
        self.start_s = start_s
        self.transfer_end_s: float | None = None
        self.end_s: float | None = None


class FlowNetwork:
    """Links with capacities and latencies; flows at max-min fair rates (see module doc).

    Parameters
    ----------
    env: the SimPy environment.
    record_flows: keep one record per completed flow (see :meth:`flow_table`).
    scope: where the network records (:class:`sim.scope.Scope`); when the run is traced,
        every completed flow is a span on the track of its first link.
    """

    def __init__(
        self, env: simpy.Environment, record_flows: bool = True, scope: Scope | None = None
    ):
        self.env = env
        self.record_flows = record_flows
        self.scope = scope_of(scope)
        self._names: dict[Hashable, int] = {}
        self._link_names: list[Hashable] = []
        self._cap_list: list[float] = []
        self._lat_list: list[float] = []
        self._cap = np.zeros(0)
        self._lat = np.zeros(0)
        self._link_bytes = np.zeros(0)
        self._cap_time = np.zeros(0)  # integral of capacity over time (bytes)
        self._load = np.zeros(0)  # current sum of rates per link
        self._links_dirty = False
        self._t0 = env.now
        self._t_last = env.now
        # active flows, structure of arrays
        self._fid = np.zeros(0, dtype=np.int64)
        self._gid = np.zeros(0, dtype=np.int64)
        self._rem = np.zeros(0)
        self._size = np.zeros(0)
        self._w = np.zeros(0)
        self._fcap = np.zeros(0)
        self._flat = np.zeros(0)
        self._start = np.zeros(0)
        self._rate = np.zeros(0)
        self._lens = np.zeros(0, dtype=np.int64)
        self._idx = np.zeros(0, dtype=np.int64)
        self._pending: list[tuple] = []
        # groups: gid -> [event, outstanding, finish_max, flow_or_None]
        self._groups: dict[int, list] = {}
        self._next_fid = 0
        self._next_gid = 0
        self._gen = 0
        self._dirty = False
        self._records: list[tuple[np.ndarray, ...]] = []
        #: number of max-min solves so far (for benchmarks and tests)
        self.recomputes = 0

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
        self._cap = np.concatenate([self._cap, np.asarray(self._cap_list[n_old:], dtype=float)])
        self._lat = np.asarray(self._lat_list, dtype=float)
        grow = np.zeros(n - n_old)
        self._link_bytes = np.concatenate([self._link_bytes, grow])
        self._cap_time = np.concatenate([self._cap_time, grow])
        self._load = np.concatenate([self._load, grow])
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

    def capacity_Bps(self, link: Hashable) -> float:
        self._sync_links()
        return float(self._cap[self.link_id(link)])

    def set_capacity(self, link: Hashable, capacity_Bps: float) -> None:
        """Change a link's capacity now (0 = failed); rates are re-solved this instant."""
        if capacity_Bps < 0:
            raise ValueError("capacity_Bps must be non-negative")
        self._sync_links()
        lid = self.link_id(link)
        self._advance()
        self._cap[lid] = float(capacity_Bps)
        self._cap_list[lid] = float(capacity_Bps)
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
    ) -> Flow:
        """Start one flow now; returns a :class:`Flow` event (yield it to wait for it).

        ``on_done(flow)`` is called when the flow completes (after the path latency).
        """
        ps = self.compile_paths([path])
        fid = self._next_fid
        flow = Flow(self.env, fid, float(size_bytes), self.env.now)
        self._add(ps, np.array([size_bytes], dtype=float), weight, rate_cap_Bps, flow)
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
    ) -> simpy.Event:
        """Start a batch of flows now; returns ONE event that succeeds when all complete.

        The event's value is the completion time of the last flow.  ``sizes_bytes``,
        ``weights`` and ``rate_caps_Bps`` are scalars or one value per path.
        """
        ps = self.compile_paths(paths)
        n = len(ps)
        sizes = np.broadcast_to(np.asarray(sizes_bytes, dtype=float), (n,)).copy()
        ev = simpy.Event(self.env)
        if on_done is not None:
            ev.callbacks.append(on_done)
        if n == 0:
            ev.succeed(self.env.now)
            return ev
        self._add(ps, sizes, weights, rate_caps_Bps, None, ev)
        return ev

    def _add(self, ps, sizes, weights, caps, flow=None, ev=None) -> None:
        n = len(ps)
        if np.any(sizes < 0):
            raise ValueError("sizes must be non-negative")
        w = np.broadcast_to(np.asarray(weights, dtype=float), (n,)).copy()
        if np.any(w <= 0):
            raise ValueError("weights must be positive")
        if caps is None:
            c = np.full(n, np.inf)
        else:
            c = np.broadcast_to(np.asarray(caps, dtype=float), (n,)).copy()
            c[np.isnan(c)] = np.inf
        gid = self._next_gid
        self._next_gid += 1
        fids = np.arange(self._next_fid, self._next_fid + n, dtype=np.int64)
        self._next_fid += n
        self._groups[gid] = [flow if flow is not None else ev, n, -np.inf, flow]
        self._pending.append(
            (fids, np.full(n, gid, dtype=np.int64), sizes, w, c, ps.latency_s, ps.lens, ps.idx)
        )
        self._mark_dirty()

    # -- engine ---------------------------------------------------------------------------
    def _mark_dirty(self) -> None:
        if not self._dirty:
            self._dirty = True
            at_end_of_instant(self.env, self._recompute)

    def _advance(self) -> None:
        """Move byte counters from the last update to now at the current rates."""
        now = self.env.now
        dt = now - self._t_last
        if dt > 0:
            self._sync_links()
            if self._rem.size:
                fin = np.isfinite(self._rate)
                self._rem -= np.where(fin, self._rate, 0.0) * dt
                self._link_bytes += self._load * dt
            self._cap_time += self._cap * dt
        self._t_last = now

    def _merge_pending(self) -> None:
        if not self._pending:
            return
        cols = list(zip(*self._pending, strict=True))
        self._pending.clear()
        fids, gids, sizes, w, c, lat, lens, idx = (np.concatenate(x) for x in cols)
        self._fid = np.concatenate([self._fid, fids])
        self._gid = np.concatenate([self._gid, gids])
        self._size = np.concatenate([self._size, sizes])
        self._rem = np.concatenate([self._rem, sizes])
        self._w = np.concatenate([self._w, w])
        self._fcap = np.concatenate([self._fcap, c])
        self._flat = np.concatenate([self._flat, lat])
        self._start = np.concatenate([self._start, np.full(fids.size, self.env.now)])
        self._rate = np.concatenate([self._rate, np.zeros(fids.size)])
        self._lens = np.concatenate([self._lens, lens])
        self._idx = np.concatenate([self._idx, idx])

    def _recompute(self, _ev=None) -> None:
        self._dirty = False
        self._sync_links()
        self._advance()
        self._merge_pending()
        self._gen += 1
        n = self._rem.size
        if n == 0:
            self._load[:] = 0.0
            return
        ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(self._lens, out=ptr[1:])
        self._rate = maxmin_rates((ptr, self._idx), self._cap, self._w, self._fcap)
        self.recomputes += 1
        erate = np.repeat(self._rate, self._lens)
        self._load = np.bincount(self._idx, weights=erate, minlength=self._cap.size)
        self._schedule_next()

    def _schedule_next(self) -> None:
        pos = self._rate > 0
        if not np.any(pos):
            return  # everything stalled: wait for a capacity change
        with np.errstate(divide="ignore", invalid="ignore"):
            ttf = np.where(pos, np.maximum(self._rem, 0.0) / self._rate, np.inf)
        delay = float(ttf.min())
        gen = self._gen
        self.env.timeout(delay).callbacks.append(lambda _e: self._on_timer(gen))

    def _on_timer(self, gen: int) -> None:
        if gen != self._gen:
            return  # stale wakeup: the allocation changed since it was scheduled
        self._advance()
        now = self.env.now
        eps_t = max(abs(now), 1e-30) * TIME_RTOL
        done = (self._rem <= SIZE_RTOL * self._size) | (self._rem <= self._rate * eps_t)
        if not np.any(done):
            # Rounding left a sliver: wait for it (no rate change, same generation).
            self._schedule_next()
            return
        self._complete(done)
        self._mark_dirty()

    def _complete(self, done: np.ndarray) -> None:
        now = self.env.now
        ent_done = np.repeat(done, self._lens)
        # Book the sub-tolerance residue so link byte counters conserve bytes.
        res = np.repeat(self._rem[done], self._lens[done])
        if res.size:
            self._link_bytes += np.bincount(
                self._idx[ent_done], weights=res, minlength=self._cap.size
            )
        fids, gids = self._fid[done], self._gid[done]
        ends = now + self._flat[done]
        if self.record_flows:
            self._records.append(
                (fids, gids, self._start[done], np.full(fids.size, now), ends, self._size[done])
            )
        if self.scope.tracing:
            self._trace_flows(done, fids, ends)
        keep = ~done
        ent_keep = ~ent_done
        for name in _FLOW_COLUMNS:
            setattr(self, name, getattr(self, name)[keep])
        self._idx = self._idx[ent_keep]
        # Groups: decrement outstanding, track the latest end.
        order = np.argsort(gids, kind="stable")
        g_sorted, e_sorted = gids[order], ends[order]
        uniq, first, counts = np.unique(g_sorted, return_index=True, return_counts=True)
        gmax = np.maximum.reduceat(e_sorted, first)
        for g, k, emax in zip(uniq.tolist(), counts.tolist(), gmax.tolist(), strict=True):
            rec = self._groups[g]
            rec[1] -= k
            if emax > rec[2]:
                rec[2] = emax
            if rec[1] == 0:
                del self._groups[g]
                self._fire(rec)

    def _trace_flows(self, done: np.ndarray, fids: np.ndarray, ends: np.ndarray) -> None:
        """One span per completed flow, on the track of the flow's first link."""
        ptr = np.zeros(self._lens.size + 1, dtype=np.int64)
        np.cumsum(self._lens, out=ptr[1:])
        first = self._idx[ptr[:-1][done]]
        starts = self._start[done]
        sizes = self._size[done]
        for fid, lid, t0, t1, size in zip(
            fids.tolist(), first.tolist(), starts.tolist(), ends.tolist(), sizes.tolist(),
            strict=True,
        ):
            self.scope.span(f"flow {fid}", t0, t1, track=str(self._link_names[lid]),
                            args={"bytes": size})  # fmt: skip

    def _fire(self, rec: list) -> None:
        ev, _, end, flow = rec
        now = self.env.now
        if flow is not None:
            flow.transfer_end_s = now
            flow.end_s = end
        value = flow if flow is not None else end
        delay = end - now
        if delay <= 0:
            ev.succeed(value)
        else:
            self.env.timeout(delay).callbacks.append(lambda _e: ev.succeed(value))

    # -- observation ----------------------------------------------------------------------
    @property
    def n_active(self) -> int:
        """Flows started and not yet through their bandwidth phase."""
        return int(self._rem.size) + sum(p[0].size for p in self._pending)

    def rates_Bps(self) -> dict[int, float]:
        """Current rate of every active flow, keyed by flow id."""
        return dict(zip(self._fid.tolist(), self._rate.tolist(), strict=True))

    def flow_rate_Bps(self, flow: Flow | int) -> float:
        fid = flow.id if isinstance(flow, Flow) else int(flow)
        hit = np.flatnonzero(self._fid == fid)
        return float(self._rate[hit[0]]) if hit.size else 0.0

    def link_bytes(self) -> np.ndarray:
        """Bytes carried by each link so far (indexed by link id)."""
        self._sync_links()
        self._advance()
        return self._link_bytes.copy()

    def link_utilization(self) -> np.ndarray:
        """Bytes carried / integral of capacity over time, per link (NaN if never up)."""
        self._sync_links()
        self._advance()
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self._cap_time > 0, self._link_bytes / self._cap_time, np.nan)

    def link_table(self) -> pd.DataFrame:
        """One row per link: name, capacity, latency, bytes, utilization."""
        util = self.link_utilization()
        return pd.DataFrame(
            {
                "link": [str(n) for n in self._link_names],
                "capacity_Bps": self._cap.copy(),
                "latency_s": self._lat.copy(),
                "bytes": self._link_bytes.copy(),
                "utilization": util,
            }
        )

    def flow_table(self) -> pd.DataFrame:
        """One row per completed flow: id, group, start, transfer end, end, size."""
        cols = ["flow", "group", "start_s", "transfer_end_s", "end_s", "size_bytes"]
        if not self._records:
            return pd.DataFrame({c: [] for c in cols})
        arrs = [np.concatenate(x) for x in zip(*self._records, strict=True)]
        return pd.DataFrame(dict(zip(cols, arrs, strict=True)))
