"""The rows of one scenario × runtime: its time metrics (bootstrap over rounds), per-node costs (informational)
and memory figures (exact, informational)."""

from __future__ import annotations

import math
from typing import Any

from rmprof.bench.stats.verdicts import compare, compare_exact
from rmprof.compare import least_loaded
from rmprof.compare.rows import comparison_row, time_row
from rmprof.compare.samples import usable_samples
from rmprof.compare.thresholds import time_threshold
from rmprof.runtimes import REFERENCE_RUNTIMES

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
# Measured on the project's 2-vCPU machine (2026-11-29): three identical runs minutes apart moved cold starts by
# up to 25 % while each run's interval was +-5-10 %: the drift is the machine's, between runs, which no interval
# of one run can see. Gating it by default would fail identical builds; --gate-cold-start opts in.
COLD_START_NOTE = "cold start is informational unless --gate-cold-start (it drifts between runs beyond its interval)"
# Memory verdicts in memory words: "performance has regressed" reads wrong for a byte count.
MEMORY_MESSAGES = {
    "improved": "Memory use has decreased.",
    "regressed": "Memory use has increased.",
    "no change": "No change in memory use detected.",
    "within noise": "Memory change within noise threshold.",
}


def runtime_rows(
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
            time_threshold(thresholds, metric),
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
        result = compare_exact(max(b, 0), max(a, 0), noise_threshold=thresholds["exact"])
        result["message"] = MEMORY_MESSAGES[result["verdict"]]
        rows.append(
            comparison_row(scenario, runtime, f"memory.{key}", label, "bytes", False, result, "memory is informational")
        )
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
        result = compare(
            bx,
            ay,
            noise_threshold=threshold,
            before_sizes=xs.get("round_sizes"),
            after_sizes=ys.get("round_sizes"),
            keep_distribution=True,
        )
        label = f"node {n['node']} ({n.get('node_type')}), per item"
        row = comparison_row(
            scenario, runtime, f"node.{n['node']}", label, "ns", False, result, "per-node: explains, not gated"
        )
        distributions[row["id"]] = result["distribution"]
        rows.append(row)
    return rows
