"""Service-time distributions parameterised by mean and coefficient of variation (cv).

``exponential`` (cv = 1 by definition), ``deterministic`` (cv = 0), ``gamma`` and
``lognormal`` (any cv > 0). Draws are vectorised: a model asks for a block of values at once.
"""

from __future__ import annotations

import math

import numpy as np

DISTRIBUTIONS = ("exponential", "deterministic", "gamma", "lognormal")


def draw(rng: np.random.Generator, kind: str, mean: float, cv: float, size: int) -> np.ndarray:
    """``size`` draws with the given mean and coefficient of variation."""
    if kind == "exponential":
        return rng.exponential(mean, size)
    if kind == "deterministic":
        return np.full(size, mean)
    if cv <= 0:
        raise ValueError(f"{kind} service needs service_cv > 0")
    if kind == "gamma":
        shape = 1.0 / cv**2
        return rng.gamma(shape, mean / shape, size)
    if kind == "lognormal":
        sigma2 = math.log(1 + cv**2)
        return rng.lognormal(math.log(mean) - sigma2 / 2, math.sqrt(sigma2), size)
    raise ValueError(f"unknown distribution {kind!r}")


def effective_cv(kind: str, cv: float) -> float:
    """The cv a distribution actually has (exponential is 1, deterministic is 0)."""
    return {"exponential": 1.0, "deterministic": 0.0}.get(kind, cv)
