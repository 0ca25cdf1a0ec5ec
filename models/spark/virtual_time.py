"""The virtual clocks behind CFQ and UWFQ: fair queuing simulated alongside the cluster.

Both schedulers keep a *virtual* fair-sharing system next to the real one, update it only
when a stage is submitted, stamp stages with the virtual time at which they would finish in
that fair system, and let the cluster serve the earliest stamp first (earliest deadline
first over the task sets). Units: seconds of real time, core-seconds of virtual time and of
job sizes (the artifact uses milliseconds and core-milliseconds; the factor 1,000 cancels).

``StageFairQueue`` (CFQ as the artifact implements it, ``ClusterFairScheduler.java``)
    Every submitted stage is a flow of the virtual system. The virtual clock ``V`` advances
    at ``C / (active stages)`` per second, and not at all while no stage is active. A new
    stage gets ``deadline = V + size``; at each update stages leave in deadline order at the
    real time ``V`` reaches their deadline. Stage size: the job-level estimate (see the
    scheduler for the per-stage rules).

``UserFairQueue`` (UWFQ, ``UserClusterFairScheduler.java``)
    Global clock: processor sharing among *users*: ``V`` advances at ``phi = C / N`` per
    second with ``N`` active users. Per user ``u``: a user virtual clock ``v_u`` under which
    the user's active jobs share ``phi`` equally (``psi = phi / n``), a global virtual start
    ``S_u`` and end ``E_u``. A job ``j`` (size ``r_j``) gets ``s_j = v_u`` and
    ``d_j = s_j + r_j`` when its first stage arrives. Its global deadline chains the user's
    active jobs in ``d`` order: ``D_1 = S_u + r_1, D_2 = D_1 + r_2, ...``, ``E_u`` the last;
    every unfinished stage of job ``j`` carries ``D_j``. On each stage submission at time
    ``t``: (1) users leave in ``E_u`` order while ``E_u <= V + (t - t_prev) phi``, each at
    ``t_f = t_prev + (E_u - V)/phi``, advancing the clocks to ``t_f`` and recomputing
    ``phi``; then the clocks advance to ``t``; advancing a user's clock finishes its jobs in
    ``d`` order (``v_u`` jumps to ``d_j``, ``S_u += r_j``); (2) a departed user comes back
    keeping its old ``S_u`` only if the stage belongs to a job it already had and
    ``V - E_u <= G`` (grace ``G = 3 s x C / 2`` core-seconds), else ``S_u = V``; a new user
    starts at ``S_u = V, v_u = 0``; (3) the job is found or created, its ``d_j`` recomputed
    if its size estimate changed; (4) the user's deadlines are chained again. Other users'
    stamps are untouched. A stage whose job has already finished in the virtual system is
    not stamped and keeps the initial deadline 0, so it runs first, as in the artifact.

    Where this differs from the artifact: the artifact keeps users in a sorted tree whose
    keys change without re-insertion and lets a user whose jobs have all finished keep its
    share until the next update; this class always takes the user with the smallest
    ``E_u`` and lets a user without active jobs leave at the current update point (exact
    arithmetic, no millisecond truncation).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any

# -- CFQ ---------------------------------------------------------------------------------


class StageFairQueue:
    """Stage-level fair queuing: each submitted stage gets its virtual finish time."""

    def __init__(self, cores: int):
        self.cores = float(cores)
        self.V = 0.0
        self.t_prev: float | None = None
        self._active: list[tuple[float, int]] = []  # (deadline, stage id), sorted

    @property
    def active_stages(self) -> int:
        return len(self._active)

    def advance(self, t: float) -> None:
        """Let stages leave the virtual system up to time ``t`` and move ``V`` to ``t``."""
        if self.t_prev is None:
            self.t_prev = t
            return
        active = self._active
        share = self.cores / len(active) if active else 0.0
        while active:
            deadline = active[0][0]
            t_finish = self.t_prev + (deadline - self.V) / share
            if t_finish > t:
                break
            active.pop(0)
            self.V = max(self.V, deadline)
            self.t_prev = max(self.t_prev, t_finish)
            share = self.cores / len(active) if active else 0.0
        self.V += (t - self.t_prev) * share
        self.t_prev = t

    def submit(self, stage_id: int, size_core_s: float, t: float) -> float:
        """Advance to ``t`` and add a stage; return its virtual deadline."""
        self.advance(t)
        deadline = self.V + size_core_s
        bisect.insort(self._active, (deadline, stage_id))
        return deadline


# -- UWFQ --------------------------------------------------------------------------------


@dataclass(eq=False)
class VJob:
    """A job in the virtual system."""

    key: Any
    size: float  # r_j (core-seconds)
    start: float  # s_j (user virtual time)
    deadline: float  # d_j = s_j + r_j (user virtual time)
    global_deadline: float = 0.0  # D_j (global virtual time)
    stages: list = field(default_factory=list)  # task sets not yet finished

    def order(self) -> tuple:
        return (self.deadline, self.key)


@dataclass(eq=False)
class VUser:
    """A user in the virtual system."""

    name: str
    v: float = 0.0  # user virtual time
    S: float = 0.0  # global virtual start of the user's remaining chain
    E: float = 0.0  # global virtual end (last chained deadline)
    jobs: dict = field(default_factory=dict)  # key -> VJob (every job ever seen)
    active: list = field(default_factory=list)  # active VJobs, sorted by (d, key)
    finished: set = field(default_factory=set)  # keys of virtually finished jobs

    def add_active(self, job: VJob) -> None:
        if job not in self.active:
            keys = [j.order() for j in self.active]
            self.active.insert(bisect.bisect_left(keys, job.order()), job)

    def progress(self, dt: float, phi: float) -> None:
        """Advance this user's clock by ``dt`` seconds at share ``phi``: its active jobs
        share ``phi`` equally and finish in ``d`` order."""
        n = len(self.active)
        if n == 0 or dt <= 0:
            return
        psi = phi / n
        while self.active:
            job = self.active[0]
            if job.deadline <= self.v + dt * psi:
                spent = job.deadline - self.v
                if spent >= 0 and job.key not in self.finished:
                    self.v += spent
                    dt -= spent / psi
                    self.S += job.size
                    self.finished.add(job.key)
                self.active.pop(0)
                n -= 1
                psi = phi / n if n else 0.0
            else:
                break
        if n:
            self.v += dt * psi

    def chain(self) -> None:
        """Chain the global deadlines of the active jobs from ``S`` and stamp their stages."""
        cur = self.S
        for job in self.active:
            job.global_deadline = cur + job.size
            cur = job.global_deadline
            keep = []
            for ts in job.stages:
                if not ts.finished_all:
                    ts.deadline = job.global_deadline
                    keep.append(ts)
            job.stages = keep
        self.E = cur


class UserFairQueue:
    """UWFQ's two-level virtual system (see the module docstring)."""

    def __init__(self, cores: int, grace_core_s: float):
        self.cores = float(cores)
        self.grace = float(grace_core_s)
        self.V = 0.0
        self.t_prev: float | None = None
        self.active: dict[str, VUser] = {}
        self.historic: dict[str, VUser] = {}

    def _progress(self, t: float, phi: float) -> None:
        if t < self.t_prev:  # a departure computed in the past: nothing to advance
            return
        if self.active:
            dt = t - self.t_prev
            self.V += dt * phi
            for user in self.active.values():
                user.progress(dt, phi)
        self.t_prev = t

    def advance(self, t: float) -> None:
        """Phase 1 (departures) and phase 2 (advance to ``t``)."""
        if self.t_prev is None:
            self.t_prev = t
            return
        while self.active:
            phi = self.cores / len(self.active)
            user = min(self.active.values(), key=lambda u: (bool(u.active), u.E, u.name))
            if user.active:
                if self.V + (t - self.t_prev) * phi < user.E:
                    break
                t_leave = self.t_prev + (user.E - self.V) / phi
            else:
                t_leave = self.t_prev
            self._progress(max(t_leave, self.t_prev), phi)
            del self.active[user.name]
            self.historic[user.name] = user
        phi = self.cores / len(self.active) if self.active else 0.0
        self._progress(t, phi)

    def user(self, name: str, job_key: Any) -> VUser:
        """The active user ``name``: revived from history or created (step 2)."""
        if name in self.active:
            return self.active[name]
        if name in self.historic:
            user = self.historic.pop(name)
            if not (job_key in user.jobs and self.grace >= self.V - user.E):
                user.S = self.V
        else:
            user = VUser(name, v=0.0, S=self.V, E=self.V)
        self.active[name] = user
        return user

    def submit(self, user_name: str, job_key: Any, size_core_s: float, stage, t: float) -> VJob:
        """A stage of job ``job_key`` (estimated ``size_core_s``) of user ``user_name`` is
        submitted at ``t``: update the virtual system and stamp the user's stages."""
        self.advance(t)
        user = self.user(user_name, job_key)
        job = user.jobs.get(job_key)
        if job is None:
            job = VJob(job_key, size_core_s, user.v, user.v + size_core_s)
            user.jobs[job_key] = job
            user.add_active(job)
        job.stages.append(stage)
        if job.size != size_core_s:  # a new estimate: new d_j, (re)inserted in d order
            if job in user.active:
                user.active.remove(job)
            job.size = size_core_s
            job.deadline = job.start + size_core_s
            user.add_active(job)
        user.chain()
        return job
