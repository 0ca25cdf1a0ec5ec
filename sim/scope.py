"""Scopes: dotted names that give a component its random streams, probes, tables and spans.

Every component of a run (a model, a policy, a GPU, a flow network) gets a
:class:`Scope` with a dotted name (``hw.collective``, ``t3.sublayer.gpu3.hbm``). What the
component creates through its scope carries that name as a prefix:

* ``scope.rng("arrivals")`` is the random stream ``<scope>.arrivals``: streams of
  different components, or of two packages, never collide, and adding a component never
  shifts another's numbers (:mod:`sim.rng`);
* ``scope.probe("wait_s")``, ``scope.table(...)``, ``scope.columns(...)`` are the recorder's
  buffers ``<scope>.<name>``;
* ``scope.span(...)`` puts a span on the Perfetto track ``<scope>`` (or
  ``<scope>/<track>``), so ``--trace`` shows each part of the hardware on its own row.

``scope.child("gpu3")`` gives the scope ``<scope>.gpu3``. A component built without a scope
(in a unit test, say) records nothing: :data:`NULL_SCOPE` keeps the calls valid.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from sim.core import Simulation
    from sim.recorder import ColumnTable, Probe, Table


class Scope:
    """A dotted name within one :class:`~sim.core.Simulation`."""

    __slots__ = ("sim", "name", "tracing")

    def __init__(self, sim: Simulation | None, name: str):
        if sim is not None and not name:
            raise ValueError("a scope needs a name")
        self.sim = sim
        self.name = name
        self.tracing = bool(sim is not None and sim.timeline.enabled)

    def __repr__(self) -> str:
        return f"Scope({self.name!r})"

    def child(self, name: str) -> Scope:
        return Scope(self.sim, f"{self.name}.{name}" if self.name else name)

    def _full(self, name: str) -> str:
        return f"{self.name}.{name}" if name else self.name

    @property
    def env(self):
        return self.sim.env if self.sim is not None else None

    @property
    def now(self) -> float:
        return self.sim.env.now if self.sim is not None else 0.0

    def rng(self, name: str = "") -> np.random.Generator:
        """The random stream ``<scope>.<name>``."""
        if self.sim is None:
            raise RuntimeError("a component without a scope has no random streams; pass one")
        return self.sim.rng(self._full(name))

    def probe(self, name: str) -> Probe:
        if self.sim is None:
            from sim.recorder import Probe

            return Probe(name)
        return self.sim.recorder.probe(self._full(name))

    def table(self, name: str, columns: Sequence[str]) -> Table:
        if self.sim is None:
            from sim.recorder import Table

            return Table(name, columns)
        return self.sim.recorder.table(self._full(name), columns)

    def columns(self, name: str, schema: dict[str, str], **kwargs: Any) -> ColumnTable:
        """A typed columnar table (:class:`sim.recorder.ColumnTable`)."""
        if self.sim is None:
            from sim.recorder import ColumnTable

            return ColumnTable(name, schema, **kwargs)
        return self.sim.recorder.columns(self._full(name), schema, **kwargs)

    def span(
        self,
        name: str,
        start_s: float,
        end_s: float,
        track: str = "",
        args: dict[str, Any] | None = None,
    ) -> None:
        """A span on track ``<scope>`` (or ``<scope>/<track>``); a no-op unless tracing."""
        if self.tracing:
            self.sim.timeline.span(
                name,
                start_s,
                end_s,
                track=f"{self.name}/{track}" if track else self.name,
                category=self.name.split(".", 1)[0],
                args=args,
            )


#: The scope of a component built outside a run: records nothing, has no streams.
NULL_SCOPE = Scope(None, "")


def scope_of(scope: Scope | None) -> Scope:
    """``scope``, or :data:`NULL_SCOPE` when a component was given none."""
    return scope if scope is not None else NULL_SCOPE
