"""Exact instruction counts (callgrind) as comparison rows, and where they decide a runtime's run time instead
of its wall time."""

from __future__ import annotations

import math
from typing import Any

from rmprof.bench.stats.verdicts import compare_exact
from rmprof.compare.profile_diff import profile_key
from rmprof.compare.rows import comparison_row
from rmprof.formatting import format_percent
from rmprof.runtimes import REFERENCE_RUNTIMES

CALLGRIND = "callgrind"


def _instructions(summary: dict[str, Any]) -> int | None:
    """Total instructions of a callgrind profile summary (meta first, else the profile total)."""
    meta = summary.get("meta") if isinstance(summary.get("meta"), dict) else {}
    value = meta.get("total_instructions")
    if value is None and summary.get("unit") == "instructions":
        value = summary.get("total")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        return None
    return int(value)


def _scope(summary: dict[str, Any]) -> str | None:
    """What a callgrind profile counted (its ``meta.scope``), when it says."""
    meta = summary.get("meta") if isinstance(summary.get("meta"), dict) else {}
    scope = meta.get("scope")
    return scope if isinstance(scope, str) else None


def instruction_rows(
    scenario: str, before: dict[str, Any], after: dict[str, Any], threshold: float, skipped: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Exact instruction-count comparisons for every runtime callgrind profiled in this scenario on both sides.

    Counts of different scopes (rmprof changed what it counts) are not compared: the row would gate a change
    of the measurement, not of the code. It is listed as skipped, and wall time decides that runtime's run.
    """
    b = {k[0]: p for p in before["profiles"] if (k := profile_key(p)) and k[1] == CALLGRIND}
    rows = []
    for p in after["profiles"]:
        key = profile_key(p)
        if not key or key[1] != CALLGRIND or key[0] not in b:
            continue
        b_scope, a_scope = _scope(b[key[0]]), _scope(p)
        if b_scope and a_scope and b_scope != a_scope:
            reason = f"callgrind counted different things: before {b_scope!r}, after {a_scope!r}; wall time decides"
            skipped.append({"what": f"{scenario}/{key[0]}/instructions", "reason": reason})
            continue
        a_count, b_count = _instructions(p), _instructions(b[key[0]])
        if a_count is None or b_count is None:
            continue
        result = compare_exact(b_count, a_count, noise_threshold=threshold)
        row = comparison_row(scenario, key[0], "instructions", "callgrind instructions", "instructions", True, result)
        row["signal"] = "instructions"
        rows.append(row)
    return rows


def decide_signals(rows: list[dict[str, Any]]) -> list[str]:
    """Instructions decide a runtime's run time where callgrind counted them; say where the signals disagree.

    Wall time on a shared machine moves with its neighbours, an instruction count only with the code, so
    where both exist the run-time row is shown but not gated. Returns the disagreements, worded.
    """
    counted = {(r["scenario"], r["runtime"]): r for r in rows if r["metric"] == "instructions"}
    disagreements = []
    for r in rows:
        if r["metric"] != "run" or r["runtime"] in REFERENCE_RUNTIMES:
            continue
        instr = counted.get((r["scenario"], r["runtime"]))
        if instr is None:
            r["signal"] = "wall time" if r["gated"] else None
            continue
        r["gated"] = False
        r["signal"] = None
        r["gate_note"] = "decided by callgrind instructions (exact)"
        moved = {v for v in (r["verdict"], instr["verdict"]) if v in ("improved", "regressed")}
        if r["verdict"] != instr["verdict"] and moved:
            text = (
                f"{r['scenario']}/{r['runtime']}: wall time says {r['verdict']} "
                f"({format_percent(r['change'] or 0.0)}), instructions say {instr['verdict']} "
                f"({format_percent(instr['change'] or 0.0)}); instructions decide"
            )
            r["disagreement"] = instr["disagreement"] = text
            disagreements.append(text)
    return disagreements
