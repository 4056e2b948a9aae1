"""Mixed stacks: how much of a CPU profile reaches PythonNode code, below the Rust executor, and what stays unnamed.

py-spy loses the Python frames that Rust calls back into (the stack ends in PyO3's call), and leaves some native
frames as addresses; perf with CPython's perf support keeps both. Where both profiled one runtime, these counts
side by side show why the mixed profile exists::

    analysis.mixed_stacks: [{"runtime", "profilers": {name: {"samples", "node_code", "node_code_under_rust",
                                                             "unresolved"}}}]
"""

from __future__ import annotations

import re
from typing import Any

from rmprof.analysis.categories import node_code_id
from rmprof.profile_model import Frame, Profile

# The Rust executor's own frames (its crate's symbols).
_RUST_EXECUTOR = re.compile(r"rmprof_runtime::")
# A native frame with no function name: an address, `[unknown]`/`[unknown in libc.so.6]`, or `libc.so.6+0x9a0d0`.
_UNRESOLVED = re.compile(r"^(0x[0-9a-fA-F]+|\[unknown.*\]|\S+\+0x[0-9a-fA-F]+)$")
# The profilers compared: the one that cannot see Rust-to-Python callbacks, and the one that can.
COMPARED = ("py-spy", "perf")


def is_unresolved(frame: Frame) -> bool:
    """Whether ``frame`` is a native frame the profiler could not name by a function."""
    return bool(_UNRESOLVED.match(frame.name))


def node_code_counts(profile: Profile) -> dict[str, float]:
    """Samples in total, holding PythonNode code, holding it below a Rust executor frame, holding unnamed frames."""
    code = [node_code_id(f) is not None for f in profile.frames]
    rust = [bool(_RUST_EXECUTOR.search(f.name)) for f in profile.frames]
    unresolved = [is_unresolved(f) for f in profile.frames]
    counts = {"samples": 0.0, "node_code": 0.0, "node_code_under_rust": 0.0, "unresolved": 0.0}
    for stack, weight in zip(profile.stacks, profile.weights, strict=True):
        counts["samples"] += weight
        if any(unresolved[j] for j in stack):
            counts["unresolved"] += weight
        # Stacks are root first: node code under Rust has an executor frame before its first node-code frame.
        first_code = next((k for k, j in enumerate(stack) if code[j]), None)
        if first_code is None:
            continue
        counts["node_code"] += weight
        if any(rust[j] for j in stack[:first_code]):
            counts["node_code_under_rust"] += weight
    return counts


def mixed_stacks(profiles: dict[str, Profile]) -> list[dict[str, Any]]:
    """Per runtime that both py-spy and perf profiled: each one's ``node_code_counts``."""
    by_runtime: dict[str, dict[str, Profile]] = {}
    for profile in profiles.values():
        if profile.kind == "cpu" and profile.profiler in COMPARED:
            by_runtime.setdefault(profile.runtime, {})[profile.profiler] = profile
    return [
        {"runtime": runtime, "profilers": {name: node_code_counts(found[name]) for name in COMPARED}}
        for runtime, found in by_runtime.items()
        if all(name in found for name in COMPARED)
    ]
