"""Catalogs of hardware and model architectures, looked up by name.

``gpu(name)``, ``link(name)``, ``nic(name)``, ``transformer(name)``,
``kernel_efficiency(gpu_name)`` return the catalog
entry (case-insensitive) or raise :class:`sim.errors.UnknownNameError` with the closest
valid name. Every entry carries its source; see each module's docstring.
"""

from __future__ import annotations

from typing import TypeVar

from sim_models.hw.catalog.efficiency import KERNEL_EFFICIENCY
from sim_models.hw.catalog.gpus import GPUS
from sim_models.hw.catalog.links import LINKS, NICS, NVLINK_GENS
from sim_models.hw.catalog.transformers import TRANSFORMERS, TransformerSpec
from sim_models.hw.kernels import KernelEfficiency
from sim_models.hw.specs import GPUSpec, LinkSpec, NICSpec

from sim.errors import UnknownNameError, did_you_mean

T = TypeVar("T")

__all__ = [
    "GPUS", "KERNEL_EFFICIENCY", "LINKS", "NICS", "NVLINK_GENS", "TRANSFORMERS",
    "gpu", "kernel_efficiency", "link", "nic", "transformer",
]  # fmt: skip


def _lookup(kind: str, table: dict[str, T], name: str) -> T:
    key = str(name).strip().lower()
    if key in table:
        return table[key]
    raise UnknownNameError(
        f"unknown {kind} {name!r}{did_you_mean(key, table)}; known: {', '.join(sorted(table))}"
    )


def gpu(name: str) -> GPUSpec:
    return _lookup("GPU", GPUS, name)


def link(name: str) -> LinkSpec:
    return _lookup("link", LINKS, name)


def nic(name: str) -> NICSpec:
    return _lookup("NIC", NICS, name)


def transformer(name: str) -> TransformerSpec:
    return _lookup("transformer", TRANSFORMERS, name)


def kernel_efficiency(name: str) -> KernelEfficiency:
    """What the GPU ``name``'s kernels achieve (:mod:`sim_models.hw.catalog.efficiency`)."""
    return _lookup("kernel efficiency for GPU", KERNEL_EFFICIENCY, name)
