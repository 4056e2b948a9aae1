"""Seeded percentile-bootstrap intervals: of a statistic, of a median over rounds (two-stage), of a ratio or a
difference of medians (paired by round when measured together); see the package docstring."""

import operator
import random
from collections.abc import Callable, Sequence

from rmprof.bench.stats.descriptive import median, median_sorted, percentile_sorted, require_samples

# Below this many samples the bootstrap interval of a median is too coarse to trust.
MIN_SAMPLES = 10
# Below this many rounds (fresh processes) an interval cannot see between-process noise well: with
# samples that are all independent (one per round) the rule is MIN_SAMPLES again.
MIN_ROUNDS = 5


def check_bootstrap_args(confidence: float, resamples: int) -> None:
    """Raise ValueError unless 0 < confidence < 1 and resamples >= 1."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be within (0, 1), got {confidence!r}")
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, got {resamples!r}")


Rounds = Sequence[Sequence[float]]


def split_rounds(xs: Sequence[float], sizes: Sequence[int] | None) -> list[list[float]]:
    """``xs`` cut into consecutive rounds of ``sizes`` (each sample its own round when sizes is None)."""
    if sizes is None:
        return [[x] for x in xs]
    if sum(sizes) != len(xs) or any(k < 1 for k in sizes):
        raise ValueError(f"round sizes {list(sizes)} do not partition {len(xs)} samples")
    out, start = [], 0
    for k in sizes:
        out.append(list(xs[start : start + k]))
        start += k
    return out


def _pooled_resample(rounds: Rounds, picked: Sequence[int], choices: Callable) -> list[float]:
    """Sorted pool of one two-stage resample: the rounds at ``picked``, each resampled within."""
    pool: list[float] = []
    for i in picked:
        r = rounds[i]
        pool.extend(r if len(r) == 1 else choices(r, k=len(r)))
    pool.sort()
    return pool


def _rounds_medians(
    rounds: Rounds,
    resamples: int,
    seed: int,
    partner: Rounds | None = None,
    combine: Callable[[float, float], float] = operator.truediv,
) -> list[float]:
    """Bootstrap distribution of the pooled median (or of combine(median(rounds), median(partner)) when a
    paired ``partner`` with the same number of rounds is given: their ratio by default), two-stage."""
    rng = random.Random(seed)
    choices, randrange = rng.choices, rng.randrange
    n = len(rounds)
    out = []
    for _ in range(resamples):
        picked = [randrange(n) for _ in range(n)]
        value = median_sorted(_pooled_resample(rounds, picked, choices))
        if partner is not None:
            value = combine(value, median_sorted(_pooled_resample(partner, picked, choices)))
        out.append(value)
    out.sort()
    return out


def rounds_ci(rounds: Rounds, confidence: float = 0.95, resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """Two-stage bootstrap interval (lo, hi) of the pooled median of samples measured in rounds."""
    if not rounds or any(len(r) == 0 for r in rounds):
        raise ValueError("rounds must be non-empty lists of samples")
    check_bootstrap_args(confidence, resamples)
    flat = [x for r in rounds for x in r]
    if min(flat) == max(flat):
        return flat[0], flat[0]
    if all(len(r) == 1 for r in rounds):
        return bootstrap_ci(flat, median, confidence, resamples, seed)
    return percentile_interval(_rounds_medians(rounds, resamples, seed), confidence)


def percentile_interval(sorted_stats: Sequence[float], confidence: float) -> tuple[float, float]:
    """The two-sided percentile interval (lo, hi) at ``confidence`` of a sorted bootstrap distribution."""
    alpha = 1.0 - confidence
    return (
        percentile_sorted(sorted_stats, 100.0 * alpha / 2.0),
        percentile_sorted(sorted_stats, 100.0 * (1.0 - alpha / 2.0)),
    )


def bootstrap_ci(
    xs: Sequence[float],
    stat: Callable[[Sequence[float]], float] = median,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """Return the percentile-bootstrap confidence interval (lo, hi) of stat(xs)."""
    require_samples(xs)
    check_bootstrap_args(confidence, resamples)
    data = list(xs)
    n = len(data)
    if n == 1 or min(data) == max(data):
        # Every resample is identical, so the interval collapses; skip the loop.
        v = stat(data)
        return v, v
    rng = random.Random(seed)
    choices = rng.choices
    if stat is median:
        # The common case is worth a tighter loop: no re-validation per resample.
        stats = [median_sorted(sorted(choices(data, k=n))) for _ in range(resamples)]
    else:
        stats = [stat(choices(data, k=n)) for _ in range(resamples)]
    stats.sort()
    return percentile_interval(stats, confidence)


def ratio_distribution(num: Rounds, den: Rounds, resamples: int, seed: int, paired: bool = False) -> list[float]:
    """Sorted bootstrap distribution of median(num)/median(den) over rounds: jointly resampled round
    indices when ``paired`` (same number of rounds), else each group on its own."""
    if paired and len(num) == len(den) and len(num) > 1:
        return _rounds_medians(num, resamples, seed, partner=den)
    rng = random.Random(seed)
    choices = rng.choices
    flat_a = [x for r in num for x in r] if all(len(r) == 1 for r in num) else None
    flat_b = [x for r in den for x in r] if all(len(r) == 1 for r in den) else None
    ia, ib = range(len(num)), range(len(den))

    def pooled_median(rounds: Rounds, flat: list[float] | None, idx: range) -> float:
        if flat is not None:  # one sample per round: the ordinary bootstrap, without the index detour
            return median_sorted(sorted(choices(flat, k=len(flat))))
        return median_sorted(_pooled_resample(rounds, choices(idx, k=len(idx)), choices))

    ratios = [pooled_median(num, flat_a, ia) / pooled_median(den, flat_b, ib) for _ in range(resamples)]
    ratios.sort()
    return ratios


def check_ratio_groups(num: Sequence[float], den: Sequence[float]) -> None:
    """Raise ValueError unless both groups hold samples and every denominator sample is positive."""
    require_samples(num, "num")
    require_samples(den, "den")
    # Strict positivity of every denominator sample guarantees that no resampled median is
    # zero, so the ratio is always defined (times and counts are positive anyway).
    if min(den) <= 0:
        raise ValueError("den samples must all be > 0 for a ratio of medians")


def ratio_ci(
    num: Sequence[float],
    den: Sequence[float],
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
    num_sizes: Sequence[int] | None = None,
    den_sizes: Sequence[int] | None = None,
    paired: bool = False,
) -> tuple[float, float, float]:
    """Return (point, lo, hi) for median(num)/median(den); samples grouped in rounds of ``*_sizes``
    (see the package docstring), paired by round index when ``paired`` and the round counts match."""
    check_ratio_groups(num, den)
    check_bootstrap_args(confidence, resamples)
    point = median(num) / median(den)
    dist = ratio_distribution(split_rounds(num, num_sizes), split_rounds(den, den_sizes), resamples, seed, paired)
    lo, hi = percentile_interval(dist, confidence)
    return point, lo, hi


def paired_difference_ci(
    a: Sequence[float],
    b: Sequence[float],
    a_sizes: Sequence[int],
    b_sizes: Sequence[int],
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Return (point, lo, hi) for median(a) - median(b), two groups measured in the same rounds (round i of
    each side side by side in time): round indices resampled jointly, samples within each round."""
    require_samples(a, "a")
    require_samples(b, "b")
    check_bootstrap_args(confidence, resamples)
    rounds_a, rounds_b = split_rounds(a, a_sizes), split_rounds(b, b_sizes)
    if len(rounds_a) != len(rounds_b):
        raise ValueError(f"paired groups need as many rounds: {len(rounds_a)} and {len(rounds_b)}")
    point = median(a) - median(b)
    dist = _rounds_medians(rounds_a, resamples, seed, partner=rounds_b, combine=operator.sub)
    lo, hi = percentile_interval(dist, confidence)
    return point, lo, hi
