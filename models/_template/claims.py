"""The template's claims: what `sim reproduce template` would report.

Each claim names the experiment it reads (a file in experiments/<package>/), the published
value with its primary source (paper section, table or figure; here a closed form), a unit,
and a function from the experiment's outcome to the simulated value. The simulated value
is always computed from simulation output, never typed in.
"""

from __future__ import annotations

from sim.reproduce import Claim, Outcome, Paper, register_paper
from sim.stats import ok_rows


def _mm1_response(oc: Outcome) -> float:
    rows = ok_rows(oc.table)
    return float(rows.loc[rows["policies.dispatch"] == "random", "response_s.mean"].mean())


PAPER = register_paper(
    Paper(
        id="template",
        title="Template package (example claims against a closed form)",
        section="M/M/1 mean response time 1/(mu - lambda) per server under random dispatch",
        experiments=["dispatch_sweep"],
        claims=[
            Claim(
                id="template.mm1_response_s",
                description="random dispatch to 2 servers at load 0.5: mean response (M/M/1)",
                experiment="dispatch_sweep",
                unit="s",
                compute=_mm1_response,
                published=1.0 / (1.0 - 0.5),
                source="M/M/1: 1 / (mu - lambda), mu = 1/s, lambda = 0.5/s per server",
            )
        ],
    )
)
