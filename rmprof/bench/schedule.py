"""One round scheduler, for the bench (bench/harness.py) and paired mode (compare/paired.py).

A round runs every round group once, in alternating order (runtimes/rounds.round_order) so that none always
follows the same other. A group is what one fresh process (or one set of them) measures: the bench's worker of
the in-process runtimes, each binary, or one of paired mode's two builds. After the planned rounds, rounds are
added, half the planned rounds at a time (at least two), while some side's rounds disagree
(stats/rounds_disagreement) or a judged side's run interval over rounds is wider than ±``RUN_PRECISION``, up to
``Limits.max_rounds`` and within the time budget. A side is one figure of one runtime or build, ``(who,
metric)``. The caller keeps the samples and shows them through ``sides``; the scheduler returns the rounds run,
those added, each side's ``rounds_check`` after the last round, and what the time budget changed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from rmprof.bench.budget import rounds_that_fit
from rmprof.bench.stats.bootstrap import rounds_ci
from rmprof.bench.stats.descriptive import median
from rmprof.bench.stats.rounds_disagreement import rounds_disagreement
from rmprof.runtimes.rounds import round_order

# (who, metric): a runtime, floor or build, and "run" or "init"
Side = tuple[str, str]
# Each side's samples, grouped by the round that measured them (no empty group)
Sides = dict[Side, list[list[float]]]

# The gate calls a run time within its default threshold (5 %) only when both sides' 95 % intervals are about half
# as wide: on this project's 2-vCPU VM, twenty processes left the Python baseline's simple run at ±2.5-3.7 % and
# the A/A compare of two such runs inconclusive (upper bound +6 %). A judged side whose run interval is wider than
# this gets more rounds, as rounds that disagree do, within the same limits.
RUN_PRECISION = 0.025


@dataclass
class Group:
    """One round group: ``measure`` runs it once and records its samples where the caller keeps them."""

    key: str
    measure: Callable[[], None]


@dataclass
class Limits:
    """How many rounds: ``rounds`` planned, at most ``max_rounds`` with those added, and the seconds since
    ``started`` (time.monotonic) that the whole may take, which only bounds the added rounds (None: no budget)."""

    rounds: int
    max_rounds: int
    budget_s: float | None = None
    started: float = field(default_factory=time.monotonic)
    # Sides whose ``who`` is here are never judged for precision (floors and references: they gate nothing).
    unjudged: Collection[str] = frozenset()


@dataclass
class Scheduled:
    """What the rounds came to."""

    rounds: int  # in all, the added ones included
    added_rounds: int  # beyond the planned ones (after a first-round cut)
    checks: dict[str, dict[str, dict[str, Any]]]  # metric -> who -> rounds_check (final_checks)
    notes: list[str] = field(default_factory=list)  # what the time budget changed


def run_rounds(
    name: str,
    groups: Sequence[Group],
    sides: Callable[[], Sides],
    limits: Limits,
    say: Callable[[str], None],
    step: Callable[[int, int], None] | None = None,
    after_groups: Callable[[int], None] | None = None,
    first_round: Callable[[float, float], int] | None = None,
) -> Scheduled:
    """Every group once per round in alternating order; after the planned rounds, more while ``more_rounds``
    asks for them. ``name`` prefixes the progress lines ``say`` gets; ``step(done, total)`` comes before each
    round and once at the end; ``after_groups(r)`` is round ``r``'s own further work (the bench's cold starts),
    timed with it; ``first_round(round_s, spent_s)`` may lower the planned rounds after the first one."""
    planned = n_rounds = limits.rounds
    notes: list[str] = []
    round_times: list[float] = []
    r = 0
    while r < planned:
        if step is not None:
            step(r, planned)
        t0 = time.monotonic()
        for group in round_order(groups, r):
            group.measure()
        if after_groups is not None:
            after_groups(r)
        round_times.append(time.monotonic() - t0)
        r += 1
        if r == 1 and n_rounds > 1 and first_round is not None:
            cut = first_round(round_times[0], time.monotonic() - limits.started)
            if cut < n_rounds:
                n_rounds = planned = cut
        if r == planned:
            planned += more_rounds(name, sides(), planned, n_rounds, limits, round_times, say, notes)
    checks = final_checks(name, sides(), planned, planned - n_rounds, say)
    if step is not None:
        step(planned, planned)
    return Scheduled(rounds=planned, added_rounds=planned - n_rounds, checks=checks, notes=notes)


def rounds_checks(sides: Sides) -> dict[Side, dict[str, Any]]:
    """``rounds_disagreement`` of every side, where it can be told."""
    checks = {}
    for side, groups in sides.items():
        check = rounds_disagreement(groups)
        if check is not None:
            checks[side] = check
    return checks


def worst(checks: dict[Side, dict[str, Any]]) -> tuple[list[Side], str]:
    """The disagreeing sides, and a phrase naming the worst of them with its ratio (and how many more)."""
    disagreeing = sorted((k for k, c in checks.items() if c["disagree"]), key=lambda k: -checks[k]["between_within"])
    if not disagreeing:
        return [], ""
    who, metric = disagreeing[0]
    more = f" and {len(disagreeing) - 1} more" if len(disagreeing) > 1 else ""
    return disagreeing, f"{who} {metric} (between/within {checks[disagreeing[0]]['between_within']:.1f}x){more}"


def imprecise(sides: Sides, unjudged: Collection[str] = ()) -> list[str]:
    """Who, of the judged sides' run times, has a median whose 95 % interval over rounds is wider than
    ±``RUN_PRECISION``."""
    wide = []
    for (who, metric), groups in sides.items():
        if metric != "run" or who in unjudged or len(groups) < 2:
            continue
        med = median([x for g in groups for x in g])
        lo, hi = rounds_ci(groups, resamples=400)
        if med > 0 and (hi - lo) / 2 / med > RUN_PRECISION:
            wide.append(who)
    return wide


def more_rounds(
    name: str,
    sides: Sides,
    done: int,
    planned: int,
    limits: Limits,
    round_times: list[float],
    say: Callable[[str], None],
    notes: list[str],
) -> int:
    """Rounds to add after ``done``: half the ``planned`` rounds (at least two) while some side's rounds disagree
    or a judged run time's interval is wider than ±``RUN_PRECISION``, within ``limits.max_rounds`` and the time
    budget (a note in ``notes`` when the budget held them back); 0 when neither, or when either limit is spent."""
    if done >= limits.max_rounds:
        return 0
    disagreeing, phrase = worst(rounds_checks(sides))
    reason = f"rounds disagree for {phrase}"
    if not disagreeing:
        wide = imprecise(sides, limits.unjudged)
        if not wide:
            return 0
        reason = f"run intervals wider than ±{100 * RUN_PRECISION:g} % for {', '.join(wide)}"
    add = min(limits.max_rounds - done, max(2, planned // 2))
    if limits.budget_s is not None and round_times:
        left = limits.budget_s - (time.monotonic() - limits.started)
        fit = rounds_that_fit(left, sum(round_times) / len(round_times), add)
        if fit < add:
            note = f"{reason}, but the time budget leaves room for {fit} more rounds"
            notes.append(note)
            say(f"{name}: {note}")
            add = fit
            if not add:
                return 0
    say(f"{name}: {reason}: adding {add} round{'' if add == 1 else 's'}")
    return add


def final_checks(
    name: str, sides: Sides, rounds: int, added: int, say: Callable[[str], None]
) -> dict[str, dict[str, dict[str, Any]]]:
    """Each side's ``rounds_check`` after the last of ``rounds`` (``added`` of them added), saying so when some
    side is still noisy."""
    checks = rounds_checks(sides)
    result: dict[str, dict[str, dict[str, Any]]] = {}
    for (who, metric), groups in sides.items():
        per_metric = result.setdefault(metric, {})
        if not groups:
            continue
        check = checks.get((who, metric))
        per_metric[who] = {
            # None: a round of one sample, or no spread within rounds, cannot tell between from within.
            "between_within": check["between_within"] if check else None,
            "relative_se": check["relative_se"] if check else None,
            "added_rounds": added,
            "still_noisy": bool(check and check["disagree"]),
        }
    disagreeing, phrase = worst(checks)
    if disagreeing:
        say(
            f"{name}: rounds still disagree for {phrase} after {rounds} rounds: flagged as noisy "
            "(more --rounds, or a quieter machine)"
        )
    return result
