"""Robust statistics for noisy benchmark samples, using only the standard library.

The harness runs on a shared, noisy machine, so everything here is built on medians and
percentiles rather than means, and every interval comes from a seeded bootstrap so that a
report can be regenerated bit for bit from the same samples (for a given CPython version,
whose ``random`` algorithms are stable).

Conventions:

* ``percentile`` takes ``q`` in percent (0..100) and interpolates linearly between closest
  ranks (numpy's default, "type 7"), so ``percentile(xs, 50) == median(xs)``.
* Intervals are percentile-bootstrap intervals at ``confidence`` (default 0.95).
* In ``compare`` lower is better (times, instructions): a negative change is an improvement.
* The p-value of ``compare`` is a two-sided bootstrap p-value obtained by inverting the
  percentile interval of the ratio of medians: it is the smallest ``1 - confidence`` at which
  that interval (same resamples, same interpolation) would exclude "no change", floored at
  ``1 / (resamples + 1)``. So ``p < 1 - confidence`` exactly when the reported interval
  excludes zero change, the p-value and the interval never contradict each other, and no
  extra resampling is needed. (A permutation test was rejected: a Python-level shuffle of
  400 samples costs ~0.2 ms, i.e. ~0.5 s for 2000 permutations.)
* Samples may come in *rounds*: groups measured in one fresh process each. On a shared machine
  most wall-time noise lies between processes (address-space layout, frequency, neighbours), so
  a bootstrap that treats every sample as independent draws intervals far narrower than a rerun's
  spread. With rounds, every interval comes from a two-stage (hierarchical) bootstrap: resample
  the rounds with replacement, then the samples within each chosen round. Resampling both levels
  slightly overstates the within-round part (Davison & Hinkley 1997, sec. 3.8), which errs on the
  side of covering a rerun. One sample per round is the ordinary bootstrap.
* Two groups measured in the same rounds (runtimes interleaved in one process, or a binary run
  right after it) are *paired*: their ratio is bootstrapped by resampling round indices jointly,
  so drift shared by both cancels, as in a paired test.
"""

import bisect
import math
import operator
import random
import statistics
from collections.abc import Callable, Sequence
from statistics import NormalDist

from rmprof.formatting import format_percent

__all__ = [
    "DEFAULT_NOISE_THRESHOLD",
    "MIN_SAMPLES",
    "NOISY_REL_CI_WIDTH",
    "SEVERE_K",
    "TUKEY_K",
    "VERDICTS",
    "beyond_threshold_p",
    "bootstrap_ci",
    "classify_outliers",
    "compare",
    "compare_exact",
    "detectable_change",
    "format_comparison",
    "holm",
    "iqr",
    "log_spread",
    "mad",
    "median",
    "percentile",
    "ratio_ci",
    "rerun_interval",
    "rounds_ci",
    "rounds_disagreement",
    "split_rounds",
    "summarize",
    "tukey_fences",
    "tukey_outliers",
]

# A sample is flagged "noisy" when its 95 % CI is wider than 10 % of the median (i.e. wider
# than +-5 %): beyond that, a speedup difference of a few percent cannot be resolved.
NOISY_REL_CI_WIDTH = 0.10
# Below this many samples the bootstrap interval of a median is too coarse to trust.
MIN_SAMPLES = 10
# Below this many rounds (fresh processes) an interval cannot see between-process noise well: with
# samples that are all independent (one per round) the rule is MIN_SAMPLES again.
MIN_ROUNDS = 5
# Tukey's classic fence multipliers: beyond 1.5 IQR is a mild outlier, beyond 3 IQR severe.
TUKEY_K = 1.5
SEVERE_K = 3.0
# Same default as Criterion.rs: changes smaller than 2 % are treated as noise.
DEFAULT_NOISE_THRESHOLD = 0.02

VERDICTS = ("improved", "regressed", "no change", "within noise")

# Criterion.rs wording, so that reports read the same as the Rust benches people know.
_MESSAGES = {
    "improved": "Performance has improved.",
    "regressed": "Performance has regressed.",
    "no change": "No change in performance detected.",
    "within noise": "Change within noise threshold.",
}


# ---------------------------------------------------------------------------
# Order statistics
# ---------------------------------------------------------------------------


def _require_samples(xs: Sequence[float], what: str = "xs") -> None:
    if len(xs) == 0:
        raise ValueError(f"{what} must contain at least one sample")


def _percentile_sorted(s: Sequence[float], q: float) -> float:
    """Linear-interpolation percentile of an already sorted, non-empty sequence."""
    h = (len(s) - 1) * (q / 100.0)
    lo = math.floor(h)
    hi = min(lo + 1, len(s) - 1)
    frac = h - lo
    # Written as a + f*(b-a) so equal neighbours give exactly that value (no rounding drift).
    return s[lo] + frac * (s[hi] - s[lo])


def _median_sorted(s: Sequence[float]) -> float:
    n = len(s)
    mid = n // 2
    if n % 2:
        return s[mid]
    return (s[mid - 1] + s[mid]) / 2.0


def percentile(xs: Sequence[float], q: float) -> float:
    """Return the q-th percentile (q in 0..100) of xs, interpolating linearly between ranks."""
    _require_samples(xs)
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"percentile q must be within [0, 100], got {q!r}")
    return _percentile_sorted(sorted(xs), q)


def median(xs: Sequence[float]) -> float:
    """Return the median of xs (mean of the two middle values for even lengths)."""
    _require_samples(xs)
    return _median_sorted(sorted(xs))


def iqr(xs: Sequence[float]) -> float:
    """Return the interquartile range p75 - p25 of xs."""
    _require_samples(xs)
    s = sorted(xs)
    return _percentile_sorted(s, 75.0) - _percentile_sorted(s, 25.0)


def mad(xs: Sequence[float]) -> float:
    """Return the (unscaled) median absolute deviation from the median of xs."""
    _require_samples(xs)
    m = median(xs)
    # Unscaled on purpose: multiply by 1.4826 to estimate a normal sigma.
    return median([abs(x - m) for x in xs])


# ---------------------------------------------------------------------------
# Outliers
# ---------------------------------------------------------------------------


def tukey_fences(xs: Sequence[float], k: float = TUKEY_K) -> tuple[float, float]:
    """Return Tukey's fences (Q1 - k*IQR, Q3 + k*IQR) of xs."""
    _require_samples(xs)
    if k < 0:
        raise ValueError(f"fence multiplier k must be >= 0, got {k!r}")
    s = sorted(xs)
    q1 = _percentile_sorted(s, 25.0)
    q3 = _percentile_sorted(s, 75.0)
    spread = q3 - q1
    return q1 - k * spread, q3 + k * spread


def tukey_outliers(xs: Sequence[float], k: float = TUKEY_K) -> list[int]:
    """Return the indices (ascending) of the values of xs strictly outside Tukey's k-fences."""
    low, high = tukey_fences(xs, k)
    return [i for i, x in enumerate(xs) if x < low or x > high]


def classify_outliers(xs: Sequence[float], mild_k: float = TUKEY_K, severe_k: float = SEVERE_K) -> dict[str, object]:
    """Count mild (outside mild_k but inside severe_k fences) and severe outliers of xs."""
    if severe_k < mild_k:
        raise ValueError("severe_k must be >= mild_k")
    _require_samples(xs)
    # Outliers are only flagged and counted, never removed: on a shared machine a slow
    # sample is real information about the run, and dropping it would flatter the median CI.
    mild_lo, mild_hi = tukey_fences(xs, mild_k)
    severe_lo, severe_hi = tukey_fences(xs, severe_k)
    indices: list[int] = []
    severe = 0
    for i, x in enumerate(xs):
        if x < mild_lo or x > mild_hi:
            indices.append(i)
            if x < severe_lo or x > severe_hi:
                severe += 1
    return {"mild": len(indices) - severe, "severe": severe, "indices": indices}


# ---------------------------------------------------------------------------
# Bootstrap
# ---------------------------------------------------------------------------


def _check_bootstrap_args(confidence: float, resamples: int) -> None:
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
        value = _median_sorted(_pooled_resample(rounds, picked, choices))
        if partner is not None:
            value = combine(value, _median_sorted(_pooled_resample(partner, picked, choices)))
        out.append(value)
    out.sort()
    return out


def rounds_ci(rounds: Rounds, confidence: float = 0.95, resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """Two-stage bootstrap interval (lo, hi) of the pooled median of samples measured in rounds."""
    if not rounds or any(len(r) == 0 for r in rounds):
        raise ValueError("rounds must be non-empty lists of samples")
    _check_bootstrap_args(confidence, resamples)
    flat = [x for r in rounds for x in r]
    if min(flat) == max(flat):
        return flat[0], flat[0]
    if all(len(r) == 1 for r in rounds):
        return bootstrap_ci(flat, median, confidence, resamples, seed)
    return _interval(_rounds_medians(rounds, resamples, seed), confidence)


def _interval(sorted_stats: Sequence[float], confidence: float) -> tuple[float, float]:
    alpha = 1.0 - confidence
    return (
        _percentile_sorted(sorted_stats, 100.0 * alpha / 2.0),
        _percentile_sorted(sorted_stats, 100.0 * (1.0 - alpha / 2.0)),
    )


def bootstrap_ci(
    xs: Sequence[float],
    stat: Callable[[Sequence[float]], float] = median,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """Return the percentile-bootstrap confidence interval (lo, hi) of stat(xs)."""
    _require_samples(xs)
    _check_bootstrap_args(confidence, resamples)
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
        stats = [_median_sorted(sorted(choices(data, k=n))) for _ in range(resamples)]
    else:
        stats = [stat(choices(data, k=n)) for _ in range(resamples)]
    stats.sort()
    return _interval(stats, confidence)


def _ratio_distribution(num: Rounds, den: Rounds, resamples: int, seed: int, paired: bool = False) -> list[float]:
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
            return _median_sorted(sorted(choices(flat, k=len(flat))))
        return _median_sorted(_pooled_resample(rounds, choices(idx, k=len(idx)), choices))

    ratios = [pooled_median(num, flat_a, ia) / pooled_median(den, flat_b, ib) for _ in range(resamples)]
    ratios.sort()
    return ratios


def _check_ratio_groups(num: Sequence[float], den: Sequence[float]) -> None:
    _require_samples(num, "num")
    _require_samples(den, "den")
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
    (see the module docstring), paired by round index when ``paired`` and the round counts match."""
    _check_ratio_groups(num, den)
    _check_bootstrap_args(confidence, resamples)
    point = median(num) / median(den)
    dist = _ratio_distribution(split_rounds(num, num_sizes), split_rounds(den, den_sizes), resamples, seed, paired)
    lo, hi = _interval(dist, confidence)
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
    _require_samples(a, "a")
    _require_samples(b, "b")
    _check_bootstrap_args(confidence, resamples)
    rounds_a, rounds_b = split_rounds(a, a_sizes), split_rounds(b, b_sizes)
    if len(rounds_a) != len(rounds_b):
        raise ValueError(f"paired groups need as many rounds: {len(rounds_a)} and {len(rounds_b)}")
    point = median(a) - median(b)
    dist = _rounds_medians(rounds_a, resamples, seed, partner=rounds_b, combine=operator.sub)
    lo, hi = _interval(dist, confidence)
    return point, lo, hi


# ---------------------------------------------------------------------------
# Summaries
# ---------------------------------------------------------------------------


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
    _require_samples(xs)
    s = sorted(xs)
    n = len(s)
    med = _median_sorted(s)
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
        "p5": _percentile_sorted(s, 5.0),
        "p95": _percentile_sorted(s, 95.0),
        "iqr": _percentile_sorted(s, 75.0) - _percentile_sorted(s, 25.0),
        "ci95": [lo, hi],
        "rerun95": rerun_interval(med, lo, hi),
        "rel_ci_width": rel_width,
        "outliers": classify_outliers(xs),
        "noisy": noisy,
        "warning": "; ".join(warnings) if warnings else None,
    }


# Rounds disagree when their levels spread more than ROUNDS_DISAGREE times as wide as the spread within rounds
# predicts for a round's level. Everything is robust, since a shared machine preempts single samples 2-20x:
# - a round's level: its median; in a round of two, the lower sample (preemption only adds time, so of two
#   samples the lower is the one not hit, where the mean of two would carry a spike whole);
# - within: 1.4826 x the median distance of samples from their round's median, times sqrt(k / (k - 1)) (a
#   residual from the round's own centre understates the spread, exactly so in rounds of two), predicting the
#   sd of a level: within x sqrt(pi / 2 / k) for k >= 3 (the median's asymptotic variance), x sqrt(1 - 1/pi) for
#   k = 2 (the lower of two normal samples), x 1 for k = 1;
# - between: the standard deviation of the round levels winsorized at their 15th and 85th percentiles (over the
#   normal's consistency factor), so that one round spoiled by spikes does not count but a block of rounds
#   shifted together (a busy neighbour for a while) or one shifted round of five does.
# Simulated with lognormal samples (5 % spread) and 0-10 % spikes, alike rounds give a median ratio of ~1 and
# pass 3 in none of 400 tries with 20 rounds of 2 or of 5 (3-6 % with 5 rounds), while a quarter of the rounds
# shifted by 10 within-round deviations (20 rounds of 2 or 5) passes it in 97-100 %.
ROUNDS_DISAGREE = 3.0
# ...and only when that spread leaves the median uncertain: the rounds' standard error beyond 1 % of the median
# (a 95 % CI of about ±2 %, the default threshold). A very steady runtime whose rounds differ by 0.3 % has
# between/within far above 3 on a shared machine and gains nothing from more rounds.
ROUNDS_MATERIAL_SE = 0.01
_ROUNDS_WINSOR = 15.0  # percent each side
# sd of a standard normal winsorized at the 15th/85th percentiles: sqrt((1 - 2a) - 2 z phi(z) + 2 a z^2).
_ROUNDS_WINSOR_SD = 0.7341


def _level_variance(k: int) -> float:
    """Variance of a round's level (see above) over k samples of unit variance."""
    return 1.0 if k == 1 else 1.0 - 1.0 / math.pi if k == 2 else math.pi / 2.0 / k


def rounds_disagreement(rounds: Rounds) -> dict[str, float | bool] | None:
    """How far timing samples grouped in rounds disagree between rounds: ``between_within`` (the spread of round
    levels over what the within-round spread predicts for them, ~1 for alike rounds), ``relative_se`` (the rounds'
    standard error over the median of all samples) and ``disagree`` (both beyond their limits above).

    None when it cannot be told: fewer than two rounds, no round of two samples, or no spread within rounds.
    """
    groups = [sorted(float(x) for x in g) for g in rounds if len(g) > 0]
    if len(groups) < 2 or all(len(g) < 2 for g in groups):
        return None
    residuals = [abs(x - _median_sorted(g)) * math.sqrt(len(g) / (len(g) - 1)) for g in groups if len(g) > 1 for x in g]
    levels = [g[0] if len(g) == 2 else _median_sorted(g) for g in groups]
    within = 1.4826 * median(residuals)
    center = median([x for g in groups for x in g])
    if within <= 0 or center == 0:
        return None
    predicted = math.sqrt(statistics.fmean([_level_variance(len(g)) for g in groups])) * within
    s = sorted(levels)
    lo, hi = _percentile_sorted(s, _ROUNDS_WINSOR), _percentile_sorted(s, 100.0 - _ROUNDS_WINSOR)
    between = statistics.stdev([min(max(m, lo), hi) for m in levels]) / _ROUNDS_WINSOR_SD
    ratio = between / predicted
    relative_se = between / math.sqrt(len(levels)) / abs(center)
    return {
        "between_within": ratio,
        "relative_se": relative_se,
        "disagree": ratio > ROUNDS_DISAGREE and relative_se > ROUNDS_MATERIAL_SE,
    }


# ---------------------------------------------------------------------------
# Before/after comparison
# ---------------------------------------------------------------------------


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


def _inverted_p_value(sorted_stats: Sequence[float], null: float) -> float:
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


def _verdict(change: float, significant: bool, noise_threshold: float) -> str:
    """Verdict of an exact change (a deterministic count: the interval is the point)."""
    if not significant:
        return "no change"
    if abs(change) < noise_threshold:
        return "within noise"
    return "improved" if change < 0 else "regressed"


def _interval_verdict(lo: float, hi: float, significant: bool, noise_threshold: float) -> str:
    """Verdict of a sampled change: improved/regressed only when the whole interval clears the threshold.

    A point beyond the threshold with an interval reaching back inside it is not evidence of a change
    that large: on a shared machine it is how identical builds differ.
    """
    if not significant:
        return "no change"
    if lo > noise_threshold:
        return "regressed"
    if hi < -noise_threshold:
        return "improved"
    return "within noise"


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
    lo = _percentile_sorted(sorted_ratios, 100.0 * NormalDist().cdf(-1.0))
    hi = _percentile_sorted(sorted_ratios, 100.0 * NormalDist().cdf(1.0))
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


def compare(
    before: Sequence[float],
    after: Sequence[float],
    noise_threshold: float = DEFAULT_NOISE_THRESHOLD,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
    before_sizes: Sequence[int] | None = None,
    after_sizes: Sequence[int] | None = None,
    paired: bool = False,
    keep_distribution: bool = False,
) -> dict[str, object]:
    """Compare two sample sets (lower is better) by their medians, Criterion.rs style.

    Samples may come in rounds (``*_sizes``, see the module docstring); ``paired`` pairs the rounds of the
    two sides by index (both measured alternately in one session). ``p_beyond`` is the p-value of "no
    regression beyond the threshold" that a gate corrects for multiple comparisons (see ``holm``), ``upper95``
    the one-sided 95 % upper bound of the change (a gate's "no regression this large" test), ``log_se`` the
    robust standard error of log(ratio) (its power, see ``detectable_change``); ``keep_distribution`` adds the
    sorted bootstrap ratios (``distribution``) for a caller that tests other thresholds on them.
    """
    _check_ratio_groups(after, before)
    _check_bootstrap_args(confidence, resamples)
    if noise_threshold < 0:
        raise ValueError(f"noise_threshold must be >= 0, got {noise_threshold!r}")
    med_before = median(before)
    med_after = median(after)
    change = med_after / med_before - 1.0

    b_rounds, a_rounds = split_rounds(before, before_sizes), split_rounds(after, after_sizes)
    ratios = _ratio_distribution(a_rounds, b_rounds, resamples, seed, paired)
    lo, hi = _interval(ratios, confidence)
    p_value = _inverted_p_value(ratios, 1.0)
    alpha = 1.0 - confidence
    verdict = _interval_verdict(lo - 1.0, hi - 1.0, p_value < alpha, noise_threshold)
    warning = None
    grouped = any(len(r) > 1 for r in (*b_rounds, *a_rounds))
    if min(len(b_rounds), len(a_rounds)) < (MIN_ROUNDS if grouped else MIN_SAMPLES):
        # The bootstrap cannot see variance it was never shown: with a handful of processes (one, at the
        # extreme) any difference looks significant, so say so next to the verdict.
        what = "rounds" if grouped else "samples"
        warning = f"only {len(b_rounds)} {what} before / {len(a_rounds)} after: verdict is unreliable"
    return {
        "before_median": med_before,
        "after_median": med_after,
        "n_before": len(before),
        "n_after": len(after),
        "rounds_before": len(b_rounds),
        "rounds_after": len(a_rounds),
        "paired": paired and len(b_rounds) == len(a_rounds) and len(a_rounds) > 1,
        "change": change,
        "ci95": [lo - 1.0, hi - 1.0],
        "p_value": p_value,
        "p_beyond": beyond_threshold_p(ratios, noise_threshold),
        "upper95": _percentile_sorted(ratios, 95.0) - 1.0,
        "log_se": log_spread(ratios),
        "confidence": confidence,
        "noise_threshold": noise_threshold,
        "verdict": verdict,
        "message": _MESSAGES[verdict],
        "warning": warning,
        **({"distribution": ratios} if keep_distribution else {}),
    }


def compare_exact(before: int, after: int, noise_threshold: float = 0.0) -> dict[str, object]:
    """Compare two deterministic counts (e.g. callgrind instructions); lower is better."""
    if before < 0 or after < 0:
        raise ValueError("counts must be >= 0")
    if noise_threshold < 0:
        raise ValueError(f"noise_threshold must be >= 0, got {noise_threshold!r}")
    # Growing from zero has no finite relative change; call it an unbounded regression.
    change = after / before - 1.0 if before else (0.0 if after == 0 else math.inf)
    # A deterministic count has no sampling noise: any difference is significant.
    verdict = _verdict(change, after != before, noise_threshold)
    return {
        "before": before,
        "after": after,
        "change": change,
        "ci95": None,
        "p_value": None,
        "noise_threshold": noise_threshold,
        "verdict": verdict,
        "message": _MESSAGES[verdict],
    }


# ---------------------------------------------------------------------------
# Formatting
# ---------------------------------------------------------------------------


def format_comparison(result: dict[str, object]) -> str:
    """Render a compare()/compare_exact() result in Criterion.rs wording on two lines."""
    change = result["change"]
    ci = result["ci95"]
    p = result["p_value"]
    confidence = result.get("confidence", 0.95)
    if not isinstance(change, float):
        raise TypeError("result['change'] must be a float")
    if not isinstance(ci, list) or not isinstance(p, float) or not isinstance(confidence, float):
        line = f"change: {format_percent(change)} (exact)"
    else:
        alpha = 1.0 - confidence
        rel = "<" if p < alpha else ">="
        line = (
            f"change: [{format_percent(ci[0])} {format_percent(change)} {format_percent(ci[1])}]"
            f" (p = {p:.2f} {rel} {alpha:.2f})"
        )
    return f"{line}\n{result['message']}"
