"""A run's least loaded processes: the level a side would have had without load, and the change between the
least loaded processes of two sides.

Load on a shared machine only ever slows a process, and some processes stay in a slow state for their whole life
(measured: 40 % of one run's rust-bin processes initialized 1.5x slower, both samples of each alike, with the
machine references of the same rounds unmoved). Such a side's median is inflated by however many of its
processes were slowed, which is chance. A code change slows every process of its build, the least loaded ones
too, so the least loaded processes of both sides compared like with like still show it.

"Least loaded processes" = the median of the fastest tenth of a side's rounds (at least 3): not the fastest
round alone, since fresh processes also differ by layout and the minimum of more rounds only goes lower.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from rmprof.bench.stats.bootstrap import split_rounds
from rmprof.bench.stats.descriptive import median

MIN_ROUNDS = 3
FRACTION = 0.10


def fastest_share(levels: Sequence[float]) -> float:
    """The median of the fastest tenth (at least ``MIN_ROUNDS``) of round levels."""
    ordered = sorted(levels)
    return median(ordered[: max(MIN_ROUNDS, math.ceil(len(ordered) * FRACTION))])


def round_levels(samples: Sequence[float], sizes: Sequence[int] | None) -> list[float] | None:
    """Each round's median, or None with fewer than ``MIN_ROUNDS`` rounds (no tenth to speak of)."""
    if not sizes or len(sizes) < MIN_ROUNDS:
        return None
    return [median(r) for r in split_rounds(samples, sizes)]


def unloaded_level(samples: Sequence[float], sizes: Sequence[int] | None) -> float | None:
    """A side's least loaded level relative to its pooled median (≤ 1), None without rounds."""
    levels = round_levels(samples, sizes)
    if levels is None:
        return None
    return min(1.0, fastest_share(levels) / median(samples))


def change(
    before: Sequence[float],
    after: Sequence[float],
    before_sizes: Sequence[int] | None,
    after_sizes: Sequence[int] | None,
    resamples: int = 2000,
    seed: int = 0,
) -> dict[str, float | int] | None:
    """The change between both sides' least loaded processes with its one-sided 95 % bounds (bootstrap over each
    side's rounds), or None when a side has too few rounds."""
    b, a = round_levels(before, before_sizes), round_levels(after, after_sizes)
    if b is None or a is None:
        return None
    rng = random.Random(seed)
    ratios = sorted(
        fastest_share(rng.choices(a, k=len(a))) / fastest_share(rng.choices(b, k=len(b))) for _ in range(resamples)
    )
    upper = ratios[min(len(ratios) - 1, math.ceil(0.95 * len(ratios)) - 1)]
    lower = ratios[max(0, math.floor(0.05 * len(ratios)))]
    return {
        "change": fastest_share(a) / fastest_share(b) - 1.0,
        "upper95": upper - 1.0,
        "lower95": lower - 1.0,
        "rounds": len(b) + len(a),
    }
