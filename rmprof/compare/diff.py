"""Before/after comparison of two runs: statistics per scenario × runtime × metric, and differential profiles.

A *side* is what ``load_side`` (rmprof/compare/sides.py) reads: a run directory (``results.json`` +
``profiles/``, see rmprof/run_dir.py), a ``results.json`` file, or a bench results file (``rmprof bench -o FILE``,
schema ``rmprof.bench/1``).

``compare_runs`` returns the compare document (schema ``rmprof.compare/1``)::

    {
      "schema": "rmprof.compare/1", "created_unix": float, "threshold": 0.02,
      "before": SIDE_INFO, "after": SIDE_INFO,     # {"path", "kind": "run"|"bench", "label", "created_unix",
                                                   #  "scenarios": [names], "environment": {...}}
      "comparisons": [{
          "id": "simple/python/run", "scenario", "runtime", "metric", "label", "unit": "ns"|"bytes"|"instructions",
          "method": "bootstrap"|"exact", "gated": bool, "gate_note": str|None,
          "before", "after",                       # medians (bootstrap) or the exact values
          "n_before", "n_after",                   # sample counts (bootstrap only, else null)
          "change": float|null,                    # after/before - 1; null when growing from zero
          "ci95": [lo, hi]|null, "p_value": float|null,
          "verdict": "improved"|"regressed"|"no change"|"within noise", "message": str, "warning": str|null}],
      "summary": {"counts": {verdict: n}, "gated_counts": {verdict: n}, "total": n,
                  "gate": {"passed": bool, "threshold": float, "regressions": [id], "gated": n}},
      "profiles": [{"name": "python.py-spy", "runtime", "profiler", "unit", "before_unit",
                    "before_total", "after_total", "movers": [{"name", "before_share", "after_share", "delta",
                    "before_self_share", "after_self_share", "status"}], "appeared", "appeared_count",
                    "disappeared", "disappeared_count", "tree": <flametree.build_diff_tree>}],
      "environment": {"fields": [{"field", "before", "after", "differs", "warn"}], "warnings": [str]},
      "skipped": [{"what", "reason"}],             # present on one side only, or unreadable
    }

Lower is better everywhere (times, instructions, bytes), as in ``rmprof.bench.stats.compare``.
"""

from __future__ import annotations

import math
import time
from typing import Any

from rmprof.bench import stats
from rmprof.compare.profile_diff import profile_diffs, profile_key
from rmprof.errors import RmprofError
from rmprof.formatting import format_percent

SCHEMA = "rmprof.compare/1"
DEFAULT_THRESHOLD = stats.DEFAULT_NOISE_THRESHOLD

# metric name -> (key in the bench entry's "samples", label)
TIME_METRICS = {
    "run": ("run_ns", "run time per iteration"),
    "init": ("init_ns", "initialization"),
    "cold_start": ("cold_start_ns", "cold start"),
}
# memory figure (key in the bench entry's "memory") -> label
MEMORY_METRICS = {
    "run_alloc_peak_bytes": "run allocation peak",
    "native_heap_peak_bytes": "native heap peak",
    "process_peak_rss_bytes": "process peak RSS",
}
CALLGRIND = "callgrind"
# Measured on the project's 2-vCPU machine (2026-11-29): three identical runs minutes apart moved cold starts by
# up to 25 % while each run's interval was +-5-10 %: the drift is the machine's, between runs, which no interval
# of one run can see. Gating it by default would fail identical builds; --gate-cold-start opts in.
COLD_START_NOTE = "cold start is informational unless --gate-cold-start (it drifts between runs beyond its interval)"
# Family-wise error rate of the gate over every sampled row it judges (Holm's procedure).
GATE_ALPHA = 0.05
# The fused comprehension is a reference floor that no pipeline change touches: its drift is pure machine
# noise, so it is reported but never allowed to fail the gate.
REFERENCE_RUNTIMES = ("python-fused",)
# Memory verdicts in memory words: "performance has regressed" reads wrong for a byte count.
MEMORY_MESSAGES = {
    "improved": "Memory use has decreased.",
    "regressed": "Memory use has increased.",
    "no change": "No change in memory use detected.",
    "within noise": "Memory change within noise threshold.",
}
# Environment fields shown side by side; the ones in WARN_FIELDS make a comparison suspect when they differ.
ENV_FIELDS = ("cpu", "cores", "machine", "os", "python", "python_implementation", "rustc", "git_commit")
WARN_FIELDS = {"cpu": "CPU", "python": "Python", "git_commit": "git commit"}


# ---------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------


def _finite(x: float | None) -> float | None:
    """``x`` if finite, else None (strict JSON has no inf)."""
    return x if x is not None and math.isfinite(x) else None


def _row(
    scenario: str,
    runtime: str,
    metric: str,
    label: str,
    unit: str,
    gated: bool,
    result: dict[str, Any],
    gate_note: str | None = None,
) -> dict[str, Any]:
    """One comparison row from a stats.compare / compare_exact result."""
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
        "change": _finite(change),
        "ci95": result.get("ci95"),
        "p_value": result.get("p_value"),
        "p_beyond": result.get("p_beyond"),
        "rounds": None if exact else [result.get("rounds_before"), result.get("rounds_after")],
        "paired": bool(result.get("paired")),
        "verdict": result["verdict"],
        "message": result["message"],
        "warning": warning,
        "signal": None,
        "noise_floor": None,
        "below_floor": False,
        "threshold": result.get("noise_threshold"),
    }


def _usable(samples: Any) -> list[float] | None:
    """Samples as floats when there are any and all are positive (a ratio of medians needs that)."""
    if not isinstance(samples, list) or not samples:
        return None
    try:
        xs = [float(x) for x in samples]
    except (TypeError, ValueError):
        return None
    return xs if min(xs) > 0 and all(math.isfinite(x) for x in xs) else None


def _compare_runtime(
    scenario: str,
    runtime: str,
    before: dict[str, Any],
    after: dict[str, Any],
    threshold: float,
    floors: dict[str, float],
    skipped: list,
    gate_cold_start: bool = False,
    machine_move: float = 0.0,
) -> list[dict[str, Any]]:
    """Time metrics (bootstrap over rounds of samples) and memory figures (exact) of one scenario × runtime;
    ``machine_move`` raises the threshold of its gated times (see ``_machine_move``)."""
    from rmprof.bench.harness import sample_sizes

    rows: list[dict[str, Any]] = []
    reference = runtime in REFERENCE_RUNTIMES
    note = "reference floor, not gated" if reference else None
    b_samples, a_samples = before.get("samples") or {}, after.get("samples") or {}
    for metric, (key, label) in TIME_METRICS.items():
        xs, ys = _usable(b_samples.get(key)), _usable(a_samples.get(key))
        if xs is None and ys is None:
            continue  # not measured for this runtime on either side (e.g. init of the fused floor)
        if xs is None or ys is None:
            side = "before" if xs is None else "after"
            skipped.append({"what": f"{scenario}/{runtime}/{metric}", "reason": f"no usable samples {side}"})
            continue
        gated, why = not reference, note
        if metric == "cold_start" and gated and not gate_cold_start:
            gated, why = False, COLD_START_NOTE
        sizes = (sample_sizes(before, key), sample_sizes(after, key))
        move = machine_move if gated else 0.0
        rows.append(time_row(scenario, runtime, metric, label, (xs, ys), sizes, threshold, floors, gated, why, move))
    rows.extend(_node_rows(scenario, runtime, before, after, threshold))
    b_mem, a_mem = before.get("memory") or {}, after.get("memory") or {}
    for key, label in MEMORY_METRICS.items():
        b, a = b_mem.get(key), a_mem.get(key)
        if not isinstance(b, int) or not isinstance(a, int) or isinstance(b, bool) or isinstance(a, bool):
            continue
        # Memory is informational: peak RSS moves with allocator and interpreter state, not only the code.
        result = stats.compare_exact(max(b, 0), max(a, 0), noise_threshold=threshold)
        result["message"] = MEMORY_MESSAGES[result["verdict"]]
        rows.append(_row(scenario, runtime, f"memory.{key}", label, "bytes", False, result, "memory is informational"))
    return rows


def _node_rows(
    scenario: str, runtime: str, before: dict[str, Any], after: dict[str, Any], threshold: float
) -> list[dict[str, Any]]:
    """Per-node ns per item before and after (informational: they explain a change, the run time gates it)."""
    b_nodes = {n["node"]: n for n in ((before.get("nodes") or {}).get("nodes") or [])}
    rows = []
    for n in (after.get("nodes") or {}).get("nodes") or []:
        b = b_nodes.get(n["node"])
        xs, ys = (b or {}).get("ns_per_item") or {}, n.get("ns_per_item") or {}
        bx, ay = _usable(xs.get("samples")), _usable(ys.get("samples"))
        if bx is None or ay is None:
            continue
        result = stats.compare(
            bx, ay, noise_threshold=threshold, before_sizes=xs.get("round_sizes"), after_sizes=ys.get("round_sizes")
        )
        label = f"node {n['node']} ({n.get('node_type')}), per item"
        rows.append(
            _row(scenario, runtime, f"node.{n['node']}", label, "ns", False, result, "per-node: explains, not gated")
        )
    return rows


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
    machine_move: float = 0.0,
    paired: bool = False,
) -> dict[str, Any]:
    """The comparison row of one sampled time (before, after), judged against the larger of ``threshold`` and
    this machine's A/A noise floor for that figure, plus how far the machine itself moved between the runs
    (``machine_move``), with the floor recorded beside the verdict."""
    floor = floors.get(f"{scenario}/{runtime}/{metric}")
    row_threshold = max(threshold, floor or 0.0) + machine_move
    result = stats.compare(
        *samples, noise_threshold=row_threshold, before_sizes=sizes[0], after_sizes=sizes[1], paired=paired
    )
    row = _row(scenario, runtime, metric, label, "ns", gated, result, gate_note)
    row["noise_floor"] = floor
    row["threshold"] = row_threshold
    row["machine_move"] = machine_move
    if machine_move:
        row["message"] += (
            f" Judged against ±{100 * row_threshold:.1f} %: the reference floor moved ±{100 * machine_move:.1f} %"
            " between the runs."
        )
    change = row["change"]
    row["below_floor"] = floor is not None and change is not None and abs(change) < floor
    if row["below_floor"]:
        row["message"] += f" Below this machine's A/A noise floor (±{100 * floor:.1f} %)."
    return row


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


def _callgrind_rows(
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
        result = stats.compare_exact(b_count, a_count, noise_threshold=threshold)
        row = _row(scenario, key[0], "instructions", "callgrind instructions", "instructions", True, result)
        row["signal"] = "instructions"
        rows.append(row)
    return rows


def _decide_signals(rows: list[dict[str, Any]]) -> list[str]:
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


def _summary(rows: list[dict[str, Any]], threshold: float, disagreements: list[str]) -> dict[str, Any]:
    """Verdict counts and the gate.

    The gate fails on an exact (instruction) count beyond the threshold, or on a sampled time whose whole
    95 % interval lies beyond its threshold (the larger of --threshold and the machine's noise floor) and
    whose "regression beyond the threshold" survives Holm's correction over every sampled gated row.
    """
    counts = dict.fromkeys(stats.VERDICTS, 0)
    gated_counts = dict.fromkeys(stats.VERDICTS, 0)
    for r in rows:
        counts[r["verdict"]] += 1
        if r["gated"]:
            gated_counts[r["verdict"]] += 1
    sampled = [r for r in rows if r["gated"] and r["method"] != "exact"]
    rejected = stats.holm([r.get("p_beyond", 1.0) for r in sampled], GATE_ALPHA)
    for r, rej in zip(sampled, rejected, strict=True):
        r["holm_rejected"] = rej
    regressions = []
    for r in rows:
        if not r["gated"] or r["verdict"] != "regressed":
            continue
        if r["method"] == "exact" or r.get("holm_rejected"):
            regressions.append(r["id"])
        else:
            r["gate_note"] = "beyond the threshold, but not after Holm's correction over every gated row"
    decided_by = {r["id"]: r.get("signal") or ("instructions" if r["method"] == "exact" else "wall time") for r in rows}
    return {
        "counts": counts,
        "gated_counts": gated_counts,
        "total": len(rows),
        "gate": {
            "passed": not regressions,
            "threshold": threshold,
            "regressions": regressions,
            "decided_by": {rid: decided_by[rid] for rid in regressions},
            "gated": sum(1 for r in rows if r["gated"]),
            "gated_exact": sum(1 for r in rows if r["gated"] and r["method"] == "exact"),
            "alpha": GATE_ALPHA,
            "correction": f"Holm over {len(sampled)} sampled gated rows",
            "disagreements": disagreements,
        },
    }


# ---------------------------------------------------------------------------
# Environment
# ---------------------------------------------------------------------------


def _environment(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Both environments field by field, with a warning for each differing CPU / Python / git commit."""
    b = before["environment"]
    a = after["environment"]
    fields, warnings = [], []
    for key in ENV_FIELDS:
        bv, av = b.get(key), a.get(key)
        differs = bv != av
        fields.append(
            {"field": key, "before": bv, "after": av, "differs": differs, "warn": differs and key in WARN_FIELDS}
        )
        if differs and key in WARN_FIELDS:
            warnings.append(f"{WARN_FIELDS[key]} differs: {bv} (before) vs {av} (after)")
    b_pk, a_pk = b.get("packages") or {}, a.get("packages") or {}
    for name in sorted(set(b_pk) | set(a_pk)):
        bv, av = b_pk.get(name), a_pk.get(name)
        fields.append({"field": f"package {name}", "before": bv, "after": av, "differs": bv != av, "warn": False})
    return {"fields": fields, "warnings": warnings}


def _machine_move(reference_rows: list[dict[str, Any]]) -> float:
    """How far the machine moved between the two runs, as the reference floor's run time shows it: its change
    when that is a verdict (its interval excludes no change), else 0.

    The floor runs the same code on both sides, interleaved with the pipelines, so its move is the machine's
    (a shared VM here slowed a whole run by 5-8 % half an hour later); a pipeline's time changing by that much
    says nothing about its code, so the gate asks a time to move beyond its threshold plus this.
    """
    for r in reference_rows:
        if r["metric"] == "run" and r["verdict"] in ("improved", "regressed") and r["change"] is not None:
            return abs(r["change"])
    return 0.0


def _drift_warnings(rows: list[dict[str, Any]]) -> list[str]:
    """A warning for each reference floor whose run time moved although its code is the same on both sides."""
    out = []
    for r in rows:
        if r["runtime"] in REFERENCE_RUNTIMES and r["metric"] == "run" and r["verdict"] in ("improved", "regressed"):
            # The floor is interleaved with the pipeline runs, so besides machine drift a much heavier pipeline
            # (caches, GC pressure) can move it too: say what moved, not which cause it was.
            out.append(
                f"{r['scenario']}: the {r['runtime']} reference runs the same code on both sides yet moved "
                f"{100 * r['change']:+.1f}%: machine speed or process state differed between the runs; "
                "time changes of that order are not attributable to the code, so gated times of this scenario "
                "are judged against their threshold plus this move"
            )
    return out


# ---------------------------------------------------------------------------
# The comparison
# ---------------------------------------------------------------------------


def _side_info(side: dict[str, Any]) -> dict[str, Any]:
    """What the compare document says about one side (no samples, no profiles)."""
    return {
        "path": side["path"],
        "kind": side["kind"],
        "label": side["label"],
        "created_unix": side["created_unix"],
        "scenarios": [s["scenario"] for s in side["scenarios"]],
        "environment": side["environment"],
    }


def compare_runs(
    before: dict[str, Any],
    after: dict[str, Any],
    threshold: float = DEFAULT_THRESHOLD,
    floors: dict[str, float] | None = None,
    gate_cold_start: bool = False,
) -> dict[str, Any]:
    """Compare two loaded sides (see ``load_side``): every shared scenario × runtime × metric, and profiles.

    ``floors`` maps ``scenario/runtime/metric`` to this machine's A/A noise floor (``rmprof calibrate``): a
    time row is judged against the larger of ``threshold`` and its floor. Raises RmprofError (exit 2) when
    the sides share nothing to compare: a gate that compared nothing must not pass.
    """
    if not (isinstance(threshold, int | float) and math.isfinite(threshold) and threshold >= 0):
        raise RmprofError(f"threshold must be a non-negative number, got {threshold!r}")
    floors = floors or {}
    rows: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    profiles: list[dict[str, Any]] = []
    b_parts = {s["scenario"]: s for s in before["scenarios"]}
    a_names = [s["scenario"] for s in after["scenarios"]]
    several = len(after["scenarios"]) > 1
    for part in after["scenarios"]:
        name = part["scenario"]
        if name not in b_parts:
            skipped.append({"what": f"scenario {name}", "reason": "only in after"})
            continue
        b_part = b_parts[name]
        b_rts, a_rts = b_part["entry"]["runtimes"], part["entry"]["runtimes"]
        per_runtime: dict[str, list[dict[str, Any]]] = {}
        move = 0.0
        # The reference floor first: how far it moved raises the bar for the others (rows keep the sides' order).
        for runtime in sorted(a_rts, key=lambda rt: rt not in REFERENCE_RUNTIMES):
            if runtime not in b_rts:
                skipped.append({"what": f"{name}/{runtime}", "reason": "only in after"})
                continue
            per_runtime[runtime] = _compare_runtime(
                name, runtime, b_rts[runtime], a_rts[runtime], threshold, floors, skipped, gate_cold_start, move
            )
            if runtime in REFERENCE_RUNTIMES:
                move = max(move, _machine_move(per_runtime[runtime]))
        rows.extend(r for runtime in a_rts if runtime in per_runtime for r in per_runtime[runtime])
        skipped.extend({"what": f"{name}/{rt}", "reason": "only in before"} for rt in b_rts if rt not in a_rts)
        rows.extend(_callgrind_rows(name, b_part, part, threshold, skipped))
        if b_part["run_dir"] and part["run_dir"]:
            profiles.extend(profile_diffs(name, b_part, part, skipped, f"{name}: " if several else ""))
    skipped.extend({"what": f"scenario {n}", "reason": "only in before"} for n in b_parts if n not in a_names)
    if not rows:
        b_names = ", ".join(b_parts) or "none"
        raise RmprofError(
            f"nothing to compare: {before['path']} (scenarios: {b_names}) and {after['path']} "
            f"(scenarios: {', '.join(a_names) or 'none'}) share no scenario × runtime with samples"
        )
    disagreements = _decide_signals(rows)
    environment = _environment(before, after)
    environment["warnings"].extend(_drift_warnings(rows))
    return {
        "schema": SCHEMA,
        "created_unix": time.time(),
        "threshold": threshold,
        "noise_floor": {"applied": bool(floors), "floors": floors},
        "before": _side_info(before),
        "after": _side_info(after),
        "comparisons": rows,
        "summary": _summary(rows, threshold, disagreements),
        "profiles": profiles,
        "environment": environment,
        "skipped": skipped,
    }
