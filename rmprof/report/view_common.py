"""What every part of the report view shares: runtime labels and order, safe links."""

from __future__ import annotations

import re
from typing import Any

from rmprof import runtimes as registry
from rmprof.formatting import MISSING

FLOOR = registry.PYTHON_FUSED  # the bench's plain-Python floor: not a runtime, shown beside them
RUST_FLOOR = registry.RUST_FUSED  # the Rust binary's plain loop over the node operations: the executor's floor
FLOORS = tuple(registry.REFERENCE_RUNTIMES)
_FLOOR_LABELS = {name: f"{name} ({what})" for name, what in registry.REFERENCE_RUNTIMES.items()}
# Relative links into the run directory only: no scheme, no absolute path, no parent hops.
_SAFE_LINK = re.compile(r"^(?![a-zA-Z][a-zA-Z0-9+.-]*:)(?!/)(?!.*(^|/)\.\.(/|$))[^\\\s]+$")


def bounds_text(bounds: Any, fmt: Any) -> str:
    """``lo – hi`` of an interval, each bound formatted by ``fmt`` ("–" when there is none)."""
    bounds = bounds or []
    return f"{fmt(bounds[0])} – {fmt(bounds[1])}" if len(bounds) == 2 else MISSING


def runtime_label(name: str) -> str:
    """The reader's name of a runtime, e.g. ``rust (in-process)`` (each runtime names itself)."""
    return _FLOOR_LABELS.get(name) or registry.label(name)


def safe_link(path: Any) -> str | None:
    """``path`` when it is a plain relative link inside the run directory, else None (shown as text)."""
    return path if isinstance(path, str) and _SAFE_LINK.match(path) else None


def rank(name: str) -> int:
    """A runtime's place in the report's order (unknown runtimes and the fused floors last)."""
    return ordered([*registry.runtime_names(), name]).index(name)


def ordered(names: Any) -> list[str]:
    """Runtime names in the report's order (registered ones by their order, then the rest), each once."""
    return registry.ordered(names)
