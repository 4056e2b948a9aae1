"""Bencher Metric Format (BMF): rmprof's bench figures as JSON that ``bencher run --adapter json`` reads.

BMF is ``{benchmark: {measure: {"value", "lower_value"?, "upper_value"?}}}`` (https://bencher.dev/bmf.json).
Benchmark names are the ids ``rmprof compare`` gives its rows, ``scenario/runtime/metric``, so that an alert
in Bencher and a row of compare.html name the same figure. Measures are named after what they measure:

- ``latency`` (Bencher's built-in measure, nanoseconds): ``text/rust/run``, ``text/rust/init``,
  ``text/rust/cold_start``; value = the median, lower/upper = its 95 % CI over rounds of fresh processes;
- ``throughput`` (built-in, operations per second) on ``…/run``: pipeline runs per second with its CI;
- ``memory`` (bytes) on ``…/memory.<figure>`` (``run_alloc_peak_bytes``, ``native_heap_peak_bytes``,
  ``process_peak_rss_bytes``): one exact measurement each, so no bounds;
- ``instructions`` on ``…/instructions`` (run directories with a callgrind profile): callgrind's exact
  instruction count per pipeline run, no bounds.

Figures that were not measured are left out; Bencher requires every value to be a finite number.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rmprof.model.bench import BenchDocument, BenchScenario
    from rmprof.model.run import ProfileSummary

TIME_METRICS = ("run", "init", "cold_start")
MEMORY_FIGURES = ("run_alloc_peak_bytes", "native_heap_peak_bytes", "process_peak_rss_bytes")
LATENCY, THROUGHPUT, MEMORY, INSTRUCTIONS = "latency", "throughput", "memory", "instructions"

Bmf = dict[str, dict[str, dict[str, float]]]


def _number(x: Any) -> float | None:
    """``x`` as a float when it is a finite number (not a bool), else None."""
    if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
        return None
    return float(x)


def metric(value: Any, bounds: Any = None) -> dict[str, float] | None:
    """One BMF metric: the value, and lower/upper values when ``bounds`` is a finite interval [lo, hi]."""
    v = _number(value)
    if v is None:
        return None
    out = {"value": v}
    if isinstance(bounds, list | tuple) and len(bounds) == 2:
        lo, hi = _number(bounds[0]), _number(bounds[1])
        if lo is not None and hi is not None and lo <= hi:
            out["lower_value"], out["upper_value"] = lo, hi
    return out


def _instructions_per_run(summary: ProfileSummary) -> float | None:
    """callgrind's instructions per pipeline run from a profile summary (per run, so that changing the
    profiled iteration count does not look like a change of the code)."""
    meta = summary.get("meta") if isinstance(summary.get("meta"), dict) else {}
    per_run = _number(meta.get("instructions_per_iteration"))
    if per_run is not None:
        return per_run
    total, iterations = _number(meta.get("total_instructions")), _number(meta.get("iterations"))
    return total / iterations if total is not None and iterations else None


def scenario_bmf(entry: BenchScenario, profiles: list[ProfileSummary] | None = None) -> Bmf:
    """The BMF benchmarks of one bench scenario entry (``bench["scenarios"][i]``) and its profile summaries."""
    scenario = str(entry.get("scenario", "?"))
    out: Bmf = {}

    def put(name: str, measure: str, value: dict[str, float] | None) -> None:
        if value is not None:
            out.setdefault(name, {})[measure] = value

    for runtime, rt in (entry.get("runtimes") or {}).items():
        if not isinstance(rt, dict):
            continue
        prefix = f"{scenario}/{runtime}"
        for name in TIME_METRICS:
            summary = rt.get(name)
            if isinstance(summary, dict):
                put(f"{prefix}/{name}", LATENCY, metric(summary.get("median"), summary.get("ci95")))
        tp = rt.get("throughput")
        if isinstance(tp, dict) and f"{prefix}/run" in out:
            put(f"{prefix}/run", THROUGHPUT, metric(tp.get("runs_per_s"), tp.get("runs_per_s_ci95")))
        memory = rt.get("memory") if isinstance(rt.get("memory"), dict) else {}
        for figure in MEMORY_FIGURES:
            put(f"{prefix}/memory.{figure}", MEMORY, metric(memory.get(figure)))
    for p in profiles or []:
        if isinstance(p, dict) and p.get("profiler") == "callgrind" and isinstance(p.get("runtime"), str):
            put(f"{scenario}/{p['runtime']}/instructions", INSTRUCTIONS, metric(_instructions_per_run(p)))
    return out


def bench_to_bmf(bench: BenchDocument) -> Bmf:
    """BMF of an ``rmprof bench`` document (schema ``rmprof.bench/1``): every scenario × runtime."""
    out: Bmf = {}
    for entry in bench.get("scenarios") or []:
        if isinstance(entry, dict):
            out.update(scenario_bmf(entry))
    return out


def source_to_bmf(path: Path) -> Bmf:
    """BMF of whatever ``rmprof compare`` reads: a run directory (or a folder of them from ``--scenario all``),
    its results.json, or an ``rmprof bench -o`` file. Run directories add callgrind's instruction counts."""
    from rmprof.compare.sides import load_side

    out: Bmf = {}
    for part in load_side(path)["scenarios"]:
        out.update(scenario_bmf(part["entry"], part["profiles"]))
    return out


def validate_bmf(doc: Any) -> list[str]:
    """Problems of a BMF document against Bencher's schema (https://bencher.dev/bmf.json); empty when valid."""
    if not isinstance(doc, dict):
        return ["document: expected an object"]
    problems = []
    for bench, measures in doc.items():
        if not isinstance(bench, str) or not bench:
            problems.append(f"{bench!r}: benchmark names must be non-empty strings")
        if not isinstance(measures, dict) or not measures:
            problems.append(f"{bench}: expected a non-empty object of measures")
            continue
        for measure, m in measures.items():
            where = f"{bench}.{measure}"
            if not isinstance(measure, str) or not measure or len(measure) > 64:
                problems.append(f"{where}: measure names are 1 to 64 characters")
            if not isinstance(m, dict) or _number(m.get("value")) is None:
                problems.append(f"{where}: expected an object with a finite number 'value'")
                continue
            for key in m:
                if key not in ("value", "lower_value", "upper_value"):
                    problems.append(f"{where}.{key}: not a BMF field")
                elif _number(m[key]) is None:
                    problems.append(f"{where}.{key}: expected a finite number")
    return problems
