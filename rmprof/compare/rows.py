"""One comparison row (an entry of compare.json's ``comparisons``, rmprof/model/compare.py ``Row``) from a
before/after result of rmprof/bench/stats/verdicts.py; a sampled time's row with its noise floor and machine move."""

from __future__ import annotations

import math
from typing import Any

from rmprof.bench.stats.verdicts import compare


def finite(x: float | None) -> float | None:
    """``x`` if finite, else None (strict JSON has no inf)."""
    return x if x is not None and math.isfinite(x) else None


def comparison_row(
    scenario: str,
    runtime: str,
    metric: str,
    label: str,
    unit: str,
    gated: bool,
    result: dict[str, Any],
    gate_note: str | None = None,
) -> dict[str, Any]:
    """One comparison row from a verdicts.compare / compare_exact result."""
    exact = "before_median" not in result  # compare_exact reports before/after, compare medians
    change = result["change"]
    warning = result.get("warning")
    if not math.isfinite(change):
        warning = "grew from zero: relative change unbounded"
    return {
        "id": f"{scenario}/{runtime}/{metric}",
        "scenario": scenario,
        "runtime": runtime,
        "metric": metric,
        "label": label,
        "unit": unit,
        "method": "exact" if exact else "paired bootstrap" if result.get("paired") else "bootstrap",
        "gated": gated,
        "gate_note": gate_note,
        "before": result["before"] if exact else result["before_median"],
        "after": result["after"] if exact else result["after_median"],
        "n_before": None if exact else result["n_before"],
        "n_after": None if exact else result["n_after"],
        "change": finite(change),
        "ci95": result.get("ci95"),
        "p_value": result.get("p_value"),
        "p_beyond": result.get("p_beyond"),
        "upper95": result.get("upper95"),
        "log_se": finite(result.get("log_se")),
        "rounds": None if exact else [result.get("rounds_before"), result.get("rounds_after")],
        "paired": bool(result.get("paired")),
        "verdict": result["verdict"],
        "message": result["message"],
        "warning": warning,
        # Too few fresh processes a side for the interval to see the noise between them: never gated on.
        "few_rounds": bool(result.get("few_rounds")),
        "signal": None,
        "noise_floor": None,
        "below_floor": False,
        "threshold": result.get("noise_threshold"),
        "user_threshold": result.get("noise_threshold"),
        "outcome": None,
        "outcome_reason": None,
    }


def time_row(
    scenario: str,
    runtime: str,
    metric: str,
    label: str,
    samples: tuple[list[float], list[float]],
    sizes: tuple[list[int] | None, list[int] | None],
    threshold: float,
    floors: dict[str, float],
    gated: bool,
    gate_note: str | None = None,
    machine: dict[str, Any] | None = None,
    paired: bool = False,
    distributions: dict[str, list[float]] | None = None,
) -> dict[str, Any]:
    """The comparison row of one sampled time (before, after): its verdict against the larger of ``threshold``
    and this machine's A/A noise floor for it (the floor recorded beside), and how its machine reference moved
    (``machine``, when it did). Its bootstrap distribution goes into ``distributions`` for the gate."""
    floor = floors.get(f"{scenario}/{runtime}/{metric}")
    row_threshold = max(threshold, floor or 0.0)
    result = compare(
        *samples,
        noise_threshold=row_threshold,
        before_sizes=sizes[0],
        after_sizes=sizes[1],
        paired=paired,
        keep_distribution=True,
    )
    row = comparison_row(scenario, runtime, metric, label, "ns", gated, result, gate_note)
    if distributions is not None:
        distributions[row["id"]] = result["distribution"]
    row["noise_floor"] = floor
    row["threshold"] = row_threshold
    row["user_threshold"] = threshold
    moved = machine is not None and machine.get("moved")
    row["machine_move"] = machine["change"] if moved else 0.0
    row["machine_move_ci95"] = machine["ci95"] if moved else None
    row["machine_reference"] = machine["kind"] if machine else None
    change = row["change"]
    row["below_floor"] = floor is not None and change is not None and abs(change) < floor
    if row["below_floor"]:
        row["message"] += f" Below this machine's A/A noise floor (±{100 * floor:.1f} %)."
    return row
