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
        "## `policy`, `workload`",
        "",
        inspect.cleandoc(PluginRef.__doc__ or "") + " A bare name is accepted: `policy: fifo`.",
        "",
        fields_table(PluginRef),
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
        if cls.policy_domain:
            parts += [f"Policies: domain `{cls.policy_domain}` (`sim list`).", ""]
        parts += [fields_table(cls.Params), ""]
    pols = registry.policies()
    if pols:
        parts += ["## Policies and their `params`", ""]
        for (domain, name), cls in pols.items():
            parts += [f"### `{domain}/{name}`", "", cls.description, ""]
            if cls.Params.model_fields:
                parts += [fields_table(cls.Params), ""]
    return "\n".join(parts).rstrip() + "\n"


if __name__ == "__main__":  # pragma: no cover
    sys.stdout.write(render())
