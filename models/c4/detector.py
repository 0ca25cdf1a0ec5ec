"""C4D's detector: classify and localise an anomaly from collective telemetry alone.

What it models
    The C4D master, polling a job's telemetry (:mod:`sim_models.c4.telemetry`) every
    ``poll_s``. It knows the job's ranks and nodes and every QP's path (the traffic
    planner hands them out), and nothing of the injected faults. Normal behaviour is
    defined by the job itself: the first ``warmup`` completed operations after a (re)start
    are its reference, since every iteration runs the same collectives.

    Hangs. If nothing has progressed (no rank entered or left an operation, no QP
    completed) for ``hang_factor`` reference iterations (at least ``hang_min_s``), the job
    hangs, and the syndrome says which kind:

    * some node's agent has been silent for ``silence_s``: a **communication hang** at that
      node (it crashed and its peers wait for its data);
    * else some ranks have not entered the operation their peers are in: a
      **non-communication hang** at their node;
    * else every rank entered but some never left: the master probes every QP of the
      stuck rings with a small message (an active connectivity test); the probes that do
      not arrive within ``probe_s`` are the stuck QPs, and the NIC or switch link that the
      largest share of them crosses (ties: the most of them) is a **communication hang**.

    Slowness. Over the last ``window`` operations, compared with the reference:

    * **non-communication slow**: some node enters the collective late: its median lateness
      (entry time minus the median entry of all ranks) is the largest of all nodes and
      exceeds both ``late_frac`` of the reference iteration time and ``z`` standard errors
      of the lateness noise measured during warm-up;
    * **communication slow**: the median iteration time grew by more than ``gate`` and no
      node is late; QPs whose median throughput over the window fell below ``1 - drop``
      of their own reference (the warm-up operations), and by more than ``z`` standard
      errors of the throughput noise measured during warm-up, are slow; for every NIC port
      (both directions) and switch link the score is the share of its QPs that are slow;
      the best score (at least ``min_share``, ties by the number of slow QPs) names the
      component (a NIC port is reported as its NIC).

    Path probing. End-to-end measurements cannot tell apart components that carry exactly
    the same slow QPs (a single QP crossing a slow ToR uplink crosses the far ToR's uplink
    too). When several components tie for the best score, the master probes each of them
    actively: ``path_probe_repeats`` messages of ``probe_bytes`` over a shortest NIC-to-NIC
    path that crosses that component and none of the other tied ones (a path the master
    can steer a probe onto by its UDP source port, as C4's path probing learns to), all
    sent at once; after ``probe_s`` the component whose probes reported the lowest median
    throughput (noise included) is named. A component without such a path is not probed;
    with fewer than two probed, the tie-break above stands.

    A detection is reported once and carries its time, class and unit
    (``("node", n)``, ``("nic", name)`` or ``("link", (tor, spine))``).

What it leaves out
    C4D's exact rules (not published in the material available here), the time the master
    needs per poll beyond ``delay_s`` (added to every detection), multi-fault
    diagnosis, and re-learning the reference after routes change during a run.

Assumptions
    Every threshold is a parameter; defaults and their rationale are in
    ``models/c4/NOTES.md``. The detection delays they give are an output, compared with
    the published "tens of seconds".
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
from sim_models.c4.job import TrainingJob

from sim.events import call_later


@dataclass(frozen=True)
class DetectorParams:
    poll_s: float = 5.0
    warmup: int = 4
    window: int = 5
    hang_factor: float = 5.0
    hang_min_s: float = 10.0
    silence_s: float = 3.0
    late_frac: float = 0.03
    z: float = 5.0
    gate: float = 0.05
    drop: float = 0.2
    probe_s: float = 1.0
    probe_bytes: float = 1e6
    min_share: float = 0.5
    path_probe_repeats: int = 3
    delay_s: float = 0.0


@dataclass
class Detection:
    time_s: float
    cls: str
    unit: tuple[str, Any]
    evidence: dict[str, float] = field(default_factory=dict)


class Detector:
    """Polls one job's telemetry (see the module docstring)."""

    def __init__(self, job: TrainingJob, params: DetectorParams | None = None, on_detect=None):
        self.job = job
        self.p = params or DetectorParams()
        self.tel = job.telemetry
        if self.tel is None:
            raise ValueError("the detector needs a job with telemetry")
        self.env = job.env
        self.on_detect = on_detect
        self.detection: Detection | None = None
        self._ref_rate: np.ndarray | None = None
        self._ref_iter: float | None = None
        self._sd_late = 0.0
        self._sd_rate = 0.0
        self._comp: dict[tuple[int, str], list] = {}
        self._probing = False
        self._path_probing = False
        self._t0 = 0.0
        self.active = False

    def start(self) -> None:
        self.active = True
        self._t0 = self.env.now
        call_later(self.env, self.p.poll_s, self._poll)

    def stop(self) -> None:
        self.active = False

    # -- helpers ----------------------------------------------------------------------------
    def _components(self, i: int, level: str = "port") -> list:
        """The components QP ``i`` crosses: its NIC ports ``("port", nic, tor)`` (``level``
        "port") or NICs ``("nicc", nic)`` (``level`` "nic"), and the switch links it
        crosses (``("link", upward edge)``)."""
        key = (i, level)
        hit = self._comp.get(key)
        if hit is None:
            ring = self.job.ring
            edges = ring.routes.edges(ring.keys[i])
            G = self.job.fabric.G

            def kind(n):
                return G.nodes[n].get("kind") if n in G else None

            comps = []
            for u, v in edges:
                if kind(u) == "nic" or kind(v) == "nic":
                    nic, tor = (u, v) if kind(u) == "nic" else (v, u)
                    comps.append(("port", nic, tor) if level == "port" else ("nicc", nic))
                else:
                    tier_u = G.nodes[u].get("tier", 0) if u in G else 0
                    tier_v = G.nodes[v].get("tier", 0) if v in G else 0
                    comps.append(("link", (u, v) if tier_u < tier_v else (v, u)))
            hit = self._comp[key] = comps
        return hit

    def _done_ops(self) -> list[int]:
        return sorted(self.tel.exit_t)

    def _exit_median(self, op: int) -> float:
        return float(np.nanmedian(self.tel.exit_t[op]))

    def _lateness(self, op: int) -> np.ndarray:
        """Per node position: median over its ranks of (entry - median entry); NaN for a
        node without entries."""
        en = self.tel.enter_t.get(op)
        if en is None:
            return np.full(self.job.m, np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            rel = en - np.nanmedian(en)
            return np.nanmedian(rel.reshape(self.job.m, len(self.job.rails)), axis=1)

    def _detect(self, cls: str, unit, **evidence) -> None:
        t = self.env.now + self.p.delay_s
        self.detection = Detection(t, cls, unit, evidence)
        self.active = False
        if self.on_detect is not None:
            if self.p.delay_s > 0:
                call_later(self.env, self.p.delay_s, lambda _e: self.on_detect(self.detection))
            else:
                self.on_detect(self.detection)

    # -- polling ----------------------------------------------------------------------------
    def _poll(self, _ev=None) -> None:
        if not self.active:
            return
        self.check(self.env.now)
        if self.active:
            call_later(self.env, self.p.poll_s, self._poll)

    def check(self, now: float) -> Detection | None:
        """Run the rules once at ``now``; returns (and records) a detection, if any."""
        p = self.p
        done = self._done_ops()
        if self._ref_iter is None and len(done) > p.warmup:
            exits = [self._exit_median(op) for op in done[: p.warmup + 1]]
            iters = np.diff(exits)
            self._ref_iter = float(np.median(iters)) if iters.size else None
            warm = done[: p.warmup]
            self._ref_rate = self.tel.rates(warm)
            self._calibrate(warm)
        if self._hang(now) or self._path_probing:
            return self.detection
        if self._ref_iter is not None and len(done) >= p.warmup + p.window:
            self._slow(done)
        return self.detection

    def _calibrate(self, warm: list[int]) -> None:
        """Measurement noise seen during warm-up (robust: 1.4826 x median absolute
        deviation): of a node's lateness per operation, and of a QP's log throughput."""
        late = np.concatenate([self._lateness(op) for op in warm])
        late = late[np.isfinite(late)]
        self._sd_late = 1.4826 * float(np.median(np.abs(late))) if late.size else 0.0
        rates = [self.tel.qp_rate[op] for op in warm if op in self.tel.qp_rate]
        if len(rates) > 1:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                lr = np.log(np.vstack(rates))
                dev = np.abs(lr - np.nanmedian(lr, axis=0))
                self._sd_rate = 1.4826 * float(np.nanmedian(dev))
        if not np.isfinite(self._sd_rate):
            self._sd_rate = 0.0

    def _hang(self, now: float) -> bool:
        p = self.p
        tel = self.tel
        ref = self._ref_iter if self._ref_iter is not None else p.hang_min_s
        thr = max(p.hang_min_s, p.hang_factor * ref)
        if now - max(tel.last_event, self._t0) < thr:
            return False
        silent = np.flatnonzero(tel.last_seen < now - p.silence_s)
        if silent.size:
            node = self.job.nodes[int(silent[0])]
            self._detect("comm_hang", ("node", node), silent=float(silent.size))
            return True
        cur = int(tel.entered.max()) if tel.entered.size else -1
        lag = np.flatnonzero(tel.entered < cur)
        if lag.size:
            positions = np.unique(lag // len(self.job.rails))
            self._detect("noncomm_hang", ("node", self.job.nodes[int(positions[0])]),
                         lagging=float(positions.size))  # fmt: skip
            return True
        waiting = np.flatnonzero((tel.entered == cur) & (tel.exited < cur))
        if waiting.size and not self._probing:
            rails = sorted(set((waiting % len(self.job.rails)).tolist()))
            self._probing = True
            self.job.ring.probe(rails, p.probe_bytes, p.probe_s, self._probe_result)
            return True
        if not waiting.size:
            self._detect("comm_hang", ("unknown", None))
        return True

    def _probe_result(self, stuck: list[tuple[int, int]]) -> None:
        if self.detection is not None:
            return
        if not stuck:
            self._detect("comm_hang", ("unknown", None))
            return
        qps = self.job.ring.qps
        idx = [c * qps + q for c, q in stuck]
        unit, share = self._localise(idx, idx, level="nic")
        self._detect("comm_hang", unit, stuck=float(len(stuck)), share=share)

    def _slow(self, done: list[int]) -> None:
        p = self.p
        win = done[-p.window :]
        # non-communication slow: a node entering late, beyond noise
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            late = np.nanmedian(np.vstack([self._lateness(op) for op in win]), axis=0)
        if np.isfinite(late).any():
            pos = int(np.nanargmax(late))
            noise = p.z * self._sd_late * 1.2533 / np.sqrt(len(win))
            if late[pos] > max(p.late_frac * self._ref_iter, noise):
                self._detect("noncomm_slow", ("node", self.job.nodes[pos]),
                             lateness_s=float(late[pos]))  # fmt: skip
                return
        # communication slow: iterations slower, and QPs below their own reference
        tail = done[-(p.window + 1) :]
        ex = [self._exit_median(op) for op in tail]
        cur_iter = float(np.median(np.diff(ex))) if len(ex) > 1 else 0.0
        if cur_iter <= (1.0 + p.gate) * self._ref_iter:
            return
        cur = self.tel.rates(win)
        ref = self._ref_rate
        if ref is None:
            return
        noise = p.z * self._sd_rate * np.sqrt(1.5708 / len(win) + 1.5708 / p.warmup)
        cut = min(np.log(1.0 - p.drop), -noise)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.log(cur / ref)
        ok = np.isfinite(ratio)
        slow = np.flatnonzero(ok & (ratio < cut)).tolist()
        if slow:
            tied, share = self._rank(slow, np.flatnonzero(ok).tolist())
            if share < p.min_share:
                return
            evidence = {"slow_qps": float(len(slow)), "share": share}
            if len(tied) > 1 and p.path_probe_repeats > 0 and self._probe_paths(tied, evidence):
                return
            self._detect("comm_slow", self._unit(tied[0]), **evidence)

    def _rank(
        self, bad: list[int], population: list[int], level: str = "port"
    ) -> tuple[list, float]:
        """The components the ``bad`` QPs concentrate on: those with the largest share of
        their QPs (among ``population``) bad and, among them, the most bad QPs (all that
        tie, in a fixed order), and that share."""
        bad_c = defaultdict(int)
        all_c = defaultdict(int)
        for i in set(population) | set(bad):
            for c in set(self._components(i, level)):
                all_c[c] += 1
        for i in set(bad):
            for c in set(self._components(i, level)):
                bad_c[c] += 1
        score = {c: (bad_c[c] / all_c[c], bad_c[c]) for c in bad_c}
        top = max(score.values())
        tied = sorted((c for c in score if score[c] == top), key=repr, reverse=True)
        return tied, top[0]

    @staticmethod
    def _unit(comp) -> tuple[str, Any]:
        """The isolation unit of a component: a NIC port is reported as its NIC."""
        if comp[0] in ("port", "nicc"):
            return ("nic", comp[1])
        return ("link", comp[1])

    def _localise(
        self, bad: list[int], population: list[int], level: str = "port"
    ) -> tuple[tuple[str, Any], float]:
        """The unit the ``bad`` QPs concentrate on (first of the tied components)."""
        tied, share = self._rank(bad, population, level)
        return self._unit(tied[0]), share

    # -- path probing -------------------------------------------------------------------------
    @staticmethod
    def _cable(comp) -> tuple[str, str] | None:
        """The edge of a component, lower tier first (``None``: not probed)."""
        if comp[0] == "port":
            return (comp[1], comp[2])
        if comp[0] == "link":
            return tuple(comp[1])
        return None

    def _probe_paths(self, tied: list, evidence: dict[str, float]) -> bool:
        """Probe each tied component over a path of its own (see the module docstring);
        ``False`` when fewer than two can be probed."""
        p = self.p
        fab = self.job.fabric
        cables = {c: self._cable(c) for c in tied}
        if any(e is None for e in cables.values()):
            return False
        owners, paths = [], []
        for c in tied:
            avoid = {e for d in tied if d != c for e in (cables[d], cables[d][::-1])}
            path = probe_path(fab.G, cables[c], avoid)
            if path is not None:
                owners.append(c)
                paths.append(fab.ids(path))
        if len(owners) < 2:
            return False
        reps = p.path_probe_repeats
        net = fab.net
        ps = net.compile_paths([a for a in paths for _ in range(reps)])
        t0 = self.env.now
        ends = np.full(len(owners) * reps, np.inf)

        def each(positions: np.ndarray, t: float) -> None:
            ends[positions] = t

        def report(_e) -> None:
            self._path_probing = False
            if self.detection is not None or not self.active:
                return
            with np.errstate(divide="ignore"):
                rate = self.tel.measured(p.probe_bytes / np.maximum(ends - t0, 1e-12))
            med = np.median(rate.reshape(len(owners), reps), axis=1)
            best = owners[int(np.argmin(med))]
            self._detect("comm_slow", self._unit(best), probed=float(len(owners)), **evidence)

        self._path_probing = True
        net.start_flows(ps, p.probe_bytes, on_each=each)
        self.env.timeout(p.probe_s).callbacks.append(report)
        return True


def probe_path(G, cable: tuple[str, str], avoid: set) -> list[tuple[str, str]] | None:
    """A shortest NIC-to-NIC path (as directed edges) that crosses ``cable`` (lower tier
    first) upwards and no edge of ``avoid``: up from a NIC to the cable's lower end, across
    it, down from its upper end to a NIC. ``None`` if there is none (deterministic: the
    first in sorted order)."""
    a, b = cable
    if not G.has_edge(a, b):
        return None

    def tier(n) -> int:
        return G.nodes[n].get("tier", 0)

    def is_nic(n) -> bool:
        return G.nodes[n].get("kind") == "nic"

    def bfs(start, upstream: bool, banned):
        """Nodes reachable from ``start`` going strictly down in tier (over edges into the
        current node if ``upstream``, else out of it), with parents."""
        parent = {start: None}
        order = [start]
        for cur in order:
            if is_nic(cur) and cur != start:
                continue  # endpoints do not forward
            step = G.predecessors(cur) if upstream else G.successors(cur)
            for nxt in sorted(step, key=str):
                e = (nxt, cur) if upstream else (cur, nxt)
                if nxt in parent or nxt == banned or e in avoid or tier(nxt) >= tier(cur):
                    continue
                parent[nxt] = cur
                order.append(nxt)
        return parent, order

    def chain(parent, n) -> list:
        out = []
        while n is not None:
            out.append(n)
            n = parent[n]
        return out

    if is_nic(a):
        up = [a]
    else:
        par, order = bfs(a, True, b)
        src = next((n for n in order if is_nic(n)), None)
        if src is None:
            return None
        up = chain(par, src)  # src ... a
    par, order = bfs(b, False, a)
    for dst in (n for n in order if is_nic(n)):
        if dst == up[0]:
            continue
        down = chain(par, dst)[::-1]  # b ... dst
        nodes = up + down
        if len(set(nodes)) != len(nodes):
            continue
        try:
            shortest = nx.shortest_path_length(G, up[0], dst)
        except nx.NetworkXNoPath:
            continue
        if len(nodes) - 1 == shortest:
            return list(zip(nodes[:-1], nodes[1:], strict=True))
    return None
