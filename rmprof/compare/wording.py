"""The comparison in Criterion's terminal wording: one line per row, the change clause, the summary and gate."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rmprof.formatting import format_percent, format_value

if TYPE_CHECKING:
    from rmprof.model.compare import CompareDocument, Row


def format_change(row: Row) -> str:
    """Criterion's change clause: ``[lo point hi] (p = 0.00 < 0.05)`` or ``+1.00% (exact)``."""
    change = row["change"]
    if change is None:
        return "change: grew from zero (exact)"
    if row["ci95"] is None or row["p_value"] is None:
        return f"change: {format_percent(change)} (exact)"
    lo, hi = row["ci95"]
    p = row["p_value"]
    rel = "<" if p < 0.05 else ">="
    return f"change: [{format_percent(lo)} {format_percent(change)} {format_percent(hi)}] (p = {p:.2f} {rel} 0.05)"


def format_row(row: Row) -> str:
    """One terminal line per comparison, in Criterion's wording."""
    values = f"{format_value(row['before'], row['unit'])} -> {format_value(row['after'], row['unit'])}"
    outcome = row.get("outcome")
    tail = " (informational)" if not row["gated"] else f" [gate: {outcome}]" if outcome and outcome != "pass" else ""
    warn = f" [{row['warning']}]" if row.get("warning") else ""
    return f"{row['id']}: {values}  {format_change(row)}  {row['message']}{tail}{warn}"


def format_summary(doc: CompareDocument) -> str:
    """The closing lines: verdict counts, then the gate's outcome (PASS, FAIL or INCONCLUSIVE) and why."""
    s = doc["summary"]
    counts = ", ".join(f"{n} {v}" for v, n in s["counts"].items())
    gate = s["gate"]
    thresholds = doc.get("thresholds") or {"wall time": gate["threshold"]}
    bar = ", ".join(f"{100 * t:g}% {what}" for what, t in thresholds.items())
    lines = [f"{s['total']} comparisons: {counts}"]
    builds = doc.get("builds")
    if builds:
        lines.append(f"builds: {builds['summary']}")
    outcome = gate.get("outcome") or ("pass" if gate["passed"] else "fail")
    if outcome == "pass":
        lines.append(f"gate: PASS (no gated metric regressed beyond {bar}, each conclusive; {gate['gated']} gated)")
    elif outcome == "fail":
        lines.append(
            f"gate: FAIL ({len(gate['regressions'])} gated regression(s) beyond {bar}: "
            + ", ".join(gate["regressions"])
            + ")"
        )
    else:
        lines.append(f"gate: INCONCLUSIVE ({len(gate['inconclusive'])} gated metric(s) cannot be called)")
    lines.extend(f"  {row['id']}: {row['reason']}" for row in gate.get("inconclusive") or [])
    return "\n".join(lines)
