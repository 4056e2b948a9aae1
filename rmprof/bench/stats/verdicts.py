"""Before/after comparison of two sample sets (lower is better) or two exact counts, and its Criterion.rs-style
verdict: improved, regressed, no change, or within noise."""

import math
from collections.abc import Sequence

from rmprof.bench.stats.bootstrap import (
    MIN_ROUNDS,
    MIN_SAMPLES,
    check_bootstrap_args,
    check_ratio_groups,
    percentile_interval,
    ratio_distribution,
    split_rounds,
)
from rmprof.bench.stats.descriptive import median, percentile_sorted
from rmprof.bench.stats.significance import beyond_threshold_p, inverted_p_value, log_spread
from rmprof.bench.stats.wording import MESSAGES

# Same default as Criterion.rs: changes smaller than 2 % are treated as noise.
DEFAULT_NOISE_THRESHOLD = 0.02

VERDICTS = ("improved", "regressed", "no change", "within noise")


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

    Samples may come in rounds (``*_sizes``, see the package docstring); ``paired`` pairs the rounds of the
    two sides by index (both measured alternately in one session). ``p_beyond`` is the p-value of "no
    regression beyond the threshold" that a gate corrects for multiple comparisons (see
    ``significance.holm``), ``upper95`` the one-sided 95 % upper bound of the change (a gate's "no regression
    this large" test), ``log_se`` the robust standard error of log(ratio) (its power, see
    ``significance.detectable_change``); ``keep_distribution`` adds the sorted bootstrap ratios
    (``distribution``) for a caller that tests other thresholds on them.
    """
    check_ratio_groups(after, before)
    check_bootstrap_args(confidence, resamples)
    if noise_threshold < 0:
        raise ValueError(f"noise_threshold must be >= 0, got {noise_threshold!r}")
    med_before = median(before)
    med_after = median(after)
    change = med_after / med_before - 1.0

    b_rounds, a_rounds = split_rounds(before, before_sizes), split_rounds(after, after_sizes)
    ratios = ratio_distribution(a_rounds, b_rounds, resamples, seed, paired)
    lo, hi = percentile_interval(ratios, confidence)
    p_value = inverted_p_value(ratios, 1.0)
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
        "upper95": percentile_sorted(ratios, 95.0) - 1.0,
        "log_se": log_spread(ratios),
        "confidence": confidence,
        "noise_threshold": noise_threshold,
        "verdict": verdict,
        "message": MESSAGES[verdict],
        "warning": warning,
        # Fewer fresh processes a side than an interval needs to see the noise between them (a gate never calls
        # such a row); samples taken one per process count one round each.
        "few_rounds": min(len(b_rounds), len(a_rounds)) < MIN_ROUNDS,
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
        "message": MESSAGES[verdict],
    }
