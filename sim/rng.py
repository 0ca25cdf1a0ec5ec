"""Named random streams.

Every component draws from its own ``numpy.random.Generator``, keyed by the component's name:
the stream for ``"arrivals"`` is derived from the base seed and a stable hash of the string
``"arrivals"`` through :class:`numpy.random.SeedSequence`. Adding a component, or drawing more
numbers in one, never shifts another component's numbers.
"""

from __future__ import annotations

import hashlib

import numpy as np


def _name_key(name: str) -> list[int]:
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]


class RandomStreams:
    """A family of independent generators derived from one base seed."""

    def __init__(self, seed: int):
        if int(seed) < 0:
            raise ValueError("seed must be non-negative")
        self.seed = int(seed)
        self._streams: dict[str, np.random.Generator] = {}

    def get(self, name: str) -> np.random.Generator:
        """The generator for component ``name`` (created on first use, then reused)."""
        gen = self._streams.get(name)
        if gen is None:
            ss = np.random.SeedSequence(entropy=self.seed, spawn_key=tuple(_name_key(name)))
            gen = np.random.Generator(np.random.PCG64(ss))
            self._streams[name] = gen
        return gen

    def names(self) -> list[str]:
        return sorted(self._streams)


def derive_seed(base_seed: int, key: str) -> int:
    """A 63-bit seed derived from a base seed and a string key (e.g. a run's content hash)."""
    h = hashlib.sha256(f"{int(base_seed)}:{key}".encode()).digest()
    return int.from_bytes(h[:8], "little") & ((1 << 63) - 1)
