"""Shared hardware and network models: the flow network (max-min), topologies and routing,
collectives, GPUs and GEMMs, memory arbitration and near-memory compute, links and DMA
engines, spec sheets, and catalogs of real parts with their sources.

Marks in these docstrings (as in every package's NOTES.md): **[P]** published (the cited
paper, datasheet or specification states it), **[D]** derived from published facts,
**[A]** an assumption of this project (the value, and the rule that fixes it), **[U]**
unverified (from a secondary source only).
"""
