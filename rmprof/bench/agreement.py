"""Do a calibration's identical runs agree? One run far off must not set the floors every later compare obeys.

A shared machine slows a whole run, or one scenario of it, for a minute (a neighbour, a frequency step): every
figure of that stretch moves alike. Per scenario, each run's time figures are set against the median of the
other runs (leave one out, in log space), in units of what identical runs may differ by: their own sampling
error (from their CIs) and the between-run drift this module tolerates (``drift.PRIOR``, the conservative
drift assumed before anything is measured). A run whose figures sit, in median, beyond ``Z`` of those units
disagrees. With at least ``MIN_KEPT`` others agreeing, the most outlying run of a scenario is left out of its
floors and drift (at most a quarter of the runs); otherwise the calibration's runs disagree and it says so.
Speedups are left out of the check: a shift that slows every runtime of a run cancels in them.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

# In units of the tolerated spread. A scenario's score is a median over its figures, so one run's shift
# dominates it; at Z = 3, a run whose level truly varies by the tolerated drift is flagged ~0.3 % of the time.
Z = 3.0
# A run is left out only when this many others remain to agree without it.
MIN_KEPT = 3

Estimates = dict[str, tuple[float, float, float]]


def scenario_of(fid: str) -> str:
    """The scenario of a figure id ``scenario/runtime/metric``."""
    return fid.rsplit("/", 2)[0]


def check_agreement(per_run: list[Estimates], tolerated: dict[str, float]) -> dict[str, Any]:
    """Which runs of each scenario agree: ``{"ok", "z", "dropped": [...], "disagreeing": [...], "kept"}``.

    ``tolerated`` is the between-run drift (a relative spread) per metric kind that identical runs may show;
    ``kept`` maps each scenario to the runs its floors and drift use; ``dropped`` lists a run left out of one
    scenario (its shift and score); ``disagreeing`` a scenario whose runs disagree beyond what leaving out one
    run explains.
    """
    n = len(per_run)
    scenarios = sorted({scenario_of(fid) for e in per_run for fid in e})
    kept: dict[str, list[int]] = {}
    dropped: list[dict[str, Any]] = []
    disagreeing: list[dict[str, Any]] = []
    for sc in scenarios:
        fids = sorted(
            fid
            for fid in set.intersection(*(set(e) for e in per_run))
            if scenario_of(fid) == sc and "/speedup." not in fid
        )
        runs = list(range(n))
        left_out = 0
        while fids and len(runs) >= 2:
            scores = {r: _score(per_run, runs, r, fids, tolerated) for r in runs}
            off = sorted((r for r in runs if abs(scores[r][0]) > Z), key=lambda r: -abs(scores[r][0]))
            if not off:
                break
            worst = off[0]
            if len(runs) - 1 >= MIN_KEPT and left_out < max(1, n // 4):
                runs.remove(worst)
                left_out += 1
                score, shift = scores[worst]
                dropped.append({"scenario": sc, "run": worst, "shift": round(shift, 4), "score": round(score, 2)})
                continue
            disagreeing.append(
                {
                    "scenario": sc,
                    "runs": off,
                    "shifts": [round(scores[r][1], 4) for r in off],
                    "scores": [round(scores[r][0], 2) for r in off],
                }
            )
            break
        kept[sc] = runs
    return {"ok": not disagreeing, "z": Z, "dropped": dropped, "disagreeing": disagreeing, "kept": kept}


def _score(per_run: list[Estimates], runs: list[int], r: int, fids: list[str], tolerated: dict[str, float]):
    """Run ``r``'s median figure against the other runs': (in tolerated units, as a relative shift)."""
    # The leave-one-out median of m - 1 others errs too: by 1/(m - 1) of a run's variance for one or two others
    # (their mean), by about pi/2 of that for more (a median's efficiency).
    others = len(runs) - 1
    factor = 1.0 + (1.0 if others <= 2 else math.pi / 2) / others
    fallback = max(tolerated.values(), default=0.0)
    zs, devs = [], []
    for fid in fids:
        points = {s: per_run[s][fid] for s in runs}
        if any(p <= 0 or lo <= 0 or hi <= 0 for p, lo, hi in points.values()):
            continue
        dev = math.log(points[r][0]) - statistics.median(math.log(points[s][0]) for s in runs if s != r)
        se2 = sum(((math.log(hi) - math.log(lo)) / (2 * 1.96)) ** 2 for _, lo, hi in points.values()) / len(points)
        d = tolerated.get(fid.rsplit("/", 1)[1], fallback)
        scale = math.sqrt((d * d + se2) * factor)
        if scale > 0:
            zs.append(dev / scale)
            devs.append(dev)
    if not zs:
        return 0.0, 0.0
    return statistics.median(zs), math.expm1(statistics.median(devs))


def kept_estimates(per_run: list[Estimates], agreement: dict[str, Any]) -> list[Estimates]:
    """Each run's figures without those of the scenarios it was left out of."""
    kept = agreement["kept"]
    return [
        {fid: v for fid, v in e.items() if r in kept.get(scenario_of(fid), range(len(per_run)))}
        for r, e in enumerate(per_run)
    ]


def describe(agreement: dict[str, Any]) -> list[str]:
    """One line per run left out and per scenario whose runs disagree (runs counted from 1)."""
    lines = []
    for d in agreement.get("dropped") or []:
        lines.append(
            f"run {d['run'] + 1} of {d['scenario']} left out: its figures lay {100 * d['shift']:+.1f} % from the "
            f"other runs' ({abs(d['score']):.1f} times what identical runs may differ by)"
        )
    for d in agreement.get("disagreeing") or []:
        shifts = ", ".join(f"run {r + 1} {100 * s:+.1f} %" for r, s in zip(d["runs"], d["shifts"], strict=True))
        lines.append(f"{d['scenario']}: runs disagree beyond what identical runs may differ by ({shifts})")
    return lines
