"""Order statistics of a sample: percentiles (linear interpolation, numpy's "type 7"), median, IQR, MAD."""

import math
from collections.abc import Sequence


def require_samples(xs: Sequence[float], what: str = "xs") -> None:
    """Raise ValueError when ``xs`` (named ``what`` in the message) holds no sample."""
    if len(xs) == 0:
        raise ValueError(f"{what} must contain at least one sample")


def percentile_sorted(s: Sequence[float], q: float) -> float:
    """Linear-interpolation percentile of an already sorted, non-empty sequence."""
    h = (len(s) - 1) * (q / 100.0)
    lo = math.floor(h)
    hi = min(lo + 1, len(s) - 1)
    frac = h - lo
    # Written as a + f*(b-a) so equal neighbours give exactly that value (no rounding drift).
    return s[lo] + frac * (s[hi] - s[lo])


def median_sorted(s: Sequence[float]) -> float:
    """Median of an already sorted, non-empty sequence."""
    n = len(s)
    mid = n // 2
    if n % 2:
        return s[mid]
    return (s[mid - 1] + s[mid]) / 2.0


def percentile(xs: Sequence[float], q: float) -> float:
    """Return the q-th percentile (q in 0..100) of xs, interpolating linearly between ranks."""
    require_samples(xs)
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"percentile q must be within [0, 100], got {q!r}")
    return percentile_sorted(sorted(xs), q)


def median(xs: Sequence[float]) -> float:
    """Return the median of xs (mean of the two middle values for even lengths)."""
    require_samples(xs)
    return median_sorted(sorted(xs))


def iqr(xs: Sequence[float]) -> float:
    """Return the interquartile range p75 - p25 of xs."""
    require_samples(xs)
    s = sorted(xs)
    return percentile_sorted(s, 75.0) - percentile_sorted(s, 25.0)


def mad(xs: Sequence[float]) -> float:
    """Return the (unscaled) median absolute deviation from the median of xs."""
    require_samples(xs)
    m = median(xs)
    # Unscaled on purpose: multiply by 1.4826 to estimate a normal sigma.
    return median([abs(x - m) for x in xs])
