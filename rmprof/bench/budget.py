"""The time budget: how many rounds, samples and cold starts fit in a stated time, never below stated floors.

Criterion.rs spends a fixed measurement time per benchmark and picks its sample count from a first timed
run; rmprof does the same per scenario. The configured counts (20 rounds, the scenario's iterations, 30 init
samples, 20 cold starts) are kept whenever their estimated cost fits the budget, which is the case for every
seed scenario by a wide margin; a pipeline whose run takes seconds gets fewer samples per round first (the
noise between processes dominates, so rounds are worth more than samples within one), then fewer rounds, down
to the floors below. A plan that cannot reach the floors within the budget still measures at the floors and
says which budget it would need.

The cost model is deliberately simple and errs high: every sample costs at least ``MIN_SAMPLE_NS`` (the
worker's inner loop), every fresh process a fixed start-up, every instrumented pass twice a run.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass
from typing import Any

from rmprof.bench.worker import CALIBRATION_RUNS, MIN_SAMPLE_NS
from rmprof.runtimes.rounds import INIT_WARMUP

# Seconds per scenario, for the bench and the profilers together (``rmprof bench`` spends all of it on the bench).
DEFAULT_BUDGET_S = 180.0
# The bench's part of a profile run's budget; the profilers get what the bench leaves.
BENCH_SHARE = 0.5

# Floors (why: README, "Time budget"). Five fresh processes are the fewest whose spread says anything about
# the noise between processes, which the intervals are built from; two samples per round are the fewest with a
# spread within a round (stats.rounds_disagreement compares the two); ten samples in all are the fewest a
# bootstrap interval of the median is worth computing from.
MIN_ROUNDS = 5
MIN_SAMPLES_PER_ROUND = 2
MIN_RUN_SAMPLES = 10
MIN_INIT_PER_ROUND = 1
MIN_COLD_STARTS = 5
MIN_INSTRUMENTED = 1  # instrumented passes per round: per-node figures for every node of every runtime
MIN_MEMORY_ITERATIONS = 1  # runs of the fresh process whose peak RSS is read (a run frees what it made)

# A fresh process (a worker, a binary, a cold start) before its first run: interpreter, imports, input.
PROCESS_S = 0.4
# An instrumented pass costs more than a plain run (per-item clocks); a warm-up pass precedes them.
INSTRUMENTED_FACTOR = 2.0
# The memory phase: one run under tracemalloc per in-process runtime (slow on Python).
TRACEMALLOC_FACTOR = 4.0
# Runs at least this long need no inner loop and no calibration: the worker would choose an inner count of 1.
LONG_RUN_S = 2 * MIN_SAMPLE_NS / 1e9

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h)?\s*$", re.IGNORECASE)


def parse_duration(text: str) -> float:
    """Seconds from ``90``, ``90s``, ``3m`` or ``1.5h``; ValueError for anything else or for zero."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"'{text}' is not a duration (say 90s, 3m or 1h)")
    unit = (match.group(2) or "s").lower()
    seconds = float(match.group(1)) * {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}[unit]
    if seconds <= 0:
        raise ValueError("a time budget must be positive")
    return seconds


def format_duration(seconds: float) -> str:
    """``45 s``, ``3 min 20 s``, ``1 h 05 min``: a duration as a person reads it."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


@dataclass
class Costs:
    """What one run of each measured runtime took in its first timed run (seconds), and its build (init)."""

    run_s: dict[str, float]  # runtime (and the python-fused floor) -> one run
    init_s: dict[str, float]  # runtime -> one build of the executor
    groups: int  # fresh processes per round (the worker, and one per binary)


@dataclass
class Plan:
    """The counts one scenario's bench uses, what they are estimated to cost, and why."""

    rounds: int
    samples_per_round: int
    init_per_round: int
    cold_starts: int
    instrumented: int  # instrumented passes per runtime per round
    warmup: int  # untimed runs before the samples, per runtime per round
    memory_iterations: int
    max_rounds: int  # rounds in all when rounds disagree and more are added
    estimate_s: float
    configured_s: float  # what the configured counts would cost
    floors_s: float  # what the floors cost
    budget_s: float | None
    limited: bool = False  # counts were lowered to fit the budget
    short: bool = False  # even the floors do not fit: measured at the floors, over budget
    skip_calibration: bool = False  # long runs get an inner loop count of 1 without calibrating (fixed_inner)
    instrumented_warmup: bool = True  # an untimed instrumented pass before the instrumented passes

    @property
    def run_samples(self) -> int:
        """Run samples per runtime in the planned rounds."""
        return self.rounds * self.samples_per_round

    def to_json(self) -> dict[str, Any]:
        """The plan as results.json keeps it (``bench.scenarios[].budget``)."""
        doc = asdict(self)
        doc["run_samples"] = self.run_samples
        doc["floors"] = floors_json()
        for key in ("estimate_s", "configured_s", "floors_s"):
            doc[key] = round(doc[key], 2)
        return doc

    def describe(self, share: float = 1.0) -> str:
        """One line: the counts, and what limited them; ``share`` is the part of ``--time-budget`` the bench got
        (BENCH_SHARE in ``profile``), to name the --time-budget that would fit the floors."""
        counts = (
            f"{self.rounds} rounds x {self.samples_per_round} run samples, {self.cold_starts} cold starts, "
            f"~{format_duration(self.estimate_s)}"
        )
        if self.short:
            return (
                f"{counts}: the floors need ~{format_duration(self.floors_s)}, over the budget of "
                f"{format_duration(self.budget_s or 0)}; measuring at the floors (--time-budget "
                f"{math.ceil(self.floors_s / share)}s would fit them{' and the profilers' if share < 1 else ''})"
            )
        if self.limited:
            return (
                f"{counts}, lowered to fit the budget of {format_duration(self.budget_s or 0)} (the configured "
                f"counts would take ~{format_duration(self.configured_s)})"
            )
        return counts


def floors_json() -> dict[str, int]:
    """The floors as results.json states them."""
    return {
        "rounds": MIN_ROUNDS,
        "samples_per_round": MIN_SAMPLES_PER_ROUND,
        "run_samples": MIN_RUN_SAMPLES,
        "init_samples_per_round": MIN_INIT_PER_ROUND,
        "cold_starts": MIN_COLD_STARTS,
        "instrumented_per_round": MIN_INSTRUMENTED,
        "memory_iterations": MIN_MEMORY_ITERATIONS,
    }


def _sample_s(run_s: float) -> float:
    """One timed sample: ``inner`` back-to-back runs lasting about MIN_SAMPLE_NS, plus the untimed run before."""
    floor = MIN_SAMPLE_NS / 1e9
    return run_s if run_s >= floor else floor + run_s


def cost(costs: Costs, plan: Plan, iterations_for_memory: int | None = None) -> float:
    """Estimated seconds of the bench of one scenario under ``plan``'s counts (its added rounds excluded)."""
    per_round = costs.groups * PROCESS_S
    for name, run_s in costs.run_s.items():
        per_round += plan.samples_per_round * _sample_s(run_s) + plan.warmup * run_s
        passes = plan.instrumented + (1 if plan.instrumented and plan.instrumented_warmup else 0)
        per_round += passes * INSTRUMENTED_FACTOR * run_s
        per_round += (INIT_WARMUP + plan.init_per_round) * costs.init_s.get(name, 0.0)
    # The first round calibrates each runtime's inner loop; long runs skip it when the plan says so.
    first_round = sum(
        CALIBRATION_RUNS * r for r in costs.run_s.values() if not (plan.skip_calibration and r >= LONG_RUN_S)
    )
    cold = plan.cold_starts * sum(PROCESS_S + r for n, r in costs.run_s.items() if n in costs.init_s)
    runs = [r for n, r in costs.run_s.items() if n in costs.init_s]
    memory = sum(TRACEMALLOC_FACTOR * r + PROCESS_S + plan.memory_iterations * r for r in runs)
    return plan.rounds * per_round + first_round + cold + memory


def plan_bench(
    costs: Costs,
    *,
    rounds: int,
    iterations: int,
    init_samples: int,
    cold_starts: int,
    instrumented: int,
    warmup: int,
    max_rounds: int | None,
    budget_s: float | None,
) -> Plan:
    """The configured counts when they fit ``budget_s`` (or there is none); else the largest counts that fit,
    lowered in order of least harm (warm-up and calibration, instrumented passes, cold starts, the memory
    process's runs, samples per round, rounds), never below the floors (or the configured count when lower)."""
    n_rounds = max(1, min(rounds, iterations))
    configured = Plan(
        rounds=n_rounds,
        samples_per_round=-(-iterations // n_rounds),
        init_per_round=-(-init_samples // n_rounds) if init_samples else 0,
        cold_starts=cold_starts,
        instrumented=instrumented,
        warmup=warmup,
        memory_iterations=iterations,
        max_rounds=max(n_rounds, max_rounds if max_rounds is not None else 2 * n_rounds),
        estimate_s=0.0,
        configured_s=0.0,
        floors_s=0.0,
        budget_s=budget_s,
    )
    configured.estimate_s = configured.configured_s = cost(costs, configured)
    floor_rounds = min(MIN_ROUNDS, n_rounds)
    floor_k = min(configured.samples_per_round, max(MIN_SAMPLES_PER_ROUND, -(-MIN_RUN_SAMPLES // floor_rounds)))
    floors = _with(
        configured,
        rounds=floor_rounds,
        samples_per_round=floor_k,
        init_per_round=min(configured.init_per_round, MIN_INIT_PER_ROUND),
        cold_starts=min(cold_starts, max(MIN_COLD_STARTS, floor_rounds)),
        instrumented=min(instrumented, MIN_INSTRUMENTED),
        warmup=min(warmup, 1),
        memory_iterations=min(iterations, MIN_MEMORY_ITERATIONS),
        skip_calibration=_long_runs(costs),
        # A run of seconds warms the instrumented path's code in its first items: no untimed pass before it.
        instrumented_warmup=not _long_runs(costs),
    )
    configured.floors_s = floors.floors_s = cost(costs, floors)
    if budget_s is None or configured.estimate_s <= budget_s:
        return configured
    plan = _with(
        configured,
        warmup=floors.warmup,
        skip_calibration=floors.skip_calibration,
        instrumented_warmup=floors.instrumented_warmup,
        limited=True,
    )
    for field_name in ("instrumented", "cold_starts", "memory_iterations"):
        plan = _with(plan, **{field_name: getattr(floors, field_name)})
        if cost(costs, plan) <= budget_s:
            return _finish(costs, plan)
    # The samples per round, then the rounds: the largest that fit (cold starts one per round at least).
    for k in range(plan.samples_per_round, floors.samples_per_round - 1, -1):
        if cost(costs, _with(plan, samples_per_round=k)) <= budget_s:
            return _finish(costs, _with(plan, samples_per_round=k))
    plan = _with(plan, samples_per_round=floors.samples_per_round, init_per_round=floors.init_per_round)
    for r in range(plan.rounds, floors.rounds - 1, -1):
        trial = _with(plan, rounds=r, cold_starts=max(floors.cold_starts, min(plan.cold_starts, r)))
        if cost(costs, trial) <= budget_s:
            return _finish(costs, trial)
    return _finish(costs, _with(floors, limited=True, short=True))


def _long_runs(costs: Costs) -> bool:
    """Some measured run is long enough for an inner loop count of 1 (calibration would choose it)."""
    return any(r >= LONG_RUN_S for r in costs.run_s.values())


def fixed_inner(costs: Costs) -> dict[str, int]:
    """Inner loop count 1 for the runs long enough that calibration would choose it: their five calibration
    runs are skipped (a budget-limited plan only; the configured plan calibrates as before)."""
    return {name: 1 for name, r in costs.run_s.items() if r >= LONG_RUN_S}


def _with(plan: Plan, **changes: Any) -> Plan:
    """A copy of ``plan`` with ``changes``."""
    return Plan(**{**asdict(plan), **changes})


def _finish(costs: Costs, plan: Plan) -> Plan:
    """``plan`` with its estimate, and no more added rounds than planned rounds."""
    plan.estimate_s = cost(costs, plan)
    plan.max_rounds = min(plan.max_rounds, 2 * plan.rounds)
    return plan


def rounds_that_fit(left_s: float, round_s: float, wanted: int) -> int:
    """How many of ``wanted`` more rounds, each ``round_s`` long, fit in ``left_s`` seconds."""
    if round_s <= 0:
        return wanted
    return max(0, min(wanted, int(left_s // round_s)))
