"""Collective telemetry as C4's communication library emits it, with measurement noise.

What it models
    What a per-node agent reports to the C4D master (C4, HPCA 2025: the collective library
    is instrumented at the communicator, operation and transport layers):

    * operation layer: for every rank and every collective operation, the time the rank
      entered the operation and the time it left it (``ops``);
    * transport layer: for every queue pair (QP) of every operation, the bytes it carried
      and when its transfer started and ended (``qps``), from which the master builds a
      rank-to-rank throughput matrix per window (:meth:`Telemetry.matrix`);
    * liveness: the last time each node's agent reported anything (a crashed node falls
      silent).

    Measurement noise is applied when a record is made: every timestamp gets a Gaussian
    error of ``noise_s`` (s, standard deviation) and every QP throughput a multiplicative
    lognormal error of ``noise_rel`` (standard deviation of the log), so the detector only
    ever sees noisy values. The records hold no ground truth (no fault labels).

What it leaves out
    Clock skew between nodes (a constant offset per node; add it to ``noise_s`` in
    effect), lost or late reports, and the agents' own overhead.

Units
    Seconds, bytes, bytes/s.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass
class Telemetry:
    """Append-only telemetry of one job (see the module docstring)."""

    rng: np.random.Generator
    noise_s: float = 0.0
    noise_rel: float = 0.0
    ops: list[tuple[int, int, int, float, float]] = field(default_factory=list)
    qps: list[tuple] = field(default_factory=list)
    last_seen: dict[int, float] = field(default_factory=dict)
    entered: dict[int, int] = field(default_factory=lambda: defaultdict(lambda: -1))
    exited: dict[int, int] = field(default_factory=lambda: defaultdict(lambda: -1))
    enter_time: dict[tuple[int, int], float] = field(default_factory=dict)
    #: QPs posted and not completed: (op, conn, qp) -> post time
    outstanding: dict[tuple[int, int, int], float] = field(default_factory=dict)

    def _t(self, t: float) -> float:
        return t + self.rng.normal(0.0, self.noise_s) if self.noise_s > 0 else t

    # -- records --------------------------------------------------------------------------
    def enter(self, rank: int, node: int, op: int, t: float) -> None:
        """Rank ``rank`` (on ``node``) entered operation ``op`` at ``t``."""
        self.entered[rank] = max(self.entered[rank], op)
        self.enter_time[(rank, op)] = self._t(t)
        self.last_seen[node] = t

    def exit(self, rank: int, node: int, op: int, t: float) -> None:
        self.exited[rank] = max(self.exited[rank], op)
        te = self.enter_time.pop((rank, op), float("nan"))
        self.ops.append((op, rank, node, te, self._t(t)))
        self.last_seen[node] = t

    def post(self, op: int, conn: int, qp: int, t: float) -> None:
        """A QP of operation ``op`` was posted at ``t`` (transport layer)."""
        self.outstanding[(op, conn, qp)] = t

    def qp(
        self,
        op: int,
        conn: int,
        qp: int,
        src_rank: int,
        dst_rank: int,
        nbytes: float,
        start: float,
        end: float,
    ) -> None:
        """A QP of operation ``op`` carried ``nbytes`` from ``start`` to ``end``."""
        self.outstanding.pop((op, conn, qp), None)
        dur = max(end - start, 1e-12)
        rate = nbytes / dur
        if self.noise_rel > 0:
            rate *= float(np.exp(self.rng.normal(0.0, self.noise_rel)))
        self.qps.append((op, conn, qp, src_rank, dst_rank, nbytes, start, end, rate))

    def heartbeat(self, node: int, t: float) -> None:
        """The node's agent is alive at ``t`` (it reports even while its ranks wait)."""
        self.last_seen[node] = t

    # -- views ----------------------------------------------------------------------------
    def ops_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.ops, columns=["op", "rank", "node", "enter_s", "exit_s"])

    def qps_frame(self) -> pd.DataFrame:
        cols = ["op", "conn", "qp", "src_rank", "dst_rank", "bytes", "start_s", "end_s",
                "rate_Bps"]  # fmt: skip
        return pd.DataFrame(self.qps, columns=cols)

    def matrix(self, ranks: int, ops: range | None = None) -> np.ndarray:
        """Mean QP throughput (bytes/s) from rank ``i`` to rank ``j`` over the operations
        in ``ops`` (all if ``None``); NaN where no QP ran."""
        tot = np.zeros((ranks, ranks))
        cnt = np.zeros((ranks, ranks))
        for rec in self.qps:
            if ops is not None and rec[0] not in ops:
                continue
            tot[rec[3], rec[4]] += rec[8]
            cnt[rec[3], rec[4]] += 1
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(cnt > 0, tot / cnt, np.nan)
