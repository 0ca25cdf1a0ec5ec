"""Parameters of the T3 models: the simulated system and its assumptions (shared by
``t3.sublayer`` and ``t3.grid``), each with its bounds and where its value comes from.

Values marked [P] are published in T3 (Pati et al., ASPLOS'24); [A] are this package's
assumptions, each fixed by one rule for every sub-layer, with its sensitivity shown by an
experiment in experiments/t3/ (see NOTES.md).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator
from sim_models.hw.catalog import GPUS, LINKS, TRANSFORMERS
from sim_models.hw.catalog import gpu as gpu_spec
from sim_models.hw.catalog import link as link_spec
from sim_models.hw.specs import LinkSpec

from sim.model import Params

from .system import Knobs


def _known(value: str, table: dict, kind: str) -> str:
    key = str(value).strip().lower()
    if key not in table:
        from sim.errors import did_you_mean

        raise ValueError(f"unknown {kind} {value!r}{did_you_mean(key, table)}; "
                         f"known: {', '.join(sorted(table))}")  # fmt: skip
    return key


class SystemParams(Params):
    gpu: str = Field("t3_sim", description="GPU from the catalog [P: T3 Table 1]")
    link: str = Field("t3_ring", description="ring link from the catalog [P: Table 1; A: 75 GB/s per direction]")
    tokens: int = Field(2048, ge=128, le=65536,
                        description="token rows per micro-batch (sequence length x batch) [A]")
    l2_bytes: float | None = Field(None, ge=0, le=1e9,
                                   description="L2 for GEMM panels; null: the GPU's (16 MB [P])")
    link_bandwidth_scale: float = Field(1.0, ge=0.1, le=100,
                                        description="multiplies the link bandwidth (sensitivity)")
    tile: int = Field(128, ge=16, le=512, description="GEMM macro-tile edge (elements) [A]")
    k_tile: int = Field(32, ge=8, le=1024,
                        description="K elements per step of a GEMM's K loop (one read each) [A: "
                        "128x128x32 FP16 tensor-core tiles]")
    k_steps: int = Field(0, ge=0, le=4096,
                         description="read phases per wave of the K loop; 0: K / k_tile [A]")
    prefetch_steps: int = Field(1, ge=1, le=16,
                                description="K steps whose reads are in flight ahead of compute "
                                "(pipeline stages - 1) [A: double buffering]")
    hbm_latency_s: float = Field(500e-9, ge=0, le=1e-5,
                                 description="fixed latency of the path to DRAM and back [A]")
    dram_model: Literal["banked", "single"] = Field(
        "banked", description="banked: HBM2 channels, banks, row buffers, FR-FCFS (hw.dram); "
        "single: one bandwidth server (hw.arbiter)")
    dram_queue_entries: int = Field(64, ge=1, le=4096,
                                    description="controller queue per channel, in 64-B accesses "
                                    "(banked) [GPGPU-Sim HBM configuration]")
    dram_refresh: bool = Field(False, description="model all-bank refresh (banked)")
    nmc_bank_slots: float = Field(2.0, ge=1.0, le=16.0,
                                  description="column slots a near-memory update holds its bank "
                                  "per access (banked) [A: internal read + write]")
    burst_bytes: int = Field(65536, ge=1024, le=16 * 2**20,
                             description="arbitration granularity of the HBM server (single) [A]")
    window_bursts: int = Field(16, ge=1, le=4096,
                               description="bursts (single) or row segments per channel (banked) "
                               "one transfer keeps queued (its parallelism) [A]")
    nmc_extra_occupancy: float = Field(0.5, ge=0, le=8,
                                       description="extra channel time of a near-memory update, "
                                       "in writes (single) [A]")
    cu_stream_share: float = Field(2.0, ge=0.05, le=80,
                                   description="memory traffic one CU of a collective kernel "
                                   "drives, in fair shares (HBM bandwidth / CUs) [A]")
    dma_reads_in_flight: int = Field(256, ge=1, le=100_000,
                                     description="fired tiles a DMA engine reads ahead of the link [A]")
    tracker_entries: int = Field(256, ge=1, le=1_000_000, description="tracker entries [P: Sec. 4.2]")
    mca_threshold_max_bursts: int = Field(16, ge=1, le=4096,
                                          description="MCA threshold when stage 1 uses no DRAM, in "
                                          "bursts (single) [A]")
    mca_threshold_max_entries: int = Field(32, ge=1, le=4096,
                                           description="MCA threshold when stage 1 uses no DRAM, in "
                                           "queue entries per channel (banked) [A: half the queue]")
    mca_starvation_limit_s: float = Field(2e-6, ge=1e-8, le=1e-3,
                                          description="MCA starvation limit [A]")
    mca_compute_first: bool = Field(True,
                                    description="MCA serves a waiting GEMM request before "
                                    "communication (T3 Sec. 4.5: compute first); false: FCFS "
                                    "between the heads below the threshold (ablation)")
    comm_cost_scale: float = Field(1.0, ge=0, le=100,
                                   description="scales every communication cost (0: free; checks)")
    timeline_bin_s: float = Field(0.0, ge=0, le=1e-3,
                                  description="DRAM-traffic timeline bin (0: off)")
    rs_slice_bytes: float = Field(2**20, ge=4096, le=2**34,
                                  description="pipeline slice of CU-executed ring collectives "
                                  "[A: NCCL Simple protocol, 1 MiB]")

    @field_validator("gpu")
    @classmethod
    def _gpu(cls, v: str) -> str:
        return _known(v, GPUS, "GPU")

    @field_validator("link")
    @classmethod
    def _link(cls, v: str) -> str:
        return _known(v, LINKS, "link")

    @field_validator("timeline_bin_s")
    @classmethod
    def _bin(cls, v: float) -> float:
        if 0 < v < 1e-8:
            raise ValueError("timeline_bin_s must be 0 (off) or at least 1e-8 s")
        return v

    def knobs(self) -> Knobs:
        g = gpu_spec(self.gpu)
        ln = link_spec(self.link)
        ln = LinkSpec(ln.name, ln.effective_Bps * self.link_bandwidth_scale, ln.latency_s,
                      source=ln.source)  # fmt: skip
        return Knobs(
            gpu=g,
            link=ln,
            l2_bytes=g.l2_bytes if self.l2_bytes is None else self.l2_bytes,
            tile=self.tile,
            k_steps=self.k_steps,
            k_tile=self.k_tile,
            prefetch_steps=self.prefetch_steps,
            hbm_latency_s=self.hbm_latency_s,
            dram_model=self.dram_model,
            dram_queue_entries=self.dram_queue_entries,
            dram_refresh=self.dram_refresh,
            nmc_bank_slots=self.nmc_bank_slots,
            burst_bytes=self.burst_bytes,
            window_bursts=self.window_bursts,
            nmc_extra_occupancy=self.nmc_extra_occupancy,
            cu_stream_share=self.cu_stream_share,
            dma_reads_in_flight=self.dma_reads_in_flight,
            tracker_entries=self.tracker_entries,
            mca_threshold_max_bursts=self.mca_threshold_max_bursts,
            mca_threshold_max_entries=self.mca_threshold_max_entries,
            mca_starvation_limit_s=self.mca_starvation_limit_s,
            mca_compute_first=self.mca_compute_first,
            comm_cost_scale=self.comm_cost_scale,
            timeline_bin_s=self.timeline_bin_s or None,
            rs_slice_bytes=self.rs_slice_bytes,
        )


def known_transformer(v: str) -> str:
    return _known(v, TRANSFORMERS, "transformer")
