"""LLM serving: a vLLM-style engine (continuous batching over a paged KV cache, swap
preemption over PCIe) kept in separate parts so that serving papers reuse them: the
iteration cost model (:mod:`.costmodel`), the KV block manager (:mod:`.blocks`), the swap
path (:mod:`.swap`), the scheduler and its policies (:mod:`.scheduler`, :mod:`.policies`),
the multi-turn workload (:mod:`.workloads`) and the engine model ``llm.serving``
(:mod:`.serving`). FastSwitch's three mechanisms are switches of the block manager and the
swap path; its claims live in :mod:`.claims`.
"""
