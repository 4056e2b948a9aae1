"""The profiler registry: each profiler is one module; adding one is a line here."""

from __future__ import annotations

import importlib

from rmprof.errors import RmprofError
from rmprof.profilers.base import ProfileJob, Profiler, ProfilerGap, ToolStatus

# name -> "module:Class", imported only when used.
PROFILERS: dict[str, str] = {
    "py-spy": "rmprof.profilers.pyspy:PySpy",
    "scalene": "rmprof.profilers.scalene:Scalene",
    "memray": "rmprof.profilers.memray:Memray",
    "perf": "rmprof.profilers.perf:Perf",
    "callgrind": "rmprof.profilers.callgrind:Callgrind",
    "massif": "rmprof.profilers.massif:Massif",
}

__all__ = ["PROFILERS", "ProfileJob", "Profiler", "ProfilerGap", "ToolStatus", "get_profiler"]


def get_profiler(name: str) -> Profiler:
    """The profiler registered as ``name``."""
    if name not in PROFILERS:
        raise RmprofError(f"unknown profiler '{name}' (known: {', '.join(PROFILERS)})")
    module_name, _, class_name = PROFILERS[name].partition(":")
    return getattr(importlib.import_module(module_name), class_name)()
