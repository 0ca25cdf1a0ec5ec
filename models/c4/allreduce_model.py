"""Registered model ``c4.allreduce``: all-reduce bus bandwidth on the C4 fabric under a
routing policy, over many hash draws, and through a link failure.

What it models
    A job of ``gpus`` GPUs (``gpus / 8`` nodes) on a :mod:`sim_models.c4.fabric` Clos
    all-reduces ``message_bytes`` per GPU: with 8-way tensor parallelism the GPUs of each
    rail form a ring across the nodes (:mod:`sim_models.c4.comm`), the 8 rings run at
    once, and every ring connection is carried by ``qps`` QPs routed by the ``routing``
    slot (``ecmp``, ``c4p``, ``c4p_static``, ``ideal``, any ``hw.routing`` policy).
    Bus bandwidth follows nccl-tests: ``S / t x 2(p-1)/p`` with ``p`` the ring's ranks
    (nodes), so the NIC's line rate (2 ports x 200 Gb/s = 50 GB/s) is the ceiling.

    ``mode: draws``: ``draws`` independent all-reduces, each with fresh connections
    (fresh random source ports for ECMP, a fresh plan for C4P, a fresh placement when
    ``placement`` is ``scattered``); the distribution of busbw over draws is the result.
    A policy that makes no random choice (``c4p``, ``c4p_static``, ``ideal``:
    ``deterministic``) on a contiguous placement gives the same result in every draw, so
    it is simulated once and that result is repeated.
    The traffic of the first draw on every NIC port gives the port balance.

    ``mode: failure``: ``ops`` all-reduces back to back; halfway through operation
    ``fail_after_op`` (at half the previous operation's duration) the most loaded ToR
    uplink (most QPs; ties: the first by name) fails (``fail_factor`` 0) or degrades to
    ``fail_factor`` of its capacity, the change is announced to the routing, which reacts
    at once (QPs in flight move with their remaining bytes), and before operation
    ``repair_after_op`` (if set) it comes back. Busbw per operation over time shows the
    drop and the recovery.

Outputs
    summary: ``busbw_GBps.*`` (mean, p5 ... max, std), ``line_rate_GBps``,
    ``port_imbalance.mean`` (mean over NICs of |share of port 0 - 1/2|),
    ``ports_unbalanced_fraction`` (NICs with a port carrying >= 3/4);
    failure mode: ``busbw_before_GBps``, ``busbw_after_GBps``, ``busbw_repaired_GBps``.
    Tables ``draws`` (or ``ops``) and ``ports``.

What it leaves out
    See :mod:`sim_models.c4.comm` (re-routing is instantaneous).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator
from sim_models.c4.comm import RingCollective, Routes, busbw_Bps
from sim_models.c4.fabric import Fabric, place_job
from sim_models.c4.params import MAX_NODES, FabricParams
from sim_models.hw.routing_policies import DOMAIN as ROUTING

from sim.events import call_later
from sim.model import Model, Slot
from sim.recorder import summarize
from sim.registry import model


@model("c4.allreduce", "C4: all-reduce busbw on a dual-ToR Clos over hash draws or a failure")
class AllReduceModel(Model):
    slots = {"routing": Slot(ROUTING, "ecmp", "path of every QP (ecmp, c4p, c4p_static, ideal)")}

    class Params(FabricParams):
        gpus: int = Field(512, ge=16, le=8 * MAX_NODES, description="GPUs (a multiple of 8)")
        message_bytes: float = Field(
            256e6, gt=0, le=64e9, description="bytes all-reduced per GPU (nccl-tests size)"
        )
        mode: Literal["draws", "failure"] = Field("draws", description="what to run")
        draws: int = Field(10, ge=1, le=10_000, description="independent hash draws")
        ops: int = Field(40, ge=2, le=10_000, description="failure mode: operations")
        fail_after_op: int = Field(10, ge=0, le=10_000, description="failure mode")
        repair_after_op: int | None = Field(None, ge=1, le=10_000, description="failure mode")
        fail_factor: float = Field(
            0.0, ge=0.0, lt=1.0, description="failure mode: 0 fails the link, else degrades it"
        )

        @model_validator(mode="after")
        def _check(self):
            if self.mode == "failure" and self.fail_after_op >= self.ops:
                raise ValueError("fail_after_op must be below ops")
            self.check_fabric_for(self.gpus)
            return self

    def build(self, sim) -> None:
        p = self.params
        self.job_nodes = p.gpus // 8
        self.fabric = Fabric(p.fabric_spec(self.job_nodes), sim.env, self.scope.child("net"))
        pol = self.policies["routing"]
        pol.setup(self.fabric.G)
        self.routes = Routes(self.fabric, pol)
        self.rng = self.scope.rng("placement")
        self.rows: list[dict] = []
        self.ports = pd.DataFrame()
        sim.env.process(self._failure() if p.mode == "failure" else self._draws())

    def _nodes(self) -> list[int]:
        p = self.params
        return place_job(self.fabric.nodes, self.job_nodes, p.placement, self.rng)

    def _ring(self, name) -> RingCollective:
        return RingCollective(
            self.fabric, self.routes, name, self._nodes(), range(8), self.params.qps,
            lambda i, g: i * 8 + g,
        )  # fmt: skip

    def _run_op(self, ring: RingCollective):
        env = self.sim.env
        done = env.event()
        t0 = env.now
        ring.start(self.params.message_bytes, lambda t: done.succeed(t))
        t1 = yield done
        return t1 - t0

    def _draws(self):
        p = self.params
        pol = self.policies["routing"]
        repeat = getattr(pol, "deterministic", False) and p.placement == "contiguous"
        for d in range(p.draws):
            if repeat and d > 0:  # no random choice anywhere: every draw equals the first
                self.rows.append({**self.rows[0], "draw": d})
                self.sim.completed()
                continue
            ring = self._ring(("allreduce", d))
            before = self.fabric.net.link_bytes() if d == 0 else None
            dt = yield from self._run_op(ring)
            if d == 0:
                self.ports = self._port_table(self.fabric.net.link_bytes() - before)
            self.rows.append({"draw": d, "time_s": dt,
                              "busbw_GBps": busbw_Bps(p.message_bytes, dt, ring.m) / 1e9})  # fmt: skip
            ring.close()
            self.sim.completed()

    def _failure(self):
        p = self.params
        ring = self._ring(("allreduce", 0))
        failed = None
        before = self.fabric.net.link_bytes()
        last = 0.0
        for k in range(p.ops):
            if k == p.fail_after_op:  # in the middle of this operation
                failed = self._most_loaded_uplink(ring)
                call_later(
                    self.sim.env, 0.5 * last, lambda _e, f=failed: self.fabric.set_link(*f, 0.0)
                )
            if p.repair_after_op is not None and k == p.repair_after_op and failed:
                self.fabric.set_link(*failed, 1.0)
            t0 = self.sim.env.now
            dt = yield from self._run_op(ring)
            last = dt
            if k == 0:
                self.ports = self._port_table(self.fabric.net.link_bytes() - before)
            phase = (
                "before" if k < p.fail_after_op else "during" if k == p.fail_after_op else "after"
            )
            if p.repair_after_op is not None and k >= p.repair_after_op:
                phase = "repaired"
            self.rows.append({"op": k, "start_s": t0, "end_s": t0 + dt, "time_s": dt,
                              "busbw_GBps": busbw_Bps(p.message_bytes, dt, ring.m) / 1e9,
                              "phase": phase})  # fmt: skip
            self.sim.completed()
        self.failed_link = failed

    def _most_loaded_uplink(self, ring: RingCollective) -> tuple[str, str]:
        ups = self.fabric.uplinks()
        count = dict.fromkeys(ups, 0)
        for key in ring.keys:
            for u, v in self.routes.edges(key):
                if (u, v) in count:
                    count[(u, v)] += 1
                elif (v, u) in count:
                    count[(v, u)] += 1
        if not count:
            raise ValueError("the fabric has no ToR uplinks to fail (a single ToR pair)")
        return max(sorted(count), key=lambda e: count[e])

    def _port_table(self, link_bytes: np.ndarray) -> pd.DataFrame:
        fab = self.fabric
        rows = []
        for n in range(fab.nodes):
            for g in range(fab.gpus_per_node):
                nic = fab.nic(n, g)
                for port in range(fab.spec.ports_per_nic):
                    b = float(link_bytes[fab.lid[fab.port_edge(nic, port)]])
                    rows.append({"nic": nic, "port": port, "bytes": b})
        df = pd.DataFrame(rows)
        tot = df.groupby("nic")["bytes"].transform("sum")
        df["share"] = np.where(tot > 0, df["bytes"] / tot.where(tot > 0, 1.0), np.nan)
        return df

    def summary(self) -> dict[str, float]:
        df = pd.DataFrame(self.rows)
        out: dict[str, float] = {
            "line_rate_GBps": self.fabric.spec.ports_per_nic * self.fabric.spec.port_Bps / 1e9
        }
        bw = df["busbw_GBps"].to_numpy() if len(df) else np.zeros(0)
        out.update(summarize(bw, "busbw_GBps"))
        out["busbw_GBps.std"] = float(bw.std(ddof=1)) if bw.size > 1 else 0.0
        out["busbw_GBps.min"] = float(bw.min()) if bw.size else math.nan
        if not self.ports.empty:
            p0 = self.ports[self.ports["port"] == 0].dropna(subset=["share"])
            dev = (p0["share"] - 0.5).abs()
            out["port_imbalance.mean"] = float(dev.mean()) if len(dev) else math.nan
            out["ports_unbalanced_fraction"] = float((dev >= 0.25).mean()) if len(dev) else math.nan
        if self.params.mode == "failure" and len(df):
            for phase in ("before", "after", "repaired"):
                sel = df[df["phase"] == phase]
                out[f"busbw_{phase}_GBps"] = (
                    float(sel["busbw_GBps"].mean()) if len(sel) else math.nan
                )
        return out

    def tables(self) -> dict[str, pd.DataFrame]:
        name = "ops" if self.params.mode == "failure" else "draws"
        return {name: pd.DataFrame(self.rows), "ports": self.ports}

    def figures(self, out_dir: Path) -> list[Path]:
        from sim_models.c4 import figures

        out = []
        if self.params.mode == "failure":
            out.append(figures.failure_timeline_single(pd.DataFrame(self.rows), out_dir))
        return [p for p in out if p is not None]

    @classmethod
    def sweep_figures(cls, table: pd.DataFrame, out_dir: Path) -> list[Path]:
        from sim_models.c4 import figures

        return figures.allreduce_sweep_figures(table, Path(out_dir))
