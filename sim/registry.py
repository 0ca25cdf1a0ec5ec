"""Registry of models, policies, workloads and benchmarks.

Classes register themselves with decorators when their module is imported::

    @model("queueing.mmc", "M/M/c and M/G/c queue, FIFO or processor sharing")
    class MMc(Model): ...

    @policy("serverless.keep_alive", "ttl", "keep an idle pod for a fixed time")
    class TTL(Policy): ...

Discovery (once per process) imports the engine's own generic workloads, then every entry
point of the groups ``sim.models``, ``sim.policies`` and ``sim.workloads``. An entry point
names a module or a package; a package is walked and each of its modules imported (modules
and folders whose name starts with ``_`` are skipped: templates, private helpers). The
built-in models are found the same way as another distribution's: this project's
``pyproject.toml`` declares the entry point ``sim_models = "sim_models"``.

Looking up a name first imports only the sub-package its first part names (``llm`` for
``llm.serving``, ``hw`` for ``hw.routing``) and falls back to the full discovery when the
name is not there, so a run starts without importing every package.

A module that fails to import is recorded with its error (:func:`failures`, shown by
``sim list``) and does not stop discovery: commands that do not need it keep working, and
asking for a name it would have registered says which module failed.

Benchmarks behind ``sim bench`` come from the group ``sim.bench``: each entry point names a
function ``f(quick: bool) -> dict[str, float]``.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import pkgutil
from collections.abc import Callable
from typing import TypeVar

from sim.errors import UnknownNameError, did_you_mean
from sim.model import Model, Policy, Workload

T = TypeVar("T")

_MODELS: dict[str, type[Model]] = {}
_ALIASES: dict[str, str] = {}
_POLICIES: dict[tuple[str, str], type[Policy]] = {}
_WORKLOADS: dict[str, type[Workload]] = {}
_FAILED: dict[str, str] = {}
_discovered = False

ENTRY_POINT_GROUPS = ("sim.models", "sim.policies", "sim.workloads")
BENCH_GROUP = "sim.bench"
#: Engine modules that register generic plugins (imported before the entry points).
BUILTIN_MODULES = ("sim.workloads",)


def _first_line(cls: type, description: str | None) -> str:
    if description:
        return description
    doc = (cls.__doc__ or "").strip()
    return doc.splitlines()[0] if doc else ""


def _check_new(kind: str, key: object, existing: type | None, cls: type) -> None:
    if existing is not None and existing is not cls:
        same = (existing.__module__, existing.__qualname__) == (cls.__module__, cls.__qualname__)
        if not same:  # a module re-imported under another name is fine
            raise ValueError(f"{kind} {key!r} is registered twice ({existing} and {cls})")


def model(
    name: str, description: str | None = None, aliases: tuple[str, ...] = ()
) -> Callable[[type[T]], type[T]]:
    """Class decorator: register a :class:`~sim.model.Model` subclass as ``name`` (and
    under each of ``aliases``, older names that keep working)."""

    def deco(cls):
        if not (isinstance(cls, type) and issubclass(cls, Model)):
            raise TypeError(f"@model({name!r}) decorates a Model subclass, not {cls!r}")
        _check_new("model", name, _MODELS.get(name), cls)
        cls.name = name
        cls.description = _first_line(cls, description)
        _MODELS[name] = cls
        for alias in aliases:
            _ALIASES[alias] = name
        return cls

    return deco


def policy(domain: str, name: str, description: str | None = None) -> Callable[[type[T]], type[T]]:
    """Class decorator: register a :class:`~sim.model.Policy` subclass as ``domain/name``."""

    def deco(cls):
        if not (isinstance(cls, type) and issubclass(cls, Policy)):
            raise TypeError(f"@policy({domain!r}, {name!r}) decorates a Policy subclass")
        _check_new("policy", (domain, name), _POLICIES.get((domain, name)), cls)
        cls.name = name
        cls.domain = domain
        cls.description = _first_line(cls, description)
        _POLICIES[(domain, name)] = cls
        return cls

    return deco


def workload(name: str, description: str | None = None) -> Callable[[type[T]], type[T]]:
    """Class decorator: register a :class:`~sim.model.Workload` subclass as ``name``."""

    def deco(cls):
        if not (isinstance(cls, type) and issubclass(cls, Workload)):
            raise TypeError(f"@workload({name!r}) decorates a Workload subclass")
        _check_new("workload", name, _WORKLOADS.get(name), cls)
        cls.name = name
        cls.description = _first_line(cls, description)
        _WORKLOADS[name] = cls
        return cls

    return deco


# -- discovery -----------------------------------------------------------------------------


def _import(name: str) -> object | None:
    try:
        return importlib.import_module(name)
    except Exception as exc:  # a broken module must not break unrelated commands
        _FAILED[name] = f"{type(exc).__name__}: {exc}".splitlines()[0]
        return None


def import_tree(module_name: str) -> None:
    """Import a module and, if it is a package, every module below it (skipping names
    that start with ``_``); failures are recorded, not raised."""
    mod = _import(module_name)
    path = getattr(mod, "__path__", None)
    if mod is None or path is None:
        return

    def onerror(name: str) -> None:
        _FAILED.setdefault(name, "could not be imported while walking its package")

    for info in pkgutil.walk_packages(path, prefix=f"{module_name}.", onerror=onerror):
        parts = info.name[len(module_name) + 1 :].split(".")
        if any(p.startswith("_") or p in ("tests", "conftest") for p in parts):
            continue
        _import(info.name)


def _load_entry_point(ep) -> None:
    value = getattr(ep, "value", "") or ""
    if value and ":" not in value:
        import_tree(value.strip())
        return
    try:
        ep.load()
    except Exception as exc:
        _FAILED[f"entry point {ep.name}"] = f"{type(exc).__name__}: {exc}".splitlines()[0]


def discover() -> None:
    """Import the engine's generic plugins and every entry point (once per process)."""
    global _discovered
    if _discovered:
        return
    _discovered = True
    for name in BUILTIN_MODULES:
        import_tree(name)
    for group in ENTRY_POINT_GROUPS:
        for ep in importlib.metadata.entry_points(group=group):
            _load_entry_point(ep)


_tried_prefixes: set[str] = set()


def _import_prefix(name: str) -> None:
    """Fast path before a full discovery: import only the sub-package named like the first
    part of ``name`` (``llm`` for ``llm.serving``) under each package entry point, plus the
    engine's own plugins. Names follow ``<package>.<thing>``, so this usually suffices;
    when it does not, the caller falls back to :func:`discover`."""
    prefix = name.split(".", 1)[0]
    if _discovered or not prefix.isidentifier() or prefix in _tried_prefixes:
        return
    _tried_prefixes.add(prefix)
    for module in BUILTIN_MODULES:
        import_tree(module)
    for group in ENTRY_POINT_GROUPS:
        for ep in importlib.metadata.entry_points(group=group):
            value = (getattr(ep, "value", "") or "").strip()
            if value and ":" not in value and importlib.util.find_spec(value) is not None:
                package = importlib.import_module(value)
                if hasattr(package, "__path__") and _has_submodule(package, prefix):
                    import_tree(f"{value}.{prefix}")


def _has_submodule(package, name: str) -> bool:
    return any(info.name == name for info in pkgutil.iter_modules(package.__path__))


def failures() -> dict[str, str]:
    """Modules that failed to import during discovery, with their error."""
    discover()
    return dict(_FAILED)


def _failure_hint() -> str:
    if not _FAILED:
        return ""
    names = ", ".join(sorted(_FAILED)[:3])
    return f"; note: {len(_FAILED)} module(s) failed to import ({names}; `sim list` shows why)"


# -- look-ups ------------------------------------------------------------------------------


def canonical_model_name(name: str) -> str:
    discover()
    return _ALIASES.get(name, name)


def get_model(name: str) -> type[Model]:
    if name not in _MODELS and name not in _ALIASES:
        _import_prefix(name)
    if name not in _MODELS and name not in _ALIASES:
        discover()
    try:
        return _MODELS[_ALIASES.get(name, name)]
    except KeyError:
        raise UnknownNameError(
            f"unknown model {name!r}{did_you_mean(name, [*_MODELS, *_ALIASES])}; "
            f"`sim list` shows them{_failure_hint()}"
        ) from None


def get_policy(domain: str, name: str) -> type[Policy]:
    if (domain, name) not in _POLICIES:
        _import_prefix(domain)
    if (domain, name) not in _POLICIES:
        discover()
    try:
        return _POLICIES[(domain, name)]
    except KeyError:
        names = [n for d, n in _POLICIES if d == domain]
        raise UnknownNameError(
            f"unknown {domain} policy {name!r}{did_you_mean(name, names)}; "
            f"known: {', '.join(sorted(names)) or 'none'}{_failure_hint()}"
        ) from None


def get_workload(name: str) -> type[Workload]:
    if name not in _WORKLOADS:
        _import_prefix(name)
    if name not in _WORKLOADS:
        discover()
    try:
        return _WORKLOADS[name]
    except KeyError:
        raise UnknownNameError(
            f"unknown workload {name!r}{did_you_mean(name, _WORKLOADS)}; "
            f"`sim list` shows them{_failure_hint()}"
        ) from None


def models_() -> dict[str, type[Model]]:
    discover()
    return dict(sorted(_MODELS.items()))


def aliases() -> dict[str, str]:
    discover()
    return dict(sorted(_ALIASES.items()))


def policies() -> dict[tuple[str, str], type[Policy]]:
    discover()
    return dict(sorted(_POLICIES.items()))


def workloads() -> dict[str, type[Workload]]:
    discover()
    return dict(sorted(_WORKLOADS.items()))


def benchmarks() -> dict[str, Callable[[bool], dict[str, float]]]:
    """The benchmark groups of ``sim bench`` (entry-point group ``sim.bench``), by name."""
    out: dict[str, Callable[[bool], dict[str, float]]] = {}
    for ep in importlib.metadata.entry_points(group=BENCH_GROUP):
        try:
            out[ep.name] = ep.load()
        except Exception as exc:
            _FAILED[f"benchmark {ep.name}"] = f"{type(exc).__name__}: {exc}".splitlines()[0]
    return dict(sorted(out.items()))
