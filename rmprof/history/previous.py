"""What changed since the previous comparable run in the history: the report's first screen without a compare.json.

The previous comparable run is the newest run recorded before this one of the same scenario on the same machine
(``store.machine_id``: CPU, cores, architecture, OS, Python, rustc) sharing at least one figure with it (same
runtime, metric and unit); this run's own record (same start time) is never its own previous run.

A figure changed when the two runs' 95 % intervals do not overlap and the medians differ by more than the gate's
threshold for that figure (``compare/thresholds.py``: 5 % for run times and their speedups, 10 % for
initialization). Two non-overlapping 95 % intervals are a conservative test of a difference (about p < 0.006 for
equal widths), but each interval covers its own run's processes only, and two runs of one build on a shared
machine differ by a few percent more than that (an A/A pair of this project's runs: python's run -15.9 % with
intervals apart, after a busy first run): below the gate's threshold a difference is not called a change, as
``rmprof compare`` would not fail it. Cold starts drift between runs beyond their interval (compare treats them as
informational) and figures without an interval (memory peaks and instruction counts: one measurement each) are
counted, not judged. ``rmprof compare`` remains the gate; this is the report's first look.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rmprof.compare.thresholds import thresholds_for, time_threshold
from rmprof.history.cells import Cell
from rmprof.history.store import Filters, RunRecord, machine_id, query

# The time metrics judged: cold starts drift between runs beyond their interval, and compare does not gate them
# by default either.
JUDGED = ("run", "init")
HIGHER_IS_BETTER = ("x",)  # units of figures where more is better (speedups); less is better for the rest


@dataclass(frozen=True)
class FigureChange:
    """One figure of both runs whose intervals do not overlap."""

    runtime: str
    metric: str
    unit: str
    before: Cell
    after: Cell

    @property
    def change(self) -> float | None:
        """after / before − 1 (None from a level of 0)."""
        return self.after.value / self.before.value - 1 if self.before.value else None

    @property
    def verdict(self) -> str:
        """``improved`` or ``regressed``: which way the figure moved, by its unit's better direction."""
        higher = self.after.value > self.before.value
        return "improved" if higher == (self.unit in HIGHER_IS_BETTER) else "regressed"


@dataclass(frozen=True)
class SincePrevious:
    """The previous comparable run (when, what code, where its files were) and what changed since it."""

    created_unix: float
    commit: str | None
    branch: str | None
    build: str | None
    source: str | None
    judged: int  # figures both runs have, with an interval on both sides and a threshold
    unjudged: int  # figures both runs have, informational or without an interval on one side or both
    changes: tuple[FigureChange, ...]  # the judged figures that changed, largest change first


def min_change(metric: str) -> float | None:
    """The least relative change of ``metric`` ("run", "speedup.init", ...) called a change: the gate's default
    threshold for its time metric; None when the metric is informational (cold starts) or not a time (memory,
    instructions: no interval)."""
    time_metric = metric.removeprefix("speedup.")
    if time_metric not in JUDGED:
        return None
    return time_threshold(thresholds_for(None), time_metric)


def real_change(before: Cell, after: Cell, least: float | None = None) -> bool | None:
    """Whether ``after`` differs from ``before`` beyond noise: intervals apart and medians more than ``least``
    apart (default: ``min_change`` of the figure's metric); None when the figure is not judged (no interval on
    one side, or an informational metric)."""
    least = min_change(after.metric) if least is None else least
    if least is None or before.lo is None or before.hi is None or after.lo is None or after.hi is None:
        return None
    apart = after.lo > before.hi or after.hi < before.lo
    if not before.value:
        return apart and after.value != 0
    return apart and abs(after.value / before.value - 1) > least


def since_previous(path: Path, current: RunRecord) -> SincePrevious | None:
    """What changed between the previous comparable run in the history at ``path`` and ``current`` (this run's
    record); None when the history holds no earlier comparable run (or does not exist yet). An unusable history
    raises RmprofError."""
    if not Path(path).is_file():
        return None
    machine = machine_id(current.fingerprint)
    now = {(c.runtime, c.metric, c.unit): c for c in current.cells}
    rows = query(path, Filters(scenarios=(current.scenario,), machine=machine))
    runs: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        # Earlier runs only: this run's own record has its start time, and later ones are not its past.
        if r["machine_id"] == machine and r["created_unix"] < current.created_unix:
            runs.setdefault(r["run"], []).append(r)
    for rows_of_run in sorted(runs.values(), key=lambda rs: (rs[0]["created_unix"], rs[0]["run"]), reverse=True):
        shared = [(r, now[k]) for r in rows_of_run if (k := (r["runtime"], r["metric"], r["unit"])) in now]
        if shared:
            return _since(rows_of_run[0], shared)
    return None


def _since(run: dict[str, Any], shared: list[tuple[dict, Cell]]) -> SincePrevious:
    """The comparison of one earlier run's figures with this run's (``shared``: its rows and this run's cells)."""
    changes = []
    judged = 0
    for row, after in shared:
        before = Cell(row["runtime"], row["metric"], row["unit"], row["value"], row["lo"], row["hi"], row["n"])
        verdict = real_change(before, after)
        if verdict is None:
            continue
        judged += 1
        if verdict:
            changes.append(FigureChange(after.runtime, after.metric, after.unit, before, after))
    changes.sort(key=lambda c: (-abs(c.change) if c.change is not None else float("-inf"), c.runtime, c.metric))
    return SincePrevious(
        created_unix=run["created_unix"],
        commit=run["commit"],
        branch=run["branch"],
        build=run["build"],
        source=run["source"],
        judged=judged,
        unjudged=len(shared) - judged,
        changes=tuple(changes),
    )
