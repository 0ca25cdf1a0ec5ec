"""``template.dispatch``: jobs from a workload dispatched to servers by three policy slots.

What it models
    ``servers`` identical servers. Jobs arrive from the experiment's workload (``poisson``
    with ``service_mean_s``, or ``trace`` with a ``service_s`` column): each carries its
    service time. On arrival the ``dispatch`` policy picks a server from the current loads,
    the ``admission`` policy may reject the job, and the job waits in that server's queue,
    which the ``order`` policy sorts (non-preemptive). A job's response time is its wait plus
    its service.

What it leaves out
    Everything a real system has beyond that: it is the template's example, not a model of
    any system. Its one check against a closed form (M/M/1 per server under random
    dispatch) is in tests/_template/.

Where its numbers come from
    Nothing is built in: servers, rates and sizes all come from the experiment file.
"""

from __future__ import annotations

import heapq
from pathlib import Path

import pandas as pd
from pydantic import Field

from sim.errors import DataError
from sim.events import call_later
from sim.model import Model, Params, Slot
from sim.recorder import summarize
from sim.registry import model
from sim.workload import ArrivalFeed, Arrivals

from .policies import ADMISSION, DISPATCH, ORDER


@model("template.dispatch", "template: jobs dispatched to servers by three policy slots")
class Dispatch(Model):
    slots = {
        "admission": Slot(ADMISSION, "always", "whether an arriving job enters"),
        "dispatch": Slot(DISPATCH, "round_robin", "which server a job joins"),
        "order": Slot(ORDER, "fifo", "which waiting job a server serves next"),
    }
    workload_required = True

    class Params(Params):
        servers: int = Field(2, ge=1, le=100_000, description="identical servers")
        max_jobs: int = Field(100_000, ge=1, le=10**9, description="jobs taken from the workload")

    def build(self, sim) -> None:
        n = self.params.servers
        self.queues: list[list] = [[] for _ in range(n)]
        self.busy = [False] * n
        self.jobs = self.scope.columns(
            "jobs",
            {"server": "int", "arrival_s": "float", "start_s": "float", "end_s": "float"},
        )
        self.rejected = 0
        self.arrived = 0
        self._seq = 0
        self.feed = ArrivalFeed(sim.env, self.workload.batches(), self._arrive)

    def _arrive(self, batch: Arrivals, i: int) -> None:
        if self.arrived >= self.params.max_jobs:
            return
        self.arrived += 1
        sizes = batch.columns.get("service_s")
        if sizes is None:
            raise DataError(
                f"workload {self.workload.name!r} gives no service_s column "
                "(poisson: set service_mean_s; trace: list service_s in columns)"
            )
        size = float(sizes[i])
        loads = [len(q) + b for q, b in zip(self.queues, self.busy, strict=True)]
        server = self.policies["dispatch"].pick(loads)
        if not self.policies["admission"].admit(len(self.queues[server])):
            self.rejected += 1
            return
        now = self.sim.env.now
        key = self.policies["order"].key(now, size)
        self._seq += 1
        heapq.heappush(self.queues[server], (key, self._seq, now, size))
        if not self.busy[server]:
            self._start(server)

    def _start(self, server: int) -> None:
        _key, _seq, arrival, size = heapq.heappop(self.queues[server])
        self.busy[server] = True
        now = self.sim.env.now
        call_later(self.sim.env, size, self._finish, (server, arrival, now))

    def _finish(self, ev) -> None:
        server, arrival, start = ev.value
        now = self.sim.env.now
        self.jobs.append(server, arrival, start, now)
        self.scope.span("job", start, now, track=f"server {server}")
        self.sim.completed()
        self.busy[server] = False
        if self.queues[server]:
            self._start(server)

    def summary(self) -> dict[str, float]:
        frame = self.jobs.to_frame()
        out = summarize(frame["end_s"] - frame["arrival_s"], "response_s")
        out.update(summarize(frame["start_s"] - frame["arrival_s"], "wait_s"))
        out["rejected_fraction"] = self.rejected / self.arrived if self.arrived else 0.0
        return out

    def figures(self, out_dir: Path) -> list[Path]:
        from .figures import response_cdf

        return [response_cdf(self.jobs.to_frame(), Path(out_dir) / "response_cdf.png")]

    @classmethod
    def sweep_figures(cls, table: pd.DataFrame, out_dir: Path) -> list[Path]:
        from .figures import response_by_policy

        path = response_by_policy(table, Path(out_dir) / "response_by_dispatch.png")
        return [path] if path else []
