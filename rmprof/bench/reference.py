"""Machine references: frozen workloads timed in every bench round beside the runtimes, named by a digest.

A reference shares no code with the pipeline, so a change to the code under test never moves it; what
moves it is the machine. ``rmprof compare`` may read its move as the machine's only when both sides ran the
same reference, which the digest says: a sha256 of the workload's exact code, this sampling protocol and the
build that runs it. Two kinds:

- ``python``: rmprof/bench/machine_reference.py in the bench worker's interpreter; its digest covers the
  file's bytes and the interpreter (implementation and full ``sys.version``, which names its build);
- ``native``: rust_runtime/src/machine_reference.rs, timed in Rust by the extension ``rmprof._native``; its
  digest covers the source the extension was compiled from (``machine_reference_source()``) and the
  compiler, profile, target and rustflags of that build (``build_info()``, when the extension has it).
  Absent when the extension cannot be imported or predates the reference: never replaced by something else.

A sample is one untimed pass (so the timed passes run on warm caches, whatever the runtime sampled just
before left in them), then ``passes`` timed passes; the sample is nanoseconds per pass.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Part of every digest: a change of how samples are taken makes a new reference.
PROTOCOL = "rmprof.machine_reference/1: one untimed pass, then the timed passes; ns per pass"
PYTHON_PASSES = 1
NATIVE_PASSES = 2
NATIVE_MODULE = "rmprof._native"
KINDS = ("python", "native")
WHAT = {
    "python": "a frozen pure-Python workload (int arithmetic, a dict, a list, str building and sorting; "
    "rmprof/bench/machine_reference.py), run in the bench worker; shares no code with the pipeline",
    "native": "a frozen Rust workload (xorshift integers, a sort, a hash map fill, string building; "
    "rust_runtime/src/machine_reference.rs), run in the extension; shares no code with the pipeline",
}
# The extension's build_info() fields that change the compiled code (its source digest and git state do not
# concern the reference: the reference's own source is digested exactly).
BUILD_FIELDS = ("rustc", "profile", "target", "rustflags")


class Reference:
    """One kind of machine reference: how to time ``n`` passes, its identity, and the samples taken."""

    def __init__(self, kind: str, time_passes: Callable[[int], int], passes: int, identity: dict[str, Any]) -> None:
        self.kind = kind
        self.time_passes = time_passes
        self.passes = passes
        self.identity = identity
        self.digest = _digest(identity)
        self.samples: list[float] = []

    def sample(self) -> None:
        """One sample: an untimed pass, then ``passes`` timed ones; ns per pass."""
        self.time_passes(1)
        self.samples.append(self.time_passes(self.passes) / self.passes)

    def answer(self) -> dict[str, Any]:
        """What the worker reports of it: identity, digest and samples."""
        return {
            "what": WHAT[self.kind],
            "digest": self.digest,
            "identity": self.identity,
            "unit": "ns",
            "samples": self.samples,
        }


def references() -> list[Reference]:
    """Every kind that can run here (python always; native when the extension has the reference)."""
    found = [python_reference()]
    native = native_reference()
    if native is not None:
        found.append(native)
    return found


def python_reference() -> Reference:
    """The pure-Python workload in this interpreter."""
    from rmprof.bench import machine_reference

    workload = machine_reference.workload

    def time_passes(n: int) -> int:
        t0 = time.perf_counter_ns()
        for _ in range(n):
            workload()
        return time.perf_counter_ns() - t0

    identity = {
        "source_sha256": python_source_digest(),
        "implementation": sys.implementation.name,
        "python": sys.version,
        "passes": PYTHON_PASSES,
        "protocol": PROTOCOL,
    }
    return Reference("python", time_passes, PYTHON_PASSES, identity)


def python_source_digest() -> str:
    """sha256 of rmprof/bench/machine_reference.py's bytes: what the python reference runs."""
    from rmprof.bench import machine_reference

    return hashlib.sha256(Path(machine_reference.__file__).read_bytes()).hexdigest()


def native_reference() -> Reference | None:
    """The Rust workload of the extension, or None when the extension is missing or has no reference."""
    try:
        native = importlib.import_module(NATIVE_MODULE)
    except ImportError:
        return None
    time_passes, source = getattr(native, "machine_reference", None), getattr(native, "machine_reference_source", None)
    if time_passes is None or source is None:
        return None
    identity: dict[str, Any] = {
        "source_sha256": hashlib.sha256(source().encode("utf-8")).hexdigest(),
        "passes": NATIVE_PASSES,
        "protocol": PROTOCOL,
    }
    build_info = getattr(native, "build_info", None)
    if build_info is not None:
        info = build_info()
        info = json.loads(info) if isinstance(info, str) else info
        identity["build"] = {k: info.get(k) for k in BUILD_FIELDS}
    return Reference("native", time_passes, NATIVE_PASSES, identity)


def _digest(identity: dict[str, Any]) -> str:
    """sha256 of the identity as canonical JSON (sorted keys)."""
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode("utf-8")).hexdigest()
