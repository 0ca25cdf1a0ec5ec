"""``nccl``: the project's collectives checked against published nccl-tests measurements.

Not a paper: a validation "reproduction" whose claims are bus bandwidths and latencies that
users and NVIDIA engineers reported from ``all_reduce_perf`` (NVIDIA nccl-tests) on real
clusters, each with its public source (see NOTES.md). The experiments in
``experiments/nccl/`` describe those clusters with the shared ``hw.collective`` model
(NVLink/NVSwitch inside a node, NICs across nodes, channels, NCCL protocols and algorithm
choice); ``sim reproduce nccl`` reports simulated against published values.
"""
