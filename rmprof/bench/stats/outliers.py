"""Tukey's fences: which samples are outliers, mild or severe (flagged and counted, never removed)."""

from collections.abc import Sequence

from rmprof.bench.stats.descriptive import percentile_sorted, require_samples

# Tukey's classic fence multipliers: beyond 1.5 IQR is a mild outlier, beyond 3 IQR severe.
TUKEY_K = 1.5
SEVERE_K = 3.0


def tukey_fences(xs: Sequence[float], k: float = TUKEY_K) -> tuple[float, float]:
    """Return Tukey's fences (Q1 - k*IQR, Q3 + k*IQR) of xs."""
    require_samples(xs)
    if k < 0:
        raise ValueError(f"fence multiplier k must be >= 0, got {k!r}")
    s = sorted(xs)
    q1 = percentile_sorted(s, 25.0)
    q3 = percentile_sorted(s, 75.0)
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
    require_samples(xs)
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
