"""``llm.serving``: a vLLM-0.3.3-style LLM serving engine with swap preemption over PCIe and
FastSwitch's three context-switching mechanisms as switches.

What it models
    One GPU (or one tensor-parallel group) serving multi-turn conversations from a workload
    (:mod:`.workloads`). The engine runs iterations back to back: each asks the scheduler
    (:mod:`.scheduler`, vLLM 0.3.3 semantics, ordered by the ``scheduler`` policy slot) for a
    plan, performs the plan's KV transfers over PCIe, then runs one model step whose time
    comes from the cost model (:mod:`.costmodel`). A prefill step runs the admitted prompts
    (each yields its first token); a decode step gives every running sequence one token.

    KV transfers go through two :class:`sim_models.hw.links.DMAEngine` (host-to-device and
    device-to-host directions of the PCIe link, per-call overhead, FIFO): a swap of ``n``
    blocks is ``2 x layers x n`` copies of one block-layer (K or V) each, or with block
    groups ``2 x layers x runs`` copies of the same bytes.

    * **vLLM baseline** (every switch off): swaps are synchronous: the iteration waits for
      its copies before the model step (vLLM 0.3.3 ``worker.cache_swap``: the compute
      stream waits on the per-layer copy events), one DMA stream (``engines = 1``).
    * ``block_groups``: buddy-allocated groups of blocks; copies per contiguous run.
    * ``async_swap``: transfers run on ``swap_threads`` copy streams and overlap model
      steps; swapped-in requests join when their copy completes; blocks being copied out
      are in flight (neither free nor owned).
    * ``kv_reuse``: CPU copies of a conversation's KV survive swap-ins and turns; a swap-out
      copies only blocks not already clean on the CPU; LRU reclaim under CPU pressure; with
      ``reuse_history`` a new turn loads its history from the CPU and prefills only the new
      message (finished turns write their new blocks back to the CPU).
    * ``fastswitch``: all three.

Metrics (``summary``)
    TTFT (arrival to first token; for later turns, the turn's arrival) and TBT (gap between
    a request's consecutive tokens, stalls included) with P50/P95/P99/P99.9; end-to-end
    latency; throughput in tokens/s and requests/s over the makespan; swap bytes and copy
    counts per direction; preemptions; the share of a request's latency spent stalled by
    context switches (from its preemption until it runs again, plus synchronous swap time
    of the iterations it ran in), as the mean over requests and over the slowest 1%
    (``stall_share.p99``: requests whose latency is at or above the P99 latency); PCIe
    utilisation per direction; iterations; KV blocks; how evenly requests progress
    (``token_rate_jain``: Jain's index of output tokens per second of latency, and
    ``token_rate.p1_over_p50``: the slowest 1% against the median).

What it leaves out
    Tokenisation and detokenisation, HTTP serving, sampling parameters (every request
    produces exactly its workload's output length), beam search, GPU memory-bandwidth
    contention between copies and kernels, CPU contention between swap threads and the
    scheduler.

Assumptions (values in models/llm/NOTES.md)
    Per-call copy overhead and PCIe protocol efficiency, the activation memory reserved at
    start-up, the fixed per-iteration overhead, the block-group and swap-thread sizes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from sim.errors import ConfigError, DataError
from sim.events import call_later
from sim.model import Model, Params, Slot
from sim.recorder import summarize
from sim.registry import model
from sim.workload import ArrivalFeed, Arrivals

from .costmodel import DEFAULT_OVERHEAD_S, StepCostModel
from .kvcache import BlockManager
from .policies import DOMAIN
from .request import Conversation, Request
from .scheduler import Plan, Scheduler, Transfer

GiB = 2**30


def activation_reserve_bytes(model_spec, max_num_batched_tokens: int, max_num_seqs: int,
                             dtype_bytes: int = 2, runtime_bytes: float = 0.5 * GiB) -> float:  # fmt: skip
    """GPU memory vLLM's start-up profiling pass finds in use besides the weights [A]: the
    largest MLP intermediates and hidden-state buffers of a ``max_num_batched_tokens`` pass
    (gate+up output, activation output, four hidden-size buffers), fp32 logits for
    ``max_num_seqs`` sequences, and the CUDA context and library workspaces
    (``runtime_bytes``)."""
    t = max_num_batched_tokens
    acts = t * (3 * model_spec.ffn + 4 * model_spec.hidden) * dtype_bytes
    logits = max_num_seqs * model_spec.vocab * 4
    return acts + logits + runtime_bytes


def token_rate_fairness(output_tokens: np.ndarray, latency_s: np.ndarray) -> dict[str, float]:
    """How evenly requests progress: each request's rate is its output tokens over its
    latency (queueing and stalls included). ``token_rate_jain`` is Jain's index of the
    rates (1 = every request served at the same rate; 1/n = one request got everything);
    ``token_rate.p1`` the rate of the slowest 1%, relative to the median
    (``token_rate.p1_over_p50``)."""
    ok = latency_s > 0
    rate = output_tokens[ok] / latency_s[ok]
    if not rate.size or not np.any(rate > 0):
        return {"token_rate_jain": float("nan"), "token_rate.p1_over_p50": float("nan")}
    p1, p50 = np.percentile(rate, [1, 50])
    return {"token_rate_jain": float(rate.sum() ** 2 / (rate.size * np.square(rate).sum())),
            "token_rate.p1_over_p50": float(p1 / p50)}  # fmt: skip


@model("llm.serving", "vLLM-style LLM serving engine with swap preemption and FastSwitch switches")
class Serving(Model):
    slots = {"scheduler": Slot(DOMAIN, "fcfs", "queue order and priority preemption")}
    workload_required = True

    class Params(Params):
        model: str = Field("llama-3-8b", description="transformer catalog name")
        gpu: str = Field("a10", description="GPU catalog name")
        tp: int = Field(1, ge=1, le=64, description="tensor-parallel degree")
        gpu_memory_utilization: float = Field(0.9, gt=0, le=1, description="vLLM's share of GPU memory")
        gpu_kv_blocks: int | None = Field(None, ge=16, le=10_000_000,
                                          description="GPU KV blocks (default: sized as vLLM)")  # fmt: skip
        swap_space_GiB: float = Field(60.0, ge=0, le=100_000, description="CPU swap space per GPU")
        block_size: int = Field(16, ge=1, le=1024, description="tokens per KV block")
        watermark: float = Field(0.01, ge=0, le=0.5, description="share of GPU blocks kept free at admission")
        max_num_seqs: int = Field(256, ge=1, le=100_000)
        max_num_batched_tokens: int = Field(8192, ge=16, le=1_000_000)
        max_paddings: int = Field(256, ge=0, le=1_000_000)
        max_model_len: int = Field(8192, ge=16, le=10_000_000)
        preemption_mode: Literal["swap", "recompute", "auto"] = "swap"
        overhead_s: float = Field(DEFAULT_OVERHEAD_S, ge=0, le=1, description="CPU time per iteration")
        link: str = Field("pcie4_x16", description="host link catalog name")
        link_efficiency: float = Field(0.8, gt=0, le=1, description="achievable share of the link rate")
        call_overhead_s: float = Field(2.3e-6, ge=0, le=1e-3, description="per-copy call overhead")
        block_groups: bool = Field(False, description="FastSwitch: buddy block groups, copies per run")
        max_group_order: int = Field(6, ge=0, le=16, description="largest group: 2**order blocks")
        async_swap: bool = Field(False, description="FastSwitch: transfers overlap model steps")
        swap_threads: int = Field(4, ge=1, le=64, description="copy streams with async_swap")
        kv_reuse: bool = Field(False, description="FastSwitch: CPU copies survive; copy only new blocks")
        reuse_history: bool = Field(True, description="with kv_reuse: new turns load history from the CPU")
        fastswitch: bool = Field(False, description="all three mechanisms")
        conversations: int = Field(1000, ge=1, le=10_000_000, description="conversations taken from the workload")
        record_iterations: bool = Field(True, description="keep one row per iteration (timeline figure)")

    # -- construction ---------------------------------------------------------------------
    def _switches(self) -> tuple[bool, bool, bool]:
        p = self.params
        return (p.block_groups or p.fastswitch, p.async_swap or p.fastswitch,
                p.kv_reuse or p.fastswitch)  # fmt: skip

    def build(self, sim) -> None:
        from sim_models.hw.catalog import link as link_spec
        from sim_models.hw.links import DMAEngine

        p = self.params
        env = sim.env
        self.env = env
        try:
            self.cost = StepCostModel(p.model, p.gpu, tp=p.tp, overhead_s=p.overhead_s,
                                      table_tokens=min(p.max_num_batched_tokens, 16384))  # fmt: skip
        except ValueError as exc:
            raise ConfigError(str(exc), where="params.tp") from None
        spec, gpu = self.cost.model, self.cost.gpu
        self.copy_bytes = p.block_size * spec.kv_heads_per_gpu(p.tp) * spec.head_dim * 2
        self.copies_per_block = 2 * spec.layers  # K and V of every layer
        self.block_bytes = self.copy_bytes * self.copies_per_block
        if p.gpu_kv_blocks is not None:
            gpu_blocks = p.gpu_kv_blocks
        else:
            reserve = activation_reserve_bytes(spec, p.max_num_batched_tokens, p.max_num_seqs)
            free = p.gpu_memory_utilization * gpu.hbm_capacity_bytes - spec.weight_bytes() / p.tp - reserve
            gpu_blocks = int(free // self.block_bytes)
            if gpu_blocks < 16:
                raise ConfigError(f"{p.model} leaves no room for a KV cache on {p.gpu} "
                                  f"({free / GiB:.1f} GiB)", where="params.gpu")  # fmt: skip
        cpu_blocks = int(p.swap_space_GiB * GiB // self.block_bytes)
        groups, async_swap, reuse = self._switches()
        self.bm = BlockManager(gpu_blocks, cpu_blocks, block_size=p.block_size,
                               watermark=p.watermark, block_groups=groups,
                               max_group_order=p.max_group_order, reuse=reuse)  # fmt: skip
        self.sched_policy = self.policies["scheduler"]
        self.sched = Scheduler(
            self.bm, self.sched_policy, max_num_seqs=p.max_num_seqs,
            max_num_batched_tokens=p.max_num_batched_tokens, max_paddings=p.max_paddings,
            max_model_len=p.max_model_len, preemption_mode=p.preemption_mode,
            async_swap=async_swap, reuse_history=reuse and p.reuse_history,
        )  # fmt: skip
        self.async_swap = async_swap
        ln = link_spec(p.link).with_efficiency(p.link_efficiency)
        engines = p.swap_threads if async_swap else 1
        self.h2d = DMAEngine(env, ln, call_overhead_s=p.call_overhead_s, engines=engines,
                             name="h2d", scope=self.scope.child("pcie_h2d"))  # fmt: skip
        self.d2h = DMAEngine(env, ln, call_overhead_s=p.call_overhead_s, engines=engines,
                             name="d2h", scope=self.scope.child("pcie_d2h"))  # fmt: skip
        self.sched_policy.start(p.conversations, self.sched_policy.scope.rng)
        # state
        self.convs: dict[int, Conversation] = {}
        self.n_requests = 0
        self.iteration = 0
        self.idle = True
        self.pending_writebacks: list[Transfer] = []  # sync mode: copied in the next iteration
        self.in_flight = 0
        self.first_arrival_s = None
        self.last_finish_s = 0.0
        self.busy_s = 0.0
        self.sync_swap_s = 0.0
        self.copies = {"out": 0, "in": 0}
        self.blocks_moved = {"out": 0, "in": 0}
        # recording
        self.tbt = self.scope.probe("tbt_s")
        self._tbt = self.tbt.record
        self.requests = self.scope.columns("requests", {
            "conversation": "int", "turn": "int", "arrival_s": "float", "prompt_tokens": "int",
            "prefix_tokens": "int", "output_tokens": "int", "first_token_s": "float",
            "finish_s": "float", "preemptions": "int", "stall_s": "float", "recomputes": "int",
        })  # fmt: skip
        self.iters = None
        if p.record_iterations:
            self.iters = self.scope.columns("iterations", {
                "start_s": "float", "end_s": "float", "prefill": "int", "decode": "int",
                "swap_out": "int", "swap_in": "int", "swap_s": "float", "free_blocks": "int",
                "swapped": "int", "waiting": "int",
            })  # fmt: skip
        self.feed = ArrivalFeed(env, self.workload.batches(), self._arrive)

    # -- arrivals -------------------------------------------------------------------------
    def _arrive(self, batch: Arrivals, i: int) -> None:
        cols = batch.columns
        try:
            cid = int(cols["conversation"][i])
            turn = int(cols["turn"][i])
            user = int(cols["user_tokens"][i])
            out = int(cols["output_tokens"][i])
            think = float(cols["think_s"][i])
        except KeyError as exc:
            raise DataError(f"workload {self.workload.name!r} gives no {exc} column "
                            f"(llm.serving needs {', '.join(sorted(_NEEDED))})") from None  # fmt: skip
        if user < 1 or out < 1 or think < 0:
            raise DataError(f"workload row {i}: token counts must be >= 1 and think_s >= 0")
        conv = self.convs.get(cid)
        if turn == 0:
            if conv is not None or len(self.convs) >= self.params.conversations:
                return
            conv = Conversation(cid, [user], [out], [think], client=cid)
            self.convs[cid] = conv
            if self.first_arrival_s is None:
                self.first_arrival_s = self.env.now
            self._submit(conv)
        elif conv is not None and turn == conv.turns:
            conv.user_tokens.append(user)
            conv.output_tokens.append(out)
            conv.think_s.append(think)

    def _submit(self, conv: Conversation) -> None:
        turn = conv.next_turn
        req = Request(self.n_requests, conv, turn, self.env.now, conv.tokens,
                      conv.user_tokens[turn], conv.output_tokens[turn])  # fmt: skip
        if conv.id >= self.params.conversations:
            raise DataError(f"conversation id {conv.id} >= params.conversations "
                            f"({self.params.conversations}); ids must count from 0")  # fmt: skip
        self.n_requests += 1
        conv.request = req
        queued = {r.conv.client for r in self.sched.waiting}
        self.sched_policy.on_arrival(req, queued)
        self.sched.add(req)
        self._wake()

    def _next_turn(self, ev) -> None:
        self._submit(ev.value)

    def _wake(self) -> None:
        if self.idle:
            self.idle = False
            call_later(self.env, 0.0, self._step)

    # -- one iteration --------------------------------------------------------------------
    def _step(self, _ev=None) -> None:
        env = self.env
        self.iteration += 1
        if self.sched_policy.on_iteration(self.iteration):
            self.sched.keys_changed()
        plan = self.sched.schedule()
        now = env.now
        for t in plan.swap_out:
            t.req.preempted_at = now
        for r in plan.recompute:
            r.preempted_at = now
        if plan.empty and not self.pending_writebacks:
            self.idle = True  # woken by an arrival or a completed transfer
            return
        if self.async_swap:
            for t in plan.swap_out:
                self._issue(t, "out")
            for t in plan.swap_in:
                self._issue(t, "in")
            for t in plan.load:
                self._issue(t, "load")
            self._compute(plan, now, 0.0)
            return
        # synchronous: one batch per direction, the model step waits for both
        outs = [(t, "out") for t in plan.swap_out] + [(t, "writeback") for t in self.pending_writebacks]
        ins = [(t, "in") for t in plan.swap_in] + [(t, "load") for t in plan.load]
        self.pending_writebacks = []
        events = []
        for dma, items, direction in ((self.d2h, outs, "out"), (self.h2d, ins, "in")):
            if items:
                count, nbytes = self._account(items, direction)
                events.append(dma.copy_batch(count, nbytes, tag=f"swap_{direction}"))
        if not events:
            self._compute(plan, now, 0.0)
            return
        done = env.all_of(events)
        done.callbacks.append(lambda _e: self._sync_done(plan, now, outs + ins))

    def _account(self, items, direction: str) -> tuple[int, float]:
        count = 0
        blocks = 0
        for t, _kind in items:
            n = len(t.src)
            if n:
                c = self.bm.copies(t.src, t.dst) * self.copies_per_block
                count += c
                blocks += n
                t.req.swap_bytes += n * self.block_bytes
        self.copies[direction] += count
        self.blocks_moved[direction] += blocks
        return count, float(blocks * self.block_bytes)

    def _sync_done(self, plan: Plan, start: float, items) -> None:
        for t, kind in items:
            self.sched.transfer_done(t, kind)
        swap_s = self.env.now - start
        self.sync_swap_s += swap_s
        self._compute(plan, start, swap_s)

    def _issue(self, t: Transfer, kind: str) -> None:
        direction = "out" if kind in ("out", "writeback") else "in"
        count, nbytes = self._account([(t, kind)], direction)
        dma = self.d2h if direction == "out" else self.h2d
        self.in_flight += 1
        proc = dma.copy_batch(count, nbytes, tag=f"swap_{direction}")
        proc.callbacks.append(lambda _e: self._async_done(t, kind))

    def _async_done(self, t: Transfer, kind: str) -> None:
        self.in_flight -= 1
        self.sched.transfer_done(t, kind)
        self._wake()

    def _compute(self, plan: Plan, start: float, swap_s: float) -> None:
        now = self.env.now
        cost = self.cost
        if plan.prefill:
            tokens = 0
            pairs = 0.0
            prefix = 0
            for r in plan.prefill:
                new = r.context - r.prefix_tokens
                tokens += new
                pairs += new * r.prefix_tokens + new * (new + 1) / 2
                prefix += r.prefix_tokens
                self.sched_policy.on_prefill(r, new)
            step = (cost.linear_s(tokens) + cost.other_s(tokens) + cost.lm_head_s(len(plan.prefill))
                    + cost.prefill_attention_s(tokens, pairs, prefix) + cost.comm_s(tokens)
                    + cost.overhead_s)  # fmt: skip
            batch = plan.prefill
        elif plan.decode:
            n = len(plan.decode)
            ctx = sum([r.prompt_tokens + r.generated for r in plan.decode])
            step = (cost.linear_s(n) + cost.other_s(n) + cost.lm_head_s(n)
                    + cost.decode_attention_s(n, ctx) + cost.comm_s(n) + cost.overhead_s)  # fmt: skip
            batch = plan.decode
        else:
            step = 0.0
            batch = []
        tracing = self.scope.tracing
        for r in batch:
            if r.preempted_at >= 0:
                r.stall_s += now - r.preempted_at
                if tracing:
                    self.scope.span(f"request {r.id} preempted", r.preempted_at, now,
                                    track="preempted", args={"conversation": r.conv.id})  # fmt: skip
                r.preempted_at = -1.0
            elif swap_s:
                r.stall_s += swap_s
        if tracing and step > 0:
            kind = "prefill" if plan.prefill else "decode"
            self.scope.span(kind, now, now + step, track="gpu",
                            args={"requests": len(batch), "swap_s": swap_s,
                                  "swapped_out": len(plan.swap_out),
                                  "swapped_in": len(plan.swap_in)})  # fmt: skip
            if swap_s:
                self.scope.span("waiting on synchronous swaps", start, now, track="gpu")
        self.busy_s += step
        if self.iters is not None:
            s = self.sched
            self.iters.append(start, now + step, len(plan.prefill), len(plan.decode),
                              len(plan.swap_out), len(plan.swap_in), swap_s, self.bm.gpu.num_free,
                              len(s.swapped), len(s.waiting))  # fmt: skip
        if step > 0:
            call_later(self.env, step, self._end_step, plan)
        elif self.in_flight:
            self.idle = True  # nothing to compute until a transfer completes
        else:
            call_later(self.env, 0.0, self._step)

    def _end_step(self, ev) -> None:
        plan: Plan = ev.value
        now = self.env.now
        tbt = self._tbt
        finished = []
        if plan.prefill:
            for r in plan.prefill:
                if r.generated == 0:
                    r.first_token_s = now
                else:
                    tbt(now - r.last_token_s)  # a recomputed request's next token
                r.generated += 1
                r.last_token_s = now
                if r.generated >= r.output_tokens:
                    finished.append(r)
        else:
            for r in plan.decode:
                tbt(now - r.last_token_s)
                r.generated += 1
                r.last_token_s = now
                if r.generated >= r.output_tokens:
                    finished.append(r)
            self.sched_policy.on_decode(plan.decode)
        for r in finished:
            self._finish(r, now)
        self._step()

    def _finish(self, req: Request, now: float) -> None:
        self.sched.finish(req)
        conv = req.conv
        self.requests.append(conv.id, req.turn, req.arrival_s, req.prompt_tokens,
                             req.prefix_tokens, req.output_tokens, req.first_token_s, now,
                             req.preemptions, req.stall_s, req.recomputes)  # fmt: skip
        self.last_finish_s = now
        wb = self.sched.write_back(req)
        if wb is not None:
            if self.async_swap:
                self._issue(wb, "writeback")
            else:
                self.pending_writebacks.append(wb)
        else:
            self.bm.free_gpu(req)
            if self.bm.reuse:
                self.bm.unpin(conv)  # a clean copy from earlier swaps stays reclaimable
        conv.tokens = req.context
        conv.request = None
        conv.next_turn += 1
        self.sim.completed()
        if conv.next_turn < conv.turns:
            call_later(self.env, conv.think_s[req.turn], self._next_turn, conv)

    # -- results --------------------------------------------------------------------------
    def _frame(self) -> pd.DataFrame:
        return self.requests.to_frame()

    def summary(self) -> dict[str, float]:
        df = self._frame()
        out: dict[str, float] = {}
        ttft = (df.first_token_s - df.arrival_s).to_numpy()
        latency = (df.finish_s - df.arrival_s).to_numpy()
        out.update(summarize(ttft, "ttft_s"))
        out.update(summarize(self.tbt.values(), "tbt_s"))
        out.update(summarize(latency, "latency_s"))
        start = self.first_arrival_s or 0.0
        makespan = max(self.last_finish_s - start, 1e-12)
        tokens = float(df.output_tokens.sum())
        out["throughput_tokens_per_s"] = tokens / makespan
        out["throughput_requests_per_s"] = len(df) / makespan
        out["makespan_s"] = makespan
        out["requests"] = float(len(df))
        out["conversations"] = float(len(self.convs))
        out["turns_per_conversation"] = len(df) / max(1, df.conversation.nunique())
        share = np.divide(df.stall_s.to_numpy(), latency, out=np.zeros(len(df)), where=latency > 0)
        out["stall_share.mean"] = float(share.mean()) if len(df) else float("nan")
        if len(df):
            p99 = np.percentile(latency, 99)
            out["stall_share.p99"] = float(share[latency >= p99].mean())
        else:
            out["stall_share.p99"] = float("nan")
        s = self.sched
        out["preemptions"] = float(s.preemptions)
        out["preemptions.swap"] = float(s.swap_preemptions)
        out["preemptions.recompute"] = float(s.recompute_preemptions)
        out["preemptions.priority"] = float(s.priority_preemptions)
        out["swap_cpu_full_fallbacks"] = float(s.cpu_full_fallbacks)
        out["dropped_requests"] = float(s.dropped)
        for direction, dma in (("out", self.d2h), ("in", self.h2d)):
            out[f"swap_{direction}_bytes"] = float(dma.stats.bytes)
            out[f"swap_{direction}_copies"] = float(dma.stats.copies)
            out[f"swap_{direction}_blocks"] = float(self.blocks_moved[direction])
            out[f"pcie_{direction}_utilization"] = dma.stats.link_busy_s / makespan
        moved = self.blocks_moved["out"] + self.blocks_moved["in"]
        out["copies_per_block"] = (out["swap_out_copies"] + out["swap_in_copies"]) / moved if moved else 0.0
        out["sync_swap_s"] = self.sync_swap_s
        out["gpu_busy_share"] = self.busy_s / makespan
        out["iterations"] = float(self.iteration)
        out["gpu_kv_blocks"] = float(self.bm.num_gpu_blocks)
        out["cpu_kv_blocks"] = float(self.bm.num_cpu_blocks)
        out["cpu_copies_reclaimed"] = float(self.bm.reclaimed_copies)
        out["prefix_tokens_loaded"] = float(df.prefix_tokens.sum())
        frag = self.bm.fragmentation()
        out["free_runs_at_end"] = frag["free_runs"]
        out["mean_free_run_blocks_at_end"] = frag["mean_free_run_blocks"]
        if hasattr(self.sched_policy, "updates"):
            out["priority_updates"] = float(self.sched_policy.updates)
        out.update(token_rate_fairness(df.output_tokens.to_numpy(float), latency))
        return out

    def tables(self) -> dict[str, pd.DataFrame]:
        return {}

    def figures(self, out_dir: Path) -> list[Path]:
        from .figures import run_figures

        frames = {"requests": self._frame(), "tbt": self.tbt.values()}
        if self.iters is not None:
            frames["iterations"] = self.iters.to_frame()
        return run_figures(frames, Path(out_dir))

    @classmethod
    def sweep_figures(cls, table: pd.DataFrame, out_dir: Path) -> list[Path]:
        from .figures import sweep_figures

        return sweep_figures(table, Path(out_dir))


_NEEDED = ("conversation", "turn", "user_tokens", "output_tokens", "think_s")
