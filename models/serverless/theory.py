"""Closed forms for one function under scale-per-request with a fixed keep-alive: the
references the simulation must match (used by the tests; no simulation code uses them).

Notation: Poisson arrivals at rate ``lam``; exponential services with means ``warm`` and
``cold`` (start-up included); at most ``c`` instances (Erlang's loss formula B(c, a)).

* keep-alive 0: instances exist only while they serve, every admitted request is a cold
  start: an M/M/c/c loss system with offered load ``lam * cold``;
* keep-alive longer than the horizon: once ``c`` instances exist none is ever deleted and
  every admitted request is warm: M/M/c/c with offered load ``lam * warm``;
* one instance (``c = 1``), any keep-alive ``k``: after each service the gap to the next
  arrival is exponential (memoryless), so an admitted request is cold with probability
  ``exp(-lam k)``; cycles of service and gap give the rest (:func:`single_instance`).
"""

from __future__ import annotations

import math


def erlang_b(c: int, a: float) -> float:
    """Erlang's loss probability B(c, a) (the stable recursion)."""
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def keepalive_zero(lam: float, cold: float, c: int) -> dict[str, float]:
    b = erlang_b(c, lam * cold)
    running = lam * (1.0 - b) * cold
    return {
        "cold_start_prob": 1.0 - b,
        "rejection_prob": b,
        "instances.mean": running,
        "instances_running.mean": running,
        "instances_idle.mean": 0.0,
    }


def keepalive_infinite(lam: float, warm: float, c: int) -> dict[str, float]:
    b = erlang_b(c, lam * warm)
    running = lam * (1.0 - b) * warm
    return {
        "cold_start_prob": 0.0,
        "rejection_prob": b,
        "instances.mean": float(c),
        "instances_running.mean": running,
        "instances_idle.mean": c - running,
    }


def single_instance(lam: float, warm: float, cold: float, keep: float) -> dict[str, float]:
    p = math.exp(-lam * keep)  # an admitted request finds no instance
    service = p * cold + (1.0 - p) * warm
    admitted = 1.0 / (1.0 + lam * service)
    gap = 1.0 / lam
    short_gap = (gap - (keep + gap) * p) / (1.0 - p) if p < 1.0 else 0.0  # E[gap | gap < keep]
    cycle = service + gap
    alive = service + (1.0 - p) / lam  # service + E[min(gap, keep)]
    lifespan = cold + (1.0 - p) / p * (warm + short_gap) + keep
    return {
        "cold_start_prob": admitted * p,
        "rejection_prob": 1.0 - admitted,
        "instances.mean": alive / cycle,
        "instances_running.mean": service / cycle,
        "instances_idle.mean": (alive - service) / cycle,
        "instance_lifespan_s.mean": lifespan,
    }
