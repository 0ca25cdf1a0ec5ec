"""Registry of models, policies and workloads.

Built-in classes register themselves with decorators when their module is imported::

    @model("queueing.mmc", "M/M/c and M/G/c queue, FIFO or processor sharing")
    class MMc(Model): ...

    @policy("serverless", "fixed_keepalive", "keep an idle pod for a fixed time")
    class FixedKeepAlive(Policy): ...

Discovery imports every module under the ``models`` package once, then the entry points
of the groups ``sim.models``, ``sim.policies`` and ``sim.workloads``, so another
distribution can add its own (each entry point names a module or a class; importing it
runs its decorators).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import pkgutil
from collections.abc import Callable
from typing import TypeVar

from sim.errors import UnknownNameError, did_you_mean
from sim.model import Model, Policy, Workload

T = TypeVar("T")

_MODELS: dict[str, type[Model]] = {}
_POLICIES: dict[tuple[str, str], type[Policy]] = {}
_WORKLOADS: dict[str, type[Workload]] = {}
_discovered = False

ENTRY_POINT_GROUPS = ("sim.models", "sim.policies", "sim.workloads")


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


def model(name: str, description: str | None = None) -> Callable[[type[T]], type[T]]:
    """Class decorator: register a :class:`~sim.model.Model` subclass as ``name``."""

    def deco(cls):
        if not (isinstance(cls, type) and issubclass(cls, Model)):
            raise TypeError(f"@model({name!r}) decorates a Model subclass, not {cls!r}")
        _check_new("model", name, _MODELS.get(name), cls)
        cls.name = name
        cls.description = _first_line(cls, description)
        _MODELS[name] = cls
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


def discover() -> None:
    """Import the built-in models and the entry points (once)."""
    global _discovered
    if _discovered:
        return
    _discovered = True
    import models

    for info in pkgutil.walk_packages(models.__path__, prefix="models."):
        leaf = info.name.rsplit(".", 1)[-1]
        if leaf.startswith("_") or leaf in ("tests", "conftest"):
            continue
        importlib.import_module(info.name)
    for group in ENTRY_POINT_GROUPS:
        for ep in importlib.metadata.entry_points(group=group):
            ep.load()


def get_model(name: str) -> type[Model]:
    discover()
    try:
        return _MODELS[name]
    except KeyError:
        raise UnknownNameError(
            f"unknown model {name!r}{did_you_mean(name, _MODELS)}; `sim list` shows them"
        ) from None


def get_policy(domain: str, name: str) -> type[Policy]:
    discover()
    try:
        return _POLICIES[(domain, name)]
    except KeyError:
        names = [n for d, n in _POLICIES if d == domain]
        raise UnknownNameError(
            f"unknown {domain} policy {name!r}{did_you_mean(name, names)}; "
            f"known: {', '.join(sorted(names)) or 'none'}"
        ) from None


def get_workload(name: str) -> type[Workload]:
    discover()
    try:
        return _WORKLOADS[name]
    except KeyError:
        raise UnknownNameError(
            f"unknown workload {name!r}{did_you_mean(name, _WORKLOADS)}; `sim list` shows them"
        ) from None


def models_() -> dict[str, type[Model]]:
    discover()
    return dict(sorted(_MODELS.items()))


def policies() -> dict[tuple[str, str], type[Policy]]:
    discover()
    return dict(sorted(_POLICIES.items()))


def workloads() -> dict[str, type[Workload]]:
    discover()
    return dict(sorted(_WORKLOADS.items()))
