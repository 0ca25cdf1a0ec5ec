"""Pydantic models of the experiment file.

An experiment file is YAML with these top-level keys (unknown keys are errors)::

    name: mmc-quickstart            # required
    description: "..."              # optional
    model: queueing.mmc             # required: a registered model name (`sim list`)
    seed: 1                         # base seed; each run's seed derives from it
    replications: 1                 # independent runs per configuration
    stop: {duration_s: 1000, count: 50000}   # optional; whichever comes first
    params: {...}                   # validated by the model's own Params class
    policies: {routing: ecmp, keep_alive: {name: ttl, params: {ttl_s: 600}}}  # per slot
    policy: {name: fifo, params: {...}}      # the same, for a model with one slot
    workload: {name: ..., params: {...}}     # or just a name; optional
    sweep: {params.servers: [1, 2, 4]}       # dotted key -> list; factorial grid
    quick: {params.customers: 2000}          # overrides applied under --quick
    outputs: {metrics: [...], figures: true, tables: true, trace: false}

The model's, policy's and workload's params are checked against their own ``Params``
classes by :mod:`sim.experiment`, after the registered names are resolved.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


#: Bounds that keep every run finite: no experiment needs more.
MAX_DURATION_S = 1e15
MAX_COUNT = 10**12
MAX_REPLICATIONS = 10_000
MAX_SEED = 2**63 - 1
#: Most runs (grid points x replications) in one sweep: each run writes a folder.
MAX_GRID_POINTS = 100_000
#: Experiment names become folder names: no path separators, no leading dot.
NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.+-]*$"


class StopConfig(_Strict):
    """When a run ends: after ``duration_s`` simulated seconds and/or ``count`` completions
    (whichever comes first). With neither, the run ends when no events are left."""

    duration_s: float | None = Field(
        default=None, gt=0, le=MAX_DURATION_S, description="simulated seconds"
    )
    count: int | None = Field(
        default=None, gt=0, le=MAX_COUNT, description="completed units of work"
    )


class PluginRef(_Strict):
    """A registered policy or workload by name, with its params. For a policy slot the
    name may be left out (the slot's default is used with the params given)."""

    name: str | None = Field(None, description="registered name (`sim list`)")
    params: dict[str, Any] = Field(default_factory=dict, description="its params")

    @model_validator(mode="before")
    @classmethod
    def _name_only(cls, v: Any) -> Any:
        return {"name": v} if isinstance(v, str) else v


class OutputsConfig(_Strict):
    """What a run writes besides config.yaml, manifest.json and summary.json."""

    metrics: list[str] | None = Field(
        default=None, description="keep only these summary keys (default: all)"
    )
    figures: bool = Field(True, description="write the model's PNG figures")
    tables: bool = Field(True, description="write the model's tables as Parquet")
    trace: bool = Field(default=False, description="write trace.json (Chrome/Perfetto spans)")
    report_metrics: list[str] | None = Field(
        default=None,
        max_length=40,
        description="summary keys shown for this experiment in sim reproduce's REPORT.md "
        "(default: the first 8 means of a sweep, the first 20 keys of a run)",
    )


class ExperimentConfig(_Strict):
    """One experiment file."""

    name: str = Field(
        min_length=1,
        max_length=100,
        pattern=NAME_PATTERN,
        description="experiment name (letters, digits, _ . + -); default results folder",
    )
    description: str = Field(
        "", max_length=2000, description="one line saying what the experiment shows"
    )
    model: str = Field(
        min_length=1, max_length=200, description="registered model name (`sim list`)"
    )
    seed: int = Field(
        default=0, ge=0, le=MAX_SEED, description="base seed; run seeds derive from it"
    )
    replications: int = Field(
        default=1, ge=1, le=MAX_REPLICATIONS, description="independent runs per configuration"
    )
    stop: StopConfig = Field(default_factory=StopConfig, description="stop condition")
    params: dict[str, Any] = Field(
        default_factory=dict, description="the model's params (see the model's table below)"
    )
    policies: dict[str, PluginRef] = Field(
        default_factory=dict,
        description="slot -> policy name, or {name, params}; slots left out use their default",
    )
    policy: PluginRef | None = Field(
        None, description="the policy of a one-slot model: a name, or {name, params}"
    )
    workload: PluginRef | None = Field(None, description="workload name and params, or a name")
    sweep: dict[str, list[Any]] = Field(
        default_factory=dict, description="dotted key -> list of values; factorial grid"
    )
    quick: dict[str, Any] = Field(
        default_factory=dict, description="dotted key -> value, applied under --quick"
    )
    outputs: OutputsConfig = Field(default_factory=OutputsConfig, description="what to write")

    @field_validator("sweep")
    @classmethod
    def _sweep_lists(cls, v: dict[str, list[Any]]) -> dict[str, list[Any]]:
        runs = 1
        for key, values in v.items():
            if not values:
                raise ValueError(f"sweep key {key!r} has an empty list")
            runs *= len(values)
            if key.split(".", 1)[0] not in SWEEPABLE_ROOTS:
                raise ValueError(
                    f"sweep key {key!r} must start with one of {', '.join(SWEEPABLE_ROOTS)}"
                )
        if runs > MAX_GRID_POINTS:
            raise ValueError(
                f"the sweep grid has {runs:,} points; at most {MAX_GRID_POINTS:,} "
                "(split it into several experiments)"
            )
        return v

    @model_validator(mode="after")
    def _no_sweep_of_seed(self) -> ExperimentConfig:
        if "seed" in self.sweep:
            raise ValueError("sweep over 'seed' is not allowed; use replications")
        points = 1
        for values in self.sweep.values():
            points *= len(values)
        if points * self.replications > MAX_GRID_POINTS:
            raise ValueError(
                f"{points:,} grid points x {self.replications} replications is more than "
                f"{MAX_GRID_POINTS:,} runs (split it into several experiments)"
            )
        return self


#: Top-level keys a sweep or an override may address with a dotted key.
SWEEPABLE_ROOTS = ("params", "policies", "policy", "workload", "stop", "replications")

#: Keys that do not change what is simulated (left out of a run's content hash).
NON_SEMANTIC_KEYS = ("name", "description", "sweep", "quick", "outputs", "replications")
