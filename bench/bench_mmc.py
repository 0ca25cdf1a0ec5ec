"""M/M/c throughput: the project's ``queueing.mmc`` against two baselines in one process.

(a) ``queueing.mmc`` built and run through the engine (Simulation, named streams, probes);
(b) a bare SimPy M/M/c written the textbook way: one process per customer that requests a
    ``simpy.Resource``, with ``random.expovariate`` draws;
(c) a hand-written event loop on ``heapq`` (arrival and departure events, a FIFO deque).

All three simulate the same queue (c = 3, utilization 0.8, FIFO) for the same number of
customers. Reported: customers per wall-clock second of each, and the ratios a/b and a/c.
Absolute speeds vary between machines; the ratios are what to compare.
"""

from __future__ import annotations

import heapq
import random
import time
from collections import deque

import simpy

SERVERS, ARRIVAL_RATE, SERVICE_RATE = 3, 2.4, 1.0


def run_project(customers: int, seed: int = 1) -> float:
    from sim_models.queueing.mmc import MMc

    from sim.core import Simulation

    model = MMc(
        MMc.Params(
            servers=SERVERS,
            arrival_rate=ARRIVAL_RATE,
            service_rate=SERVICE_RATE,
            customers=customers,
        )
    )
    sim = Simulation(seed)
    model.build(sim)
    sim.run()
    return model.summary()["wait_s.mean"]


def run_bare_simpy(customers: int, seed: int = 1) -> float:
    rnd = random.Random(seed)
    env = simpy.Environment()
    servers = simpy.Resource(env, capacity=SERVERS)
    waits: list[float] = []

    def customer(env):
        arrive = env.now
        with servers.request() as req:
            yield req
            waits.append(env.now - arrive)
            yield env.timeout(rnd.expovariate(SERVICE_RATE))

    def source(env):
        for _ in range(customers):
            yield env.timeout(rnd.expovariate(ARRIVAL_RATE))
            env.process(customer(env))

    env.process(source(env))
    env.run()
    return sum(waits) / len(waits)


def run_heapq(customers: int, seed: int = 1) -> float:
    rnd = random.Random(seed)
    events: list[tuple[float, int, int]] = []  # (time, seq, kind) kind 0 arrival, 1 departure
    seq = 0
    queue: deque[float] = deque()
    busy = 0
    arrived = 0
    waits: list[float] = []
    heapq.heappush(events, (rnd.expovariate(ARRIVAL_RATE), seq, 0))
    while events:
        now, _, kind = heapq.heappop(events)
        if kind == 0:
            arrived += 1
            if arrived < customers:
                seq += 1
                heapq.heappush(events, (now + rnd.expovariate(ARRIVAL_RATE), seq, 0))
            if busy < SERVERS:
                busy += 1
                waits.append(0.0)
                seq += 1
                heapq.heappush(events, (now + rnd.expovariate(SERVICE_RATE), seq, 1))
            else:
                queue.append(now)
        else:
            if queue:
                waits.append(now - queue.popleft())
                seq += 1
                heapq.heappush(events, (now + rnd.expovariate(SERVICE_RATE), seq, 1))
            else:
                busy -= 1
    return sum(waits) / len(waits)


def _rate(fn, customers: int, repeats: int) -> float:
    best = float("inf")
    for r in range(repeats):
        t0 = time.perf_counter()
        fn(customers, seed=r + 1)
        best = min(best, time.perf_counter() - t0)
    return customers / best


def bench_mmc(quick: bool = False) -> dict[str, float]:
    customers = 30_000 if quick else 200_000
    repeats = 2 if quick else 3
    a = _rate(run_project, customers, repeats)
    b = _rate(run_bare_simpy, customers, repeats)
    c = _rate(run_heapq, customers, repeats)
    return {
        "mmc.customers": float(customers),
        "mmc.project_customers_per_s": a,
        "mmc.simpy_customers_per_s": b,
        "mmc.heapq_customers_per_s": c,
        "mmc.ratio_vs_simpy": a / b,
        "mmc.ratio_vs_heapq": a / c,
    }
