"""Java's ``String.hashCode``, ``java.util.Random`` and ``Objects.hash``, written from their
published specifications, so the model can replay exactly what a Java program derives from
them.

Why the model needs them
    The UWFQ artifact (kazemaksOG/spark-benchmark-tool, ``utils/PoissonWait.java``) seeds a
    ``java.util.Random`` with ``(user + workloadName).hashCode()`` and draws each gap
    between a user's jobs as ``(long)(-ln(nextDouble()) / lambda * 60000)`` milliseconds:
    the paper's arrival times are fixed by that rule. Its "Random" scheduler
    (``RandomSchedulingAlgorithm.java``) orders stages by
    ``Objects.hash(name, minShare, stageId, runningTasks, priority)``.

Sources (the algorithms are part of the Java SE API specification)
    * ``String.hashCode``: ``s[0]*31^(n-1) + ... + s[n-1]`` in 32-bit int arithmetic over
      UTF-16 code units (Java SE 17 API, class ``String``).
    * ``java.util.Random``: a 48-bit linear congruential generator; ``setSeed(seed)`` stores
      ``(seed ^ 0x5DEECE66D) & (2^48 - 1)``; ``next(bits)`` sets
      ``seed = (seed * 0x5DEECE66D + 0xB) & (2^48 - 1)`` and returns the top ``bits`` bits;
      ``nextDouble() = ((next(26) << 27) + next(27)) * 2^-53`` (Java SE 17 API, class
      ``Random``).
    * ``Objects.hash(a, b, ...)`` = ``Arrays.hashCode(new Object[]{a, b, ...})``: start at 1,
      then ``31 * result + element.hashCode()`` per element; an ``Integer``'s hash is its
      value (Java SE 17 API, classes ``Objects``, ``Arrays``, ``Integer``).
"""

from __future__ import annotations

import math

_MASK48 = (1 << 48) - 1
_MULT = 0x5DEECE66D


def to_int32(x: int) -> int:
    """``x`` wrapped to a signed 32-bit integer (Java ``int`` overflow)."""
    x &= 0xFFFFFFFF
    return x - (1 << 32) if x >= (1 << 31) else x


def string_hash(s: str) -> int:
    """Java's ``String.hashCode`` of ``s`` (a signed 32-bit int)."""
    data = s.encode("utf-16-be")
    h = 0
    for i in range(0, len(data), 2):
        h = (31 * h + (data[i] << 8 | data[i + 1])) & 0xFFFFFFFF
    return to_int32(h)


def objects_hash(*values: int | str) -> int:
    """Java's ``Objects.hash(values...)`` for strings and ints (a signed 32-bit int)."""
    result = 1
    for v in values:
        element = string_hash(v) if isinstance(v, str) else to_int32(int(v))
        result = (31 * result + element) & 0xFFFFFFFF
    return to_int32(result)


class JavaRandom:
    """``java.util.Random``: the same sequence as Java for the same seed."""

    __slots__ = ("_seed",)

    def __init__(self, seed: int):
        self.set_seed(seed)

    def set_seed(self, seed: int) -> None:
        self._seed = (int(seed) ^ _MULT) & _MASK48

    def next_bits(self, bits: int) -> int:
        self._seed = (self._seed * _MULT + 0xB) & _MASK48
        return to_int32(self._seed >> (48 - bits)) if bits == 32 else self._seed >> (48 - bits)

    def next_double(self) -> float:
        return ((self.next_bits(26) << 27) + self.next_bits(27)) * (1.0 / (1 << 53))


def poisson_wait_ms(rng: JavaRandom, rate_per_min: float) -> int:
    """One gap of the artifact's ``PoissonWait``: ``(long)(-ln(u) / lambda * 60000)`` ms for a
    rate ``lambda`` per minute, 0 when the rate is 0 (a burst)."""
    if rate_per_min == 0:
        return 0
    u = rng.next_double()
    if u <= 0.0:  # ln(0): Java would cast +inf to Long.MAX_VALUE; cap instead
        return 10**12
    return int((-math.log(u) / rate_per_min) * 60_000.0)


def authors_gaps_s(seed_text: str, rate_per_min: float, count: int) -> list[float]:
    """The first ``count`` gaps (seconds) the artifact draws for a workload whose seed
    string is ``user + workloadName``."""
    rng = JavaRandom(string_hash(seed_text))
    return [poisson_wait_ms(rng, rate_per_min) / 1000.0 for _ in range(count)]
