"""Between-run drift on a machine that never ran ``rmprof calibrate``: from its history, pooled with a prior.

Runs of one build on one machine are identical (A/A) runs, whatever command made them: the history
(``rmprof.history``) keeps each run's figures with their 95 % CIs, its machine and its build
(``rmprof.history.record.build_key``). Grouped by build and scenario, they give the same random-effects
estimate ``calibrate`` makes (``noise.between_run_drift``: the variance between runs that their own CIs do not
explain), with runs - 1 degrees of freedom per group. Until there are many, a conservative prior weighs in,
pooled as calibrations are pooled (variances weighted by degrees of freedom).

The drift applied is that estimate scaled by Student's t over the normal quantile for its degrees of freedom: a
95 % interval around a spread estimated from few runs must allow for the estimate's own error (with 4 degrees
of freedom, 1.41 times the estimate; with 16, 1.08). Simulated (each run's level moved by 5 %, above the
prior's 4 %; six groups of three runs in the history), rerun intervals so widened held 94 % of reruns on
average; widened by the point estimate, 92 %, with one history in ten under 86 % (tests/test_drift.py checks
the first).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

# The drift assumed before this machine has shown any (a relative spread of one run's level, per metric kind).
# From this project's measurements on its 2-vCPU machine: quiet calibrations measured run drift of 1-3 % and
# cold-start drift of 3-10 % (2026-11-29); uncalibrated reruns missed their rerun intervals mostly when one
# run's whole scenario came out 5-10 % slower (issue 23: 85 % held, cold starts 83 %); a calibration in a
# noisy hour measured run ±14 %, init ±13 % (issue 23). 4 % widens a rerun interval by ±11 % (1.96 × √2 × 4 %),
# enough for the 5-10 % shifts seen, without assuming the noisy hour is the rule; cold starts (a fresh process
# each, file cache and page faults included) get 6 %. A speedup pairs two runtimes measured in the same rounds,
# so a shift of the whole run cancels in part: a little less.
PRIOR: dict[str, float] = {
    "run": 0.04,
    "init": 0.04,
    "cold_start": 0.06,
    "speedup.run": 0.03,
    "speedup.init": 0.03,
    "speedup.cold_start": 0.05,
}
# The prior counts as this many degrees of freedom: as much as one calibration of 5 runs. Three runs of one
# build on one scenario (2 degrees of freedom) move the estimate a third of the way to what they show.
PRIOR_DF = 4
# The newest runs of the machine read from the history: drift belongs to the machine as it is now.
HISTORY_RUNS = 300
HISTORY_METRICS = ("run", "init", "cold_start", "speedup")
Z95 = 1.959964


def t975(df: float) -> float:
    """Student's t 97.5 % quantile for ``df`` degrees of freedom (Cornish-Fisher expansion about the normal's:
    within 1 % from 3 degrees of freedom up, 3 % at 2)."""
    z = Z95
    return (
        z
        + (z**3 + z) / (4 * df)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * df**3)
    )


def metric_kind(fid: str) -> str:
    """The metric kind of a figure id (``run``, ``cold_start``, ``speedup.init``, ...)."""
    return fid.rsplit("/", 1)[1]


def excess_by_kind(per_run: list[dict[str, tuple[float, float, float]]]) -> dict[str, float]:
    """Per metric kind, the mean over figures (each in at least two runs) of the variance of their log estimates
    across runs minus their mean squared standard error: an unbiased variance, so it may come out negative."""
    if len(per_run) < 2:
        return {}
    excess: dict[str, list[float]] = {}
    for fid in sorted({fid for e in per_run for fid in e}):
        points = [e[fid] for e in per_run if fid in e]
        if len(points) < 2 or any(p <= 0 or lo <= 0 or hi <= 0 for p, lo, hi in points):
            continue
        logs = [math.log(p) for p, _, _ in points]
        mean = sum(logs) / len(logs)
        spread = sum((x - mean) ** 2 for x in logs) / (len(logs) - 1)
        se2 = sum(((math.log(hi) - math.log(lo)) / (2 * 1.96)) ** 2 for _, lo, hi in points) / len(points)
        excess.setdefault(metric_kind(fid), []).append(spread - se2)
    return {k: sum(v) / len(v) for k, v in excess.items()}


def history_path() -> Path | None:
    """The history the runs are recorded in ($RMPROF_HISTORY or the default), None when it is off."""
    from rmprof.history.store import resolve_path

    return resolve_path(None)


def history_groups(env: dict[str, Any], path: Path | None) -> list[list[dict[str, tuple[float, float, float]]]]:
    """This machine's runs in the history, grouped by build and scenario (groups of at least two runs): each
    run's figures as ``runtime/metric -> (point, lo, hi)``."""
    from rmprof.errors import RmprofError
    from rmprof.history.record import build_key
    from rmprof.history.store import Filters, machine_id, query
    from rmprof.run_tree import fingerprint

    if path is None or not Path(path).is_file():
        return []
    try:
        rows = query(path, Filters(metrics=HISTORY_METRICS, machine=machine_id(fingerprint(env))))
    except RmprofError:
        return []  # an unusable history gives no drift; the prior still applies
    runs: dict[int, dict[str, Any]] = {}
    for row in rows:
        if row["lo"] is None or row["hi"] is None:
            continue
        run = runs.get(row["run"])
        if run is None:
            build = row.get("build") or build_key(row["machine"] if isinstance(row["machine"], dict) else {})
            run = runs[row["run"]] = {"key": (build, row["scenario"]), "when": row["created_unix"], "figures": {}}
        run["figures"][f"{row['runtime']}/{row['metric']}"] = (row["value"], row["lo"], row["hi"])
    newest = sorted(runs.values(), key=lambda r: r["when"])[-HISTORY_RUNS:]
    groups: dict[tuple[str, str], list[dict[str, tuple[float, float, float]]]] = {}
    for run in newest:
        if run["key"][0] is not None:  # a run whose build cannot be told is nobody's A/A pair
            groups.setdefault(run["key"], []).append(run["figures"])
    return [g for g in groups.values() if len(g) >= 2]


def history_drift(env: dict[str, Any], path: Path | None) -> dict[str, Any]:
    """This machine's drift from its history pooled with ``PRIOR``: ``{"source", "drift", "estimate", "runs",
    "groups", "df", "prior", "prior_df"}``; ``source`` is "history" when any A/A pair was found, else "prior".

    ``estimate`` is the pooled spread per kind, ``drift`` what rerun intervals are widened by (the estimate times
    t/z for its degrees of freedom: the prior's plus ``df``, the history's).
    """
    sums = {kind: [PRIOR_DF * d * d, float(PRIOR_DF)] for kind, d in PRIOR.items()}
    groups = history_groups(env, path)
    df: dict[str, int] = {}
    for group in groups:
        for kind, excess in excess_by_kind(group).items():
            acc = sums.setdefault(kind, [0.0, 0.0])
            # A group whose runs agree better than their own intervals imply estimates a negative excess: no
            # variance is below zero, and pooled as such it would cancel the prior (run drift 0.0 % from three
            # quiet runs, and reruns then held 87 % of the time instead of 95).
            acc[0] += (len(group) - 1) * max(0.0, excess)
            acc[1] += len(group) - 1
            df[kind] = df.get(kind, 0) + len(group) - 1
    estimate = {k: math.sqrt(max(0.0, v / w)) for k, (v, w) in sums.items() if w > 0}
    return {
        "source": "history" if df else "prior",
        "drift": {k: round(d * t975(sums[k][1]) / Z95, 6) for k, d in estimate.items()},
        "estimate": {k: round(d, 6) for k, d in estimate.items()},
        "runs": sum(len(g) for g in groups),
        "groups": len(groups),
        "df": df,
        "prior": dict(PRIOR),
        "prior_df": PRIOR_DF,
    }
