"""The gate's thresholds per signal (wall time, initialization, exact counts), by default or one for all."""

from __future__ import annotations

import math

from rmprof.bench.stats.verdicts import DEFAULT_NOISE_THRESHOLD
from rmprof.errors import RmprofError

# Exact counts (callgrind instructions) have no sampling noise: Criterion's 2 % is their threshold.
DEFAULT_EXACT_THRESHOLD = DEFAULT_NOISE_THRESHOLD
# Wall times on a shared 2-vCPU machine: the gate passes a row only when its one-sided 95 % upper bound lies
# within the threshold, and two runs' intervals of one build put that bound at +2-4 % for run times; at 2 %
# every A/A compare would be inconclusive. A 10 % slowdown still fails (its lower bound clears 5 %, or a node's
# does). `--threshold` sets every threshold.
DEFAULT_TIME_THRESHOLD = 0.05
# Initialization is one build of the executor, 1-100 µs, and varies between fresh processes more than a run does
# (layout: three A/A runs of 20 processes each put the in-process rust init's 95 % intervals at ±3-5 % per side,
# so no A/A could show a +5 % bound). It is paid once per pipeline; 10 % still catches a real init regression.
DEFAULT_INIT_THRESHOLD = 0.10


def thresholds_for(threshold: float | None) -> dict[str, float]:
    """The gate's thresholds per signal: the defaults (wall time 5 %, initialization 10 %, exact counts 2 %) or
    ``threshold`` for all."""
    if threshold is None:
        return {"time": DEFAULT_TIME_THRESHOLD, "init": DEFAULT_INIT_THRESHOLD, "exact": DEFAULT_EXACT_THRESHOLD}
    if not (isinstance(threshold, int | float) and math.isfinite(threshold) and threshold >= 0):
        raise RmprofError(f"threshold must be a non-negative number, got {threshold!r}")
    return {"time": float(threshold), "init": float(threshold), "exact": float(threshold)}


def time_threshold(thresholds: dict[str, float], metric: str) -> float:
    """The threshold a sampled time ``metric`` ("run", "init", "cold_start", "node.…") is judged against."""
    return thresholds["init" if metric == "init" else "time"]


def thresholds_block(thresholds: dict[str, float]) -> dict[str, float]:
    """``thresholds`` as compare.json names them."""
    return {"wall time": thresholds["time"], "init": thresholds["init"], "exact": thresholds["exact"]}
