"""Tests for rmprof.bench.stats against hand-computed values and seeded synthetic samples."""

import math
import random

import pytest

from rmprof.bench.stats.bootstrap import bootstrap_ci, paired_difference_ci, ratio_ci, rounds_ci, split_rounds
from rmprof.bench.stats.descriptive import iqr, mad, median, percentile
from rmprof.bench.stats.outliers import classify_outliers, tukey_fences, tukey_outliers
from rmprof.bench.stats.summary import NOISY_REL_CI_WIDTH, summarize
from rmprof.bench.stats.verdicts import compare, compare_exact
from rmprof.bench.stats.wording import format_comparison


def _lognormal(seed: int, n: int, scale: float = 1.0, sigma: float = 0.2) -> list[float]:
    rng = random.Random(seed)
    return [scale * rng.lognormvariate(0.0, sigma) for _ in range(n)]


# --- order statistics -------------------------------------------------------


def test_percentile_linear_interpolation_by_hand() -> None:
    xs = [4.0, 1.0, 3.0, 2.0]  # unsorted on purpose
    assert percentile(xs, 0) == 1.0
    assert percentile(xs, 100) == 4.0
    assert percentile(xs, 25) == pytest.approx(1.75)  # h = 3 * 0.25 = 0.75
    assert percentile(xs, 50) == pytest.approx(2.5)
    assert percentile(xs, 75) == pytest.approx(3.25)
    assert percentile([10.0, 20.0], 10) == pytest.approx(11.0)
    assert percentile([7.0], 37) == 7.0


def test_percentile_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)
    with pytest.raises(ValueError):
        percentile([1.0], -1)


def test_median_iqr_mad_by_hand() -> None:
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 3.0, 2.0]) == 2.5
    assert median([5.0]) == 5.0
    assert iqr([1.0, 2.0, 3.0, 4.0]) == pytest.approx(1.5)
    assert iqr(list(range(1, 11))) == pytest.approx(4.5)  # 7.75 - 3.25
    # |x - 2| = 1,1,0,0,2,4,7 -> median 1
    assert mad([1.0, 1.0, 2.0, 2.0, 4.0, 6.0, 9.0]) == 1.0
    with pytest.raises(ValueError):
        median([])


def test_median_matches_percentile_50() -> None:
    xs = _lognormal(3, 51) + _lognormal(4, 50)
    assert median(xs) == pytest.approx(percentile(xs, 50))


# --- outliers -----------------------------------------------------------------


def test_tukey_fences_by_hand() -> None:
    low, high = tukey_fences(list(range(1, 11)))
    # Q1 = 3.25, Q3 = 7.75, IQR = 4.5
    assert low == pytest.approx(3.25 - 1.5 * 4.5)
    assert high == pytest.approx(7.75 + 1.5 * 4.5)
    low3, high3 = tukey_fences(list(range(1, 11)), k=3)
    assert (low3, high3) == pytest.approx((3.25 - 13.5, 7.75 + 13.5))


def test_tukey_flags_planted_outliers_only() -> None:
    inliers = [float(v) for v in range(1, 11)]
    xs = inliers[:4] + [20.0] + inliers[4:] + [100.0]  # planted at indices 4 and 11
    # Sorted: 1..10, 20, 100 -> Q1 = 3.75, Q3 = 9.25, IQR = 5.5
    # mild fence 17.5 (20 is out), severe fence 25.75 (20 is in, 100 is out)
    assert tukey_outliers(xs) == [4, 11]
    assert tukey_outliers(xs, k=3.0) == [11]
    assert classify_outliers(xs) == {"mild": 1, "severe": 1, "indices": [4, 11]}


def test_tukey_low_outliers_and_clean_data() -> None:
    xs = _lognormal(11, 100, scale=1e6, sigma=0.05)
    planted = list(xs)
    planted[17] = 1e3  # absurdly fast
    planted[42] = 5e7  # absurdly slow
    assert tukey_outliers(planted, k=3.0) == [17, 42]
    assert set(tukey_outliers(planted)) >= {17, 42}
    # Constant samples have IQR 0 and nothing outside the fences.
    assert tukey_outliers([2.0] * 8) == []


# --- bootstrap ------------------------------------------------------------------


def test_bootstrap_ci_covers_true_median() -> None:
    # Lognormal(0, 0.5) has median exactly 1.
    covered = 0
    trials = 50
    for trial in range(trials):
        xs = _lognormal(1000 + trial, 41, sigma=0.5)
        lo, hi = bootstrap_ci(xs, resamples=500, seed=trial)
        assert lo <= median(xs) <= hi
        covered += lo <= 1.0 <= hi
    assert covered >= 0.9 * trials


def test_bootstrap_ci_other_stat_and_degenerate_inputs() -> None:
    xs = _lognormal(5, 60)
    lo, hi = bootstrap_ci(xs, stat=lambda s: sum(s) / len(s), resamples=500)
    assert lo < sum(xs) / len(xs) < hi
    assert bootstrap_ci([3.0]) == (3.0, 3.0)
    assert bootstrap_ci([3.0] * 20) == (3.0, 3.0)
    with pytest.raises(ValueError):
        bootstrap_ci([])
    with pytest.raises(ValueError):
        bootstrap_ci(xs, confidence=1.0)
    with pytest.raises(ValueError):
        bootstrap_ci(xs, resamples=0)


def test_bootstrap_narrower_at_lower_confidence() -> None:
    xs = _lognormal(6, 80)
    lo95, hi95 = bootstrap_ci(xs, confidence=0.95)
    lo80, hi80 = bootstrap_ci(xs, confidence=0.80)
    assert lo95 <= lo80 <= hi80 <= hi95


def test_ratio_ci_covers_known_speedup() -> None:
    # Python 20x slower than Rust: the true ratio of medians is exactly 20.
    covered = 0
    trials = 20
    for trial in range(trials):
        python = _lognormal(2000 + trial, 60, scale=20.0, sigma=0.3)
        rust = _lognormal(3000 + trial, 60, scale=1.0, sigma=0.3)
        point, lo, hi = ratio_ci(python, rust, resamples=500, seed=trial)
        assert point == pytest.approx(median(python) / median(rust))
        assert lo <= point <= hi
        covered += lo <= 20.0 <= hi
    assert covered >= 0.85 * trials


def test_paired_difference_ci_covers_a_known_difference_despite_round_drift() -> None:
    # Each round shifts both sides alike (a process's level); pairing by round keeps that out of the interval.
    covered, widths_paired, widths_apart = 0, [], []
    for trial in range(20):
        rng = random.Random(trial)
        levels = [rng.uniform(0, 100) for _ in range(8)]
        a = [lv + 1000 + rng.gauss(0, 5) for lv in levels for _ in range(5)]
        b = [lv + 900 + rng.gauss(0, 5) for lv in levels for _ in range(5)]
        point, lo, hi = paired_difference_ci(a, b, [5] * 8, [5] * 8, resamples=500, seed=trial)
        assert point == pytest.approx(median(a) - median(b)) and lo <= point <= hi
        covered += lo <= 100 <= hi
        widths_paired.append(hi - lo)
        lo_a, hi_a = rounds_ci(split_rounds(a, [5] * 8), resamples=500, seed=trial)
        widths_apart.append(hi_a - lo_a)
    assert covered >= 17
    assert median(widths_paired) < median(widths_apart)
    with pytest.raises(ValueError):
        paired_difference_ci([1.0, 2.0], [1.0, 2.0], [1, 1], [2])


def test_ratio_ci_rejects_non_positive_denominator() -> None:
    with pytest.raises(ValueError):
        ratio_ci([1.0, 2.0], [1.0, 0.0])
    with pytest.raises(ValueError):
        ratio_ci([1.0], [])


def test_determinism_with_seed() -> None:
    xs = _lognormal(7, 100)
    ys = _lognormal(8, 100, scale=1.05)
    assert bootstrap_ci(xs, seed=42) == bootstrap_ci(xs, seed=42)
    assert bootstrap_ci(xs, seed=42) != bootstrap_ci(xs, seed=43)
    assert ratio_ci(xs, ys, seed=9) == ratio_ci(xs, ys, seed=9)
    assert compare(xs, ys, seed=1) == compare(xs, ys, seed=1)
    assert summarize(xs, "ns", seed=5) == summarize(xs, "ns", seed=5)


def test_bootstrap_is_seeded_and_brackets_the_median() -> None:
    """The same seed gives the same interval (reports are reproducible), another seed another one, and the
    interval holds the sample's own median. Its speed is a benchmark: scripts/perf/stats_speed.py."""
    xs = _lognormal(9, 200, scale=1e6)
    first = bootstrap_ci(xs, resamples=2000, seed=7)
    assert bootstrap_ci(xs, resamples=2000, seed=7) == first
    assert bootstrap_ci(xs, resamples=2000, seed=8) != first
    assert first[0] < median(xs) < first[1]


# --- summarize ------------------------------------------------------------------


def test_summarize_fields_and_quiet_sample() -> None:
    xs = _lognormal(12, 200, scale=1e6, sigma=0.02)
    xs[3] = 5e6  # one planted severe outlier: flagged, not dropped
    out = summarize(xs, "ns")
    expected_keys = {
        "n", "rounds", "unit", "median", "mean", "stdev", "min", "max", "p5", "p95", "iqr",
        "ci95", "rerun95", "rel_ci_width", "outliers", "noisy", "warning",
    }  # fmt: skip
    assert set(out) == expected_keys
    assert out["n"] == 200 and out["unit"] == "ns"
    assert out["max"] == 5e6  # the outlier is still in the data
    assert out["median"] == pytest.approx(median(xs))
    lo, hi = out["ci95"]
    assert lo <= out["median"] <= hi
    assert out["rel_ci_width"] == pytest.approx((hi - lo) / out["median"])
    assert out["outliers"]["severe"] >= 1 and 3 in out["outliers"]["indices"]
    assert out["noisy"] is False and out["warning"] is None


def test_summarize_flags_wide_spread() -> None:
    xs = _lognormal(13, 30, scale=1e6, sigma=0.6)
    out = summarize(xs, "ns")
    assert out["rel_ci_width"] > NOISY_REL_CI_WIDTH
    assert out["noisy"] is True
    half = round(out["rel_ci_width"] * 50)
    assert out["warning"] == f"wide spread: 95 % CI is ±{half} % of the median"


def test_summarize_flags_few_samples() -> None:
    out = summarize([100.0, 101.0, 100.5, 100.2, 100.1], "ns")
    assert out["noisy"] is True
    assert out["warning"].startswith("only 5 samples")
    single = summarize([42.0], "ms")
    assert single["stdev"] == 0.0 and single["ci95"] == [42.0, 42.0]
    assert single["warning"] == "only 1 sample"


# --- compare ------------------------------------------------------------------------


def test_compare_regressed_on_plus_10_percent() -> None:
    before = _lognormal(20, 100, scale=1e6, sigma=0.05)
    after = _lognormal(21, 100, scale=1.1e6, sigma=0.05)
    out = compare(before, after)
    assert out["verdict"] == "regressed"
    assert out["message"] == "Performance has regressed."
    assert out["change"] == pytest.approx(0.10, abs=0.03)
    lo, hi = out["ci95"]
    assert lo <= out["change"] <= hi and lo > 0
    assert out["p_value"] < 0.05


def test_compare_improved_on_minus_10_percent() -> None:
    before = _lognormal(22, 100, scale=1e6, sigma=0.05)
    after = _lognormal(23, 100, scale=0.9e6, sigma=0.05)
    out = compare(before, after)
    assert out["verdict"] == "improved"
    assert out["change"] == pytest.approx(-0.10, abs=0.03)
    assert out["ci95"][1] < 0


def test_compare_identical_distributions() -> None:
    verdicts = []
    for trial in range(10):
        before = _lognormal(100 + trial, 100, scale=1e6, sigma=0.05)
        after = _lognormal(200 + trial, 100, scale=1e6, sigma=0.05)
        out = compare(before, after, resamples=1000, seed=trial)
        assert 0.0 < out["p_value"] <= 1.0
        verdicts.append(out["verdict"])
    assert set(verdicts) <= {"no change", "within noise"}
    assert verdicts.count("no change") >= 8


def test_compare_same_samples_is_no_change() -> None:
    xs = _lognormal(30, 50, scale=1e6)
    out = compare(xs, list(xs))
    assert out["change"] == 0.0
    assert out["verdict"] == "no change"
    assert out["p_value"] > 0.5


def test_compare_small_significant_shift_is_within_noise() -> None:
    before = _lognormal(40, 400, scale=1e6, sigma=0.005)
    after = _lognormal(41, 400, scale=1.01e6, sigma=0.005)
    out = compare(before, after)
    assert out["p_value"] < 0.05
    assert out["change"] == pytest.approx(0.01, abs=0.003)
    assert out["verdict"] == "within noise"
    # With the threshold disabled the same data is a real regression.
    assert compare(before, after, noise_threshold=0.0)["verdict"] == "regressed"


def test_compare_p_value_agrees_with_interval() -> None:
    # The p-value inverts the reported interval exactly, including at the boundary.
    significant = 0
    for trial in range(40):
        n = 10 + trial
        before = _lognormal(500 + trial, n, scale=1e6, sigma=0.1)
        after = _lognormal(600 + trial, n, scale=1.04e6 if trial % 2 else 0.96e6, sigma=0.1)
        confidence = 0.9 if trial % 3 == 0 else 0.95
        out = compare(before, after, confidence=confidence, resamples=500, seed=trial)
        lo, hi = out["ci95"]
        assert (out["p_value"] < 1 - confidence) == (lo > 0 or hi < 0)
        significant += out["p_value"] < 1 - confidence
    assert 0 < significant < 40  # both branches exercised


def test_compare_warns_on_few_samples() -> None:
    assert compare(_lognormal(60, 30), _lognormal(61, 30))["warning"] is None
    out = compare([1.0, 1.1, 0.9], [2.0, 2.1])
    assert out["warning"] == "only 3 samples before / 2 after: verdict is unreliable"


def test_compare_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        compare([], [1.0])
    with pytest.raises(ValueError):
        compare([0.0, 1.0], [1.0])
    with pytest.raises(ValueError):
        compare([1.0], [1.0], noise_threshold=-0.1)


def test_compare_exact() -> None:
    out = compare_exact(1_000_000, 1_100_000)
    assert out["change"] == pytest.approx(0.1)
    assert out["verdict"] == "regressed"
    assert out["ci95"] is None and out["p_value"] is None
    assert compare_exact(1000, 900)["verdict"] == "improved"
    assert compare_exact(1000, 1000)["verdict"] == "no change"
    assert compare_exact(1000, 1001)["verdict"] == "regressed"
    assert compare_exact(1000, 1001, noise_threshold=0.01)["verdict"] == "within noise"
    assert compare_exact(0, 0)["verdict"] == "no change"
    assert math.isinf(compare_exact(0, 5)["change"])
    with pytest.raises(ValueError):
        compare_exact(-1, 5)


# --- formatting -------------------------------------------------------------------


def test_format_comparison_criterion_wording() -> None:
    before = _lognormal(50, 100, scale=1e6, sigma=0.05)
    after = _lognormal(51, 100, scale=1.1e6, sigma=0.05)
    text = format_comparison(compare(before, after))
    first, second = text.splitlines()
    assert first.startswith("change: [+") and "(p = 0.00 < 0.05)" in first
    assert second == "Performance has regressed."
    exact = format_comparison(compare_exact(100, 100))
    assert exact == "change: +0.00% (exact)\nNo change in performance detected."
