"""compare.json's ``summary``: verdict counts over the rows, and the gate's outcome (rules: rmprof/compare/gate.py)."""

from __future__ import annotations

from typing import Any

from rmprof.bench.stats.verdicts import VERDICTS
from rmprof.compare import gate as gate_rules

# Family-wise error rate of the gate over every sampled row it judges (Holm's procedure).
GATE_ALPHA = gate_rules.ALPHA


def summarize_rows(
    rows: list[dict[str, Any]],
    threshold: float,
    disagreements: list[str],
    distributions: dict[str, list[float]],
) -> dict[str, Any]:
    """Verdict counts and the gate (its rules: rmprof/compare/gate.py)."""
    counts = dict.fromkeys(VERDICTS, 0)
    gated_counts = dict.fromkeys(VERDICTS, 0)
    for r in rows:
        counts[r["verdict"]] += 1
        if r["gated"]:
            gated_counts[r["verdict"]] += 1
    gate = gate_rules.judge(rows, distributions, GATE_ALPHA)
    decided_by = {r["id"]: r.get("signal") or ("instructions" if r["method"] == "exact" else "wall time") for r in rows}
    return {
        "counts": counts,
        "gated_counts": gated_counts,
        "total": len(rows),
        "gate": {
            **gate,
            "threshold": threshold,
            "decided_by": {rid: decided_by[rid] for rid in gate["regressions"]},
            "gated": sum(1 for r in rows if r["gated"]),
            "gated_exact": sum(1 for r in rows if r["gated"] and r["method"] == "exact"),
            "disagreements": disagreements,
        },
    }
