"""T3 (Pati et al., "T3: Transparent Tracking & Triggering for Fine-grained Overlap of
Compute & Collectives", ASPLOS'24): a tensor-parallel sub-layer's GEMM fused with its ring
reduce-scatter by hardware track & trigger, near-memory reductions and communication-aware
memory-controller arbitration, against sequential execution, ideal overlap, near-memory
reduction alone and a CU split. The facts used and their sources are in NOTES.md."""
