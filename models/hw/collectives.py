"""Collective communication (all-reduce, reduce-scatter, all-gather) on the flow network.

What it models
    The communication pattern of the classic collective algorithms, each as a sequence of
    *steps*; a step is a set of point-to-point messages started together as flows on a
    :class:`sim_models.hw.flownet.FlowNetwork`.  Every message's time is therefore the path's
    propagation latency (the alpha term, taken from the network, not a parameter) plus its
    transfer time at the max-min rate it gets while sharing links with the other messages
    of the step (and with any other traffic on the network).

    ``N`` is the full buffer size (``message_bytes``) of every rank, ``p`` the rank count.

    * **ring** (Patarasuk & Yuan 2009; NCCL ring): the buffer is cut into ``p`` chunks;
      in every step each rank sends one chunk of ``N/p`` bytes to its ring successor.
      Reduce-scatter and all-gather take ``p-1`` steps, all-reduce = reduce-scatter +
      all-gather = ``2(p-1)`` steps.  Idle ring: ``2(p-1)(a + N/(pB))``.
    * **halving_doubling** (Thakur, Rabenseifner & Gropp 2005): reduce-scatter by recursive
      halving (step ``i`` exchanges ``N/2^(i+1)`` bytes with the partner at XOR distance
      ``p/2^(i+1)``), all-gather by recursive doubling (distance ``2^i``, ``2^i N/p``
      bytes); ``log2 p`` steps each.  Non-blocking fabric: all-reduce
      ``2 log2(p) a + 2 (p-1)/p N/B``.  Other rank counts (all-reduce only): the ``r = p -
      q`` ranks above the largest power of two ``q`` first send their buffer to ranks
      ``0..r-1`` and get the result back at the end (Rabenseifner 2004; Thakur et al.
      2005, section 4.5): two more steps of ``N`` bytes.
    * **direct**: every rank sends its ``N/p`` piece to every other rank at once (one step
      of ``p(p-1)`` flows); all-reduce = direct reduce-scatter + direct all-gather.
    * **tree** (all-reduce only): binary tree in heap order (rank 0 the root, children of
      ``r`` are ``2r+1`` and ``2r+2``); a reduce up the tree, then a broadcast down it.
      The buffer is cut into ``chunks`` pieces that are pipelined level by level (with
      ``chunks = 1`` the tree is not pipelined: each level forwards the whole buffer).
      Reduce and broadcast are not overlapped.  With ``D`` levels below the root this is
      ``2 (D + chunks - 1)`` steps of ``N / chunks`` bytes; a parent receives from two
      children at once, so on a star its downlink is shared.
    * **hierarchical** (2D / "hierarchical ring", e.g. Horovod, NCCL's intra/inter split):
      ranks are grouped ``gpus_per_node`` at a time (ranks ``n*g .. n*g+g-1`` form node
      ``n``).  All-reduce = intra-node ring reduce-scatter (``N/g`` chunks), then an
      inter-node ring all-reduce of the ``N/g`` shard among the ranks with the same local
      index (``g`` rings run concurrently), then an intra-node ring all-gather.
      Reduce-scatter and all-gather use the first, respectively last, two phases.

Execution
    Steps are *step-synchronous*: step ``k+1`` starts when every message of step ``k`` has
    arrived (a barrier per step).  On an idle symmetric network this equals NCCL's
    per-rank pipelining; under asymmetric congestion it is pessimistic because one slow
    message delays every rank.  One SimPy event per step (not per message) keeps a
    1,024-rank ring all-reduce (2 million messages) cheap.

What it leaves out
    Reduction compute time and memory bandwidth, protocol overheads (NCCL LL/LL128/Simple),
    channel parallelism (several rings), sub-chunk pipelining inside a ring step,
    and overlapping a tree's reduce with its broadcast.

Metrics
    ``algbw = N / time``; ``busbw`` with the nccl-tests factors (``PERFORMANCE.md`` of
    NVIDIA nccl-tests): all-reduce ``x 2(p-1)/p``, reduce-scatter and all-gather
    ``x (p-1)/p``; for all three ``N`` is the full (output, respectively input) buffer.

Units
    Bytes, seconds, bytes/s.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sim_models.hw.flownet import FlowNetwork, PathSet

from sim.scope import Scope, scope_of

COLLECTIVES = ("allreduce", "reduce_scatter", "all_gather")
ALGORITHMS = ("ring", "halving_doubling", "direct", "tree", "hierarchical")
BUSBW_FACTOR: dict[str, Callable[[int], float]] = {
    "allreduce": lambda p: 2.0 * (p - 1) / p,
    "reduce_scatter": lambda p: (p - 1) / p,
    "all_gather": lambda p: (p - 1) / p,
}

Route = Callable[[Hashable, Hashable], Sequence[Hashable]]


@dataclass
class Step:
    """One step: messages ``src[i] -> dst[i]`` (rank indices) of ``size_bytes`` each."""

    phase: str
    pattern: int  # index into Schedule.patterns
    size_bytes: float


@dataclass
class Schedule:
    """A collective as a list of steps over a small set of reusable message patterns."""

    ranks: int
    patterns: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    _keys: dict[tuple[bytes, bytes], int] = field(default_factory=dict, repr=False)

    def pattern(self, src: np.ndarray, dst: np.ndarray) -> int:
        src = np.asarray(src, dtype=np.int64)
        dst = np.asarray(dst, dtype=np.int64)
        key = (src.tobytes(), dst.tobytes())
        pid = self._keys.get(key)
        if pid is None:
            pid = self._keys[key] = len(self.patterns)
            self.patterns.append((src, dst))
        return pid

    def add(self, phase: str, src: np.ndarray, dst: np.ndarray, size_bytes: float) -> None:
        if len(src):
            self.steps.append(Step(phase, self.pattern(src, dst), float(size_bytes)))

    def extend(self, other: Schedule) -> None:
        for st in other.steps:
            s, d = other.patterns[st.pattern]
            self.add(st.phase, s, d, st.size_bytes)

    @property
    def bytes_sent(self) -> float:
        """Total bytes of all messages (every rank, every step)."""
        return float(sum(len(self.patterns[s.pattern][0]) * s.size_bytes for s in self.steps))


def is_power_of_two(n: int) -> bool:
    return n >= 1 and (n & (n - 1)) == 0


# -- schedules -----------------------------------------------------------------------------
def _ring_steps(sched: Schedule, groups: np.ndarray, n_steps: int, size: float, phase: str):
    """Ring steps within each row of ``groups`` (shape groups x members), all concurrent."""
    if groups.shape[1] < 2:
        return
    src = groups.reshape(-1)
    dst = np.roll(groups, -1, axis=1).reshape(-1)
    pid = sched.pattern(src, dst)
    sched.steps.extend(Step(phase, pid, float(size)) for _ in range(n_steps))


def ring_schedule(collective: str, p: int, n_bytes: float) -> Schedule:
    s = Schedule(p)
    g = np.arange(p)[None, :]
    if collective in ("allreduce", "reduce_scatter"):
        _ring_steps(s, g, p - 1, n_bytes / p, "reduce_scatter")
    if collective in ("allreduce", "all_gather"):
        _ring_steps(s, g, p - 1, n_bytes / p, "all_gather")
    return s


def halving_doubling_schedule(collective: str, p: int, n_bytes: float) -> Schedule:
    if not is_power_of_two(p):
        if collective != "allreduce":
            raise ValueError(
                f"halving_doubling {collective} needs a power-of-two rank count, got {p}"
            )
        # Rabenseifner's fix for other counts: the r = p - q ranks above the largest power of
        # two q first hand their whole buffer to ranks 0..r-1, which reduce it into theirs;
        # the q ranks run halving-doubling; ranks 0..r-1 then send the result back.
        q = 1 << (p.bit_length() - 1)
        r = p - q
        s = Schedule(p)
        s.add("pre_reduce", np.arange(q, p), np.arange(r), n_bytes)
        inner = halving_doubling_schedule(collective, q, n_bytes)
        for st in inner.steps:
            src, dst = inner.patterns[st.pattern]
            s.add(st.phase, src, dst, st.size_bytes)
        s.add("post_broadcast", np.arange(r), np.arange(q, p), n_bytes)
        return s
    s = Schedule(p)
    r = np.arange(p)
    k = int(round(math.log2(p)))
    if collective in ("allreduce", "reduce_scatter"):
        for i in range(k):
            d = p >> (i + 1)
            s.add("reduce_scatter", r, r ^ d, n_bytes / (2 ** (i + 1)))
    if collective in ("allreduce", "all_gather"):
        for i in range(k):
            d = 1 << i
            s.add("all_gather", r, r ^ d, n_bytes * d / p)
    return s


def direct_schedule(collective: str, p: int, n_bytes: float) -> Schedule:
    s = Schedule(p)
    src, dst = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    off = src != dst
    src, dst = src[off], dst[off]
    if collective in ("allreduce", "reduce_scatter"):
        s.add("reduce_scatter", src, dst, n_bytes / p)
    if collective in ("allreduce", "all_gather"):
        s.add("all_gather", src, dst, n_bytes / p)
    return s


def tree_schedule(collective: str, p: int, n_bytes: float, chunks: int = 1) -> Schedule:
    if collective != "allreduce":
        raise ValueError("the tree algorithm implements allreduce only")
    if chunks < 1:
        raise ValueError("chunks must be >= 1")
    s = Schedule(p)
    if p < 2:
        return s
    r = np.arange(p)
    depth = np.floor(np.log2(r + 1)).astype(np.int64)
    D = int(depth.max())
    parent = (r - 1) // 2
    size = n_bytes / chunks
    # Reduce: a node at depth d sends chunk c to its parent at step c + (D - d).
    for step in range(chunks + D - 1):
        c = step - (D - depth)
        m = (depth >= 1) & (c >= 0) & (c < chunks)
        s.add("reduce", r[m], parent[m], size)
    # Broadcast: a node at depth d sends chunk c to its children at step c + d.
    child = r[1:]
    cdepth = depth[parent[1:]]
    for step in range(chunks + D - 1):
        c = step - cdepth
        m = (c >= 0) & (c < chunks)
        s.add("broadcast", parent[1:][m], child[m], size)
    return s


def hierarchical_schedule(collective: str, p: int, n_bytes: float, gpus_per_node: int) -> Schedule:
    g = int(gpus_per_node)
    if g < 1 or p % g:
        raise ValueError(f"ranks ({p}) must be a multiple of gpus_per_node ({g})")
    m = p // g
    s = Schedule(p)
    nodes = np.arange(p).reshape(m, g)  # row n: ranks of node n
    rails = nodes.T  # row l: ranks with local index l, one per node
    shard = n_bytes / g
    if collective in ("allreduce", "reduce_scatter"):
        _ring_steps(s, nodes, g - 1, n_bytes / g, "intra_reduce_scatter")
    if collective == "allreduce":
        _ring_steps(s, rails, m - 1, shard / m, "inter_reduce_scatter")
        _ring_steps(s, rails, m - 1, shard / m, "inter_all_gather")
    elif collective == "reduce_scatter":
        _ring_steps(s, rails, m - 1, shard / m, "inter_reduce_scatter")
    else:
        _ring_steps(s, rails, m - 1, shard / m, "inter_all_gather")
    if collective in ("allreduce", "all_gather"):
        _ring_steps(s, nodes, g - 1, n_bytes / g, "intra_all_gather")
    return s


def make_schedule(
    collective: str,
    algorithm: str,
    ranks: int,
    message_bytes: float,
    *,
    gpus_per_node: int = 1,
    chunks: int = 1,
) -> Schedule:
    """The step schedule of ``collective`` by ``algorithm`` over ``ranks`` ranks."""
    if collective not in COLLECTIVES:
        raise ValueError(f"unknown collective {collective!r}; known: {', '.join(COLLECTIVES)}")
    if ranks < 1:
        raise ValueError("ranks must be >= 1")
    if algorithm == "ring":
        return ring_schedule(collective, ranks, message_bytes)
    if algorithm == "halving_doubling":
        return halving_doubling_schedule(collective, ranks, message_bytes)
    if algorithm == "direct":
        return direct_schedule(collective, ranks, message_bytes)
    if algorithm == "tree":
        return tree_schedule(collective, ranks, message_bytes, chunks)
    if algorithm == "hierarchical":
        return hierarchical_schedule(collective, ranks, message_bytes, gpus_per_node)
    raise ValueError(f"unknown algorithm {algorithm!r}; known: {', '.join(ALGORITHMS)}")


# -- execution -----------------------------------------------------------------------------
@dataclass
class CollectiveResult:
    """Outcome of one collective run."""

    collective: str
    ranks: int
    message_bytes: float
    start_s: float
    end_s: float
    steps: pd.DataFrame  # phase, step, start_s, end_s, messages, size_bytes

    @property
    def time_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def algbw_Bps(self) -> float:
        return self.message_bytes / self.time_s if self.time_s > 0 else math.inf

    @property
    def busbw_Bps(self) -> float:
        return self.algbw_Bps * busbw_factor(self.collective, self.ranks)


def busbw_factor(collective: str, ranks: int) -> float:
    """nccl-tests bus-bandwidth factor of ``collective`` over ``ranks`` ranks."""
    return BUSBW_FACTOR[collective](ranks)


@dataclass(frozen=True)
class StepCosts:
    """Fixed costs of a collective library on top of the network (see
    :mod:`sim_models.hw.collective_tuning`): ``base_s`` once per collective, a per-step
    latency (``step_intra_s`` when every message of the step stays inside a node of
    ``ranks_per_node`` consecutive ranks, else ``step_inter_s``) before the step's messages
    start, and ``wire_factor`` bytes on the wire per data byte."""

    base_s: float = 0.0
    step_intra_s: float = 0.0
    step_inter_s: float = 0.0
    wire_factor: float = 1.0
    ranks_per_node: int = 1

    def step_s(self, src: np.ndarray, dst: np.ndarray) -> float:
        if self.step_intra_s == self.step_inter_s:
            return self.step_intra_s
        g = self.ranks_per_node
        inter = g <= 1 or bool(np.any(src // g != dst // g))
        return self.step_inter_s if inter else self.step_intra_s


def _route_ids(
    net: FlowNetwork, hosts, route: Route, cache: dict
) -> Callable[[int, int], np.ndarray]:
    """``(src rank, dst rank) -> link ids`` of the path, resolved once per pair."""

    def ids(a: int, b: int) -> np.ndarray:
        got = cache.get((a, b))
        if got is None:
            got = cache[(a, b)] = net.compile_paths([route(hosts[a], hosts[b])]).idx
        return got

    return ids


def _pattern_pathset(net: FlowNetwork, src: np.ndarray, dst: np.ndarray, ids) -> PathSet:
    return net.compile_paths([ids(a, b) for a, b in zip(src.tolist(), dst.tolist(), strict=True)])


def run_schedule(
    net: FlowNetwork,
    hosts: Sequence[Hashable],
    route: Route,
    schedule: Schedule,
    collective: str,
    message_bytes: float,
    scope: Scope | None = None,
    executor: str = "step",
    costs: StepCosts | None = None,
) -> Generator[Any, Any, CollectiveResult]:
    """SimPy process body: run ``schedule``; returns a CollectiveResult.

    ``hosts[r]`` is the network node of rank ``r``; ``route(src_host, dst_host)`` returns
    the path (sequence of link names or ids of ``net``).  Use as
    ``env.process(run_schedule(...))``.  ``executor``: ``"step"`` (a barrier per step) or
    ``"rank"`` (each rank moves on when its own messages of the step are done, see
    :func:`run_schedule_per_rank`).  Every message is a flow tagged ``collective``,
    ``step``, ``src`` and ``dst`` (ranks) and ``conn`` (``src * ranks + dst``).  ``costs``
    (:class:`StepCosts`) adds a protocol's fixed latencies and wire-bytes factor.  With a
    ``scope``, each step is a span on the track ``<scope>/<collective>`` of the trace.
    """
    if executor == "rank":
        result = yield from run_schedule_per_rank(
            net, hosts, route, schedule, collective, message_bytes, scope=scope, costs=costs
        )
        return result
    costs = costs or StepCosts()
    if executor != "step":
        raise ValueError(f"unknown executor {executor!r}; known: step, rank")
    env = net.env
    scope = scope_of(scope)
    if len(hosts) != schedule.ranks:
        raise ValueError(f"{len(hosts)} hosts for {schedule.ranks} ranks")
    pathsets: dict[int, PathSet] = {}
    ids = _route_ids(net, hosts, route, {})
    p = schedule.ranks

    start = env.now
    if costs.base_s > 0:
        yield env.timeout(costs.base_s)
    n = len(schedule.steps)
    phases: list[str] = []
    t_start = np.empty(n)
    t_end = np.empty(n)
    msgs = np.empty(n, dtype=np.int64)
    sizes = np.empty(n)
    for i, st in enumerate(schedule.steps):
        src, dst = schedule.patterns[st.pattern]
        ps = pathsets.get(st.pattern)
        if ps is None:
            ps = pathsets[st.pattern] = _pattern_pathset(net, src, dst, ids)
        t_start[i] = env.now
        hop = costs.step_s(src, dst)
        if hop > 0:
            yield env.timeout(hop)
        tags = {"collective": collective, "step": i, "src": src, "dst": dst,
                "conn": src * p + dst} if net.record_flows else None  # fmt: skip
        yield net.start_flows(ps, st.size_bytes * costs.wire_factor, tags=tags)
        t_end[i] = env.now
        if scope.tracing:
            scope.span(f"{st.phase} step {i}", t_start[i], t_end[i], track=collective,
                       args={"messages": len(ps), "size_bytes": st.size_bytes})  # fmt: skip
        phases.append(st.phase)
        msgs[i] = len(ps)
        sizes[i] = st.size_bytes
    table = pd.DataFrame(
        {
            "phase": phases,
            "step": np.arange(n),
            "start_s": t_start,
            "end_s": t_end,
            "messages": msgs,
            "size_bytes": sizes,
        }
    )
    return CollectiveResult(collective, schedule.ranks, float(message_bytes), start, env.now, table)


def run_schedule_per_rank(
    net: FlowNetwork,
    hosts: Sequence[Hashable],
    route: Route,
    schedule: Schedule,
    collective: str,
    message_bytes: float,
    scope: Scope | None = None,
    costs: StepCosts | None = None,
) -> Generator[Any, Any, CollectiveResult]:
    """SimPy process body: run ``schedule`` with per-rank dependencies.

    A rank enters its next step (the next one with a message to or from it) as soon as all
    its messages of its current step, sent and received, have arrived (after their path
    latency); entering a step it starts its sends of that step.  So a slow rank, NIC or
    link delays exactly the ranks that depend on it (ring neighbours first, then theirs),
    and on an idle symmetric network every rank enters step ``k`` at the same instant: the
    result equals the step-synchronous executor's.  The ``steps`` table gives, per step,
    the first message start and the last message end.
    """
    env = net.env
    scope = scope_of(scope)
    p = schedule.ranks
    if len(hosts) != p:
        raise ValueError(f"{len(hosts)} hosts for {p} ranks")
    steps = schedule.steps
    S = len(steps)
    start = env.now
    if S == 0:
        empty = pd.DataFrame({c: [] for c in ("phase", "step", "start_s", "end_s", "messages",
                                               "size_bytes")})  # fmt: skip
        return CollectiveResult(collective, p, float(message_bytes), start, start, empty)
    counts = np.array([len(schedule.patterns[st.pattern][0]) for st in steps], dtype=np.int64)
    m_ptr = np.zeros(S + 1, dtype=np.int64)
    np.cumsum(counts, out=m_ptr[1:])
    M = int(m_ptr[-1])
    m_step = np.repeat(np.arange(S), counts)
    m_src = np.concatenate([schedule.patterns[st.pattern][0] for st in steps]).astype(np.int64)
    m_dst = np.concatenate([schedule.patterns[st.pattern][1] for st in steps]).astype(np.int64)
    costs = costs or StepCosts()
    m_size = np.repeat(np.array([st.size_bytes for st in steps], dtype=float), counts)
    m_size *= costs.wire_factor
    hop_of_step = np.array(
        [costs.step_s(*schedule.patterns[st.pattern]) for st in steps], dtype=float
    )
    # participation entries (rank, step), sorted by rank then step
    key_src = m_src * S + m_step
    key_dst = m_dst * S + m_step
    ukeys, cnt = np.unique(np.concatenate([key_src, key_dst]), return_counts=True)
    cnt = cnt.astype(np.int64)
    e_rank = ukeys // S
    rank_ptr = np.zeros(p + 1, dtype=np.int64)
    np.cumsum(np.bincount(e_rank, minlength=p), out=rank_ptr[1:])
    m_esrc = np.searchsorted(ukeys, key_src)
    m_edst = np.searchsorted(ukeys, key_dst)
    # sends of each entry (CSR over entries)
    order = np.argsort(m_esrc, kind="stable")
    send_ptr = np.zeros(ukeys.size + 1, dtype=np.int64)
    np.cumsum(np.bincount(m_esrc, minlength=ukeys.size), out=send_ptr[1:])
    send_msgs = order
    pos = rank_ptr[:-1].copy()
    rank_end = rank_ptr[1:]
    m_start = np.full(M, np.nan)
    m_end = np.full(M, np.nan)
    ids = _route_ids(net, hosts, route, {})
    pathsets: dict[int, PathSet] = {}
    state = {"left": M}
    finished = env.event()

    def start_msgs(msgs: np.ndarray) -> None:
        if msgs.size == 0:
            return
        msgs = np.sort(msgs)
        hops = hop_of_step[m_step[msgs]]
        if hops.max() > 0:  # a step's fixed cost before its messages leave
            for h in np.unique(hops).tolist():
                sel = msgs[hops == h]
                if h > 0:
                    env.timeout(h).callbacks.append(lambda _e, sel=sel: send(sel))
                else:
                    send(sel)
            return
        send(msgs)

    def send(msgs: np.ndarray) -> None:
        k = int(m_step[msgs[0]])
        if int(m_step[msgs[-1]]) == k and msgs.size == counts[k]:
            pid = steps[k].pattern
            ps = pathsets.get(pid)
            if ps is None:
                src, dst = schedule.patterns[pid]
                ps = pathsets[pid] = _pattern_pathset(net, src, dst, ids)
        else:
            ps = _pattern_pathset(net, m_src[msgs], m_dst[msgs], ids)
        m_start[msgs] = env.now
        sizes = m_size[msgs]
        if sizes[0] == sizes[-1] and np.all(sizes == sizes[0]):
            sizes = sizes[0]
        tags = {"collective": collective, "step": m_step[msgs], "src": m_src[msgs],
                "dst": m_dst[msgs], "conn": m_src[msgs] * p + m_dst[msgs]} \
            if net.record_flows else None  # fmt: skip
        net.start_flows(ps, sizes, tags=tags,
                        on_each=lambda positions, t, msgs=msgs: arrived(msgs[positions], t))  # fmt: skip

    def enter(ranks: np.ndarray) -> None:
        """Advance ``ranks`` past finished entries; start the sends of entered steps."""
        ready = []
        for r in ranks.tolist():
            e = pos[r]
            end = rank_end[r]
            while e < end and cnt[e] == 0:
                e += 1
                if e < end:
                    a, b = send_ptr[e], send_ptr[e + 1]
                    if b > a:
                        ready.append(send_msgs[a:b])
            pos[r] = e
        if ready:
            start_msgs(np.concatenate(ready))

    def arrived(msgs: np.ndarray, t: float) -> None:
        m_end[msgs] = t
        np.subtract.at(cnt, m_esrc[msgs], 1)
        np.subtract.at(cnt, m_edst[msgs], 1)
        state["left"] -= msgs.size
        ranks = np.unique(np.concatenate([m_src[msgs], m_dst[msgs]]))
        cur = pos[ranks]
        live = cur < rank_end[ranks]
        ranks, cur = ranks[live], cur[live]
        enter(ranks[cnt[cur] == 0])
        if state["left"] == 0 and not finished.triggered:
            finished.succeed(t)

    # every rank starts the sends of its first step
    if costs.base_s > 0:
        yield env.timeout(costs.base_s)
    first = pos[rank_end > pos]
    start_msgs(np.concatenate([send_msgs[send_ptr[e] : send_ptr[e + 1]] for e in first.tolist()]))
    yield finished
    t_start = np.minimum.reduceat(m_start, m_ptr[:-1])
    t_end = np.maximum.reduceat(m_end, m_ptr[:-1])
    if scope.tracing:
        for i, st in enumerate(steps):
            scope.span(f"{st.phase} step {i}", t_start[i], t_end[i], track=collective,
                       args={"messages": int(counts[i]), "size_bytes": st.size_bytes})  # fmt: skip
    table = pd.DataFrame(
        {
            "phase": [st.phase for st in steps],
            "step": np.arange(S),
            "start_s": t_start,
            "end_s": t_end,
            "messages": counts,
            "size_bytes": np.array([st.size_bytes for st in steps], dtype=float),
        }
    )
    return CollectiveResult(collective, p, float(message_bytes), start, env.now, table)


def run_collective(
    net: FlowNetwork,
    hosts: Sequence[Hashable],
    route: Route,
    collective: str,
    algorithm: str,
    message_bytes: float,
    *,
    gpus_per_node: int = 1,
    chunks: int = 1,
    scope: Scope | None = None,
    executor: str = "step",
    costs: StepCosts | None = None,
) -> Generator[Any, Any, CollectiveResult]:
    """SimPy process body: build the schedule and run it (see :func:`run_schedule`)."""
    sched = make_schedule(
        collective,
        algorithm,
        len(hosts),
        message_bytes,
        gpus_per_node=gpus_per_node,
        chunks=chunks,
    )
    return run_schedule(
        net, hosts, route, sched, collective, message_bytes, scope=scope, executor=executor,
        costs=costs,
    )  # fmt: skip


# -- closed forms (references for tests) ------------------------------------------------------
class closed_form:  # noqa: N801 - a namespace, used as closed_form.ring_allreduce_time(...)
    """Alpha-beta formulas on an idle, non-blocking network; references for the tests.

    ``a`` is the per-message path latency (s), ``B`` the per-rank bandwidth (bytes/s).
    """

    @staticmethod
    def ring_allreduce_time(p: int, N: float, B: float, a: float) -> float:
        return 2 * (p - 1) * a + 2 * (p - 1) / p * N / B

    @staticmethod
    def ring_reduce_scatter_time(p: int, N: float, B: float, a: float) -> float:
        return (p - 1) * a + (p - 1) / p * N / B

    ring_all_gather_time = ring_reduce_scatter_time

    @staticmethod
    def halving_doubling_allreduce_time(p: int, N: float, B: float, a: float) -> float:
        return 2 * math.log2(p) * a + 2 * (p - 1) / p * N / B

    @staticmethod
    def direct_allreduce_time(p: int, N: float, B: float, a: float) -> float:
        return 2 * a + 2 * (p - 1) / p * N / B

    @staticmethod
    def hierarchical_allreduce_time(
        g: int, m: int, N: float, B_intra: float, a_intra: float, B_inter: float, a_inter: float
    ) -> float:
        intra = 2 * (g - 1) * (a_intra + N / g / B_intra)
        inter = 2 * (m - 1) * (a_inter + N / (g * m) / B_inter)
        return intra + inter
