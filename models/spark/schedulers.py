"""Spark schedulers as policies of the slot ``scheduler`` (domain ``spark.scheduler``).

A scheduler decides the order in which task sets (stage attempts) receive free cores; the
cluster (:mod:`.cluster`) hands out cores in that order, Spark's way. Each scheduler also
carries the runtime-partitioning switch: ``partitioning: true`` turns on the partitioner
chosen by the model's ``partitioner`` param, and every scheduler ``x`` has a registered
variant ``x_p`` with the switch on (the paper's "-P" rows).

``fifo``  Spark's ``FIFOSchedulingAlgorithm``: smaller ``priority`` (the Spark job id)
          first, then smaller stage id.
``fair``  Spark's ``FAIR`` mode without an allocation file: every task set in the pool
          ``default``. Since Spark 3.4 (SPARK-42157) that pool itself runs ``FAIR``: the
          ``FairSchedulingAlgorithm`` comparator over task sets with minShare 0 and weight
          1, i.e. fewest running tasks first, ties by name in string order
          ("TaskSet_10.0" < "TaskSet_9.0"). ``default_pool_mode: fifo`` gives older Spark,
          whose default pool ordered its task sets FIFO.
``ujf``   The artifact's ``UserFairScheduler``: one pool per user (FAIR, minShare 0,
          weight 1) under a FAIR root; pools compare by the running tasks of all their task
          sets, task sets inside a pool by their own.
``cfq``   The artifact's stage-level Cluster Fair Queuing (:class:`.virtual_time.StageFairQueue`):
          earliest virtual deadline first. Stage sizes follow the artifact's oracle
          estimator: a listing stage 5 s (``DEFAULT_PARALLELIZE_TIME``) unless the job
          carries its own runtime, the final aggregation stage 1 s (the stage holding SQL
          plan node 2), any other stage the job's estimate.
``uwfq``  User Weighted Fair Queuing (:class:`.virtual_time.UserFairQueue`): earliest global
          virtual deadline first, deadlines updated only when a stage is submitted.
``tfifo`` The artifact's ``TrueFifoScheduler``: task sets ordered by the index of their job
          group (the order in which job groups first appeared), ties in submission order.
``random`` The artifact's ``RandomScheduler``: ascending Java
          ``Objects.hash(name, minShare, stageId, runningTasks, priority)`` (``mode: hash``),
          an order that changes whenever a task set's running count does; ``mode: uniform``
          draws a fresh uniform key instead.

Every comparator's ties keep submission order: Spark sorts with a stable sort over the
pool's queue, which is in insertion order.
"""

from __future__ import annotations

import bisect
import heapq
from typing import Any, Literal

from pydantic import Field

from sim.model import Params, Policy
from sim.registry import policy

from .java_random import objects_hash, to_int32
from .jobs import DEFAULT_ESTIMATE_CORE_S
from .virtual_time import StageFairQueue, UserFairQueue

DOMAIN = "spark.scheduler"
#: the job id an unregistered stage gets (``JobRuntime.JOB_INVALID_ID``; value assumed [U])
INVALID_JOB_ID = -1


# -- Spark's FAIR comparator -------------------------------------------------------------


def fair_less(s1: Any, s2: Any) -> bool:
    """Spark's ``FairSchedulingAlgorithm.comparator(s1, s2)``: true when ``s1`` goes first.

    ``s1``/``s2`` have ``running``, ``min_share``, ``weight`` and ``name``.
    """
    needy1 = s1.running < s1.min_share
    needy2 = s2.running < s2.min_share
    if needy1 and not needy2:
        return True
    if needy2 and not needy1:
        return False
    if needy1 and needy2:
        r1 = s1.running / max(s1.min_share, 1.0)
        r2 = s2.running / max(s2.min_share, 1.0)
    else:
        r1 = s1.running / s1.weight
        r2 = s2.running / s2.weight
    if r1 != r2:
        return r1 < r2
    return s1.name < s2.name


def fair_key(s: Any) -> tuple:
    """A sort key that orders like :func:`fair_less` (needy first, then the ratio, then the
    name)."""
    if s.running < s.min_share:
        return (0, s.running / max(s.min_share, 1.0), s.name)
    return (1, s.running / s.weight, s.name)


# -- candidate queues ----------------------------------------------------------------------


class StaticQueue:
    """Task sets with pending tasks, kept sorted by a key that changes only when the
    scheduler says so (:meth:`touch`): insertion by bisection, a full re-sort after a
    touch."""

    def __init__(self, key):
        self.key = key
        self.items: list = []
        self.keys: list = []
        self.dirty = False

    def add(self, ts) -> None:
        if self.dirty:
            self.items.append(ts)
            return
        k = (self.key(ts), ts.seq)
        i = bisect.bisect_right(self.keys, k)
        self.keys.insert(i, k)
        self.items.insert(i, ts)

    def touch(self) -> None:
        self.dirty = True

    def _resort(self) -> None:
        key = self.key
        pairs = sorted(((key(ts), ts.seq), ts) for ts in self.items)
        self.keys = [k for k, _ in pairs]
        self.items = [ts for _, ts in pairs]
        self.dirty = False

    def remove(self, ts) -> None:
        if self.dirty:
            self._resort()
        items = self.items
        if items and items[0] is ts:
            i = 0
        else:
            i = bisect.bisect_left(self.keys, (self.key(ts), ts.seq))
            if i >= len(items) or items[i] is not ts:
                i = items.index(ts)
        del items[i]
        del self.keys[i]

    def first(self):
        if self.dirty:
            self._resort()
        return self.items[0] if self.items else None

    def ordered(self) -> list:
        if self.dirty:
            self._resort()
        return list(self.items)

    def __len__(self) -> int:
        return len(self.items)


class LazyHeap:
    """Members ordered by a key that changes often (running counts): a heap of
    ``(key, seq, version, member)`` entries; an entry is stale once the member's
    ``version`` moved on or the member left. The heap is rebuilt when stale entries
    outnumber live ones four to one."""

    def __init__(self, key):
        self.key = key
        self.heap: list = []
        self.members: set = set()
        self._limit = 64

    def add(self, m) -> None:
        self.members.add(m)
        self._limit = 4 * len(self.members) + 64
        self.update(m)

    def update(self, m) -> None:
        if m in self.members:
            v = m.version + 1
            m.version = v
            heap = self.heap
            heapq.heappush(heap, (self.key(m), m.seq, v, m))
            if len(heap) > self._limit:
                key = self.key
                self.heap = [(key(x), x.seq, x.version, x) for x in self.members]
                heapq.heapify(self.heap)

    def remove(self, m) -> None:
        self.members.discard(m)
        self._limit = 4 * len(self.members) + 64

    def first(self):
        heap = self.heap
        members = self.members
        while heap:
            entry = heap[0]
            m = entry[3]
            if entry[2] == m.version and m in members:
                return m
            heapq.heappop(heap)
        return None

    def ordered(self) -> list:
        key = self.key
        return sorted(self.members, key=lambda m: (key(m), m.seq))

    def __len__(self) -> int:
        return len(self.members)


def fair_key_default(s: Any) -> tuple:
    """:func:`fair_key` for a schedulable with minShare 0 and weight 1 (every task set, and
    every pool the schedulers here create): fewest running tasks, then the name."""
    return (s.running, s.name)


# -- base ----------------------------------------------------------------------------------


class SchedulerParams(Params):
    partitioning: bool = Field(
        False, description="runtime partitioning on (the paper's '-P' variants)"
    )


class SparkScheduler(Policy):
    """Base: a candidate queue of task sets with pending tasks.

    The cluster calls :meth:`stage_submitted`, :meth:`tasks_started`, :meth:`task_finished`
    and asks :meth:`first` (one free core) or :meth:`ordered` (several).
    """

    Params = SchedulerParams
    #: the scheduler's name as the paper's tables print it
    paper_name: str = ""

    def setup(self, cluster) -> None:
        self.cluster = cluster
        self.cores = cluster.cfg.cores
        self.queue = self.make_queue()

    def make_queue(self):
        raise NotImplementedError

    def stage_submitted(self, ts, now: float) -> None:
        self.queue.add(ts)

    def tasks_started(self, ts, n: int, exhausted: bool) -> None:
        if exhausted:
            self.queue.remove(ts)

    def task_finished(self, ts, stage_finished: bool) -> None:
        pass

    def first(self):
        return self.queue.first()

    def ordered(self) -> list:
        return self.queue.ordered()


class _RunningKeyed(SparkScheduler):
    """A scheduler whose key depends on a task set's running tasks (a lazy heap)."""

    def tasks_started(self, ts, n: int, exhausted: bool) -> None:
        if exhausted:
            self.queue.remove(ts)
        else:
            self.queue.update(ts)

    def task_finished(self, ts, stage_finished: bool) -> None:
        if ts.launched < ts.n_tasks:
            self.queue.update(ts)


# -- the schedulers ------------------------------------------------------------------------


@policy(DOMAIN, "fifo", "Spark FIFO: Spark job id, then stage id")
class FIFO(SparkScheduler):
    paper_name = "FIFO"

    def make_queue(self):
        return StaticQueue(lambda ts: (ts.priority, ts.stage_id))


class FairParams(SchedulerParams):
    default_pool_mode: Literal["fair", "fifo"] = Field(
        "fair", description="ordering inside the default pool: fair (Spark >= 3.4) or fifo"
    )


@policy(DOMAIN, "fair", "Spark FAIR mode, one default pool (FAIR inside, or FIFO as before 3.4)")
class Fair(_RunningKeyed):
    Params = FairParams
    paper_name = "Fair"

    def make_queue(self):
        if self.params.default_pool_mode == "fifo":
            return StaticQueue(lambda ts: (ts.priority, ts.stage_id))
        return LazyHeap(fair_key_default)

    def tasks_started(self, ts, n, exhausted):
        if isinstance(self.queue, StaticQueue):
            SparkScheduler.tasks_started(self, ts, n, exhausted)
        else:
            super().tasks_started(ts, n, exhausted)

    def task_finished(self, ts, stage_finished):
        if not isinstance(self.queue, StaticQueue):
            super().task_finished(ts, stage_finished)


class Pool:
    """A FAIR pool of one user: running tasks summed over its task sets."""

    __slots__ = ("name", "running", "min_share", "weight", "seq", "version", "queue")

    def __init__(self, name: str, seq: int):
        self.name = name
        self.running = 0
        self.min_share = 0
        self.weight = 1
        self.seq = seq
        self.version = 0
        self.queue = LazyHeap(fair_key_default)


class _UserPools:
    """Two-level FAIR ordering: pools under a FAIR root, task sets inside each pool."""

    def __init__(self):
        self.pools: dict[str, Pool] = {}
        self.root = LazyHeap(fair_key_default)

    def add(self, ts) -> None:
        user = ts.group.spec.user
        pool = self.pools.get(user)
        if pool is None:
            pool = self.pools[user] = Pool(user, len(self.pools))
        ts.pool = pool
        pool.queue.add(ts)
        if pool not in self.root.members:
            self.root.add(pool)

    def started(self, ts, n: int, exhausted: bool) -> None:
        pool = ts.pool
        pool.running += n
        if exhausted:
            pool.queue.remove(ts)
        else:
            pool.queue.update(ts)
        if len(pool.queue):
            self.root.update(pool)
        else:
            self.root.remove(pool)

    def finished(self, ts) -> None:
        pool = ts.pool
        pool.running -= 1
        if ts.launched < ts.n_tasks:
            pool.queue.update(ts)
        if len(pool.queue):
            self.root.update(pool)

    def first(self):
        pool = self.root.first()
        return pool.queue.first() if pool is not None else None

    def ordered(self) -> list:
        return [ts for pool in self.root.ordered() for ts in pool.queue.ordered()]


@policy(DOMAIN, "ujf", "user job fairness: a FAIR pool per user under a FAIR root")
class UJF(SparkScheduler):
    paper_name = "UJF"

    def make_queue(self):
        return _UserPools()

    def tasks_started(self, ts, n, exhausted):
        self.queue.started(ts, n, exhausted)

    def task_finished(self, ts, stage_finished):
        self.queue.finished(ts)


class CFQParams(SchedulerParams):
    listing_stage_core_s: float = Field(
        5.0, ge=0, le=1e9, description="size of a file-listing stage (artifact: 5,000 ms)"
    )
    final_stage_core_s: float = Field(
        1.0, ge=0, le=1e9, description="size of the final aggregation stage (artifact: 1,000 ms)"
    )


@policy(
    DOMAIN, "cfq", "the artifact's stage-level Cluster Fair Queuing (earliest virtual deadline)"
)
class CFQ(SparkScheduler):
    Params = CFQParams
    paper_name = "CFQ"

    def make_queue(self):
        self.vq = StageFairQueue(self.cores)
        return StaticQueue(lambda ts: (ts.deadline, ts.seq))

    def stage_size(self, ts) -> float:
        spec = ts.group.spec
        estimate = self.cluster.estimator.stage_lookup(spec, ts.kind)
        if estimate is None:  # not registered yet: the artifact's default
            return DEFAULT_ESTIMATE_CORE_S
        if ts.kind == "result":
            return self.params.final_stage_core_s
        if ts.kind == "listing" and spec.runtime_hint_core_s is None:
            return self.params.listing_stage_core_s
        return estimate

    def stage_submitted(self, ts, now):
        ts.deadline = self.vq.submit(ts.stage_id, self.stage_size(ts), now)
        self.queue.add(ts)


class UWFQParams(SchedulerParams):
    grace_base_s: float = Field(
        3.0, ge=0, le=1e6,
        description="grace period G = grace_base_s x cores / 2 core-seconds (artifact: 3,000 ms)",
    )  # fmt: skip


@policy(DOMAIN, "uwfq", "User Weighted Fair Queuing: user-level virtual time, chained deadlines")
class UWFQ(SparkScheduler):
    Params = UWFQParams
    paper_name = "UWFQ"

    def make_queue(self):
        self.vq = UserFairQueue(self.cores, self.params.grace_base_s * self.cores / 2.0)
        return StaticQueue(lambda ts: (ts.deadline, ts.seq))

    def stage_submitted(self, ts, now):
        group = ts.group
        size = self.cluster.estimator.stage_lookup(group.spec, ts.kind)
        if size is None:  # not registered yet: a one-stage job of the default size
            key, size = ("stage", ts.stage_id), DEFAULT_ESTIMATE_CORE_S
        else:
            key = group.index
        self.vq.submit(group.spec.user, key, size, ts, now)
        self.queue.touch()  # the user's other stamps may have moved: re-sort
        self.queue.add(ts)


@policy(DOMAIN, "tfifo", "the artifact's True FIFO: job-group arrival order")
class TrueFIFO(SparkScheduler):
    paper_name = "T-Fifo"

    def make_queue(self):
        return StaticQueue(lambda ts: (ts.priority, ts.seq))

    def stage_submitted(self, ts, now):
        known = self.cluster.estimator.stage_lookup(ts.group.spec, ts.kind) is not None
        ts.priority = ts.group.index if known else INVALID_JOB_ID
        self.queue.add(ts)


class RandomParams(SchedulerParams):
    mode: Literal["hash", "uniform"] = Field(
        "hash", description="hash: the artifact's Objects.hash order; uniform: fresh random keys"
    )


@policy(DOMAIN, "random", "the artifact's Random scheduler (hash order of stage state)")
class RandomOrder(_RunningKeyed):
    Params = RandomParams
    paper_name = "Random"

    def make_queue(self):
        if self.params.mode == "uniform":
            rng = self.scope.rng("order") if self.scope is not None and self.scope.sim else None
            if rng is None:
                import numpy as np

                rng = np.random.default_rng(0)
            self._rng = rng
            return LazyHeap(lambda ts: float(self._rng.random()))
        return LazyHeap(self.hash_key)

    def hash_key(self, ts) -> int:
        """``Objects.hash(name, minShare, stageId, runningTasks, priority)``: the running
        count enters linearly (``31 * running``), so the rest is computed once."""
        base = self._bases.get(ts)
        if base is None:
            base = objects_hash(ts.name, ts.min_share, ts.stage_id, 0, ts.priority)
            self._bases[ts] = base
        return to_int32(base + 31 * ts.running)

    def setup(self, cluster) -> None:
        self._bases: dict = {}
        super().setup(cluster)

    def task_finished(self, ts, stage_finished: bool) -> None:
        super().task_finished(ts, stage_finished)
        if stage_finished:
            self._bases.pop(ts, None)


# -- "-P" variants -------------------------------------------------------------------------

SCHEDULERS: dict[str, type[SparkScheduler]] = {
    "fifo": FIFO,
    "fair": Fair,
    "ujf": UJF,
    "cfq": CFQ,
    "uwfq": UWFQ,
    "tfifo": TrueFIFO,
    "random": RandomOrder,
}


def _partitioned(name: str, base: type[SparkScheduler]) -> type[SparkScheduler]:
    params = type(
        f"{base.__name__}PartitionedParams",
        (base.Params,),
        {
            "__annotations__": {"partitioning": bool},
            "partitioning": Field(True, description="runtime partitioning on"),
            "__module__": __name__,
        },
    )
    cls = type(
        f"{base.__name__}Partitioned",
        (base,),
        {"Params": params, "paper_name": f"{base.paper_name}-P", "__module__": __name__,
         "__doc__": f"{base.paper_name} with runtime partitioning (the '-P' variant)"},
    )  # fmt: skip
    return policy(DOMAIN, f"{name}_p", f"{name} with runtime partitioning on")(cls)


for _name, _cls in list(SCHEDULERS.items()):
    SCHEDULERS[f"{_name}_p"] = _partitioned(_name, _cls)
    globals()[f"{_cls.__name__}Partitioned"] = SCHEDULERS[f"{_name}_p"]

#: every registered scheduler name, plain ones first
SCHEDULER_NAMES: list[str] = [n for n in SCHEDULERS if not n.endswith("_p")] + [
    n for n in SCHEDULERS if n.endswith("_p")
]
