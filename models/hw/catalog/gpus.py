"""GPU catalog: spec sheets of the GPUs the papers use, each with its source.

Peaks are dense (no 2:4 sparsity) tensor/matrix-core rates for fp16/bf16/tf32/fp8 and
vector (non-tensor) rates for fp32. Capacities are in GiB (a "40 GB" A100 reports
40,960 MiB); bandwidths in decimal bytes/s as the vendors quote them.

Sources
    * A10: NVIDIA A10 Tensor Core GPU datasheet (2021): 31.2 TF fp32, 62.5 TF tf32, 125 TF
      fp16/bf16 tensor, 24 GB GDDR6, 600 GB/s; GA102 configuration of the A10: 72 SMs,
      1695 MHz boost, 6 MB L2 (TechPowerUp GPU database). 125e12 / (72 x 1.695e9) = 1024
      FLOP/cycle/SM.
    * A100: NVIDIA A100 datasheet and "NVIDIA A100 Tensor Core GPU Architecture" whitepaper
      (2020): 108 SMs, 1410 MHz boost, 19.5 TF fp32, 156 TF tf32, 312 TF fp16/bf16, 40 MB L2;
      SXM4 40GB HBM2 1,555 GB/s; SXM4 80GB HBM2e 2,039 GB/s (the PCIe 80GB card: 1,935 GB/s).
    * A40: NVIDIA A40 datasheet (2020): 37.4 TF fp32, 74.8 TF tf32, 149.7 TF fp16/bf16
      tensor (dense), 48 GB GDDR6, 696 GB/s; GA102 with 84 SMs at 1,740 MHz boost, 6 MB L2
      (TechPowerUp GPU database). 149.7e12 / (84 x 1.74e9) = 1024 FLOP/cycle/SM, as the A10.
      Used to validate the kernel model on Vidur's A40 profile and, through its kernel
      efficiency, to stand in for the A10 (same chip), which has no profile.
    * H100 SXM: NVIDIA H100 datasheet and "NVIDIA H100 Tensor Core GPU Architecture"
      whitepaper (2022): 132 SMs, 66.9 TF fp32, 494.7 TF tf32, 989.4 TF fp16/bf16, 1,978.9 TF
      fp8 (datasheet values halved: they are quoted with sparsity), 80 GB HBM3 3.35 TB/s,
      50 MB L2. The tensor peaks correspond to a 1,830 MHz clock (989.4e12 / (132 x 1.83e9) =
      4096 FLOP/cycle/SM); the maximum boost is 1,980 MHz.
    * H800 SXM: NVIDIA H800 product brief (export variant of H100 SXM): same SMs, tensor
      peaks and 80 GB HBM3 at 3.35 TB/s as H100 SXM; NVLink 400 GB/s instead of 900 GB/s.
      C4 runs on it (C4 (Dong et al., HPCA'25), cluster description).
    * MI210: AMD Instinct MI210 datasheet (2022): 104 CUs, 1,700 MHz peak engine clock,
      22.6 TF fp32 vector, 181 TF fp16/bf16 matrix, 64 GB HBM2e, 1.6 TB/s (4096-bit x
      3.2 Gb/s / 8 = 1,638.4 GB/s), 8 MB L2 (CDNA 2 GCD). 181e12 / (104 x 1.7e9) = 1024
      FLOP/cycle/CU fp16; 22.6e12 / (104 x 1.7e9) = 128 fp32.
    * t3_sim: T3's simulated GPU (T3 (Pati et al., ASPLOS'24) §5.1, Table 1): 80 CUs, 1.4 GHz,
      16 MB L2, HBM2 at 1 TB/s. Per-CU rates are MI210's (1024 fp16/bf16 and 128 fp32
      FLOP/cycle/CU [A]): 80 x 1.4e9 x 1024 = 114.7 TF fp16.
      Capacity is not given; 64 GiB as MI210 [A].
"""

from __future__ import annotations

from sim_models.hw.specs import GPUSpec, spec_from_cus

GiB = 2**30
MiB = 2**20
T = 1e12

_NV_A10 = "NVIDIA A10 datasheet (2021); GA102/A10 SM count, clock and L2 from TechPowerUp"
_NV_A100 = "NVIDIA A100 datasheet; NVIDIA A100 Tensor Core GPU Architecture whitepaper (2020)"
_NV_A40 = "NVIDIA A40 datasheet (2020); GA102/A40 SM count, clock and L2 from TechPowerUp"
_NV_H100 = "NVIDIA H100 datasheet; NVIDIA H100 Tensor Core GPU Architecture whitepaper (2022)"

GPUS: dict[str, GPUSpec] = {
    g.name: g
    for g in [
        GPUSpec(
            "a10", 72, 1.695e9,
            {"fp32": 31.2 * T, "tf32": 62.5 * T, "fp16": 125 * T, "bf16": 125 * T},
            24 * GiB, 600e9, 6 * MiB, _NV_A10, notes="device memory is GDDR6, not HBM",
        ),
        GPUSpec(
            "a40", 84, 1.74e9,
            {"fp32": 37.4 * T, "tf32": 74.8 * T, "fp16": 149.7 * T, "bf16": 149.7 * T},
            48 * GiB, 696e9, 6 * MiB, _NV_A40, notes="device memory is GDDR6, not HBM",
        ),
        GPUSpec(
            "a100-40gb", 108, 1.41e9,
            {"fp32": 19.5 * T, "tf32": 156 * T, "fp16": 312 * T, "bf16": 312 * T},
            40 * GiB, 1555e9, 40 * MiB, _NV_A100 + "; SXM4 40GB, HBM2",
        ),
        GPUSpec(
            "a100-80gb", 108, 1.41e9,
            {"fp32": 19.5 * T, "tf32": 156 * T, "fp16": 312 * T, "bf16": 312 * T},
            80 * GiB, 2039e9, 40 * MiB, _NV_A100 + "; SXM4 80GB, HBM2e",
            notes="PCIe 80GB card: 1,935 GB/s",
        ),
        GPUSpec(
            "h100-sxm", 132, 1.83e9,
            {"fp32": 66.9 * T, "tf32": 494.7 * T, "fp16": 989.4 * T, "bf16": 989.4 * T,
             "fp8": 1978.9 * T},
            80 * GiB, 3.35e12, 50 * MiB, _NV_H100,
            notes="clock is the one the tensor peaks imply; max boost 1.98 GHz",
        ),
        GPUSpec(
            "h800", 132, 1.83e9,
            {"fp32": 66.9 * T, "tf32": 494.7 * T, "fp16": 989.4 * T, "bf16": 989.4 * T,
             "fp8": 1978.9 * T},
            80 * GiB, 3.35e12, 50 * MiB,
            "NVIDIA H800 SXM product brief (compute and memory as H100 SXM); " + _NV_H100,
            notes="NVLink 400 GB/s (see catalog link 'nvlink4-h800')",
        ),
        GPUSpec(
            "mi210", 104, 1.7e9,
            {"fp32": 22.6 * T, "fp16": 181 * T, "bf16": 181 * T},
            64 * GiB, 1638.4e9, 8 * MiB, "AMD Instinct MI210 datasheet (2022)",
        ),
        spec_from_cus(
            "t3_sim", compute_units=80, clock_Hz=1.4e9,
            flops_per_cycle_per_cu={"fp32": 128, "fp16": 1024, "bf16": 1024},
            hbm_capacity_bytes=64 * GiB, hbm_bandwidth_Bps=1e12, l2_bytes=16 * MiB,
            source="T3 (Pati et al., ASPLOS'24) §5.1, Table 1: 80 CUs, 1.4 GHz, 16 MB L2, "
            "HBM2 1 TB/s; per-CU FLOP/cycle as MI210 (derived from its datasheet)",
            notes="capacity 64 GiB is an assumption (MI210-like)",
        ),
    ]
}  # fmt: skip
