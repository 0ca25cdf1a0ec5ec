"""Collective telemetry as C4's communication library emits it, with measurement noise.

What it models
    What the per-node agents report to the C4D master (C4, HPCA 2025: the collective
    library is instrumented at the communicator, operation and transport layers):

    * operation layer: for every rank and every collective operation, the time the rank
      entered the operation and the time it left it;
    * transport layer: for every queue pair (QP) of every operation, when it was posted
      and, once it delivered, its throughput (bytes over transfer time), from which the
      master builds a rank-to-rank throughput matrix per window (:meth:`Telemetry.matrix`);
      QPs posted and not delivered are *outstanding*;
    * liveness: the last time each node's agent reported anything (a crashed node falls
      silent).

    Measurement noise is applied when a record is made: every timestamp gets a Gaussian
    error of ``noise_s`` (s, standard deviation) and every QP throughput a multiplicative
    lognormal error of ``noise_rel`` (standard deviation of the log), so the detector only
    ever sees noisy values. The records hold no ground truth (no fault labels).

Layout
    Ranks are ``position x rails + rail`` (the job's node at ring position ``position``);
    QPs are numbered as the communicator's QP keys (connection ``i // qps``, QP ``i %
    qps``). Per operation the records are numpy arrays (NaN until recorded), so the master
    works on whole operations at once.

What it leaves out
    Clock skew between nodes (a constant offset per node; add it to ``noise_s`` in
    effect), lost or late reports, and the agents' own overhead.

Units
    Seconds, bytes, bytes/s.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


class Telemetry:
    """Telemetry of one job (see the module docstring). Call :meth:`configure` once the
    job's shape is known."""

    def __init__(self, rng: np.random.Generator, noise_s: float = 0.0, noise_rel: float = 0.0):
        self.rng = rng
        self.noise_s = float(noise_s)
        self.noise_rel = float(noise_rel)
        self.ranks = 0
        self.rails = 1
        self.n_qp = 0
        self.enter_t: dict[int, np.ndarray] = {}
        self.exit_t: dict[int, np.ndarray] = {}
        self.qp_rate: dict[int, np.ndarray] = {}
        self.qp_post: dict[int, float] = {}
        self.outstanding: dict[int, np.ndarray] = {}
        self.last_seen: np.ndarray = np.zeros(0)
        self.entered: np.ndarray = np.zeros(0, dtype=np.int64)
        self.exited: np.ndarray = np.zeros(0, dtype=np.int64)
        self.last_event = -np.inf  # time of the latest record of progress

    def configure(
        self,
        positions: int,
        rails: int,
        qp_src: Sequence[int],
        qp_dst: Sequence[int],
    ) -> None:
        """``positions`` nodes of ``rails`` ranks; the source and destination rank of
        every QP."""
        self.rails = int(rails)
        self.ranks = int(positions) * self.rails
        self.n_qp = len(qp_src)
        self.qp_src = np.asarray(qp_src, dtype=np.int64)
        self.qp_dst = np.asarray(qp_dst, dtype=np.int64)
        self.last_seen = np.full(int(positions), -np.inf)
        self.entered = np.full(self.ranks, -1, dtype=np.int64)
        self.exited = np.full(self.ranks, -1, dtype=np.int64)

    def _noisy(self, t: float, n: int) -> np.ndarray:
        if self.noise_s > 0:
            return t + self.rng.normal(0.0, self.noise_s, n)
        return np.full(n, float(t))

    # -- records --------------------------------------------------------------------------
    def enter(self, ranks: np.ndarray, op: int, t: float) -> None:
        """``ranks`` entered operation ``op`` at ``t``."""
        arr = self.enter_t.get(op)
        if arr is None:
            arr = self.enter_t[op] = np.full(self.ranks, np.nan)
        arr[ranks] = self._noisy(t, len(ranks))
        np.maximum.at(self.entered, ranks, op)
        self.last_seen[np.unique(ranks // self.rails)] = t
        self.last_event = max(self.last_event, t)

    def exit(self, ranks: np.ndarray, op: int, t: float) -> None:
        """``ranks`` left operation ``op`` at ``t``."""
        arr = self.exit_t.get(op)
        if arr is None:
            arr = self.exit_t[op] = np.full(self.ranks, np.nan)
        arr[ranks] = self._noisy(t, len(ranks))
        np.maximum.at(self.exited, ranks, op)
        self.last_seen[np.unique(ranks // self.rails)] = t
        self.last_event = max(self.last_event, t)

    def post(self, op: int, t: float) -> None:
        """Every QP of operation ``op`` was posted at ``t``."""
        self.qp_post[op] = t
        self.qp_rate[op] = np.full(self.n_qp, np.nan)
        self.outstanding[op] = np.ones(self.n_qp, dtype=bool)

    def delivered(self, op: int, positions: np.ndarray, nbytes: float, t: float) -> None:
        """QPs ``positions`` of operation ``op`` delivered their ``nbytes`` at ``t``."""
        dur = max(t - self.qp_post[op], 1e-12)
        rate = np.full(len(positions), nbytes / dur)
        if self.noise_rel > 0:
            rate *= np.exp(self.rng.normal(0.0, self.noise_rel, len(positions)))
        self.qp_rate[op][positions] = rate
        self.outstanding[op][positions] = False
        self.last_event = max(self.last_event, t)

    def measured(self, rates: np.ndarray) -> np.ndarray:
        """Throughputs as the agents report them (an active probe's, say): with the same
        multiplicative lognormal error as every QP throughput."""
        rates = np.asarray(rates, dtype=float)
        if self.noise_rel > 0:
            return rates * np.exp(self.rng.normal(0.0, self.noise_rel, rates.shape))
        return rates.copy()

    def heartbeat(self, positions: np.ndarray, t: float) -> None:
        """The agents of the nodes at ``positions`` are alive at ``t``."""
        self.last_seen[positions] = t

    # -- views ----------------------------------------------------------------------------
    def ops_frame(self) -> pd.DataFrame:
        """One row per (operation, rank) with an exit: enter and exit times."""
        rows = []
        for op in sorted(self.exit_t):
            ex = self.exit_t[op]
            en = self.enter_t.get(op, np.full(self.ranks, np.nan))
            r = np.flatnonzero(np.isfinite(ex))
            rows.append(pd.DataFrame({"op": op, "rank": r, "node_position": r // self.rails,
                                      "enter_s": en[r], "exit_s": ex[r]}))  # fmt: skip
        cols = ["op", "rank", "node_position", "enter_s", "exit_s"]
        return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=cols)

    def qps_frame(self) -> pd.DataFrame:
        """One row per delivered QP: operation, QP index, ranks, throughput."""
        rows = []
        for op in sorted(self.qp_rate):
            rate = self.qp_rate[op]
            i = np.flatnonzero(np.isfinite(rate))
            rows.append(pd.DataFrame({"op": op, "qp": i, "src_rank": self.qp_src[i],
                                      "dst_rank": self.qp_dst[i], "rate_Bps": rate[i]}))  # fmt: skip
        cols = ["op", "qp", "src_rank", "dst_rank", "rate_Bps"]
        return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=cols)

    def rates(self, ops: Sequence[int]) -> np.ndarray:
        """Per QP, the median throughput over ``ops`` (NaN where none delivered)."""
        have = [self.qp_rate[o] for o in ops if o in self.qp_rate]
        if not have:
            return np.full(self.n_qp, np.nan)
        with np.errstate(all="ignore"):
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                return np.nanmedian(np.vstack(have), axis=0)

    def matrix(self, ops: Sequence[int] | None = None) -> np.ndarray:
        """Mean QP throughput (bytes/s) from rank ``i`` to rank ``j`` over ``ops`` (all
        if ``None``); NaN where no QP delivered."""
        ops = sorted(self.qp_rate) if ops is None else ops
        tot = np.zeros((self.ranks, self.ranks))
        cnt = np.zeros((self.ranks, self.ranks))
        for o in ops:
            rate = self.qp_rate.get(o)
            if rate is None:
                continue
            ok = np.isfinite(rate)
            np.add.at(tot, (self.qp_src[ok], self.qp_dst[ok]), rate[ok])
            np.add.at(cnt, (self.qp_src[ok], self.qp_dst[ok]), 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(cnt > 0, tot / cnt, np.nan)
