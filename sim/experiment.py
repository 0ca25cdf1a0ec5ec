"""Experiment files: YAML + ``--set`` overrides -> one resolved, validated configuration.

Loading is safe (``yaml.safe_load``). Every problem becomes a :class:`~sim.errors.UserError`
that names the file, the key and, where the YAML has one, the line, with a "did you mean"
for misspelt keys and names. The model's ``params`` are validated by the model's own
``Params`` class; a policy's and a workload's likewise.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from sim import registry
from sim.config import NON_SEMANTIC_KEYS, SWEEPABLE_ROOTS, ExperimentConfig
from sim.errors import ConfigError, UserError, did_you_mean
from sim.model import Model, Params, Policy, Workload


@dataclass
class Experiment:
    """A validated experiment: its config, plugin classes and their validated params."""

    config: ExperimentConfig
    source: str
    experiment_dir: Path
    model_cls: type[Model]
    params: Params
    policy_cls: type[Policy] | None = None
    policy_params: Params | None = None
    workload_cls: type[Workload] | None = None
    workload_params: Params | None = None
    _yaml_text: str | None = field(default=None, repr=False)

    def resolved(self) -> dict[str, Any]:
        """The fully resolved configuration (defaults filled in) as plain data."""
        data = self.config.model_dump(mode="json")
        data["params"] = self.params.model_dump(mode="json")
        if self.policy_cls is not None:
            data["policy"] = {
                "name": self.policy_cls.name,
                "params": self.policy_params.model_dump(mode="json") if self.policy_params else {},
            }
        if self.workload_cls is not None:
            data["workload"] = {
                "name": self.workload_cls.name,
                "params": self.workload_params.model_dump(mode="json")
                if self.workload_params
                else {},
            }
        return data

    def content_hash(self, replication: int = 0) -> str:
        """A hash of what is simulated (model, params, policy, workload, stop, seed) and the
        replication index; names, descriptions and output choices do not enter it."""
        data = {k: v for k, v in self.resolved().items() if k not in NON_SEMANTIC_KEYS}
        data["replication"] = replication
        blob = json.dumps(data, sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def build_model(self, quick: bool = False, seed: int = 0) -> Model:
        from sim.model import RunContext

        policy = self.policy_cls(self.policy_params) if self.policy_cls else None
        workload = self.workload_cls(self.workload_params) if self.workload_cls else None
        ctx = RunContext(
            experiment_dir=self.experiment_dir,
            quick=quick,
            seed=seed,
            duration_s=self.config.stop.duration_s,
            count=self.config.stop.count,
        )
        return self.model_cls(self.params, policy=policy, workload=workload, context=ctx)


# -- YAML with line numbers ------------------------------------------------------------------


def line_of(yaml_text: str | None, keys: tuple[Any, ...]) -> int | None:
    """The 1-based line of the deepest node found along ``keys`` in ``yaml_text``."""
    if not yaml_text:
        return None
    try:
        node = yaml.compose(yaml_text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    line = None
    for key in keys:
        if isinstance(node, yaml.MappingNode):
            for k_node, v_node in node.value:
                if k_node.value == str(key):
                    line = k_node.start_mark.line + 1
                    node = v_node
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _where(source: str, yaml_text: str | None, keys: tuple[Any, ...]) -> str:
    dotted = ".".join(str(k) for k in keys)
    line = line_of(yaml_text, keys)
    loc = f"{source}:{line}" if line else source
    return f"{loc}: {dotted}" if dotted else loc


def _validation_error(
    exc: ValidationError,
    cls: type[BaseModel],
    source: str,
    yaml_text: str | None,
    prefix: tuple[Any, ...] = (),
) -> ConfigError:
    """Turn the first pydantic error into one clear line."""
    err = exc.errors()[0]
    loc = tuple(err["loc"])
    keys = prefix + loc
    if err["type"] == "extra_forbidden":
        # find the model that forbade the key to suggest its fields
        owner: Any = cls
        for part in loc[:-1]:
            field_info = getattr(owner, "model_fields", {}).get(part)
            ann = getattr(field_info, "annotation", None)
            owner = next(
                (a for a in getattr(ann, "__args__", (ann,)) if hasattr(a, "model_fields")), None
            )
            if owner is None:
                break
        choices = list(getattr(owner, "model_fields", {}) or [])
        msg = f"unknown key {loc[-1]!r}{did_you_mean(loc[-1], choices)}"
        if choices:
            msg += f"; valid keys: {', '.join(choices)}"
    elif err["type"] == "missing":
        msg = "required key is missing"
    else:
        msg = f"{err['msg']} (got {err.get('input')!r})"
    more = len(exc.errors()) - 1
    if more:
        msg += f" [and {more} more problem{'s' if more > 1 else ''}]"
    return ConfigError(msg, where=_where(source, yaml_text, keys))


# -- overrides -------------------------------------------------------------------------------


def parse_override(text: str) -> tuple[str, Any]:
    """``"params.servers=4"`` -> ``("params.servers", 4)``; the value is parsed as YAML."""
    if "=" not in text:
        raise ConfigError(f"override {text!r} is not KEY=VALUE", where="--set")
    key, _, raw = text.partition("=")
    key = key.strip()
    if not key:
        raise ConfigError(f"override {text!r} has an empty key", where="--set")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as exc:
        raise ConfigError(f"cannot parse value of {key!r}: {exc}", where="--set") from None
    return key, value


def set_dotted(data: dict[str, Any], key: str, value: Any, source: str = "--set") -> None:
    """Set ``data[a][b][c] = value`` for ``key = "a.b.c"``, creating mappings on the way."""
    parts = key.split(".")
    root = parts[0]
    allowed = (*SWEEPABLE_ROOTS, "seed", "model", "name", "description", "outputs")
    if root not in allowed:
        raise ConfigError(
            f"cannot override {key!r}: unknown top-level key {root!r}{did_you_mean(root, allowed)}",
            where=source,
        )
    node = data
    for i, part in enumerate(parts[:-1]):
        nxt = node.get(part)
        if nxt is None:
            nxt = node[part] = {}
        elif isinstance(nxt, str) and part in ("policy", "workload") and i == 0:
            nxt = node[part] = {"name": nxt}
        elif not isinstance(nxt, dict):
            raise ConfigError(f"cannot set {key!r}: {part!r} is not a mapping", where=source)
        node = nxt
    node[parts[-1]] = value


# -- loading ---------------------------------------------------------------------------------


def read_yaml(path: str | Path) -> tuple[dict[str, Any], str]:
    p = Path(path)
    if not p.exists():
        raise ConfigError("file not found", where=str(path))
    if p.is_dir():
        raise ConfigError("is a folder, not an experiment file", where=str(path))
    text = p.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"malformed YAML: {problem}", where=where) from None
    if data is None:
        raise ConfigError("the file is empty", where=str(path))
    if not isinstance(data, dict):
        raise ConfigError("an experiment file must be a mapping of keys", where=str(path))
    return data, text


def load(
    path: str | Path,
    overrides: list[str] | tuple[str, ...] = (),
    seed: int | None = None,
    quick: bool = False,
) -> Experiment:
    """Read, override and validate an experiment file."""
    data, text = read_yaml(path)
    return from_dict(
        data,
        source=str(path),
        experiment_dir=Path(path).resolve().parent,
        overrides=overrides,
        seed=seed,
        quick=quick,
        yaml_text=text,
    )


def apply_overrides(
    data: dict[str, Any],
    overrides: list[str] | tuple[str, ...] = (),
    seed: int | None = None,
    quick: bool = False,
    source: str = "<experiment>",
) -> dict[str, Any]:
    """A copy of ``data`` with, in order, its ``quick:`` block (when ``quick``), the
    ``KEY=VALUE`` overrides and the seed applied."""
    data = copy.deepcopy(data)
    if quick:
        for key, value in (data.get("quick") or {}).items():
            set_dotted(data, key, value, source=f"{source}: quick")
    for text in overrides:
        key, value = parse_override(text)
        set_dotted(data, key, value)
    if seed is not None:
        data["seed"] = seed
    return data


def from_dict(
    data: dict[str, Any],
    source: str = "<experiment>",
    experiment_dir: Path | None = None,
    overrides: list[str] | tuple[str, ...] = (),
    seed: int | None = None,
    quick: bool = False,
    yaml_text: str | None = None,
) -> Experiment:
    """Validate an experiment given as a mapping (as read from YAML)."""
    data = apply_overrides(data, overrides, seed=seed, quick=quick, source=source)
    try:
        config = ExperimentConfig.model_validate(data)
    except ValidationError as exc:
        raise _validation_error(exc, ExperimentConfig, source, yaml_text) from None
    try:
        model_cls = registry.get_model(config.model)
    except UserError as exc:
        raise ConfigError(exc.message, where=_where(source, yaml_text, ("model",))) from None
    params = _validate_params(model_cls.Params, config.params, source, yaml_text, ("params",))
    exp = Experiment(
        config=config,
        source=source,
        experiment_dir=experiment_dir or Path.cwd(),
        model_cls=model_cls,
        params=params,
        _yaml_text=yaml_text,
    )
    policy_ref = config.policy
    if policy_ref is None and model_cls.default_policy:
        from sim.config import PluginRef

        policy_ref = PluginRef(name=model_cls.default_policy)
    if policy_ref is not None:
        if not model_cls.policy_domain:
            raise ConfigError(
                f"model {config.model!r} takes no policy",
                where=_where(source, yaml_text, ("policy",)),
            )
        try:
            exp.policy_cls = registry.get_policy(model_cls.policy_domain, policy_ref.name)
        except UserError as exc:
            raise ConfigError(
                exc.message, where=_where(source, yaml_text, ("policy", "name"))
            ) from None
        exp.policy_params = _validate_params(
            exp.policy_cls.Params, policy_ref.params, source, yaml_text, ("policy", "params")
        )
    if config.workload is not None:
        try:
            exp.workload_cls = registry.get_workload(config.workload.name)
        except UserError as exc:
            raise ConfigError(
                exc.message, where=_where(source, yaml_text, ("workload", "name"))
            ) from None
        exp.workload_params = _validate_params(
            exp.workload_cls.Params,
            config.workload.params,
            source,
            yaml_text,
            ("workload", "params"),
        )
    return exp


def _validate_params(
    cls: type[Params],
    values: dict[str, Any],
    source: str,
    yaml_text: str | None,
    prefix: tuple[str, ...],
) -> Params:
    try:
        return cls.model_validate(values or {})
    except ValidationError as exc:
        raise _validation_error(exc, cls, source, yaml_text, prefix) from None
