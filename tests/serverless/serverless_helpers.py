"""Small workloads and runners shared by the serverless tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sim_models.serverless.functions import FunctionCatalog, FunctionInfo, home_cluster
from sim_models.serverless.platform import Platform

from sim.core import Simulation
from sim.model import Workload
from sim.registry import get_policy
from sim.workload import Arrivals


class RandomRequests(Workload):
    """Requests of ``functions`` functions with lognormal rates over ``hours`` (a test
    double; function ``i``'s runtime cycles through Python3, Java, Custom, Node.js)."""

    def __init__(self, functions=120, requests=20_000, hours=6.0, seed=1, region="R2",
                 runtimes=("Python3", "Java", "Custom", "Node.js")):  # fmt: skip
        super().__init__()
        rng = np.random.default_rng(seed)
        self.catalog = FunctionCatalog()
        for i in range(functions):
            key = f"{i}---{i % 40}---pool22-300-128"
            self.catalog.add(FunctionInfo(key, region, runtime=runtimes[i % len(runtimes)],
                                          trigger="TIMER-A" if i % 5 == 0 else "APIG-S",
                                          home_cluster=home_cluster(key)))  # fmt: skip
        rates = rng.lognormal(-4, 2, functions)
        self.t = np.sort(rng.uniform(0, hours * 3600, requests))
        self.f = rng.choice(functions, requests, p=rates / rates.sum())
        self.e = rng.lognormal(-2.5, 1.2, requests)

    def batches(self):
        for i in range(0, len(self.t), 5000):
            sl = slice(i, i + 5000)
            yield Arrivals(self.t[sl], {"func": self.f[sl], "exec_s": self.e[sl]})


def policy(domain: str, name: str, **params):
    cls = get_policy(f"serverless.{domain}", name)
    return cls(cls.Params(**params) if params else None)


def run_platform(workload, engine="simpy", keep_alive=("ttl", {}), pool=("unlimited", {}),
                 prewarm="none", seed=3, region_routing=("home", {}), **params) -> Platform:  # fmt: skip
    pols = {
        "keep_alive": policy("keep_alive", keep_alive[0], **keep_alive[1]),
        "pool_sizing": policy("pool_sizing", pool[0], **pool[1]),
        "prewarm": policy("prewarm", prewarm),
        "region_routing": policy("region_routing", region_routing[0], **region_routing[1]),
    }
    params.setdefault("function_seed", 5)
    m = Platform(Platform.Params(engine=engine, **params), policies=pols, workload=workload)
    sim = Simulation(seed)
    m.attach(sim)
    m.build(sim)
    sim.run()
    m.finish()
    return m


def pods_by_function(m: Platform) -> pd.DataFrame:
    """Per-pod records without the global pod number, ordered by function and creation."""
    pods = m.records.frame().drop(columns=["pod", "trigger_req"])
    return pods.sort_values(["func", "created_s", "cluster"], kind="stable").reset_index(drop=True)
