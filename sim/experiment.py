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
from sim.model import Model, Params, Policy, RunContext, Workload


@dataclass
class Experiment:
    """A validated experiment: its config, plugin classes and their validated params."""

    config: ExperimentConfig
    source: str
    experiment_dir: Path
    model_cls: type[Model]
    params: Params
    #: slot -> (policy class, its validated params); every slot with a policy
    slot_policies: dict[str, tuple[type[Policy], Params]] = field(default_factory=dict)
    workload_cls: type[Workload] | None = None
    workload_params: Params | None = None
    _yaml_text: str | None = field(default=None, repr=False)

    @property
    def policy_cls(self) -> type[Policy] | None:
        """The policy class of a one-slot model (``None`` without slots)."""
        if len(self.slot_policies) != 1:
            return None
        return next(iter(self.slot_policies.values()))[0]

    def resolved(self) -> dict[str, Any]:
        """The fully resolved configuration (defaults filled in) as plain data."""
        data = self.config.model_dump(mode="json")
        data["model"] = self.model_cls.name
        data["params"] = self.params.model_dump(mode="json")
        data.pop("policy", None)
        data["policies"] = {
            slot: {"name": cls.name, "params": params.model_dump(mode="json")}
            for slot, (cls, params) in self.slot_policies.items()
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
        """A hash of what is simulated (model, params, policies, workload, stop, seed) and
        the replication index; names, descriptions and output choices do not enter it."""
        data = {k: v for k, v in self.resolved().items() if k not in NON_SEMANTIC_KEYS}
        data["replication"] = replication
        blob = json.dumps(data, sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def input_paths(self) -> list[tuple[str, Path, str]]:
        """Data files and folders the experiment names: ``(dotted key, resolved path,
        "file"|"folder"|"any")`` for every string param whose name ends in ``_file``
        (a file), ``_dir`` or ``_folder`` (a folder) or ``path`` (either: a trace file, or
        a folder in a release's layout) (model, policy and workload params)."""
        groups: list[tuple[str, dict[str, Any]]] = [("params", self.params.model_dump())]
        groups += [
            (f"policies.{slot}.params", p.model_dump())
            for slot, (_cls, p) in self.slot_policies.items()
        ]
        if self.workload_params is not None:
            groups.append(("workload.params", self.workload_params.model_dump()))
        ctx = self.context()
        out = []
        for prefix, values in groups:
            for key, value in values.items():
                if not isinstance(value, str) or not value:
                    continue
                if key.endswith("_file"):
                    out.append((f"{prefix}.{key}", ctx.resolve(value), "file"))
                elif key.endswith("path"):
                    out.append((f"{prefix}.{key}", ctx.resolve(value), "any"))
                elif key.endswith(("_dir", "_folder")):
                    out.append((f"{prefix}.{key}", ctx.resolve(value), "folder"))
        return out

    def check_inputs(self) -> None:
        """Every data file and folder the experiment names exists (DataError naming the
        key and the path otherwise)."""
        from sim.errors import DataError
        from sim.traces import check_data_path

        for key, path, kind in self.input_paths():
            if kind == "any" and Path(path).is_dir():
                continue
            if kind in ("file", "any"):
                try:
                    check_data_path(path, f"{key}: data file")
                except DataError as exc:
                    where = _where(self.source, self._yaml_text, tuple(key.split(".")))
                    raise DataError(exc.message, where=where) from None
            elif not Path(path).is_dir():
                raise DataError(
                    f"{key}: folder not found: {_short(path, 120)}",
                    where=_where(self.source, self._yaml_text, tuple(key.split("."))),
                )

    def context(self, quick: bool = False, seed: int = 0) -> RunContext:
        return RunContext(
            experiment_dir=self.experiment_dir,
            quick=quick,
            seed=seed,
            duration_s=self.config.stop.duration_s,
            count=self.config.stop.count,
        )

    def build_model(self, quick: bool = False, seed: int = 0) -> Model:
        """The model with its policies and workload (not yet bound to a simulation)."""
        policies = {slot: cls(params) for slot, (cls, params) in self.slot_policies.items()}
        workload = self.workload_cls(self.workload_params) if self.workload_cls else None
        return self.model_cls(
            self.params,
            policies=policies,
            workload=workload,
            context=self.context(quick, seed),
        )


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
    loc: Any,
    prefix: tuple[Any, ...] = (),
) -> ConfigError:
    """Turn the first pydantic error into one clear line (``loc``: a :class:`_Locator`)."""
    err = exc.errors()[0]
    where_keys = tuple(err["loc"])
    keys = prefix + where_keys
    if err["type"] == "extra_forbidden":
        # find the model that forbade the key to suggest its fields
        owner: Any = cls
        for part in where_keys[:-1]:
            field_info = getattr(owner, "model_fields", {}).get(part)
            ann = getattr(field_info, "annotation", None)
            owner = next(
                (a for a in getattr(ann, "__args__", (ann,)) if hasattr(a, "model_fields")), None
            )
            if owner is None:
                break
        choices = list(getattr(owner, "model_fields", {}) or [])
        msg = f"unknown key {_short(where_keys[-1])!r}{did_you_mean(where_keys[-1], choices)}"
        if choices:
            msg += f"; valid keys: {', '.join(choices)}"
    elif err["type"] == "missing":
        msg = "required key is missing"
    else:
        text = str(err["msg"]).splitlines()[0] if err.get("msg") else "invalid value"
        msg = f"{text} (got {_short(repr(err.get('input')))})"
    more = len(exc.errors()) - 1
    if more:
        msg += f" [and {more} more problem{'s' if more > 1 else ''}]"
    return ConfigError(msg, where=loc(keys))


# -- overrides -------------------------------------------------------------------------------


def parse_override(text: str) -> tuple[str, Any]:
    """``"params.servers=4"`` -> ``("params.servers", 4)``; the value is parsed as YAML."""
    if "=" not in text:
        raise ConfigError(f"override {_short(text)!r} is not KEY=VALUE", where="--set")
    key, _, raw = text.partition("=")
    key = key.strip()
    if not key:
        raise ConfigError(f"override {_short(text)!r} has an empty key", where="--set")
    value = parse_yaml(raw, f"--set {_short(key)}") if raw.strip() else None
    if _depth(value) > MAX_DEPTH:
        raise ConfigError("value nested too deeply", where=f"--set {_short(key)}")
    return key, value


def _is_plugin_ref(parts: list[str], i: int) -> bool:
    """Whether ``parts[: i + 1]`` addresses a plugin reference (which may be a bare name)."""
    if i == 0:
        return parts[0] in ("policy", "workload")
    return i == 1 and parts[0] == "policies"


def set_dotted(data: dict[str, Any], key: str, value: Any, source: str = "--set") -> None:
    """Set ``data[a][b][c] = value`` for ``key = "a.b.c"``, creating mappings on the way.

    A policy or workload given by a bare name (``policies: {routing: ecmp}``) becomes
    ``{name: ecmp}`` when a key below it is set (``policies.routing.params.x``).
    """
    parts = key.split(".")
    if any(not part for part in parts):
        raise ConfigError(f"cannot override {_short(key)!r}: empty part in dotted key", where=source)
    root = parts[0]
    allowed = (*SWEEPABLE_ROOTS, "seed", "model", "name", "description", "outputs")
    if root not in allowed:
        raise ConfigError(
            f"cannot override {_short(key)!r}: unknown top-level key {root!r}"
            f"{did_you_mean(root, allowed)}",
            where=source,
        )
    node = data
    for i, part in enumerate(parts[:-1]):
        nxt = node.get(part)
        if nxt is None:
            nxt = node[part] = {}
        elif isinstance(nxt, str) and _is_plugin_ref(parts, i):
            nxt = node[part] = {"name": nxt}
        elif not isinstance(nxt, dict):
            raise ConfigError(
                f"cannot set {_short(key)!r}: {part!r} is not a mapping", where=source
            )
        node = nxt
    node[parts[-1]] = value


def _short(text: Any, limit: int = 60) -> str:
    """``text`` as a string of at most ``limit`` characters (long values are elided)."""
    s = str(text)
    return s if len(s) <= limit else s[: limit - 3] + "..."


# -- loading ---------------------------------------------------------------------------------


#: Experiment files larger than this are refused (they are hand-written YAML).
MAX_FILE_BYTES = 10 * 2**20
#: Deepest nesting of mappings and lists accepted in an experiment file.
MAX_DEPTH = 40


class _StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False):
    loader.flatten_mapping(node)
    seen: dict[Any, int] = {}
    for key_node, _value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            first = seen.get(key)
        except TypeError:  # an unhashable key: let PyYAML report it
            continue
        line = key_node.start_mark.line + 1
        if first is not None:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"key {_short(key)!r} is given twice (lines {first} and {line})",
                key_node.start_mark,
            )
        seen[key] = line
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping
)


def _depth(data: Any) -> int:
    """Nesting depth of mappings and lists (iterative: never recurses)."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        node, d = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, d)
            if d > MAX_DEPTH:
                return d
            children = node.values() if isinstance(node, dict) else node
            stack.extend((c, d + 1) for c in children)
    return deepest


def read_text_file(path: str | Path, what: str = "experiment file") -> str:
    """The UTF-8 text of a small file (a byte-order mark is dropped); ConfigError if it is
    missing, a folder, too big, unreadable or not UTF-8."""
    where = _short(str(path), 200)
    p = Path(path)
    try:
        if not p.exists():
            raise ConfigError("file not found", where=where)
        if p.is_dir():
            raise ConfigError(f"is a folder, not an {what}", where=where)
        if not p.is_file():
            raise ConfigError(f"is not a regular file (an {what} is a YAML file)", where=where)
        if p.stat().st_size > MAX_FILE_BYTES:
            raise ConfigError(
                f"is {p.stat().st_size / 2**20:.0f} MiB; an {what} is at most "
                f"{MAX_FILE_BYTES // 2**20} MiB",
                where=where,
            )
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", where=where) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
            "save the file as UTF-8",
            where=where,
        ) from None


def parse_yaml(text: str, where: str) -> Any:
    """Safe-load YAML text; every problem is one ConfigError line naming ``where:line``."""
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        loc = f"{where}:{mark.line + 1}" if mark is not None else where
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"malformed YAML: {_short(problem, 160)}", where=loc) from None
    except RecursionError:
        raise ConfigError(
            f"nested too deeply (more than {MAX_DEPTH} levels)", where=where
        ) from None
    except ValueError as exc:  # e.g. an integer of thousands of digits
        raise ConfigError(f"bad value: {_short(str(exc), 120)}", where=where) from None


def read_yaml(path: str | Path) -> tuple[dict[str, Any], str]:
    text = read_text_file(path)
    where = _short(str(path), 200)
    data = parse_yaml(text, where)
    if data is None:
        raise ConfigError("the file is empty", where=where)
    if not isinstance(data, dict):
        raise ConfigError("an experiment file must be a mapping of keys", where=where)
    if _depth(data) > MAX_DEPTH:
        raise ConfigError(f"nested too deeply (more than {MAX_DEPTH} levels)", where=where)
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
    origins: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A copy of ``data`` with, in order, its ``quick:`` block (when ``quick``), the
    ``KEY=VALUE`` overrides and the seed applied. ``origins``, if given, is filled with
    ``dotted key -> where it came from`` so errors name ``--set`` or ``quick:``."""
    data = copy.deepcopy(data)
    origins = origins if origins is not None else {}
    if quick:
        block = data.get("quick") or {}
        if not isinstance(block, dict):
            raise ConfigError(
                f"'quick' must be a mapping of dotted keys to values, got {type(block).__name__}",
                where=source,
            )
        for key, value in block.items():
            set_dotted(data, str(key), value, source=f"{source}: quick")
            origins[str(key)] = f"{source}: quick: {key}"
    for text in overrides:
        key, value = parse_override(text)
        set_dotted(data, key, value)
        origins[key] = f"--set {_short(text)}"
    if seed is not None:
        data["seed"] = seed
        origins["seed"] = "--seed"
    return data


def from_dict(
    data: dict[str, Any],
    source: str = "<experiment>",
    experiment_dir: Path | None = None,
    overrides: list[str] | tuple[str, ...] = (),
    seed: int | None = None,
    quick: bool = False,
    yaml_text: str | None = None,
    origins: dict[str, str] | None = None,
) -> Experiment:
    """Validate an experiment given as a mapping (as read from YAML)."""
    origins = dict(origins or {})
    data = apply_overrides(
        data, overrides, seed=seed, quick=quick, source=source, origins=origins
    )
    loc = _Locator(source, yaml_text, origins)
    try:
        config = ExperimentConfig.model_validate(data)
    except ValidationError as exc:
        raise _validation_error(exc, ExperimentConfig, loc) from None
    try:
        model_cls = registry.get_model(config.model)
    except UserError as exc:
        raise ConfigError(exc.message, where=loc(("model",))) from None
    params = _validate_params(model_cls.Params, config.params, loc, ("params",))
    exp = Experiment(
        config=config,
        source=source,
        experiment_dir=experiment_dir or Path.cwd(),
        model_cls=model_cls,
        params=params,
        _yaml_text=yaml_text,
    )
    exp.slot_policies = _resolve_slots(model_cls, config, loc)
    if model_cls.workload_required and config.workload is None:
        raise ConfigError(
            f"model {model_cls.name!r} needs a workload (`sim list` shows them)",
            where=loc(("workload",)),
        )
    if config.workload is not None:
        if not config.workload.name:
            raise ConfigError("a workload needs a name", where=loc(("workload",)))
        try:
            exp.workload_cls = registry.get_workload(config.workload.name)
        except UserError as exc:
            raise ConfigError(exc.message, where=loc(("workload", "name"))) from None
        exp.workload_params = _validate_params(
            exp.workload_cls.Params, config.workload.params, loc, ("workload", "params")
        )
    return exp


def _resolve_slots(
    model_cls: type[Model], config: ExperimentConfig, loc: _Locator
) -> dict[str, tuple[type[Policy], Params]]:
    """Every slot's policy class and params: chosen in ``policies:`` (or ``policy:``),
    else the slot's default."""
    slots = model_cls.slots
    chosen: dict[str, tuple[Any, tuple[str, ...]]] = {}
    for slot_name, ref in config.policies.items():
        if slot_name not in slots:
            known = ", ".join(slots) or "none"
            raise ConfigError(
                f"model {model_cls.name!r} has no policy slot {slot_name!r}"
                f"{did_you_mean(slot_name, slots)}; its slots: {known}",
                where=loc(("policies", slot_name)),
            )
        chosen[slot_name] = (ref, ("policies", slot_name))
    if config.policy is not None:
        if not slots:
            raise ConfigError(f"model {model_cls.name!r} takes no policy", where=loc(("policy",)))
        if len(slots) > 1:
            raise ConfigError(
                f"model {model_cls.name!r} has several policy slots ({', '.join(slots)}); "
                "choose per slot with `policies:`",
                where=loc(("policy",)),
            )
        only = next(iter(slots))
        if only in chosen:
            raise ConfigError(
                f"slot {only!r} is chosen twice (`policy:` and `policies.{only}`)",
                where=loc(("policy",)),
            )
        chosen[only] = (config.policy, ("policy",))
    out: dict[str, tuple[type[Policy], Params]] = {}
    for slot_name, slot in slots.items():
        ref, keys = chosen.get(slot_name, (None, ("policies", slot_name)))
        name = (ref.name if ref is not None else None) or slot.default
        if name is None:
            if ref is not None:
                raise ConfigError(
                    f"slot {slot_name!r} has no default policy: give its name",
                    where=loc(keys),
                )
            continue
        try:
            cls = registry.get_policy(slot.domain, name)
        except UserError as exc:
            raise ConfigError(exc.message, where=loc((*keys, "name"))) from None
        params = _validate_params(cls.Params, ref.params if ref else {}, loc, (*keys, "params"))
        out[slot_name] = (cls, params)
    return out


class _Locator:
    """Turns a key path into "file:line: key", or names the ``--set``/``quick:`` override
    the value came from."""

    def __init__(self, source: str, yaml_text: str | None, origins: dict[str, str]):
        self.source = source
        self.yaml_text = yaml_text
        self.origins = origins

    def __call__(self, keys: tuple[Any, ...]) -> str:
        dotted = ".".join(str(k) for k in keys)
        for key in sorted(self.origins, key=len, reverse=True):
            if dotted == key or dotted.startswith(key + "."):
                return self.origins[key] if dotted == key else f"{self.origins[key]}: {dotted}"
        return _where(self.source, self.yaml_text, keys)


def _validate_params(
    cls: type[Params],
    values: dict[str, Any],
    loc: _Locator,
    prefix: tuple[str, ...],
) -> Params:
    try:
        return cls.model_validate(values or {})
    except ValidationError as exc:
        raise _validation_error(exc, cls, loc, prefix) from None
