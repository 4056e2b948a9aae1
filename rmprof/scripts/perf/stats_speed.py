"""Benchmark: how long the bootstrap statistics take (budget: 0.5 s per summary on 2 cores). Prints figures.

.venv/bin/python scripts/perf/stats_speed.py
"""

from __future__ import annotations

import random
import statistics
import time

from rmprof.bench.stats.bootstrap import bootstrap_ci
from rmprof.bench.stats.summary import summarize
from rmprof.bench.stats.verdicts import compare


def _timed(fn: object, repeats: int = 5) -> tuple[float, float]:
    """Median and spread (min..max) of ``repeats`` calls, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times), max(times) - min(times)


def main() -> None:
    """Print the time of a bootstrap CI, a two-sample compare and a two-stage summary."""
    rng = random.Random(0)
    xs = [rng.lognormvariate(0, 0.05) * 1e6 for _ in range(200)]
    ys = [rng.lognormvariate(0.05, 0.05) * 1e6 for _ in range(200)]
    cases = {
        "bootstrap_ci 2000 resamples x 200 samples": lambda: bootstrap_ci(xs, resamples=2000),
        "compare 2000 resamples x (200 + 200) samples": lambda: compare(xs, ys, resamples=2000),
        "summarize 200 samples in 20 rounds": lambda: summarize(xs, "ns", sizes=[10] * 20),
    }
    for name, fn in cases.items():
        median, spread = _timed(fn)
        print(f"{name}: {median * 1e3:.1f} ms median of 5 (spread {spread * 1e3:.1f} ms)")


if __name__ == "__main__":
    main()
