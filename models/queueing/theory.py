"""Closed-form queueing results, the references the simulated queues are checked against.

* Erlang-C: M/M/c FIFO probability of waiting and mean wait.
* Pollaczek-Khinchine: M/G/1 FIFO mean wait from the service time's first two moments.
* Processor sharing: M/G/1-PS mean response E[S]/(1-rho) (insensitive to the service
  distribution); M/M/c-PS has the same number-in-system process as M/M/c, hence the same mean
  response time as M/M/c FIFO.

All times in seconds, rates in 1/s.
"""

from __future__ import annotations

import math


def _check(servers: int, arrival_rate: float, service_rate: float) -> float:
    if servers < 1 or arrival_rate <= 0 or service_rate <= 0:
        raise ValueError("need servers >= 1 and positive rates")
    rho = arrival_rate / (servers * service_rate)
    if rho >= 1:
        raise ValueError(f"unstable queue: utilization {rho:.3f} >= 1")
    return rho


def erlang_c(servers: int, arrival_rate: float, service_rate: float) -> float:
    """Probability that an arriving customer waits in an M/M/c queue."""
    rho = _check(servers, arrival_rate, service_rate)
    a = arrival_rate / service_rate  # offered load in Erlangs
    # Erlang B by the stable recursion, then C from B.
    b = 1.0
    for k in range(1, servers + 1):
        b = a * b / (k + a * b)
    return b / (1 - rho * (1 - b))


def mmc_mean_wait(servers: int, arrival_rate: float, service_rate: float) -> float:
    """Mean time in queue (before service) of an M/M/c FIFO queue."""
    rho = _check(servers, arrival_rate, service_rate)
    return erlang_c(servers, arrival_rate, service_rate) / (servers * service_rate * (1 - rho))


def mmc_mean_response(servers: int, arrival_rate: float, service_rate: float) -> float:
    return mmc_mean_wait(servers, arrival_rate, service_rate) + 1.0 / service_rate


def mmc_wait_quantile(servers: int, arrival_rate: float, service_rate: float, q: float) -> float:
    """Quantile ``q`` of the M/M/c FIFO waiting time (0 below the no-wait mass)."""
    pw = erlang_c(servers, arrival_rate, service_rate)
    if q <= 1 - pw:
        return 0.0
    theta = servers * service_rate - arrival_rate
    return math.log(pw / (1 - q)) / theta


def mg1_mean_wait(arrival_rate: float, mean_service_s: float, service_cv: float) -> float:
    """Pollaczek-Khinchine mean wait of an M/G/1 FIFO queue; ``service_cv`` is the
    coefficient of variation of the service time."""
    rho = arrival_rate * mean_service_s
    if rho >= 1:
        raise ValueError(f"unstable queue: utilization {rho:.3f} >= 1")
    second_moment = mean_service_s**2 * (1 + service_cv**2)
    return arrival_rate * second_moment / (2 * (1 - rho))


def mg1_ps_mean_response(arrival_rate: float, mean_service_s: float) -> float:
    """Mean response time of M/G/1 processor sharing: E[S] / (1 - rho)."""
    rho = arrival_rate * mean_service_s
    if rho >= 1:
        raise ValueError(f"unstable queue: utilization {rho:.3f} >= 1")
    return mean_service_s / (1 - rho)
