"""Shared hardware and network models: the flow network (max-min), topologies and routing,
collectives, GPUs and GEMMs, memory arbitration and near-memory compute, links and DMA
engines, and catalogs of real parts with their sources."""
