"""Claims of the ``nccl`` validation: published nccl-tests points against the simulation.

Every published value is a number printed by NVIDIA nccl-tests ``all_reduce_perf`` in a
public report (GitHub issue of NVIDIA/nccl-tests or NVIDIA/nccl), quoted in NOTES.md with
its source; every simulated value is computed from the experiments in
``experiments/nccl/``. Where the two differ by more than 15% the claim's source says why.
"""

from __future__ import annotations

from sim.reproduce import Claim, Outcome, Paper, register_paper
from sim.stats import ok_rows


def _at_size(metric: str, size: float):
    def compute(oc: Outcome) -> float:
        rows = ok_rows(oc.table)
        col = "params.message_bytes"
        if col not in rows.columns:
            return oc.metric(metric)
        hit = rows[rows[col] == size]
        if hit.empty:
            raise ValueError(f"no finished run at message_bytes={size:g}")
        return float(hit[metric].mean())

    return compute


def _time_us(oc: Outcome) -> float:
    return oc.metric("time_s") * 1e6


GiB = 2**30

PAPER = register_paper(
    Paper(
        id="nccl",
        title="Collectives against published nccl-tests all_reduce_perf results",
        section=(
            "bus bandwidth (busbw, nccl-tests PERFORMANCE.md definition) and latency printed "
            "by all_reduce_perf in public GitHub issues of NVIDIA/nccl-tests and NVIDIA/nccl; "
            "clusters and sources in models/nccl/NOTES.md"
        ),
        experiments=[
            "a100_1node",
            "a100_2node",
            "a100_3node",
            "a100_2node_one_nic",
            "h800_1node",
            "latency_2gpu",
            "protocols",
            "channels",
        ],  # fmt: skip
        claims=[
            Claim(
                id="nccl.a100_8gpu.busbw_4GiB",
                description="8 x A100 SXM4, one node (NVSwitch): all-reduce busbw at 4 GiB",
                experiment="a100_1node",
                unit="GB/s",
                compute=_at_size("busbw_GBps", 4 * GiB),
                published=232.54,
                source=(
                    "NVIDIA/nccl-tests issue 175 (2023-10-29), all_reduce_perf -b 8 -e 4G -g 8. "
                    "Gap: the simulation runs NVLink at its 300 GB/s signalling rate per "
                    "direction; NVLink packet and flow-control overhead (not modelled) cap "
                    "real copies near 230-260 GB/s (see NOTES.md)"
                ),
            ),
            Claim(
                id="nccl.a100_8gpu.busbw_1GiB_second_report",
                description="8 x A100 80GB (HPE Apollo 6500), one node: busbw at 1 GiB",
                experiment="a100_1node",
                unit="GB/s",
                compute=_at_size("busbw_GBps", 1 * GiB),
                published=200.0,
                source=(
                    "NVIDIA/nccl-tests issue 149 (2023-06-27): 'a busbw of ~200 GB/s'. Gap: as "
                    "above (NVLink efficiency not modelled), plus this system's lower plateau"
                ),
            ),
            Claim(
                id="nccl.a100_2x8_4nic.busbw_4GiB",
                description="2 nodes x 8 A100, 4 x 200 Gb/s NICs per node: busbw at 4 GiB",
                experiment="a100_2node",
                unit="GB/s",
                compute=_at_size("busbw_GBps", 4 * GiB),
                published=86.0,
                source=(
                    "NVIDIA/nccl-tests issue 175 and NVIDIA/nccl issue 1048 (2023-11): 'only "
                    "86GB/s' against 96-100 theoretical; the simulation reaches the NICs' "
                    "100 GB/s less the protocol costs (no NIC/PCIe efficiency loss modelled)"
                ),
            ),
            Claim(
                id="nccl.a100_3x8_4nic.busbw_peak_128MiB",
                description="3 nodes x 8 A100 40GB, 4 x HDR 200 Gb/s per node: peak busbw (128 MiB)",
                experiment="a100_3node",
                unit="GB/s",
                compute=lambda oc: oc.metric("busbw_GBps"),
                published=96.0,
                source="NVIDIA/nccl-tests issue 119 (2022-11-17): 'peak performance reaches about 96GB/s'",
            ),
            Claim(
                id="nccl.nic_200g.busbw_one_nic",
                description="2 nodes x 8 A100 over one 200 Gb/s NIC per node: busbw at 4 GiB",
                experiment="a100_2node_one_nic",
                unit="GB/s",
                compute=lambda oc: oc.metric("busbw_GBps"),
                published=24.0,
                source="NVIDIA/nccl issue 1048 (2023-11-01): 'when HCA=mlx5_0, reach the theoretical value (24GB/s)'",
            ),
            Claim(
                id="nccl.h800_8gpu.busbw_4GiB",
                description="8 x H800 SXM, one node (NVLink 400 GB/s bidirectional): busbw",
                experiment="h800_1node",
                unit="GB/s",
                compute=lambda oc: oc.metric("busbw_GBps"),
                published=215.0,
                source=(
                    "NVIDIA/nccl issue 1374 (2024-07-24): 'H800 * 8 node ... allreduce busBW is "
                    "215 GB/s'; above the 200 GB/s per direction the simulation is capped at "
                    "(NVLink SHARP in-switch reduction, not modelled, lifts busbw past it)"
                ),
            ),
            Claim(
                id="nccl.latency_2gpu_8B_us",
                description="2 A100 GPUs in 2 nodes over HDR InfiniBand: all-reduce time at 8 B",
                experiment="latency_2gpu",
                unit="us",
                compute=_time_us,
                published=19.9,
                source=(
                    "NVIDIA/nccl-tests issue 150 (2023-06-29), all_reduce_perf -g 1 on two "
                    "nodes, 8 B out-of-place: 19.90 us. Gap: the protocol model's NCCL tuning "
                    "constants (ring LL: 6.6 us base + 2 network hops of 2.7 us) omit the "
                    "nccl-tests launch and host-side synchronisation"
                ),
            ),
        ],
    )
)
