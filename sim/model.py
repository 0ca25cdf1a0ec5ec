"""Base classes for models, policies and workloads, and the policy slots that join them.

A model declares its parameters as a pydantic class ``Params`` whose field names are the
experiment file's ``params`` keys (units in the names), builds its SimPy processes in
:meth:`Model.build`, and returns a flat ``{metric: number}`` from :meth:`Model.summary`.
Optionally it returns DataFrames from :meth:`Model.tables` (written as Parquet), PNG files
from :meth:`Model.figures`, other files from :meth:`Model.files`, and figures over a whole
sweep from :meth:`Model.sweep_figures`.

A *policy* is a pluggable decision rule (keep-alive, scheduler, routing). A model names the
decisions it delegates as *slots*: ``slots = {"routing": Slot("hw.routing", "ecmp")}``.
Experiment files choose per slot (``policies: {routing: dmodk}``); a slot left out gets its
default. Inside the model, ``self.policies["routing"]`` is the policy object; a model with
one slot may also use ``self.policy``.

A *workload* produces the load a model is driven by: batches of arrivals
(:class:`sim.workload.Arrivals`, a time column plus attribute columns) from
:meth:`Workload.batches`.

Policies and workloads are bound to the run before ``build``: :meth:`Plugin.bind` gives them
a :class:`sim.scope.Scope` (their random streams, probes and spans, named
``<model>.<slot>``) and the :class:`RunContext`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pandas as pd
from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from sim.core import Simulation
    from sim.scope import Scope
    from sim.workload import Arrivals


class Params(BaseModel):
    """Base for every ``Params`` class: unknown keys are errors, values are validated on
    assignment too, and infinities and NaN are refused (a field that means "forever" says
    so with ``Field(allow_inf_nan=True)`` or uses ``None``)."""

    model_config = ConfigDict(
        extra="forbid", validate_assignment=True, frozen=False, allow_inf_nan=False
    )


class NoParams(Params):
    pass


@dataclass
class RunContext:
    """What a model may need to know about the run beyond its params."""

    experiment_dir: Path = field(default_factory=Path.cwd)
    quick: bool = False
    seed: int = 0
    duration_s: float | None = None
    count: int | None = None

    def resolve(self, path: str | Path) -> Path:
        """A path from the experiment file, resolved against the file's folder."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else (self.experiment_dir / p)


@dataclass(frozen=True)
class Slot:
    """A decision a model delegates to a policy: the policy domain it draws from, the
    default policy's name (``None``: the slot may stay empty) and a one-line description."""

    domain: str
    default: str | None = None
    description: str = ""


class Plugin:
    """Common base: a registered name, a one-line description, and validated params."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    Params: ClassVar[type[Params]] = NoParams

    def __init__(self, params: Params | None = None):
        self.params = params if params is not None else self.Params()
        self.scope: Scope | None = None
        self.context: RunContext = RunContext()

    def bind(self, scope: Scope, context: RunContext | None = None) -> None:
        """Attach the run: random streams, probes and spans come from ``scope``. Called by
        the runner before :meth:`Model.build`; a model that creates plugins itself calls it."""
        self.scope = scope
        if context is not None:
            self.context = context


class Policy(Plugin):
    """A decision rule. Subclasses define the methods their model's slot calls."""

    domain: ClassVar[str] = ""


class Workload(Plugin):
    """A source of load: batches of arrivals with their attributes.

    ``columns`` names the attribute columns every batch carries (besides ``time_s``), with a
    description each; models check it for the columns they need.
    """

    columns: ClassVar[dict[str, str]] = {}

    def batches(self) -> Iterator[Arrivals]:
        """Arrivals in time order, one :class:`~sim.workload.Arrivals` batch at a time
        (bounded memory: a batch is at most a few hundred thousand rows)."""
        raise NotImplementedError


def _attaching(build):
    @functools.wraps(build)
    def wrapper(self, sim, *args, **kwargs):
        if self.sim is not sim or self.scope is None:
            self.attach(sim)
        return build(self, sim, *args, **kwargs)

    return wrapper


class Model(Plugin):
    """A simulation model. Subclasses implement :meth:`build` and :meth:`summary`.

    ``slots`` maps slot names to :class:`Slot` (policy domain, default). The older
    ``policy_domain`` / ``default_policy`` pair declares one slot named ``policy``.
    ``workload_required``: the model refuses to run without a workload.
    """

    slots: ClassVar[dict[str, Slot]] = {}
    policy_domain: ClassVar[str | None] = None
    default_policy: ClassVar[str | None] = None
    workload_required: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.policy_domain and "slots" not in cls.__dict__:
            cls.slots = {"policy": Slot(cls.policy_domain, cls.default_policy)}
        if "build" in cls.__dict__:  # a model built by hand is attached to its sim first
            cls.build = _attaching(cls.__dict__["build"])

    def __init__(
        self,
        params: Params | None = None,
        *,
        policies: dict[str, Policy] | None = None,
        policy: Policy | None = None,
        workload: Workload | None = None,
        context: RunContext | None = None,
    ):
        super().__init__(params)
        chosen = dict(policies or {})
        if policy is not None:
            chosen[self.single_slot()] = policy
        unknown = set(chosen) - set(self.slots)
        if unknown:
            raise ValueError(f"model {self.name!r} has no slot {sorted(unknown)[0]!r}")
        self.policies: dict[str, Policy | None] = {}
        for slot_name, slot in self.slots.items():
            pol = chosen.get(slot_name)
            if pol is None and slot.default is not None:
                from sim.registry import get_policy

                pol = get_policy(slot.domain, slot.default)()
            self.policies[slot_name] = pol
        self.workload = workload
        self.context = context if context is not None else RunContext()
        self.sim: Simulation | None = None

    @classmethod
    def single_slot(cls) -> str:
        """The name of the model's only slot (the ``policy:`` key addresses it)."""
        if len(cls.slots) != 1:
            raise ValueError(
                f"model {cls.name!r} has {len(cls.slots)} policy slots; "
                "choose per slot with `policies:`"
            )
        return next(iter(cls.slots))

    @property
    def policy(self) -> Policy | None:
        """The policy of a one-slot model (``None`` for a model without slots)."""
        if not self.slots:
            return None
        return self.policies[self.single_slot()]

    # -- lifecycle hooks ------------------------------------------------------------------
    def attach(self, sim: Simulation) -> None:
        """Bind the model to ``sim`` (scope ``<model name>``), its policies to
        ``<model>.<slot>`` and its workload to ``<model>.workload``. The runner calls this
        before :meth:`build` (and ``build`` calls it for a model built by hand)."""
        self.sim = sim
        self.bind(sim.scope(self.name or type(self).__name__.lower()), self.context)
        for slot_name, pol in self.policies.items():
            if pol is not None:
                pol.bind(self.scope.child(slot_name), self.context)
        if self.workload is not None:
            self.workload.bind(self.scope.child("workload"), self.context)

    def build(self, sim: Simulation) -> None:
        raise NotImplementedError

    def summary(self) -> dict[str, float]:
        raise NotImplementedError

    def tables(self) -> dict[str, pd.DataFrame]:
        """Named DataFrames, written as ``<name>.parquet``."""
        return {}

    def figures(self, out_dir: Path) -> list[Path]:
        """PNG figures of one run, written into ``out_dir``."""
        return []

    def files(self, out_dir: Path) -> list[Path]:
        """Other files of one run (CSV, text), written into ``out_dir``."""
        return []

    @classmethod
    def sweep_figures(cls, table: pd.DataFrame, out_dir: Path) -> list[Path]:
        """Figures and tables over a whole sweep (``table``: one row per run)."""
        return []

    def describe(self) -> dict[str, Any]:
        return {"model": self.name, "params": self.params.model_dump()}
