"""Kernel efficiency catalog: what each GPU's kernels achieve of its spec sheet.

Each entry is a :class:`~sim_models.hw.kernels.KernelEfficiency` keyed by the GPU's
catalog name. The numbers are stated parameters, fixed by one rule for every GPU:

    the kernel floor is 4 us for every GPU [A] (the profiles' single-token elementwise
    kernels take 2-5 us: residual add 2 us, RMSNorm 4-5 us on A100); the bandwidth and
    FLOP/s fractions are the least-squares fit (log error, 0.01 grid) of
    :func:`sim_models.hw.kernels.gemm_kernel` to the four linear layers of
    Llama-2-7B at tensor-parallel degree 1 in that GPU's measured profile (Vidur,
    microsoft/vidur ``data/profiling/compute/<gpu>/meta-llama/Llama-2-7b-hf/mlp.csv``,
    commit 7d47513, MIT license), i.e. a different model from the Llama-3-8B profile the
    serving cost model is validated on.

Entries
    * a100-80gb: fit on Vidur's A100 profile (the board, PCIe or SXM, is not recorded);
      0.77 of 2,039 GB/s = 1.57 TB/s and 0.73 of 312 TFLOP/s = 228 TFLOP/s.
    * a100-40gb: the a100-80gb fractions applied to its own spec sheet [A].
    * a40: fit on Vidur's A40 profile; 0.72 of 696 GB/s, 0.76 of 149.7 TFLOP/s.
    * a10: no profile exists. The A10 is the same GA102 chip as the A40 with fewer SMs
      (72 vs 84), a lower clock and 600 GB/s GDDR6, so it takes the A40's fractions
      applied to its own spec sheet [A]: 0.72 x 600 GB/s = 432 GB/s and 0.76 x 125
      TFLOP/s = 95 TFLOP/s. An approximation, not a measurement.
    * h100-sxm: fit on Vidur's H100 profile (probably an SXM part: it reaches 2.6 TB/s
      effective at one token, more than an H100 PCIe can).
    * attention_flops_fraction 0.5 for all [A]: FlashAttention-2 (Dao, 2023, Fig. 4-5)
      reaches 50-73% of the A100's peak in the forward pass depending on length and head
      size; vLLM 0.3.3's prompt kernel (xFormers) is older, so the low end is taken.
      Sensitivity: ``sim llm step-time --attention-fraction``.
"""

from __future__ import annotations

from sim_models.hw.kernels import KernelEfficiency

KERNEL_FLOOR_S = 4e-6
_VIDUR = "fit to Vidur's {} profile, Llama-2-7B linear layers, TP 1 (microsoft/vidur 7d47513)"

KERNEL_EFFICIENCY: dict[str, KernelEfficiency] = {
    "a100-80gb": KernelEfficiency(0.77, 0.73, KERNEL_FLOOR_S, 0.5, _VIDUR.format("A100")),
    "a100-40gb": KernelEfficiency(
        0.77, 0.73, KERNEL_FLOOR_S, 0.5, _VIDUR.format("A100") + "; fractions as a100-80gb [A]"
    ),
    "a40": KernelEfficiency(0.72, 0.76, KERNEL_FLOOR_S, 0.5, _VIDUR.format("A40")),
    "a10": KernelEfficiency(
        0.72, 0.76, KERNEL_FLOOR_S, 0.5,
        "no A10 profile: the A40's fractions (same GA102 chip), " + _VIDUR.format("A40"),
    ),
    "h100-sxm": KernelEfficiency(0.71, 0.73, KERNEL_FLOOR_S, 0.5, _VIDUR.format("H100")),
}  # fmt: skip
