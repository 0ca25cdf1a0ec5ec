"""Functions as the platform sees them: a catalog shared by workloads and models.

A workload numbers the functions it produces requests for and describes each one in a
:class:`FunctionCatalog` entry (:class:`FunctionInfo`): its key (the Huawei ``funcID``, or
``app/func`` for Azure traces), region, resource configuration (pool name, CPU limit,
memory), runtime and trigger. Requests then carry the function's number only. A catalog
may grow while a trace is read (functions met for the first time), always before the
first request of the new function is handed out.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pandas as pd

from .calibration import CLUSTERS, NO_POOL_RUNTIMES
from .traces.huawei import SMALL_POD_CPU_M, SMALL_POD_MEMORY_MB


@dataclass
class FunctionInfo:
    key: str
    region: str = "R1"
    pool: str = "pool22-300-128"
    cpu_limit_m: int = 300
    memory_mb: int = 128
    runtime: str = "unknown"
    trigger: str = "unknown-unknown"
    #: the cluster its requests go to when the trace does not say (1-based)
    home_cluster: int = 1

    @property
    def has_pool(self) -> bool:
        """Whether pods come from a pool of generic pods (no pool for Custom, http)."""
        return self.runtime not in NO_POOL_RUNTIMES

    @property
    def small(self) -> bool:
        return self.cpu_limit_m <= SMALL_POD_CPU_M and self.memory_mb <= SMALL_POD_MEMORY_MB

    @property
    def is_timer(self) -> bool:
        return self.trigger.upper().startswith("TIMER")


def stable_hash(text: str) -> int:
    """A 63-bit hash of ``text`` that is the same in every process (unlike ``hash``)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little") >> 1


def home_cluster(key: str, clusters: int = CLUSTERS) -> int:
    """The cluster a function's requests go to by default: a hash of its key (§2.1: with
    no hot spot, a hash sends a function's requests to one cluster)."""
    return 1 + stable_hash("cluster:" + key) % clusters


class FunctionCatalog:
    """Functions by number (their index) and by key."""

    def __init__(self) -> None:
        self.functions: list[FunctionInfo] = []
        self._index: dict[tuple[str, str], int] = {}

    def __len__(self) -> int:
        return len(self.functions)

    def __getitem__(self, i: int) -> FunctionInfo:
        return self.functions[i]

    def add(self, info: FunctionInfo) -> int:
        """Register ``info`` (or find it: same region and key); return its number."""
        k = (info.region, info.key)
        i = self._index.get(k)
        if i is None:
            i = self._index[k] = len(self.functions)
            self.functions.append(info)
        return i

    def find(self, region: str, key: str) -> int | None:
        return self._index.get((region, key))

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "func": range(len(self.functions)),
                "funcID": [f.key for f in self.functions],
                "region": [f.region for f in self.functions],
                "pool": [f.pool for f in self.functions],
                "cpu_limit_m": [f.cpu_limit_m for f in self.functions],
                "memory_mb": [f.memory_mb for f in self.functions],
                "runtime": [f.runtime for f in self.functions],
                "trigger": [f.trigger for f in self.functions],
                "home_cluster": [f.home_cluster for f in self.functions],
            }
        )
