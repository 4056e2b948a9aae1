"""Before/after comparison of two runs: every shared scenario × runtime × metric, and differential profiles.

A *side* is what ``load_side`` (rmprof/compare/sides.py) reads: a run directory (``results.json`` +
``profiles/``, see rmprof/run_dir.py), a ``results.json`` file, or a bench results file (``rmprof bench -o FILE``,
schema ``rmprof.bench/1``). ``compare_runs`` returns the compare document, schema ``rmprof.compare/1``: its shape
is ``CompareDocument`` in rmprof/model/compare.py (the JSON Schema: rmprof/compare.schema.json). Its parts are
built by compare/rows.py and runtime_rows.py (time, node and memory rows), instructions.py (callgrind counts),
machine.py, builds.py, profile_diff.py, environment.py and summary.py (verdict counts and the gate).

Lower is better everywhere (times, instructions, bytes), as in ``rmprof.bench.stats.verdicts.compare``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from rmprof.compare.builds import compare_builds
from rmprof.compare.environment import environment_diff
from rmprof.compare.instructions import decide_signals, instruction_rows
from rmprof.compare.machine import machine_moves, move_warning, reference_kind
from rmprof.compare.profile_diff import profile_diffs
from rmprof.compare.runtime_rows import runtime_rows
from rmprof.compare.summary import summarize_rows
from rmprof.compare.thresholds import thresholds_block, thresholds_for
from rmprof.errors import RmprofError

if TYPE_CHECKING:
    from rmprof.model.compare import CompareDocument, Side, SideInfo

SCHEMA = "rmprof.compare/1"


def _side_info(side: Side) -> SideInfo:
    """What the compare document says about one side (no samples, no profiles)."""
    return {
        "path": side["path"],
        "kind": side["kind"],
        "label": side["label"],
        "created_unix": side["created_unix"],
        "scenarios": [s["scenario"] for s in side["scenarios"]],
        "environment": side["environment"],
    }


def _workload_warning(name: str, before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """A warning when the two sides ran the scenario over different numbers of items: their times then differ
    by the workload, and a regression found there is not one of the code."""
    b_items, a_items = before.get("items"), after.get("items")
    if b_items is None or a_items is None or b_items == a_items:
        return []
    return [
        f"{name}: the input differs ({b_items:,} items before, {a_items:,} after): its times compare two "
        "workloads, not two builds"
    ]


def compare_runs(
    before: Side,
    after: Side,
    threshold: float | None = None,
    floors: dict[str, float] | None = None,
    gate_cold_start: bool = False,
) -> CompareDocument:
    """Compare two loaded sides (see ``load_side``): every shared scenario × runtime × metric, and profiles.

    ``threshold`` applies to wall times and exact counts alike (default: ``thresholds_for(None)``). ``floors``
    maps ``scenario/runtime/metric`` to this machine's A/A noise floor (``rmprof calibrate``): a time row's
    verdict is judged against the larger of its threshold and its floor, and a change that only the floor
    explains is inconclusive, never a pass. Raises RmprofError (exit 2) when the sides share nothing to
    compare: a gate that compared nothing must not pass.
    """
    thresholds = thresholds_for(threshold)
    floors = floors or {}
    rows: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    profiles: list[dict[str, Any]] = []
    distributions: dict[str, list[float]] = {}
    machine: dict[str, Any] = {"moves": {}, "notes": []}
    warnings: list[str] = []
    b_parts = {s["scenario"]: s for s in before["scenarios"]}
    a_names = [s["scenario"] for s in after["scenarios"]]
    several = len(after["scenarios"]) > 1
    for part in after["scenarios"]:
        name = part["scenario"]
        if name not in b_parts:
            skipped.append({"what": f"scenario {name}", "reason": "only in after"})
            continue
        b_part = b_parts[name]
        moves, notes = machine_moves(name, b_part["entry"], part["entry"])
        machine["moves"][name], machine["notes"] = moves, [*machine["notes"], *notes]
        warnings.extend(move_warning(name, m) for m in moves.values() if m["moved"])
        other_workload = _workload_warning(name, b_part["entry"], part["entry"])
        warnings.extend(other_workload)
        first_row = len(rows)
        b_rts, a_rts = b_part["entry"]["runtimes"], part["entry"]["runtimes"]
        for runtime in a_rts:
            if runtime not in b_rts:
                skipped.append({"what": f"{name}/{runtime}", "reason": "only in after"})
                continue
            move = moves.get(reference_kind(runtime) or "")
            rows.extend(
                runtime_rows(
                    name,
                    runtime,
                    b_rts[runtime],
                    a_rts[runtime],
                    thresholds,
                    floors,
                    skipped,
                    distributions,
                    gate_cold_start,
                    move,
                )
            )
        skipped.extend({"what": f"{name}/{rt}", "reason": "only in before"} for rt in b_rts if rt not in a_rts)
        rows.extend(instruction_rows(name, b_part, part, thresholds["exact"], skipped))
        if other_workload:
            for row in rows[first_row:]:
                row["incomparable"] = other_workload[0]  # the gate calls none of them (compare/gate.py)
        if b_part["run_dir"] and part["run_dir"]:
            profiles.extend(profile_diffs(name, b_part, part, skipped, f"{name}: " if several else ""))
    skipped.extend({"what": f"scenario {n}", "reason": "only in before"} for n in b_parts if n not in a_names)
    if not rows:
        b_names = ", ".join(b_parts) or "none"
        raise RmprofError(
            f"nothing to compare: {before['path']} (scenarios: {b_names}) and {after['path']} "
            f"(scenarios: {', '.join(a_names) or 'none'}) share no scenario × runtime with samples"
        )
    disagreements = decide_signals(rows)
    environment = environment_diff(before, after)
    environment["warnings"].extend(warnings)
    builds = compare_builds(before, after)
    for side, pairs in (builds.get("mixed") or {}).items():
        if pairs:
            environment["warnings"].append(
                f"{side}: an extension was measured beside a binary of another build ({', '.join(pairs)}): "
                "its boundary figure subtracts two builds"
            )
    return {
        "schema": SCHEMA,
        "created_unix": time.time(),
        "threshold": thresholds["time"],
        "thresholds": thresholds_block(thresholds),
        "noise_floor": {"applied": bool(floors), "floors": floors},
        "machine": machine,
        "builds": builds,
        "before": _side_info(before),
        "after": _side_info(after),
        "comparisons": rows,
        "summary": summarize_rows(rows, thresholds["time"], disagreements, distributions),
        "profiles": profiles,
        "environment": environment,
        "skipped": skipped,
    }
