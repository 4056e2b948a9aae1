"""Before/after comparison of two runs: statistics per scenario × runtime × metric, and differential profiles.

A *side* is what ``load_side`` (rmprof/compare/sides.py) reads: a run directory (``results.json`` +
``profiles/``, see rmprof/run_dir.py), a ``results.json`` file, or a bench results file (``rmprof bench -o FILE``,
schema ``rmprof.bench/1``).

``compare_runs`` returns the compare document (schema ``rmprof.compare/1``)::

    {
      "schema": "rmprof.compare/1", "created_unix": float, "threshold": 0.05,   # the wall-time threshold
      "thresholds": {"wall time": 0.05, "exact": 0.02},
      "machine": {"moves": {scenario: {kind: {"kind", "digest", "change", "ci95", "p_value", "moved"}}},
                  "notes": [str]},                 # frozen machine references (rmprof/compare/machine.py)
      "builds": {"before", "after", "same_build", "differences", "mixed", "summary"},   # rmprof/compare/builds.py
      "before": SIDE_INFO, "after": SIDE_INFO,     # {"path", "kind": "run"|"bench", "label", "created_unix",
                                                   #  "scenarios": [names], "environment": {...}}
      "comparisons": [{
          "id": "simple/python/run", "scenario", "runtime", "metric", "label", "unit": "ns"|"bytes"|"instructions",
          "method": "bootstrap"|"exact", "gated": bool, "gate_note": str|None,
          "before", "after",                       # medians (bootstrap) or the exact values
          "n_before", "n_after",                   # sample counts (bootstrap only, else null)
          "change": float|null,                    # after/before - 1; null when growing from zero
          "ci95": [lo, hi]|null, "p_value": float|null,
          "p_beyond", "upper95", "log_se", "mdc",  # the gate's evidence (sampled rows; see rmprof/compare/gate.py)
          "threshold", "user_threshold", "noise_floor", "machine_move", "machine_reference", "side_noise",
          "verdict": "improved"|"regressed"|"no change"|"within noise", "message": str, "warning": str|null,
          "outcome": "pass"|"fail"|"inconclusive"|null, "outcome_reason": str|null}],   # null: not gated
      "summary": {"counts": {verdict: n}, "gated_counts": {verdict: n}, "total": n,
                  "gate": {"outcome": "pass"|"fail"|"inconclusive", "exit_code": 0|1|3, "passed": bool,
                           "threshold": float, "regressions": [id], "inconclusive": [{"id", "reason"}],
                           "gated": n, "alpha", "power", "correction", "decided_by", "disagreements"}},
      "profiles": [{"name": "python.py-spy", "runtime", "profiler", "unit", "before_unit",
                    "before_total", "after_total", "movers": [{"name", "before_share", "after_share", "delta",
                    "before_self_share", "after_self_share", "status", "p_value", "significant"}],
                    "method": str, "test": {...}, "unconfirmed": {"appeared", "disappeared", "moved"},
                    "appeared", "appeared_count", "disappeared", "disappeared_count",   # beyond noise only
                    "tree": <flametree.build_diff_tree>}],   # see rmprof/compare/profile_diff.py
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
from rmprof.compare import gate as gate_rules
from rmprof.compare import least_loaded
from rmprof.compare.builds import compare_builds
from rmprof.compare.machine import machine_moves, move_warning, reference_kind
from rmprof.compare.profile_diff import profile_diffs, profile_key
from rmprof.compare.samples import usable_samples
from rmprof.errors import RmprofError
from rmprof.formatting import format_percent

SCHEMA = "rmprof.compare/1"
# Exact counts (callgrind instructions) have no sampling noise: Criterion's 2 % is their threshold.
DEFAULT_THRESHOLD = stats.DEFAULT_NOISE_THRESHOLD
# Wall times on a shared 2-vCPU machine: the gate passes a row only when its one-sided 95 % upper bound lies
# within the threshold, and two runs' intervals of one build put that bound at +2-4 % for run times; at 2 %
# every A/A compare would be inconclusive. A 10 % slowdown still fails (its lower bound clears 5 %, or a node's
# does). `--threshold` sets every threshold.
DEFAULT_TIME_THRESHOLD = 0.05
# Initialization is one build of the executor, 1-100 µs, and varies between fresh processes more than a run does
# (layout: three A/A runs of 20 processes each put the in-process rust init's 95 % intervals at ±3-5 % per side,
# so no A/A could show a +5 % bound). It is paid once per pipeline; 10 % still catches a real init regression.
DEFAULT_INIT_THRESHOLD = 0.10

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
GATE_ALPHA = gate_rules.ALPHA
# The fused loops are floors (Python's comprehension, the Rust binary's plain loop): shown, never gated. Each
# composes the pipeline's own node operations, so it moves with node code and is no machine reference
# (rmprof/compare/machine.py).
REFERENCE_RUNTIMES = ("python-fused", "rust-fused")
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
        "upper95": result.get("upper95"),
        "log_se": _finite(result.get("log_se")),
        "rounds": None if exact else [result.get("rounds_before"), result.get("rounds_after")],
        "paired": bool(result.get("paired")),
        "verdict": result["verdict"],
        "message": result["message"],
        "warning": warning,
        "signal": None,
        "noise_floor": None,
        "below_floor": False,
        "threshold": result.get("noise_threshold"),
        "user_threshold": result.get("noise_threshold"),
        "outcome": None,
        "outcome_reason": None,
    }


def _compare_runtime(
    scenario: str,
    runtime: str,
    before: dict[str, Any],
    after: dict[str, Any],
    thresholds: dict[str, float],
    floors: dict[str, float],
    skipped: list,
    distributions: dict[str, list[float]],
    gate_cold_start: bool = False,
    machine: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Time metrics (bootstrap over rounds of samples) and memory figures (exact) of one scenario × runtime;
    ``machine`` is how this runtime's machine reference moved between the runs (rmprof/compare/machine.py)."""
    from rmprof.bench.harness import sample_sizes

    rows: list[dict[str, Any]] = []
    reference = runtime in REFERENCE_RUNTIMES
    note = "reference floor, not gated" if reference else None
    b_samples, a_samples = before.get("samples") or {}, after.get("samples") or {}
    for metric, (key, label) in TIME_METRICS.items():
        xs, ys = usable_samples(b_samples.get(key)), usable_samples(a_samples.get(key))
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
        row = time_row(
            scenario,
            runtime,
            metric,
            label,
            (xs, ys),
            sizes,
            thresholds["init" if metric == "init" else "time"],
            floors,
            gated,
            why,
            machine,
            distributions=distributions,
        )
        row["side_noise"] = _side_noise(before.get(metric), after.get(metric))
        for side, samples, sizes_ in (("before", xs, sizes[0]), ("after", ys, sizes[1])):
            row["side_noise"][f"{side}_unloaded_level"] = least_loaded.unloaded_level(samples, sizes_)
        if row["side_noise"].get("before_still_noisy") or row["side_noise"].get("after_still_noisy"):
            row["least_loaded"] = least_loaded.change(xs, ys, *sizes)
        rows.append(row)
    rows.extend(_node_rows(scenario, runtime, before, after, thresholds["time"], distributions))
    b_mem, a_mem = before.get("memory") or {}, after.get("memory") or {}
    for key, label in MEMORY_METRICS.items():
        b, a = b_mem.get(key), a_mem.get(key)
        if not isinstance(b, int) or not isinstance(a, int) or isinstance(b, bool) or isinstance(a, bool):
            continue
        # Memory is informational: peak RSS moves with allocator and interpreter state, not only the code.
        result = stats.compare_exact(max(b, 0), max(a, 0), noise_threshold=thresholds["exact"])
        result["message"] = MEMORY_MESSAGES[result["verdict"]]
        rows.append(_row(scenario, runtime, f"memory.{key}", label, "bytes", False, result, "memory is informational"))
    return rows


def _side_noise(before: Any, after: Any) -> dict[str, Any]:
    """Each side's own relative 95 % interval width of a figure, and whether its bench flagged it still noisy
    after adding rounds: what a gate names when a row is too noisy to call."""
    out: dict[str, Any] = {}
    for side, summary in (("before", before), ("after", after)):
        if not isinstance(summary, dict):
            continue
        width = summary.get("rel_ci_width")
        if isinstance(width, int | float) and math.isfinite(width):
            out[side] = width
        check = summary.get("rounds_check")
        if isinstance(check, dict) and check.get("still_noisy"):
            out[f"{side}_still_noisy"] = True
    return out


def _node_rows(
    scenario: str,
    runtime: str,
    before: dict[str, Any],
    after: dict[str, Any],
    threshold: float,
    distributions: dict[str, list[float]],
) -> list[dict[str, Any]]:
    """Per-node ns per item before and after (informational: they explain a change; the gate reads them only
    to fail a run time it cannot call while one of its nodes regressed with evidence)."""
    b_nodes = {n["node"]: n for n in ((before.get("nodes") or {}).get("nodes") or [])}
    rows = []
    for n in (after.get("nodes") or {}).get("nodes") or []:
        b = b_nodes.get(n["node"])
        xs, ys = (b or {}).get("ns_per_item") or {}, n.get("ns_per_item") or {}
        bx, ay = usable_samples(xs.get("samples")), usable_samples(ys.get("samples"))
        if bx is None or ay is None:
            continue
        result = stats.compare(
            bx,
            ay,
            noise_threshold=threshold,
            before_sizes=xs.get("round_sizes"),
            after_sizes=ys.get("round_sizes"),
            keep_distribution=True,
        )
        label = f"node {n['node']} ({n.get('node_type')}), per item"
        row = _row(scenario, runtime, f"node.{n['node']}", label, "ns", False, result, "per-node: explains, not gated")
        distributions[row["id"]] = result["distribution"]
        rows.append(row)
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
    machine: dict[str, Any] | None = None,
    paired: bool = False,
    distributions: dict[str, list[float]] | None = None,
) -> dict[str, Any]:
    """The comparison row of one sampled time (before, after): its verdict against the larger of ``threshold``
    and this machine's A/A noise floor for it (the floor recorded beside), and how its machine reference moved
    (``machine``, when it did). Its bootstrap distribution goes into ``distributions`` for the gate."""
    floor = floors.get(f"{scenario}/{runtime}/{metric}")
    row_threshold = max(threshold, floor or 0.0)
    result = stats.compare(
        *samples,
        noise_threshold=row_threshold,
        before_sizes=sizes[0],
        after_sizes=sizes[1],
        paired=paired,
        keep_distribution=True,
    )
    row = _row(scenario, runtime, metric, label, "ns", gated, result, gate_note)
    if distributions is not None:
        distributions[row["id"]] = result["distribution"]
    row["noise_floor"] = floor
    row["threshold"] = row_threshold
    row["user_threshold"] = threshold
    moved = machine is not None and machine.get("moved")
    row["machine_move"] = machine["change"] if moved else 0.0
    row["machine_reference"] = machine["kind"] if machine else None
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


def _summary(
    rows: list[dict[str, Any]],
    threshold: float,
    disagreements: list[str],
    distributions: dict[str, list[float]],
) -> dict[str, Any]:
    """Verdict counts and the gate (its rules: rmprof/compare/gate.py)."""
    counts = dict.fromkeys(stats.VERDICTS, 0)
    gated_counts = dict.fromkeys(stats.VERDICTS, 0)
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


def thresholds_for(threshold: float | None) -> dict[str, float]:
    """The gate's thresholds per signal: the defaults (wall time 5 %, initialization 10 %, exact counts 2 %) or
    ``threshold`` for all."""
    if threshold is None:
        return {"time": DEFAULT_TIME_THRESHOLD, "init": DEFAULT_INIT_THRESHOLD, "exact": DEFAULT_THRESHOLD}
    if not (isinstance(threshold, int | float) and math.isfinite(threshold) and threshold >= 0):
        raise RmprofError(f"threshold must be a non-negative number, got {threshold!r}")
    return {"time": float(threshold), "init": float(threshold), "exact": float(threshold)}


def compare_runs(
    before: dict[str, Any],
    after: dict[str, Any],
    threshold: float | None = None,
    floors: dict[str, float] | None = None,
    gate_cold_start: bool = False,
) -> dict[str, Any]:
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
        b_rts, a_rts = b_part["entry"]["runtimes"], part["entry"]["runtimes"]
        for runtime in a_rts:
            if runtime not in b_rts:
                skipped.append({"what": f"{name}/{runtime}", "reason": "only in after"})
                continue
            move = moves.get(reference_kind(runtime) or "")
            rows.extend(
                _compare_runtime(
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
        rows.extend(_callgrind_rows(name, b_part, part, thresholds["exact"], skipped))
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
        "thresholds": {"wall time": thresholds["time"], "init": thresholds["init"], "exact": thresholds["exact"]},
        "noise_floor": {"applied": bool(floors), "floors": floors},
        "machine": machine,
        "builds": builds,
        "before": _side_info(before),
        "after": _side_info(after),
        "comparisons": rows,
        "summary": _summary(rows, thresholds["time"], disagreements, distributions),
        "profiles": profiles,
        "environment": environment,
        "skipped": skipped,
    }
