"""The quickstart's claims: the reference queue against its closed forms.

Not a paper: this "reproduction" shows the machinery end to end on a model whose right
answers are known (Erlang-C for M/M/c, Pollaczek-Khinchine for M/G/1). The "published"
column holds the closed-form value, computed from the experiment's parameters.
"""

from __future__ import annotations

from sim_models.queueing import theory

from sim.reproduce import Claim, Outcome, Paper, register_paper
from sim.stats import ok_rows


def _erlang_c_wait(oc: Outcome) -> float:
    return oc.metric("wait_s.mean")


def _sweep_mean(oc: Outcome, metric: str, arrival_rate: float) -> float:
    t = oc.table
    t = ok_rows(t)
    rows = t[t["params.arrival_rate"] == arrival_rate]
    if rows.empty:
        raise ValueError(f"no finished run at arrival_rate={arrival_rate}")
    return float(rows[metric].mean())


PAPER = register_paper(
    Paper(
        id="quickstart",
        title="Reference queues against closed forms (engine check)",
        section="Erlang-C, Pollaczek-Khinchine and M/G/1-PS formulas",
        experiments=["mmc", "mmc_sweep"],
        claims=[
            Claim(
                id="mmc_wait",
                description="M/M/3 at utilization 0.8: mean wait (Erlang-C)",
                experiment="mmc",
                unit="s",
                compute=_erlang_c_wait,
                published=theory.mmc_mean_wait(3, 2.4, 1.0),
                source="Erlang-C formula",
            ),
            Claim(
                id="mmc_utilization",
                description="M/M/3 at utilization 0.8: server utilization",
                experiment="mmc",
                unit="",
                compute=lambda oc: oc.metric("utilization.mean"),
                published=0.8,
                source="lambda / (c mu)",
            ),
            Claim(
                id="mm2_wait_rho_0.9",
                description="M/M/2 at utilization 0.9: mean wait over replications (sweep)",
                experiment="mmc_sweep",
                unit="s",
                compute=lambda oc: _sweep_mean(oc, "wait_s.mean", arrival_rate=1.8),
                published=theory.mmc_mean_wait(2, 1.8, 1.0),
                source="Erlang-C formula",
            ),
        ],
    )
)
