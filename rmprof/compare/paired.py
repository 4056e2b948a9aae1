"""Paired before/after: a baseline's saved Rust builds and the current ones, timed alternately in one session.

Two runs minutes apart see different machines (neighbours, frequency); two builds alternating round by
round see the same one. Each round times the baseline's build and the current build in fresh processes,
back to back, in alternating order (A B, B A, ...); the change is bootstrapped with rounds paired by index,
so drift that hits both builds of a round cancels (as tango-bench does for Rust benchmarks). Only the Rust
runtimes have builds to save: the Python baseline's code is the checkout itself.

The rounds are the bench's scheduler's (rmprof/bench/schedule.py) with the two builds as its round groups: after
the ``--rounds`` asked for, rounds are added, half as many at a time, while a build's rounds disagree or its run
interval is wider than ±``schedule.RUN_PRECISION``, up to ``MAX_ROUNDS_FACTOR`` times the rounds asked for (no
time budget: paired mode has none). compare.json's ``paired_rounds`` says, per scenario and runtime, how many
rounds ran, how many were added and each build's ``rounds_check``; a build still noisy is named in its warnings.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rmprof.bench import schedule
from rmprof.bench.harness import Rounds
from rmprof.compare.diff import SCHEMA
from rmprof.compare.rows import time_row
from rmprof.compare.runtime_rows import TIME_METRICS
from rmprof.compare.summary import summarize_rows
from rmprof.compare.thresholds import thresholds_block, time_threshold
from rmprof.errors import RmprofError
from rmprof.runtimes.rounds import RoundRequest

# Rounds in all, at most, with those added: this many times the rounds asked for (the bench's default too).
MAX_ROUNDS_FACTOR = 2
# How progress lines and warnings name the two builds.
SIDE_NAMES = {"before": "baseline build", "after": "current build"}


def _scenarios(name: str, scenario_args: tuple, say: Any) -> list[Any]:
    """The scenarios to time: those given, else the baseline's shipped ones (by name)."""
    from rmprof.compare.baselines import baseline_dir
    from rmprof.compare.sides import load_side
    from rmprof.scenarios import chosen_scenarios, get_scenario

    scenario, manifest, input_path, expected, allow_code = scenario_args
    if scenario or manifest or input_path:
        return chosen_scenarios(scenario, manifest, input_path, expected, allow_code)
    found, missing = [], []
    for part in load_side(baseline_dir(name))["scenarios"]:
        try:
            sc = get_scenario(part["scenario"])
        except RmprofError:
            missing.append(part["scenario"])
            continue
        if sc.manifest.has_code and not allow_code:
            missing.append(part["scenario"])
            continue
        found.append(sc)
    if not found:
        raise RmprofError(
            f"baseline '{name}' measured {', '.join(missing) or 'nothing'}, which is not a shipped scenario here: "
            "name it with --scenario DIR or --manifest/--input"
        )
    if missing:
        say(f"not timed (not a shipped scenario, or code not allowed): {', '.join(missing)}")
    return found


def paired_comparison(
    name: str,
    scenario_args: tuple,
    runtimes: list[str],
    rounds: int,
    iterations: int | None,
    thresholds: dict[str, float],
    use_floor: bool,
    say: Any,
) -> dict[str, Any]:
    """The compare document (schema rmprof.compare/1, method "paired bootstrap") of baseline ``name``'s builds
    against the current builds; ``thresholds`` as ``thresholds.thresholds_for`` gives them."""
    from rmprof.bench.environment import environment
    from rmprof.bench.noise import floors_for
    from rmprof.compare.baselines import baseline_artifacts, baseline_dir, current_artifacts
    from rmprof.runtimes import default_runtimes

    saved = baseline_artifacts(name)
    if not saved:
        raise RmprofError(
            f"baseline '{name}' has no saved runtime builds (it predates them): save it again with "
            f"`rmprof profile --save-baseline {name}` before changing the code"
        )
    current = current_artifacts()
    scenarios = _scenarios(name, scenario_args, say)
    env = environment()
    stored = floors_for(env) if use_floor else None
    floors = stored["floors"] if stored else {}
    rows: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    notes: list[str] = []
    distributions: dict[str, list[float]] = {}
    pairs: list[dict[str, Any]] = []
    for sc in scenarios:
        wanted = [r for r in (runtimes or default_runtimes(sc.manifest)) if r in saved or r in current]
        for rt in wanted:
            if rt not in saved or rt not in current:
                where = "the baseline" if rt not in saved else "this checkout"
                skipped.append({"what": f"{sc.name}/{rt}", "reason": f"no build of it in {where}"})
                continue
            if saved[rt].get("sha256") and _same_file(saved[rt], current[rt]):
                notes.append(f"{sc.name}/{rt}: the current build is byte-identical to the baseline's (an A/A run)")
            with _staged(Path(saved[rt]["path"]), current[rt]) as (old, new):
                before, after, done = _time_pair(sc, rt, old, new, rounds, iterations, say)
            pairs.append(_pair_rounds(sc.name, rt, done))
            notes.extend(_still_noisy(sc.name, rt, done))
            for metric in ("run", "init"):
                key, label = TIME_METRICS[metric]
                if not before[metric].groups or not after[metric].groups:
                    continue
                samples = (before[metric].flat, after[metric].flat)
                sizes = (before[metric].sizes, after[metric].sizes)
                # Both builds alternate in one session: the machine moves for both, so no reference is needed.
                row = time_row(
                    sc.name,
                    rt,
                    metric,
                    label,
                    samples,
                    sizes,
                    time_threshold(thresholds, metric),
                    floors,
                    True,
                    paired=True,
                    distributions=distributions,
                )
                row["signal"] = "wall time (paired)"
                rows.append(row)
    if not rows:
        raise RmprofError(
            f"nothing to compare: baseline '{name}' and this checkout share no Rust runtime build "
            f"(baseline has {', '.join(saved) or 'none'}; here: {', '.join(current) or 'none'})"
        )
    side = {"kind": "paired", "created_unix": time.time(), "environment": env}
    return {
        "schema": SCHEMA,
        "mode": "paired",
        "created_unix": time.time(),
        "threshold": thresholds["time"],
        "thresholds": thresholds_block(thresholds),
        "noise_floor": {"applied": bool(floors), "floors": floors},
        "before": {
            **side,
            "path": str(baseline_dir(name)),
            "label": f"baseline {name}",
            "scenarios": [s.name for s in scenarios],
        },
        "after": {**side, "path": "current build", "label": "current build", "scenarios": [s.name for s in scenarios]},
        "comparisons": rows,
        "paired_rounds": {"requested": _rounds(rounds), "max": MAX_ROUNDS_FACTOR * _rounds(rounds), "pairs": pairs},
        "summary": summarize_rows(rows, thresholds["time"], [], distributions),
        "profiles": [],
        "environment": {"fields": [], "warnings": notes},
        "skipped": skipped,
    }


@contextlib.contextmanager
def _staged(before: Path, after: Path) -> Iterator[tuple[Path, Path]]:
    """Both builds copied to paths of equal length and the same file name, for the time of the comparison.

    A program's path reaches its stack through argv and the auxiliary vector, and the stack's alignment
    moves its speed (Mytkowicz et al., "Producing wrong data without doing anything obviously wrong!",
    ASPLOS 2009). Measured here: the same rmprof-runtime binary initialised in 65 µs from one folder and in
    45 µs from another. Staged side by side, the two builds differ only in their bytes.
    """
    with tempfile.TemporaryDirectory(prefix="rmprof-paired-") as tmp:
        staged = []
        for side, src in (("a", before), ("b", after)):
            dest = Path(tmp) / side / after.name
            dest.parent.mkdir()
            shutil.copy2(src, dest)
            staged.append(dest)
        yield staged[0], staged[1]


def _same_file(saved: dict[str, Any], current: Path) -> bool:
    from rmprof.compare.baselines import _sha256

    try:
        return _sha256(current) == saved["sha256"]
    except OSError:
        return False


def _rounds(requested: int) -> int:
    """The rounds planned for ``--rounds requested``: two at least, for a spread between rounds."""
    return max(2, requested)


def _time_pair(
    sc: Any, runtime: str, before: Path, after: Path, rounds: int, iterations: int | None, say: Any
) -> tuple[dict[str, Rounds], dict[str, Rounds], schedule.Scheduled]:
    """Run and init samples of both builds of ``runtime``, round by round in alternating order, and what the
    scheduler made of the rounds (rounds added while a build's rounds disagree or its run interval is wide)."""
    from rmprof.runtimes import get_runtime

    rt = get_runtime(runtime)
    n_rounds = _rounds(rounds)
    request = RoundRequest(
        manifest_path=Path(sc.manifest_path).resolve(),
        input_path=Path(sc.input_path).resolve(),
        # Added rounds take as many samples as the planned ones: the rounds stay alike in weight.
        samples=-(-(iterations or sc.iterations) // n_rounds),
        init_samples=3,
        warmup=3,
    )
    sides = {"before": {"run": Rounds(), "init": Rounds()}, "after": {"run": Rounds(), "init": Rounds()}}
    builds = {"before": before, "after": after}

    def group(which: str) -> schedule.Group:
        def measure() -> None:
            request.builds = {runtime: builds[which]}  # both builds run from their staged files, explicitly
            result = type(rt).measure_round([rt], request)
            if result.inner is not None and request.inner is None:
                request.inner = result.inner  # both builds time the same loop length
            sides[which]["run"].add(result.run_ns[runtime])
            sides[which]["init"].add(result.init_ns[runtime])

        return schedule.Group(which, measure)

    def judged() -> schedule.Sides:
        return {(SIDE_NAMES[w], m): sides[w][m].groups for m in ("run", "init") for w in ("before", "after")}

    def step(done: int, total: int) -> None:
        if done < total:
            say(f"{sc.name}/{runtime}: paired round {done + 1}/{total} (baseline and current build)")

    limits = schedule.Limits(rounds=n_rounds, max_rounds=MAX_ROUNDS_FACTOR * n_rounds)
    done = schedule.run_rounds(f"{sc.name}/{runtime}", [group("before"), group("after")], judged, limits, say, step)
    return sides["before"], sides["after"], done


def _pair_rounds(scenario: str, runtime: str, done: schedule.Scheduled) -> dict[str, Any]:
    """compare.json's record of one pair's rounds: how many, how many added, and each build's rounds_check
    under ``before``/``after``."""
    sides = {name: which for which, name in SIDE_NAMES.items()}
    checks = {
        metric: {sides[name]: check for name, check in per_build.items()} for metric, per_build in done.checks.items()
    }
    return {
        "scenario": scenario,
        "runtime": runtime,
        "rounds": done.rounds,
        "added_rounds": done.added_rounds,
        "checks": checks,
    }


def _still_noisy(scenario: str, runtime: str, done: schedule.Scheduled) -> list[str]:
    """A warning per build figure whose rounds still disagreed after the last round."""
    return [
        f"{scenario}/{runtime}: the {name}'s {metric} rounds still disagree after {done.rounds} rounds "
        f"({done.added_rounds} added): more --rounds, or a quieter machine"
        for metric, per_build in done.checks.items()
        for name, check in per_build.items()
        if check["still_noisy"]
    ]
