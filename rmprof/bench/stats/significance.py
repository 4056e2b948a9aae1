"""p-values and power from a bootstrap distribution (inverted percentile intervals, so p-value and interval
never contradict each other), and Holm's correction over several tests."""

import bisect
import math
from collections.abc import Sequence
from statistics import NormalDist

from rmprof.bench.stats.descriptive import percentile_sorted


def _lower_exclusion_alpha(s: Sequence[float], null: float) -> float:
    """Smallest alpha at which the interpolated lower percentile bound of sorted s exceeds null."""
    below = bisect.bisect_right(s, null)  # s[:below] <= null < s[below:]
    if below == 0:
        return 0.0
    if below == len(s):
        return 1.0
    # Fractional rank at which the linear interpolation between s[below-1] and s[below]
    # crosses null; the lower bound sits at rank (B-1)*alpha/2, so solve for alpha.
    lo_v, hi_v = s[below - 1], s[below]
    rank = (below - 1) + (null - lo_v) / (hi_v - lo_v)
    return min(1.0, 2.0 * rank / (len(s) - 1))


def inverted_p_value(sorted_stats: Sequence[float], null: float) -> float:
    """Two-sided bootstrap p-value: smallest 1-confidence whose percentile interval excludes null."""
    b = len(sorted_stats)
    if b == 1:
        return 1.0 if sorted_stats[0] == null else 1.0 / (b + 1)
    low_tail = _lower_exclusion_alpha(sorted_stats, null)
    # The upper bound is the lower bound of the mirrored distribution.
    mirrored = [-v for v in reversed(sorted_stats)]
    high_tail = _lower_exclusion_alpha(mirrored, -null)
    # Resolution is limited by the number of resamples, so never claim less than 1/(B+1).
    return max(min(low_tail, high_tail), 1.0 / (b + 1))


def beyond_threshold_p(sorted_ratios: Sequence[float], noise_threshold: float) -> float:
    """p-value of "the ratio is at most 1 + threshold" (a regression within the threshold), from the bootstrap
    distribution itself: the smallest alpha at which the (1 - alpha) two-sided percentile interval's lower bound
    clears 1 + threshold, floored at 1 / (resamples + 1).

    So p < 1 - confidence exactly when the reported interval's lower bound lies beyond the threshold: the p-value
    and the interval never contradict each other (a normal fit to a skewed bootstrap did, and passed a +69 %
    regression whose interval cleared the threshold).
    """
    b = len(sorted_ratios)
    return max(_lower_exclusion_alpha(sorted_ratios, 1.0 + noise_threshold), 1.0 / (b + 1))


def log_spread(sorted_ratios: Sequence[float]) -> float:
    """Robust standard error of log(ratio) from its bootstrap distribution: half the 15.9-84.1 percentile span
    (one normal sigma each side), insensitive to a few extreme resamples."""
    lo = percentile_sorted(sorted_ratios, 100.0 * NormalDist().cdf(-1.0))
    hi = percentile_sorted(sorted_ratios, 100.0 * NormalDist().cdf(1.0))
    if lo <= 0 or hi <= 0:
        return math.inf
    return (math.log(hi) - math.log(lo)) / 2.0


def detectable_change(log_se: float, alpha: float, power: float = 0.8) -> float:
    """Smallest relative regression that a two-sided test at level ``alpha`` detects with probability ``power``,
    for an estimate of log(ratio) with standard error ``log_se``: exp((z(1 - alpha/2) + z(power)) * se) - 1."""
    if not (0.0 < alpha < 1.0 and 0.0 < power < 1.0):
        raise ValueError(f"alpha and power must be within (0, 1), got {alpha!r}, {power!r}")
    if not math.isfinite(log_se):
        return math.inf
    z = NormalDist().inv_cdf(1.0 - alpha / 2.0) + NormalDist().inv_cdf(power)
    return math.expm1(z * log_se)


def holm(p_values: Sequence[float], alpha: float = 0.05) -> list[bool]:
    """Holm's step-down procedure: which hypotheses are rejected at family-wise error rate ``alpha``."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    rejected = [False] * len(p_values)
    m = len(p_values)
    for rank, i in enumerate(order):
        if p_values[i] >= alpha / (m - rank):
            break
        rejected[i] = True
    return rejected
