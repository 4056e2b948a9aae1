"""The runtime registry: each runtime is one module; adding one is a line here (or a plugin, see below).

Everything that names runtimes (the CLI's choices, the bench, the profilers, the report) reads them from here:
``runtime_names()`` for the names in registration order, ``get_runtime(name)`` for a runtime's identity and
measuring, ``ordered()`` for the report's order and ``label()`` for its names.

Runtimes defined elsewhere register without changing rmprof: an entry point in the group ``rmprof.runtimes``
(``name = "package.module:Class"``), or the environment variable ``RMPROF_RUNTIMES`` holding
``name=module:Class`` pairs separated by commas (inherited by the fresh processes the bench starts).
"""

from __future__ import annotations

import functools
import importlib
import os
from collections.abc import Iterable
from typing import Any

from rmprof.errors import RmprofError
from rmprof.runtimes.base import BINARY, IN_PROCESS, Outputs, Prepared, Runtime
from rmprof.runtimes.references import PYTHON_FUSED, REFERENCE_RUNTIMES, RUST_FUSED

# name -> "module:Class", imported only when used so that the CLI starts fast.
RUNTIMES: dict[str, str] = {
    "python": "rmprof.runtimes.python_asyncio:PythonRuntime",
    "rust": "rmprof.runtimes.rust_inprocess:RustRuntime",
    "rust-bin": "rmprof.runtimes.rust_binary:RustBinaryRuntime",
    "rustpython": "rmprof.runtimes.rust_binary:RustPythonRuntime",
    "rustpython-inproc": "rmprof.runtimes.rust_inprocess:RustPythonInProcessRuntime",
}
# The runtime every speedup is measured against. The reference runtimes (the fused floors) are registered
# beside the runtimes, in runtimes/references.py: PYTHON_FUSED, RUST_FUSED, REFERENCE_RUNTIMES.
BASELINE = "python"
PLUGINS_ENV = "RMPROF_RUNTIMES"
ENTRY_POINT_GROUP = "rmprof.runtimes"

__all__ = [
    "BASELINE",
    "BINARY",
    "IN_PROCESS",
    "PYTHON_FUSED",
    "REFERENCE_RUNTIMES",
    "RUNTIMES",
    "RUST_FUSED",
    "Outputs",
    "Prepared",
    "Runtime",
    "default_runtimes",
    "get_runtime",
    "label",
    "ordered",
    "registered",
    "runtime_names",
]


def registered() -> dict[str, str]:
    """Every runtime's name -> "module:Class": rmprof's own, then entry points, then $RMPROF_RUNTIMES."""
    found = dict(RUNTIMES)
    for name, target in _entry_points():
        found.setdefault(name, target)
    for pair in filter(None, (p.strip() for p in os.environ.get(PLUGINS_ENV, "").split(","))):
        name, sep, target = pair.partition("=")
        if not sep or ":" not in target:
            raise RmprofError(f"${PLUGINS_ENV}: '{pair}' is not name=module:Class")
        found[name.strip()] = target.strip()
    return found


@functools.cache
def _entry_points() -> tuple[tuple[str, str], ...]:
    from importlib.metadata import entry_points

    return tuple((ep.name, ep.value) for ep in entry_points(group=ENTRY_POINT_GROUP))


def runtime_names() -> list[str]:
    """The registered runtimes' names, in registration order (nothing imported)."""
    return list(registered())


def get_runtime(name: str) -> Runtime:
    """The runtime registered as ``name``."""
    targets = registered()
    if name not in targets:
        raise RmprofError(f"unknown runtime '{name}' (known: {', '.join(targets)})")
    return _load(targets[name])()


@functools.cache
def _load(target: str) -> Any:
    module_name, _, class_name = target.partition(":")
    try:
        return getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise RmprofError(f"cannot load runtime {target}: {exc}") from None


def _known(name: str) -> Runtime | None:
    try:
        return get_runtime(name)
    except RmprofError:
        return None


def label(name: str) -> str:
    """How the report names runtime ``name`` (its own name when it is not registered here)."""
    runtime = _known(name)
    return runtime.label or runtime.name if runtime else name


def ordered(names: Iterable[str]) -> list[str]:
    """``names`` in the report's order: registered runtimes by their ``order``, then the rest as given."""
    names = list(dict.fromkeys(names))
    rank = {}
    for i, name in enumerate(names):
        runtime = _known(name)
        rank[name] = (0, runtime.order, i) if runtime else (1, 0, i)
    return sorted(names, key=rank.__getitem__)


def default_runtimes(manifest: Any) -> list[str]:
    """The runtimes a scenario is measured on when none are chosen: those that apply to its manifest."""
    return ordered(n for n in runtime_names() if get_runtime(n).applies_to(manifest))
