"""Change points of a series: E-divisive means (Matteson & James, 2014), the method Apache Otava (Hunter) uses.

For a split of a segment X into A = X[:τ] and B = X[τ:] (sizes a, b), the energy statistic is

    Q(τ) = a·b/(a+b) · ( 2/(a·b)·Σ|Aᵢ−Bⱼ| − Σ_{i<k}|Aᵢ−Aₖ| / C(a,2) − Σ_{j<k}|Bⱼ−Bₖ| / C(b,2) )

(the divergence of the two samples' distributions, α = 1). The best split of the best segment is kept when
a permutation test says it is unlikely under "no change": the segment's values are shuffled R times (999),
and p = (1 + #{best Q of a shuffle ≥ Q observed}) / (R + 1). Then each side is searched again (bisection),
until no split is significant. Written here from the paper's definitions; segments keep ≥ 4 points.

Two guards keep a flat noisy series flat: p must be below ``alpha`` (0.005 by default), and the medians on
either side of the split must differ by at least ``min_change`` (2 % by default, the compare gate's
threshold): a statistically detectable shift smaller than that is not a change anyone acts on.
The shuffles come from a generator seeded by the caller, so the same series gives the same answer.
"""

from __future__ import annotations

import random
import statistics
from dataclasses import dataclass

DEFAULT_ALPHA = 0.005
DEFAULT_PERMUTATIONS = 999
DEFAULT_MIN_SIZE = 4
DEFAULT_MIN_CHANGE = 0.02


@dataclass(frozen=True)
class ChangePoint:
    """A change between ``index - 1`` and ``index`` (the first point of the new level)."""

    index: int
    p_value: float
    before: float
    after: float

    @property
    def change(self) -> float | None:
        """Relative change of the median level, after / before − 1 (None from a level of 0)."""
        return self.after / self.before - 1 if self.before else None

    @property
    def change_text(self) -> str:
        """``+12.3 %``, or the two levels when the first is 0."""
        return f"{100 * self.change:+.1f} %" if self.change is not None else f"{self.before:g} → {self.after:g}"


def _within_prefix(x: list[float]) -> list[float]:
    """w[t] = Σ_{i<k<t} |x_i − x_k|, for t = 0..len(x)."""
    w = [0.0] * (len(x) + 1)
    for t, xt in enumerate(x):
        w[t + 1] = w[t] + sum(abs(xi - xt) for xi in x[:t])
    return w


def best_split(x: list[float], min_size: int = DEFAULT_MIN_SIZE) -> tuple[int, float] | None:
    """The split τ maximising Q(τ) with at least ``min_size`` points each side, and its Q; None if too short."""
    m = len(x)
    size = max(2, min_size)
    if m < 2 * size:
        return None
    left = _within_prefix(x)
    right = _within_prefix(x[::-1])  # right[s]: within-sum of the last s points
    total = left[m]
    best: tuple[int, float] | None = None
    for tau in range(size, m - size + 1):
        a, b = tau, m - tau
        wa, wb = left[tau], right[b]
        between = total - wa - wb
        energy = 2.0 * between / (a * b) - wa / (a * (a - 1) / 2) - wb / (b * (b - 1) / 2)
        q = a * b / m * energy
        if best is None or q > best[1]:
            best = (tau, q)
    return best


def e_divisive(
    values: list[float],
    *,
    alpha: float = DEFAULT_ALPHA,
    permutations: int = DEFAULT_PERMUTATIONS,
    min_size: int = DEFAULT_MIN_SIZE,
    min_change: float = DEFAULT_MIN_CHANGE,
    seed: int = 0,
) -> list[ChangePoint]:
    """The significant change points of ``values`` (in order), by E-divisive means with a permutation test."""
    x = [float(v) for v in values]
    rng = random.Random(seed)
    bounds = [0, len(x)]  # segment edges: found change points plus both ends
    found: list[ChangePoint] = []
    rejected: set[tuple[int, int]] = set()  # segments already tested without a significant split
    while True:
        segments = [(lo, hi) for lo, hi in zip(bounds, bounds[1:], strict=False) if (lo, hi) not in rejected]
        candidates = []
        for lo, hi in segments:
            split = best_split(x[lo:hi], min_size)
            if split is not None:
                candidates.append((split[1], lo, hi, lo + split[0]))
        if not candidates:
            return sorted(found, key=lambda c: c.index)
        q, lo, hi, tau = max(candidates)
        p = _permutation_p(x[lo:hi], q, rng, alpha, permutations, min_size)
        before, after = statistics.median(x[lo:tau]), statistics.median(x[tau:hi])
        relative = abs(after - before) / abs(before) if before else (0.0 if after == before else float("inf"))
        if p > alpha or relative < min_change:
            rejected.add((lo, hi))
            continue
        found.append(ChangePoint(tau, p, before, after))
        bounds = sorted(bounds + [tau])


def _permutation_p(
    segment: list[float], observed: float, rng: random.Random, alpha: float, permutations: int, min_size: int
) -> float:
    """p of ``observed`` among the best-split Q of shuffled copies of ``segment``.

    The loop stops as soon as p can no longer fall below ``alpha`` (the answer is then "not significant"
    whatever the remaining shuffles give), which makes flat series cheap and does not change any verdict.
    """
    exceed = 0
    shuffled = list(segment)
    give_up = alpha * (permutations + 1) - 1  # more exceedances than this and p > alpha for sure
    for done in range(1, permutations + 1):
        rng.shuffle(shuffled)
        split = best_split(shuffled, min_size)
        if split is not None and split[1] >= observed:
            exceed += 1
            if exceed > give_up:
                return (1 + exceed) / (1 + done)
    return (1 + exceed) / (1 + permutations)
