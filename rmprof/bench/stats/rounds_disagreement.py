"""Do a figure's rounds (fresh processes) disagree beyond what the spread within them predicts? The bench adds
rounds while they do (rmprof/bench/budget.py)."""

import math
import statistics

from rmprof.bench.stats.bootstrap import Rounds
from rmprof.bench.stats.descriptive import median, median_sorted, percentile_sorted

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
    residuals = [abs(x - median_sorted(g)) * math.sqrt(len(g) / (len(g) - 1)) for g in groups if len(g) > 1 for x in g]
    levels = [g[0] if len(g) == 2 else median_sorted(g) for g in groups]
    within = 1.4826 * median(residuals)
    center = median([x for g in groups for x in g])
    if within <= 0 or center == 0:
        return None
    predicted = math.sqrt(statistics.fmean([_level_variance(len(g)) for g in groups])) * within
    s = sorted(levels)
    lo, hi = percentile_sorted(s, _ROUNDS_WINSOR), percentile_sorted(s, 100.0 - _ROUNDS_WINSOR)
    between = statistics.stdev([min(max(m, lo), hi) for m in levels]) / _ROUNDS_WINSOR_SD
    ratio = between / predicted
    relative_se = between / math.sqrt(len(levels)) / abs(center)
    return {
        "between_within": ratio,
        "relative_se": relative_se,
        "disagree": ratio > ROUNDS_DISAGREE and relative_se > ROUNDS_MATERIAL_SE,
    }
