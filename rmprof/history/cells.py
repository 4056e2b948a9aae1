"""The figures of a bench scenario entry as history cells: (runtime, metric, unit, value, lo, hi, n).

Times (ns) and speedups over python (×) carry their 95 % CI over rounds of fresh processes; memory figures
(bytes) and callgrind's instructions per pipeline run are single exact measurements (no interval).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rmprof.exporters.bmf import INSTRUCTIONS, MEMORY_FIGURES, TIME_METRICS, scenario_bmf

if TYPE_CHECKING:
    from rmprof.model.bench import BenchScenario
    from rmprof.model.run import ProfileSummary

SPEEDUP_METRICS = ("run", "init", "cold_start")


@dataclass(frozen=True)
class Cell:
    """One figure of one runtime of one scenario."""

    runtime: str
    metric: str
    unit: str
    value: float
    lo: float | None = None
    hi: float | None = None
    n: int | None = None


def _num(x: Any) -> float | None:
    if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
        return None
    return float(x)


def _bounds(ci: Any) -> tuple[float | None, float | None]:
    if isinstance(ci, list | tuple) and len(ci) == 2:
        lo, hi = _num(ci[0]), _num(ci[1])
        if lo is not None and hi is not None and lo <= hi:
            return lo, hi
    return None, None


def _count(n: Any) -> int | None:
    if isinstance(n, int) and not isinstance(n, bool):
        return n
    if isinstance(n, list) and n and all(isinstance(k, int) for k in n):
        return min(n)  # a speedup's samples per side: the smaller side bounds its precision
    return None


def entry_cells(entry: BenchScenario, profiles: list[ProfileSummary] | None = None) -> list[Cell]:
    """Every figure of ``entry`` (``bench["scenarios"][i]``) and, from ``profiles``, callgrind's counts."""
    out: list[Cell] = []
    runtimes = entry.get("runtimes") if isinstance(entry.get("runtimes"), dict) else {}
    for runtime, rt in runtimes.items():
        if not isinstance(rt, dict):
            continue
        for metric in TIME_METRICS:
            s = rt.get(metric)
            value = _num(s.get("median")) if isinstance(s, dict) else None
            if value is not None:
                out.append(Cell(runtime, metric, "ns", value, *_bounds(s.get("ci95")), _count(s.get("n"))))
        memory = rt.get("memory") if isinstance(rt.get("memory"), dict) else {}
        for figure in MEMORY_FIGURES:
            value = _num(memory.get(figure))
            if value is not None:
                out.append(Cell(runtime, f"memory.{figure}", "bytes", value))
    speedups = entry.get("speedups") if isinstance(entry.get("speedups"), dict) else {}
    for runtime, per_metric in speedups.items():
        if not isinstance(per_metric, dict):
            continue
        for metric in SPEEDUP_METRICS:
            s = per_metric.get(metric)
            value = _num(s.get("speedup")) if isinstance(s, dict) else None
            if value is not None:
                out.append(Cell(runtime, f"speedup.{metric}", "x", value, *_bounds(s.get("ci95")), _count(s.get("n"))))
    scenario = str(entry.get("scenario", "?"))
    for name, measures in scenario_bmf({"scenario": scenario}, profiles).items():
        count = measures.get(INSTRUCTIONS)
        runtime = name[len(scenario) + 1 :].rpartition("/")[0]
        if count is not None and runtime:
            out.append(Cell(runtime, "instructions", "instructions", count["value"]))
    return out
