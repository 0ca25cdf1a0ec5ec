"""Spec sheets of hardware parts: GPUs, memories, links, NVLink generations, NICs and
transformer models, as frozen dataclasses.

Components (:mod:`sim_models.hw.gpu`, :mod:`.gemm`, :mod:`.memory`, :mod:`.links`) and the
catalogs (:mod:`sim_models.hw.catalog`) import their specs from here, so no component module
needs another's (the GEMM model and the GPU used to import each other). Catalog entries
carry their sources; this module holds no numbers beyond units and dtype sizes.

Units: Hz, FLOP/s, bytes, bytes/s, seconds; ``GiB`` = 2**30 bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

GiB = 2**30

#: Bytes per element of each dtype name used in ``GPUSpec.peak_flops`` (IEEE 754
#: binary32/16, bfloat16, OCP FP8; tf32 is stored in 4 bytes).
DTYPE_BYTES: dict[str, int] = {"fp32": 4, "tf32": 4, "fp16": 2, "bf16": 2, "fp8": 1, "int8": 1}


@dataclass(frozen=True)
class GPUSpec:
    name: str
    compute_units: int
    clock_Hz: float
    peak_flops: Mapping[str, float]  # dense (no sparsity), whole GPU, per dtype
    hbm_capacity_bytes: float  # device memory (HBM; GDDR6 on the A10)
    hbm_bandwidth_Bps: float
    l2_bytes: float
    source: str = ""
    notes: str = ""

    def peak(self, dtype: str) -> float:
        try:
            return self.peak_flops[dtype]
        except KeyError:
            raise ValueError(
                f"{self.name} has no {dtype!r} peak; it has {sorted(self.peak_flops)}"
            ) from None

    def flops_per_cycle_per_cu(self, dtype: str) -> float:
        return self.peak(dtype) / (self.compute_units * self.clock_Hz)

    def with_compute_units(self, compute_units: int) -> GPUSpec:
        """Same CU design and memory with a different CU count (T3 Sec 7.5: 2x CUs)."""
        f = compute_units / self.compute_units
        return replace(
            self,
            name=f"{self.name}_{compute_units}cu",
            compute_units=compute_units,
            peak_flops={k: v * f for k, v in self.peak_flops.items()},
        )


def spec_from_cus(
    name: str,
    *,
    compute_units: int,
    clock_Hz: float,
    flops_per_cycle_per_cu: Mapping[str, float],
    hbm_capacity_bytes: float,
    hbm_bandwidth_Bps: float,
    l2_bytes: float,
    source: str = "",
    notes: str = "",
) -> GPUSpec:
    """A spec whose peaks are ``CUs x clock x FLOPs/cycle/CU``."""
    peaks = {k: compute_units * clock_Hz * v for k, v in flops_per_cycle_per_cu.items()}
    return GPUSpec(
        name,
        compute_units,
        clock_Hz,
        peaks,
        hbm_capacity_bytes,
        hbm_bandwidth_Bps,
        l2_bytes,
        source,
        notes,
    )


@dataclass(frozen=True)
class MemorySpec:
    name: str
    kind: str  # "hbm" | "dram" | "cxl"
    capacity_bytes: float
    bandwidth_Bps: float
    latency_s: float
    source: str = ""

    def access_time_s(self, nbytes: float) -> float:
        """Unloaded time of one access of ``nbytes``."""
        return self.latency_s + nbytes / self.bandwidth_Bps


@dataclass(frozen=True)
class LinkSpec:
    """One direction of a full-duplex link."""

    name: str
    bandwidth_Bps: float  # per direction, after line coding
    latency_s: float = 0.0
    efficiency: float = 1.0  # protocol efficiency applied on top of bandwidth_Bps
    source: str = ""

    @property
    def effective_Bps(self) -> float:
        return self.bandwidth_Bps * self.efficiency

    @property
    def bidirectional_Bps(self) -> float:
        return 2 * self.bandwidth_Bps

    def transfer_time_s(self, nbytes: float) -> float:
        return self.latency_s + nbytes / self.effective_Bps

    def with_efficiency(self, efficiency: float) -> LinkSpec:
        return replace(self, efficiency=efficiency)


@dataclass(frozen=True)
class NVLinkGen:
    """An NVLink generation: bandwidth of one link and links per GPU."""

    generation: int
    link_Bps: float  # one link, one direction
    links_per_gpu: int
    source: str = ""

    @property
    def gpu_Bps(self) -> float:
        """Per-GPU aggregate, one direction."""
        return self.link_Bps * self.links_per_gpu

    @property
    def gpu_bidirectional_Bps(self) -> float:
        return 2 * self.gpu_Bps

    def link_spec(self, links: int | None = None, *, latency_s: float = 0.0) -> LinkSpec:
        n = self.links_per_gpu if links is None else links
        return LinkSpec(
            name=f"nvlink{self.generation}_x{n}",
            bandwidth_Bps=self.link_Bps * n,
            latency_s=latency_s,
            source=self.source,
        )


@dataclass(frozen=True)
class NICSpec:
    """A NIC: ``ports`` ports of ``port_Gbps`` each. With several ports bonded, one flow
    is hashed onto one port (LACP-style), so it gets at most one port's rate."""

    name: str
    port_Gbps: float
    ports: int = 1
    latency_s: float = 0.0
    source: str = ""

    @property
    def port_Bps(self) -> float:
        return self.port_Gbps * 1e9 / 8

    @property
    def bandwidth_Bps(self) -> float:
        """Aggregate line rate of all ports, one direction."""
        return self.port_Bps * self.ports

    @property
    def per_flow_max_Bps(self) -> float:
        return self.port_Bps

    def bonded(self, ports: int, name: str | None = None) -> NICSpec:
        return replace(self, name=name or f"{ports}x{self.port_Gbps:g}g", ports=ports)

    def link_spec(self) -> LinkSpec:
        return LinkSpec(self.name, self.bandwidth_Bps, self.latency_s, source=self.source)


@dataclass(frozen=True)
class TransformerSpec:
    name: str
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    ffn: int
    vocab: int
    nominal_params: float
    source: str
    head_dim: int = 0  # 0: hidden // heads
    gated_ffn: bool = False
    tied_embeddings: bool = True

    def __post_init__(self):
        if self.head_dim == 0:
            object.__setattr__(self, "head_dim", self.hidden // self.heads)

    def kv_bytes_per_token(self, dtype_bytes: int = 2) -> int:
        """K and V of one token over all layers."""
        return 2 * self.layers * self.kv_heads * self.head_dim * dtype_bytes

    @property
    def params_per_layer(self) -> int:
        attn = self.hidden * self.head_dim * (2 * self.heads + 2 * self.kv_heads)
        return attn + (3 if self.gated_ffn else 2) * self.hidden * self.ffn

    def param_count(self) -> int:
        emb = self.vocab * self.hidden * (1 if self.tied_embeddings else 2)
        return self.layers * self.params_per_layer + emb

    def weight_bytes(self, dtype_bytes: int = 2) -> int:
        return self.param_count() * dtype_bytes

    # -- per-layer shapes and costs of one forward pass (used by iteration-time models) --
    def linear_layers(self, tp: int = 1) -> tuple[tuple[str, int, int], ...]:
        """The GEMMs of one layer on one of ``tp`` tensor-parallel GPUs, as ``(name, n, k)``
        with ``m`` = tokens: fused Q/K/V projection and gate+up projection split by columns,
        output and down projections split by rows (Megatron-style sharding)."""
        if tp < 1 or self.heads % tp or (self.kv_heads % tp and tp % self.kv_heads):
            raise ValueError(f"{self.name}: tensor-parallel degree {tp} does not divide heads")
        hd, h = self.head_dim, self.hidden
        kv = max(1, self.kv_heads // tp)  # KV heads are replicated when tp > kv_heads
        up = (2 if self.gated_ffn else 1) * self.ffn
        return (
            ("qkv_proj", (self.heads // tp + 2 * kv) * hd, h),
            ("o_proj", h, self.heads // tp * hd),
            ("up_proj", up // tp, h),
            ("down_proj", h, self.ffn // tp),
        )

    def linear_flops_per_token(self, tp: int = 1) -> float:
        """FLOPs of the linear layers (all layers, one GPU of ``tp``) for one token."""
        return 2.0 * self.layers * sum(n * k for _, n, k in self.linear_layers(tp))

    def kv_heads_per_gpu(self, tp: int = 1) -> int:
        return max(1, self.kv_heads // tp)

    def kv_bytes_per_token_per_layer(self, dtype_bytes: int = 2, tp: int = 1) -> int:
        """K and V of one token in one layer, on one GPU of ``tp``."""
        return 2 * self.kv_heads_per_gpu(tp) * self.head_dim * dtype_bytes

    def attention_flops_per_layer(self, pairs: float, tp: int = 1) -> float:
        """FLOPs of attention over ``pairs`` (query, key) pairs in one layer: QK^T and PV,
        2 multiply-adds each per head dimension (softmax left out)."""
        return 4.0 * (self.heads // tp) * self.head_dim * pairs


def causal_pairs(new_tokens: int, prefix_tokens: int = 0) -> float:
    """(query, key) pairs of a causal prefill of ``new_tokens`` after ``prefix_tokens``
    already cached: each new token attends to the prefix, to the earlier new tokens and to
    itself."""
    n = float(new_tokens)
    return n * prefix_tokens + n * (n + 1) / 2
