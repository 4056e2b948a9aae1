"""What the profilers whose cost is a multiple of the run (memray, callgrind, massif) profile when the budget is
short: fewer iterations first, then the first items of the input, chosen from the bench's timed run.

The choice is recorded in the profile's ``meta["budget"]`` and shown by the report, since a peak heap or an
instruction count of a subset is not the whole input's.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

from rmprof.profilers.base import ProfileJob

# Fewer items than this would measure the pipeline's fixed costs more than its per-item work.
MIN_SUBSET_ITEMS = 100


@dataclasses.dataclass
class Choice:
    """Iterations and items a costly profiler runs, and why."""

    iterations: int
    items: int | None  # None: the whole input
    of_items: int | None
    reason: str | None  # None: nothing was lowered

    def to_json(self) -> dict[str, Any]:
        """The ``meta["budget"]`` block of the profile."""
        return dataclasses.asdict(self)


def choose(job: ProfileJob, iterations: int, room_s: float | None, *, extra_runs: int = 0) -> Choice:
    """``iterations`` runs of the whole input when they (and ``extra_runs`` warm-up runs) fit ``room_s`` seconds of
    plain runs; else fewer iterations (at least one); else one run of the first items, as many as fit.

    ``room_s`` is what the caller's tool may spend, divided by its slowdown; None (no budget): nothing changes.
    The run's length is the bench's (``job.run_s``); unknown, nothing changes either.
    """
    run_s = job.run_s
    if room_s is None or not run_s or run_s <= 0 or (iterations + extra_runs) * run_s <= room_s:
        return Choice(iterations, None, None, None)
    fit = int(room_s // run_s) - extra_runs
    if fit >= 1:
        return Choice(fit, None, None, f"{fit} of {iterations} iterations to fit the time (one run: {run_s:.3g} s)")
    n_items = _count_items(job)
    if n_items is None or n_items <= MIN_SUBSET_ITEMS:
        return Choice(1, None, None, f"1 iteration, over the time it was given (one run: {run_s:.3g} s)")
    share = max(room_s, 0.0) / ((1 + extra_runs) * run_s)
    items = min(n_items, max(MIN_SUBSET_ITEMS, math.ceil(n_items * share)))
    reason = f"1 iteration of the first {items} of {n_items} items to fit the time (one run: {run_s:.3g} s)"
    return Choice(1, items, n_items, reason)


def room(job: ProfileJob, slowdown: float, fixed_s: float, cap_s: float | None = None) -> float | None:
    """Seconds of plain runs a tool with ``slowdown`` may do within ``job.budget_s`` (less ``fixed_s`` for its
    start-up and reading its output), at most ``cap_s``; None when there is neither a budget nor a cap."""
    limits = [] if cap_s is None else [cap_s]
    if job.budget_s is not None:
        limits.append(max(job.budget_s - fixed_s, 0.0) / slowdown)
    return min(limits) if limits else None


def apply(job: ProfileJob, choice: Choice, tool: str) -> ProfileJob:
    """``job`` on the chosen subset of its input (written beside the raw outputs), unchanged for the whole input.

    Expected outputs cover the whole input, so the subset runs unchecked: the bench checked every runtime's
    outputs on the whole input already.
    """
    if choice.items is None:
        return job
    from rmprof.files import write_text_atomic
    from rmprof.scenarios import load_input

    items = load_input(job.input_path)[: choice.items]
    path = job.raw_dir / f"{job.runtime}.{tool}.input.json"
    write_text_atomic(path, json.dumps(items))
    return dataclasses.replace(job, input_path=path, expected_path=None)


def _count_items(job: ProfileJob) -> int | None:
    """Items in the job's input, None when it cannot be read here (the tool's child will say why)."""
    from rmprof.errors import RmprofError
    from rmprof.scenarios import load_input

    try:
        return len(load_input(job.input_path))
    except (RmprofError, OSError):
        return None
