"""One figure's samples summarized: robust location and spread, its 95 % interval over rounds, where a rerun
would land, flagged outliers and a noise warning (the ``summarize`` dict of the bench document)."""

import math
import statistics
from collections.abc import Sequence

from rmprof.bench.stats.bootstrap import MIN_SAMPLES, rounds_ci, split_rounds
from rmprof.bench.stats.descriptive import median_sorted, percentile_sorted, require_samples
from rmprof.bench.stats.outliers import classify_outliers

# A sample is flagged "noisy" when its 95 % CI is wider than 10 % of the median (i.e. wider
# than +-5 %): beyond that, a speedup difference of a few percent cannot be resolved.
NOISY_REL_CI_WIDTH = 0.10


def rerun_interval(point: float, lo: float, hi: float) -> list[float]:
    """Where an identical rerun's estimate lands (95 %), from this run's 95 % CI of a positive quantity.

    A CI is about the true value; a rerun's estimate carries its own error too, so even an exact 95 % CI
    holds only ~83 % of reruns (the difference of two estimates has sqrt(2) times the spread). Widening
    each side by sqrt(2), in log space where medians and ratios of times are near-symmetric, gives the
    95 % prediction interval of the rerun.
    """
    if point <= 0 or lo <= 0 or hi <= 0:
        return [lo, hi]
    root2 = math.sqrt(2.0)
    return [point * (lo / point) ** root2, point * (hi / point) ** root2]


def _relative_width(lo: float, hi: float, med: float) -> float | None:
    if med != 0:
        return (hi - lo) / abs(med)
    # A relative width is meaningless around zero unless the interval is a single point.
    return 0.0 if hi == lo else None


def summarize(
    xs: Sequence[float],
    unit: str,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
    sizes: Sequence[int] | None = None,
) -> dict[str, object]:
    """Summarize samples: robust location/spread, median CI (two-stage over rounds of ``sizes`` when
    given), flagged outliers, noise warning."""
    require_samples(xs)
    s = sorted(xs)
    n = len(s)
    med = median_sorted(s)
    rounds = split_rounds(xs, sizes)
    lo, hi = rounds_ci(rounds, confidence, resamples, seed)
    rel_width = _relative_width(lo, hi, med)

    warnings: list[str] = []
    if n < MIN_SAMPLES:
        warnings.append(f"only {n} sample{'s' if n != 1 else ''}")
    if rel_width is None:
        warnings.append("median is zero: relative spread undefined")
    elif rel_width > NOISY_REL_CI_WIDTH:
        pct = round(confidence * 100)
        warnings.append(f"wide spread: {pct} % CI is ±{rel_width * 50:.0f} % of the median")
    noisy = n < MIN_SAMPLES or rel_width is None or rel_width > NOISY_REL_CI_WIDTH

    return {
        "n": n,
        "rounds": len(rounds),
        "unit": unit,
        "median": med,
        "mean": statistics.fmean(s),
        "stdev": statistics.stdev(s) if n > 1 else 0.0,
        "min": s[0],
        "max": s[-1],
        "p5": percentile_sorted(s, 5.0),
        "p95": percentile_sorted(s, 95.0),
        "iqr": percentile_sorted(s, 75.0) - percentile_sorted(s, 25.0),
        "ci95": [lo, hi],
        "rerun95": rerun_interval(med, lo, hi),
        "rel_ci_width": rel_width,
        "outliers": classify_outliers(xs),
        "noisy": noisy,
        "warning": "; ".join(warnings) if warnings else None,
    }
