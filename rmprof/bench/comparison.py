"""The plan's comparison JSON and its targets, derived from per-scenario bench results.

Averages over scenarios are geometric means of the ratios (speedups, and memory as bytes / baseline bytes),
as pyperf and CodSpeed average ratios: a 10x and a 0.1x scenario average to 1x, not to 5.05x.
"""

from __future__ import annotations

import statistics
from typing import Any

# The benchmark plan's targets: (key, label, metric, runtime, threshold, how to read it).
TARGETS = (
    ("overall", "overall speedup >= 2x (run time, rust in-process)", "run", "rust", 2.0),
    ("init", "initialization 5-10x faster", "init", "rust", 5.0),
    ("throughput", "throughput 5x", "run", "rust", 5.0),
    ("memory", "memory overhead -30 to -50 %", "memory", "rust", 0.30),
    ("cold_start", "cold start 10x faster (binary vs python process)", "cold_start", "rust-bin", 10.0),
)


def _ms(summary: dict[str, Any] | None) -> float | None:
    return None if summary is None else summary["median"] / 1e6


def _mb(value: int | None) -> float | None:
    return None if value is None else value / 2**20


def comparison(scenarios: list[dict[str, Any]]) -> dict[str, Any]:
    """``{"comparison": {...}, "summary": {...}}`` exactly as BENCHMARK_PLAN.md writes it."""
    table: dict[str, Any] = {}
    speedups: list[float] = []
    reductions: list[float] = []
    for sc in scenarios:
        rts = sc["runtimes"]
        py, rust = rts.get("python"), rts.get("rust")
        if not py or not rust or "run" not in py or "run" not in rust:
            continue
        speed = sc["speedups"]["rust"]["run"]["speedup"]
        speedups.append(speed)
        mem = sc["speedups"]["rust"].get("memory")
        if mem:
            reductions.append(mem["reduction"])
        table[sc["scenario"]] = {
            "python_ms": round(_ms(py["run"]), 6),
            "rust_ms": round(_ms(rust["run"]), 6),
            "speedup": f"{speed:.2f}x",
            "memory_python_mb": _round(_mb(mem["baseline_bytes"]) if mem else None),
            "memory_rust_mb": _round(_mb(mem["bytes"]) if mem else None),
        }
    summary = {
        "average_speedup": f"{geomean(speedups):.2f}x" if speedups else None,
        "memory_reduction": f"{100 * mean_reduction(reductions):.1f}%" if reductions else None,
    }
    return {"comparison": table, "summary": summary}


def geomean(xs: list[float]) -> float:
    """Geometric mean of non-negative ratios (0 when one of them is 0)."""
    return 0.0 if min(xs) <= 0 else statistics.geometric_mean(xs)


def mean_reduction(reductions: list[float]) -> float:
    """Average of reductions (1 - bytes/baseline) as the geometric mean of the ratios they come from."""
    return 1.0 - geomean([1.0 - r for r in reductions])


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def targets(scenarios: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each plan target with its measured value (geometric mean over scenarios) and met / missed."""
    out = []
    for key, label, metric, runtime, threshold in TARGETS:
        values = []
        for sc in scenarios:
            entry = sc["speedups"].get(runtime, {}).get(metric)
            if entry:
                values.append(entry["reduction"] if metric == "memory" else entry["speedup"])
        if not values:
            out.append(
                {
                    "target": key,
                    "label": label,
                    "runtime": runtime,
                    "value": None,
                    "threshold": threshold,
                    "status": "not measured",
                }
            )
            continue
        value = mean_reduction(values) if metric == "memory" else geomean(values)
        out.append(
            {
                "target": key,
                "label": label,
                "runtime": runtime,
                "value": value,
                "per_scenario": {sc["scenario"]: sc["speedups"].get(runtime, {}).get(metric) for sc in scenarios},
                "threshold": threshold,
                "unit": "fraction" if metric == "memory" else "x",
                "status": "met" if value >= threshold else "missed",
            }
        )
    return out
