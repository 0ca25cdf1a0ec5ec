"""A synchronous data-parallel training job on the C4 fabric.

What it models
    A job on ``nodes`` nodes of 8 GPUs with 8-way tensor parallelism inside each node
    (NVLink) and data parallelism across nodes: every iteration each node computes for
    ``compute_s`` (forward and backward passes, tensor-parallel communication included),
    then the GPUs with the same local index all-reduce their ``grad_bytes`` of gradients
    over a ring across the nodes, one ring per rail (:class:`sim_models.c4.comm.
    RingCollective`). A fraction ``overlap`` of the compute is the backward pass during
    which the all-reduce may already run: a rank *enters* the collective at ``compute x (1
    - overlap)`` into its iteration, the collective starts when every rank has entered
    (bulk-synchronous), and the iteration ends when both the compute and the collective
    are done. Throughput: iterations/s and samples/s (``samples_per_iteration``).

    Faults change the job (:meth:`TrainingJob.slow_node`, :meth:`hang_node`,
    :meth:`crash_node`): a slow node computes longer, a hung node never finishes its
    compute (its agent keeps reporting), a crashed node stops computing, its agent falls
    silent and its NIC ports stop carrying traffic. Network faults are applied to the
    fabric directly (:mod:`sim_models.c4.faults`).

Telemetry
    With a :class:`sim_models.c4.telemetry.Telemetry`, every rank's entry into and exit
    from every operation (a rank leaves when its rail's ring is done) and every QP's
    transfer are recorded (noise included), and every live node's agent sends a heartbeat
    every ``heartbeat_s``.

Sizing from a model (:func:`job_from_model`)
    ``compute_s = 6 x params x tokens / (gpus x peak_flops x mfu)`` (the 6-FLOP-per-
    parameter-per-token rule for a dense transformer's forward and backward passes,
    Kaplan et al. 2020, 2.1) and ``grad_bytes = bytes_per_grad x params / tp`` (each
    tensor-parallel rank holds ``1/tp`` of the parameters; gradients all-reduced in bf16).

What it leaves out
    Pipeline parallelism, bucketing of the all-reduce into several operations, optimizer
    and data-loading time beyond ``compute_s``, compute jitter.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from sim_models.c4.comm import RingCollective, Routes
from sim_models.c4.fabric import Fabric
from sim_models.c4.telemetry import Telemetry

from sim.events import call_later


@dataclass(frozen=True)
class JobSpec:
    """What one iteration of a job does (see the module docstring)."""

    compute_s: float
    grad_bytes: float
    overlap: float = 0.0
    qps: int = 2
    samples_per_iteration: float = 1.0
    rails: int = 8

    def check(self) -> JobSpec:
        if not (self.compute_s >= 0 and math.isfinite(self.compute_s)):
            raise ValueError("compute_s must be >= 0")
        if not (self.grad_bytes >= 0 and math.isfinite(self.grad_bytes)):
            raise ValueError("grad_bytes must be >= 0")
        if not 0.0 <= self.overlap <= 1.0:
            raise ValueError("overlap must be in [0, 1]")
        if self.qps < 1 or self.rails < 1:
            raise ValueError("qps and rails must be >= 1")
        return self


def job_from_model(
    params: float,
    gpus: int,
    tokens_per_iteration: float,
    peak_flops: float,
    mfu: float,
    *,
    tp: int = 8,
    bytes_per_grad: float = 2.0,
    seq_len: int = 4096,
    overlap: float = 0.0,
    qps: int = 2,
) -> JobSpec:
    """A :class:`JobSpec` for a dense transformer of ``params`` parameters (see the module
    docstring for the formulas)."""
    if min(params, gpus, tokens_per_iteration, peak_flops, mfu, tp) <= 0:
        raise ValueError("params, gpus, tokens, peak_flops, mfu and tp must be positive")
    compute = 6.0 * params * tokens_per_iteration / (gpus * peak_flops * mfu)
    return JobSpec(
        compute_s=compute,
        grad_bytes=bytes_per_grad * params / tp,
        overlap=overlap,
        qps=qps,
        samples_per_iteration=tokens_per_iteration / seq_len,
    ).check()


class TrainingJob:
    """One job's iterations on the fabric (see the module docstring).

    ``nodes``: the job's node indices in ring order; ``name``: a hashable id, unique on
    the fabric (QP keys derive from it); ``on_iteration(job, start, end)`` is called after
    every iteration.
    """

    def __init__(
        self,
        fabric: Fabric,
        routes: Routes,
        name,
        nodes: Sequence[int],
        spec: JobSpec,
        *,
        telemetry: Telemetry | None = None,
        heartbeat_s: float = 1.0,
        on_iteration: Callable[[TrainingJob, float, float], None] | None = None,
        max_iterations: int | None = None,
    ):
        self.spec = spec.check()
        self.fabric = fabric
        self.env = fabric.net.env
        self.name = name
        self.nodes = list(nodes)
        self.m = len(self.nodes)
        self.rails = list(range(min(spec.rails, fabric.gpus_per_node)))
        self.ring = RingCollective(
            fabric, routes, name, self.nodes, self.rails, spec.qps, self.rank_of
        )
        self.telemetry = telemetry
        if telemetry is not None:
            telemetry.configure(self.m, len(self.rails), *self.ring.qp_ranks())
        self.heartbeat_s = heartbeat_s
        self.on_iteration = on_iteration
        self.max_iterations = max_iterations
        self.iteration = 0
        self.iter_start: list[float] = []
        self.iter_end: list[float] = []
        self.comm_time: list[float] = []
        self.slow: dict[int, float] = {}
        self.hung: set[int] = set()
        self.silent: set[int] = set()
        self.stalled = False
        self._pending: list[Callable[[], None]] = []
        self.running = False

    # -- ranks ------------------------------------------------------------------------------
    def rank_of(self, position: int, rail: int) -> int:
        return position * len(self.rails) + rail

    @property
    def ranks(self) -> int:
        return self.m * len(self.rails)

    def node_at(self, rank: int) -> int:
        return self.nodes[rank // len(self.rails)]

    # -- faults -----------------------------------------------------------------------------
    def slow_node(self, node: int, factor: float) -> None:
        """Node ``node`` computes ``factor`` times longer from its next iteration on."""
        if factor < 1:
            raise ValueError("a slowdown factor is >= 1")
        self.slow[node] = factor

    def hang_node(self, node: int) -> None:
        """Node ``node``'s ranks never finish their next compute (agent still alive)."""
        self.hung.add(node)

    def crash_node(self, node: int) -> None:
        """Node ``node`` dies: no compute, a silent agent, dead NIC ports (traffic through
        them stalls; routes are not told, as switches take far longer than the job does
        to notice)."""
        self.hung.add(node)
        self.silent.add(node)
        for g in range(self.fabric.gpus_per_node):
            nic = self.fabric.nic(node, g)
            for e in self.fabric.nic_edges(nic):
                self.fabric.net.set_capacity(self.fabric.lid[e], 0.0)

    def at_next_iteration(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` when the next iteration starts."""
        self._pending.append(fn)

    # -- run --------------------------------------------------------------------------------
    def start(self) -> None:
        self.running = True
        self._iterate()
        if self.telemetry is not None:
            self._heartbeat()

    def stop(self) -> None:
        self.running = False

    def _heartbeat(self, _ev=None) -> None:
        if not self.running:
            return
        alive = [i for i, n in enumerate(self.nodes) if n not in self.silent]
        self.telemetry.heartbeat(np.asarray(alive, dtype=np.int64), self.env.now)
        call_later(self.env, self.heartbeat_s, self._heartbeat)

    def _iterate(self) -> None:
        if not self.running or (
            self.max_iterations is not None and self.iteration >= self.max_iterations
        ):
            self.running = False
            return
        while self._pending:
            self._pending.pop(0)()
        env, spec, tel = self.env, self.spec, self.telemetry
        t0 = env.now
        op = self.iteration
        self.iter_start.append(t0)
        enters = {}
        compute_end = t0
        for n in self.nodes:
            if n in self.hung:
                continue
            c = spec.compute_s * self.slow.get(n, 1.0)
            enters[n] = t0 + c * (1.0 - spec.overlap)
            compute_end = max(compute_end, t0 + c)
        if tel is not None:
            for pos, n in enumerate(self.nodes):
                if n in enters and n not in self.silent:
                    call_later(env, enters[n] - t0, self._enter_cb(pos, n, op))
        if len(enters) < self.m:
            self.stalled = True  # some rank never enters: the collective never starts
            return
        start = max(enters.values())

        def comm_done(t_end: float) -> None:
            end = max(t_end, compute_end)
            self.comm_time.append(t_end - start)
            call_later(env, end - env.now, lambda _e: self._finish(t0, end))

        def rail_done(r: int, t_end: float) -> None:
            alive = np.array([p for p, n in enumerate(self.nodes) if n not in self.silent],
                             dtype=np.int64)  # fmt: skip
            tel.exit(alive * len(self.rails) + r, op, t_end)

        call_later(
            env,
            start - t0,
            lambda _e: self.ring.start(
                spec.grad_bytes, comm_done, op=op, telemetry=tel,
                on_rail_done=rail_done if tel is not None else None,
            ),
        )  # fmt: skip

    def _enter_cb(self, pos: int, node: int, op: int):
        ranks = pos * len(self.rails) + np.arange(len(self.rails), dtype=np.int64)

        def cb(_ev) -> None:
            if node not in self.silent:
                self.telemetry.enter(ranks, op, self.env.now)

        return cb

    def _finish(self, t0: float, end: float) -> None:
        self.iter_end.append(end)
        self.iteration += 1
        if self.on_iteration is not None:
            self.on_iteration(self, t0, end)
        self._iterate()

    # -- results ----------------------------------------------------------------------------
    def iteration_times(self) -> list[float]:
        return [b - a for a, b in zip(self.iter_start, self.iter_end, strict=False)]
