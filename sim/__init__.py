"""sim: a discrete-event simulator on SimPy for large-scale computing systems.

The engine knows no domain. Models live in packages (this project's in ``sim_models``) and
register by name through entry points.
"""

from sim.core import Simulation
from sim.errors import UserError
from sim.model import Model, NoParams, Params, Policy, RunContext, Slot, Workload
from sim.recorder import cdf, summarize
from sim.registry import model, policy, workload

__version__ = "0.1.0"

__all__ = [
    "Model",
    "NoParams",
    "Params",
    "Policy",
    "RunContext",
    "Simulation",
    "Slot",
    "UserError",
    "Workload",
    "cdf",
    "model",
    "policy",
    "summarize",
    "workload",
    "__version__",
]
