"""LLM serving benchmarks: the cost of one engine iteration and of 1,000 conversations.

``llm.iteration_us``
    CPU time per simulated engine iteration (scheduling, block bookkeeping, the cost model,
    metrics) of ``llm.serving`` on the FastSwitch Llama-3-8B/A10 setup, vLLM and FastSwitch
    runs together. The peer Vidur 0.0.26 (Llama-3-8B, A100, its vllm scheduler, 1,000
    requests) costs 110-190 us per iteration on the project's machine after a predictor
    training step and models no swapping; it cannot run here, so no ratio is reported.
``llm.startup_s``
    CPU time (user + system) of ``sim llm step-time`` in a fresh process, imports included
    (``llm.startup_wall_s``: its wall time, which a busy machine inflates).
``fastswitch.conversations_1000_s``
    CPU time to simulate 1,000 conversations (1 per second, Random priorities), the larger
    of the vLLM and FastSwitch runs (each also reported); target: under 60 s on one core.

CPU time (``time.process_time``), best of ``repeats``: the machine is shared.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETUP = ROOT / "experiments" / "fastswitch" / "llama3_8b_a10.yaml"


def _run(conversations: int, fastswitch: bool) -> tuple[float, float]:
    from sim import experiment
    from sim.runner import run_experiment

    over = [f"params.conversations={conversations}",
            f"workload.params.conversations={conversations}",
            f"params.fastswitch={'true' if fastswitch else 'false'}",
            "policies.scheduler.params.pattern=random"]  # fmt: skip
    data, _ = experiment.read_yaml(SETUP)
    data.pop("sweep", None)
    exp = experiment.from_dict(experiment.apply_overrides(data, over), source=str(SETUP))
    t0 = time.process_time()
    res = run_experiment(exp, None)
    return time.process_time() - t0, res.summary["iterations"]


def bench_fastswitch(quick: bool = False) -> dict[str, float]:
    n = 200 if quick else 1000
    out: dict[str, float] = {}
    for name, fs in (("vllm", False), ("fastswitch", True)):
        cpu, _ = _run(n, fs)
        out[f"fastswitch.conversations_{n}_s.{name}"] = cpu
    out[f"fastswitch.conversations_{n}_s"] = max(out.values())
    return out


def bench_llm(quick: bool = False) -> dict[str, float]:
    n = 200 if quick else 1000
    cpu = iters = 0.0
    for fs in (False, True):
        c, i = _run(n, fs)
        cpu += c
        iters += i
    best_cpu = best_wall = float("inf")
    for _ in range(3):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "sim.cli", "llm", "step-time", "--model",
                        "llama-3-8b", "--gpu", "a10", "--decode-seqs", "8"],
                       check=True, capture_output=True)  # fmt: skip
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        child = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        best_cpu, best_wall = min(best_cpu, child), min(best_wall, wall)
    return {"llm.iteration_us": cpu / iters * 1e6, "llm.iterations": iters,
            "llm.startup_s": best_cpu, "llm.startup_wall_s": best_wall}  # fmt: skip
