"""The experiment-file schema reference, generated from the pydantic models.

``python -m sim.schema > docs/experiment-schema.md`` regenerates the reference; a test
checks that the committed file is in sync with the code.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from sim.config import ExperimentConfig, OutputsConfig, PluginRef, StopConfig


def _type_name(annotation: Any) -> str:
    text = str(annotation)
    if "[" not in text and "|" not in text:
        text = getattr(annotation, "__name__", text)
    for prefix in ("typing.", "sim.config.", "pathlib."):
        text = text.replace(prefix, "")
    return text.replace("NoneType", "None").replace("|", "\\|")


def _default(field: Any) -> str:
    if field.default is PydanticUndefined:
        return "required" if field.default_factory is None else "(default)"
    value = field.default
    return "" if value is None else f"`{value!r}`"


def fields_table(cls: type[BaseModel]) -> str:
    rows = ["| key | type | default | description |", "|---|---|---|---|"]
    for name, field in cls.model_fields.items():
        desc = (field.description or "").replace("|", "\\|")
        rows.append(f"| `{name}` | {_type_name(field.annotation)} | {_default(field)} | {desc} |")
    return "\n".join(rows)


def render() -> str:
    from sim import registry

    parts = [
        "# Experiment file reference",
        "",
        "Generated from the code by `python -m sim.schema`; a test keeps it in sync.",
        "",
        "## Top level",
        "",
        inspect.cleandoc(ExperimentConfig.__doc__ or ""),
        "",
        fields_table(ExperimentConfig),
        "",
        "Dotted keys (`params.servers`) address nested values in `sweep`, `quick` and",
        "`--set KEY=VALUE` (values are parsed as YAML: `--set params.servers=4`).",
        "",
        "## `stop`",
        "",
        inspect.cleandoc(StopConfig.__doc__ or ""),
        "",
        fields_table(StopConfig),
        "",
        "## `policies`, `policy`, `workload`",
        "",
        inspect.cleandoc(PluginRef.__doc__ or "") + " A bare name is accepted: `policy: fifo`.",
        "",
        fields_table(PluginRef),
        "",
        "`policies` maps a model's slot names to such references (`policies: {routing: ecmp}`);",
        "slots left out use their default. `policy` addresses the only slot of a one-slot model.",
        "Override or sweep a slot like a param: `--set policies.routing=ecmp`,",
        "`--set policies.keep_alive.params.ttl_s=600`, `sweep: {policies.routing: [ecmp, dmodk]}`.",
        "",
        "## `outputs`",
        "",
        inspect.cleandoc(OutputsConfig.__doc__ or ""),
        "",
        fields_table(OutputsConfig),
        "",
        "## Models and their `params`",
        "",
    ]
    for name, cls in registry.models_().items():
        parts += [f"### `{name}`", "", cls.description, ""]
        if cls.slots:
            parts += ["| slot | policy domain | default | decides |", "|---|---|---|---|"]
            for slot_name, slot in cls.slots.items():
                parts.append(
                    f"| `{slot_name}` | `{slot.domain}` | `{slot.default}` | {slot.description} |"
                )
            parts.append("")
        if cls.workload_required:
            parts += ["Needs a `workload`.", ""]
        parts += [fields_table(cls.Params), ""]
    pols = registry.policies()
    if pols:
        parts += ["## Policies and their `params`", ""]
        for (domain, name), cls in pols.items():
            parts += [f"### `{domain}/{name}`", "", cls.description, ""]
            if cls.Params.model_fields:
                parts += [fields_table(cls.Params), ""]
    wls = registry.workloads()
    if wls:
        parts += ["## Workloads and their `params`", ""]
        for name, cls in wls.items():
            parts += [f"### `{name}`", "", cls.description, ""]
            if cls.Params.model_fields:
                parts += [fields_table(cls.Params), ""]
    return "\n".join(parts).rstrip() + "\n"


if __name__ == "__main__":  # pragma: no cover
    sys.stdout.write(render())
