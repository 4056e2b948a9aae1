"""The runtime registry: each runtime is one module; adding one is a line here."""

from __future__ import annotations

import importlib

from rmprof.errors import RmprofError
from rmprof.runtimes.base import Outputs, Prepared, Runtime

# name -> "module:Class", imported only when used so that the CLI starts fast.
RUNTIMES: dict[str, str] = {
    "python": "rmprof.runtimes.python_asyncio:PythonRuntime",
    "rust": "rmprof.runtimes.rust_inprocess:RustRuntime",
    "rust-bin": "rmprof.runtimes.rust_binary:RustBinaryRuntime",
    "rustpython": "rmprof.runtimes.rust_binary:RustPythonRuntime",
    "rustpython-inproc": "rmprof.runtimes.rust_inprocess:RustPythonInProcessRuntime",
}

__all__ = ["RUNTIMES", "Outputs", "Prepared", "Runtime", "get_runtime"]


def get_runtime(name: str) -> Runtime:
    """The runtime registered as ``name``."""
    if name not in RUNTIMES:
        raise RmprofError(f"unknown runtime '{name}' (known: {', '.join(RUNTIMES)})")
    module_name, _, class_name = RUNTIMES[name].partition(":")
    return getattr(importlib.import_module(module_name), class_name)()
