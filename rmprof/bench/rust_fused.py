"""rust-fused: the Rust executor's floor, timed by the standalone binary beside its executor.

The binary composes the manifest's node operations by hand in one plain loop per sink (rust_runtime/src/fused.rs),
checks that its outputs equal the executor's, then times it after the executor's own figures
(``--fused-iterations``). Its samples come from the same process as rust-bin's in every round, so the executor's
overhead (rust-bin ÷ rust-fused) is paired by round, like the boundary. A manifest with PythonNode code has no
fused floor: it is absent, never stood in for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rmprof.bench.stats.bootstrap import ratio_ci
from rmprof.runtimes import RUST_FUSED

if TYPE_CHECKING:
    from rmprof.bench.harness import Samples
    from rmprof.runtimes.base import Runtime
    from rmprof.scenarios import Scenario

NO_CODE = "the manifest runs Python code (PythonNode): the fused floor composes only built-in nodes, so it has none"


def executor() -> str:
    """The runtime whose binary times the floor in its own rounds: the standalone Rust executor."""
    from rmprof.runtimes.rust_binary import RustBinaryRuntime

    return RustBinaryRuntime.name


def absent_reason(scenario: Scenario, measured: dict[str, Runtime]) -> str | None:
    """Why this scenario's bench has no rust-fused floor, or None when it has one."""
    if executor() not in measured:
        return f"{executor()} is not measured (the floor is timed by its binary)"
    if any(n.node_type == "PythonNode" for n in scenario.manifest.nodes):
        return NO_CODE
    return None


def prepare(out: Samples, scenario: Scenario, measured: dict[str, Runtime]) -> None:
    """Ask the rounds for the floor (``RoundRequest.rust_fused``) when the scenario has one, with a place for it."""
    if absent_reason(scenario, measured) is None:
        out.request.rust_fused = executor()
        # The executor's kind of round samples (harness.Rounds), without importing the harness that imports this.
        out.run.setdefault(RUST_FUSED, type(out.run[executor()])())


def measured_floors(out: Samples) -> list[str]:
    """``[RUST_FUSED]`` when the rounds gave it samples (a saved build older than the floor gives none)."""
    rounds = out.run.get(RUST_FUSED)
    return [RUST_FUSED] if rounds is not None and rounds.groups else []


def executor_overhead(
    results: dict[str, Any], scenario: Scenario, measured: dict[str, Runtime], seed: int
) -> dict[str, Any]:
    """rust-bin's run ÷ rust-fused's, with a 95 % CI from round-paired resampling; or ``{"absent": why}``.

    ``{"executor", "floor", "ratio", "ci95", "n", "rounds"}``: both sides were measured in the same process of
    every round, so round i of each is resampled together.
    """
    name = executor()
    reason = absent_reason(scenario, measured)
    if reason is None and RUST_FUSED not in results:
        reason = f"the {name} build measured has no --fused-iterations (older than the floor)"
    if reason is not None:
        return {"absent": reason}
    a, b = results[name]["samples"]["run_ns"], results[RUST_FUSED]["samples"]["run_ns"]
    a_sizes, b_sizes = _run_sizes(results[name]), _run_sizes(results[RUST_FUSED])
    if not (a and b and min(b) > 0):
        return {"absent": "no samples"}
    paired = bool(a_sizes and b_sizes and len(a_sizes) == len(b_sizes))
    point, lo, hi = ratio_ci(a, b, seed=seed, num_sizes=a_sizes, den_sizes=b_sizes, paired=paired)
    return {
        "executor": name,
        "floor": RUST_FUSED,
        "ratio": point,
        "ci95": [lo, hi],
        "paired": paired,
        "n": [len(a), len(b)],
        "rounds": len(a_sizes or []),
    }


def _run_sizes(entry: dict[str, Any]) -> list[int] | None:
    """The round sizes of an entry's run samples when they add up to them, else None."""
    sizes = (entry.get("round_sizes") or {}).get("run_ns")
    ok = isinstance(sizes, list) and sizes and sum(sizes) == len(entry["samples"]["run_ns"])
    return sizes if ok else None


def overhead_text(overhead: dict[str, Any]) -> str:
    """One line for a terminal: ``executor overhead: rust-bin ÷ rust-fused = 1.3x [1.2x, 1.4x]`` or why absent."""
    from rmprof.formatting import format_ratio

    if "ratio" not in overhead:
        return f"executor overhead: no {RUST_FUSED} floor ({overhead.get('absent', 'not measured')})"
    ratio = format_ratio(overhead["ratio"], *overhead["ci95"])
    return f"executor overhead: {overhead['executor']} ÷ {overhead['floor']} = {ratio}"
