"""Region-routing policies (domain ``serverless.region_routing``): which region serves a
request of a function deployed in several regions (the same function key in several
regions of the workload).

``home``
    Always the function's own region.
``cross_region``
    The direction of §5 of the Huawei paper (cross-region scheduling; inter-DC latency of
    tens to a few hundred ms): when the home region has no pod free for the request and
    another region has a ready one, serve it there if the network penalty is below the
    cold start expected at home (the mean of the function's cold starts so far, or the
    home region's running mean before it has one).
"""

from __future__ import annotations

from pydantic import Field

from sim.model import Params, Policy
from sim.registry import policy

from . import REGION_ROUTING


class RegionRouting(Policy):
    cross: bool = False
    penalty_s: float = 0.0


@policy(REGION_ROUTING, "home", "serve every request in its function's own region")
class HomeRegion(RegionRouting):
    pass


@policy(REGION_ROUTING, "cross_region", "serve from another region's warm pod when its network penalty is below the expected cold start")  # fmt: skip
class CrossRegion(RegionRouting):
    cross = True

    class Params(Params):
        penalty_s: float = Field(0.1, ge=0, le=10, description="added latency of a remote region (s)")  # fmt: skip

    @property
    def penalty_s(self) -> float:  # type: ignore[override]
        return self.params.penalty_s
