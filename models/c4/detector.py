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

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

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
        self._ref_rate: dict[tuple[int, int], float] | None = None
        self._ref_iter: float | None = None
        self._qp_comp: dict[tuple[int, int], list] = {}
        self._ops_seen = 0
        self._qps_seen = 0
        self._op_recs: dict[int, list] = defaultdict(list)
        self._qp_hist: dict[tuple[int, int], list] = defaultdict(list)
        self._probing = False
        self._sd_late = 0.0
        self._sd_rate = 0.0
        self.active = False

    def start(self) -> None:
        self.active = True
        call_later(self.env, self.p.poll_s, self._poll)

    def stop(self) -> None:
        self.active = False

    # -- helpers ----------------------------------------------------------------------------
    def _components(self, conn: int, qp: int, level: str = "port") -> list:
        """The components a QP crosses: its NIC ports ``("port", nic, tor)`` (``level``
        "port") or NICs ``("nicc", nic)`` (``level`` "nic"), and the switch links it
        crosses (``("link", upward edge)``)."""
        key = (conn, qp, level)
        hit = self._qp_comp.get(key)
        if hit is None:
            ring = self.job.ring
            edges = ring.routes.edges(ring.keys[conn * ring.qps + qp])
            G = self.job.fabric.G
            comps = []

            def kind(n):
                return G.nodes[n].get("kind") if n in G else None

            for u, v in edges:
                if kind(u) == "nic" or kind(v) == "nic":
                    nic, tor = (u, v) if kind(u) == "nic" else (v, u)
                    comps.append(("port", nic, tor) if level == "port" else ("nicc", nic))
                else:
                    tier_u = G.nodes[u].get("tier", 0) if u in G else 0
                    tier_v = G.nodes[v].get("tier", 0) if v in G else 0
                    comps.append(("link", (u, v) if tier_u < tier_v else (v, u)))
            hit = self._qp_comp[key] = comps
        return hit

    def _ingest(self) -> None:
        """Take in the telemetry that arrived since the last poll."""
        tel = self.tel
        for op, _rank, node, te, tx in tel.ops[self._ops_seen :]:
            self._op_recs[op].append((node, te, tx))
        self._ops_seen = len(tel.ops)
        for rec in tel.qps[self._qps_seen :]:
            self._qp_hist[(rec[1], rec[2])].append((rec[0], rec[8]))
        self._qps_seen = len(tel.qps)

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
        self._ingest()
        ops = self._op_recs
        done = sorted(ops)
        exits = [float(np.median([r[2] for r in ops[op]])) for op in done[: self.p.warmup + 1]]
        if self._ref_iter is None and len(done) > self.p.warmup:
            iters = np.diff(exits[: self.p.warmup + 1])
            self._ref_iter = float(np.median(iters)) if iters.size else None
            self._ref_rate = self._rates(range(0, self.p.warmup))
            self._calibrate(ops, done[: self.p.warmup])
        if self._hang(now):
            return self.detection
        if self._ref_iter is not None and len(done) >= self.p.warmup + self.p.window:
            self._slow(ops, done)
        return self.detection

    def _last_progress(self) -> float:
        tel = self.tel
        last = 0.0
        if tel.ops:
            last = max(last, max(r[4] for r in tel.ops[-64:]))
        if tel.qps:
            last = max(last, max(r[7] for r in tel.qps[-256:]))
        if tel.enter_time:
            last = max(last, max(tel.enter_time.values()))
        return last

    def _hang(self, now: float) -> bool:
        p = self.p
        ref = self._ref_iter if self._ref_iter is not None else p.hang_min_s
        thr = max(p.hang_min_s, p.hang_factor * ref)
        if now - self._last_progress() < thr:
            return False
        tel = self.tel
        silent = sorted(
            n for n in self.job.nodes if tel.last_seen.get(n, -np.inf) < now - p.silence_s
        )
        if silent:
            self._detect("comm_hang", ("node", silent[0]), silent=len(silent))
            return True
        ranks = range(self.job.ranks)
        cur = max((tel.entered[r] for r in ranks), default=-1)
        lag_nodes = sorted({self.job.node_at(r) for r in ranks if tel.entered[r] < cur})
        if lag_nodes:
            self._detect("noncomm_hang", ("node", lag_nodes[0]), lagging=len(lag_nodes))
            return True
        waiting = [r for r in ranks if tel.entered[r] == cur and tel.exited[r] < cur]
        if waiting and not self._probing:
            ring = self.job.ring
            rails = sorted({r % len(self.job.rails) for r in waiting})
            self._probing = True
            ring.probe(rails, self.p.probe_bytes, self.p.probe_s, self._probe_result)
            return True
        if not waiting:
            self._detect("comm_hang", ("unknown", None))
        return True

    def _probe_result(self, stuck: list[tuple[int, int]]) -> None:
        if self.detection is not None:
            return
        if not stuck:
            self._detect("comm_hang", ("unknown", None))
            return
        unit, share = self._localise(stuck, stuck, level="nic")
        self._detect("comm_hang", unit, stuck=len(stuck), share=share)

    def _rates(self, ops: range) -> dict[tuple[int, int], float]:
        lo, hi = ops.start, ops.stop
        out = {}
        for k, hist in self._qp_hist.items():
            v = [r for op, r in hist if lo <= op < hi]
            if v:
                out[k] = float(np.median(v))
        return out

    @staticmethod
    def _node_lateness(ops, win) -> dict[int, list[float]]:
        """Per node, per operation: median over its ranks of (entry - median entry)."""
        late = defaultdict(list)
        for op in win:
            recs = ops[op]
            med = float(np.median([r[1] for r in recs]))
            per_node = defaultdict(list)
            for node, te, _tx in recs:
                per_node[node].append(te - med)
            for node, v in per_node.items():
                late[node].append(float(np.median(v)))
        return late

    def _calibrate(self, ops, warm) -> None:
        """Measurement noise seen during warm-up (robust: 1.4826 x median absolute
        deviation): of a node's lateness per operation, and of a QP's log throughput."""
        vals = [x for v in self._node_lateness(ops, warm).values() for x in v]
        self._sd_late = 1.4826 * float(np.median(np.abs(vals))) if vals else 0.0
        dev = []
        lo, hi = 0, self.p.warmup
        for hist in self._qp_hist.values():
            v = np.log([r for op, r in hist if lo <= op < hi])
            if v.size > 1:
                dev.extend(np.abs(v - np.median(v)).tolist())
        self._sd_rate = 1.4826 * float(np.median(dev)) if dev else 0.0

    def _slow(self, ops, done) -> None:
        p = self.p
        win = done[-p.window :]
        # non-communication slow: a node entering late, beyond noise
        late = self._node_lateness(ops, win)
        lateness = {n: float(np.median(v)) for n, v in late.items() if len(v) >= len(win) // 2 + 1}
        if lateness:
            node = max(lateness, key=lambda n: (lateness[n], -n))
            noise = p.z * self._sd_late * 1.2533 / np.sqrt(len(win))
            if lateness[node] > max(p.late_frac * self._ref_iter, noise):
                self._detect("noncomm_slow", ("node", node), lateness_s=lateness[node])
                return
        # communication slow: iterations slower, and QPs below their own reference
        tail = done[-(p.window + 1) :]
        ex = [float(np.median([r[2] for r in ops[op]])) for op in tail]
        cur_iter = float(np.median(np.diff(ex))) if len(ex) > 1 else 0.0
        if cur_iter <= (1.0 + p.gate) * self._ref_iter:
            return
        cur = self._rates(range(win[0], win[-1] + 1))
        ref = self._ref_rate or {}
        noise = p.z * self._sd_rate * np.sqrt(1.5708 / len(win) + 1.5708 / p.warmup)
        cut = min(np.log(1.0 - p.drop), -noise)
        slow = [k for k, r in cur.items() if k in ref and np.log(r / ref[k]) < cut]
        if slow:
            unit, share = self._localise(slow, list(cur))
            if share >= p.min_share:
                self._detect("comm_slow", unit, slow_qps=len(slow), share=share)

    def _localise(
        self, bad: list, population: list, level: str = "port"
    ) -> tuple[tuple[str, Any], float]:
        """The component the ``bad`` QPs concentrate on: the largest share of its QPs
        (among ``population``) that are bad, ties by the number of bad QPs."""
        bad_c = defaultdict(int)
        all_c = defaultdict(int)
        for k in set(population) | set(bad):
            for c in set(self._components(*k, level)):
                all_c[c] += 1
        for k in set(bad):
            for c in set(self._components(*k, level)):
                bad_c[c] += 1
        best = max(bad_c, key=lambda c: (bad_c[c] / all_c[c], bad_c[c], repr(c)))
        share = bad_c[best] / all_c[best]
        if best[0] in ("port", "nicc"):
            return ("nic", best[1]), share
        return ("link", best[1]), share
