"""``rmprof calibrate``: measure this machine's A/A noise floor (the same bench several times) and store it."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from rmprof.commands.common import (
    OutputPath,
    Progress,
    allow_code_option,
    echo_json,
    rounds_option,
    scenario_options,
)
from rmprof.files import write_json_atomic


@click.command()
@scenario_options(with_all=True)
@click.option("--runs", type=click.IntRange(min=2), default=4, show_default=True, help="Identical bench runs.")
@click.option(
    "--max-runs",
    type=click.IntRange(min=2),
    help="Runs in all when the runs disagree (one far off the others) and more are measured; default RUNS + 2.",
)
@click.option("--iterations", "-n", type=click.IntRange(min=3), help="Run samples per runtime per bench run.")
@rounds_option
@click.option("--cold-starts", type=click.IntRange(min=3), default=20, show_default=True)
@click.option(
    "--from",
    "sources",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Use these identical runs (run folders or bench JSON; repeat, at least 2) instead of running new ones: "
    "also how to check that intervals measured after a calibration hold reruns.",
)
@click.option("--no-save", is_flag=True, help="Print the noise floor without storing it.")
@click.option("-o", "--output", type=OutputPath(dir_okay=False, path_type=Path), help="Also write the JSON here.")
@click.option("--json", "as_json", is_flag=True, help="Print the calibration as JSON.")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines.")
@allow_code_option
def calibrate(
    scenario: str | None,
    manifest: str | None,
    input_path: str | None,
    expected: str | None,
    runtimes: tuple[str, ...],
    runs: int,
    max_runs: int | None,
    iterations: int | None,
    rounds: int,
    cold_starts: int,
    sources: tuple[Path, ...],
    no_save: bool,
    output: Path | None,
    as_json: bool,
    quiet: bool,
    allow_code: bool,
) -> None:
    """Bench the same build RUNS times: per metric, the A/A noise floor and how often a run's 95 % interval
    covers another run's median. The floor is stored with the baselines; compare and the report use it.

    A run far off the others in a scenario is left out of its floors (with at least 3 others agreeing); while
    runs disagree beyond that, more are measured (up to --max-runs), and a calibration whose runs still disagree
    is not saved (exit 2)."""
    from rmprof.bench.agreement import describe
    from rmprof.bench.environment import environment
    from rmprof.bench.harness import BenchConfig, run_bench
    from rmprof.bench.noise import aa_analysis, save_floors
    from rmprof.errors import RmprofError
    from rmprof.scenarios import chosen_scenarios

    say = Progress(quiet)
    if sources:
        benches = _identical_runs(sources)
        analysis = aa_analysis(benches)
    else:
        if not (scenario or manifest or input_path):
            scenario = "all"
        scenarios = chosen_scenarios(scenario, manifest, input_path, expected, allow_code)
        cap = max(runs, max_runs if max_runs is not None else runs + 2)
        benches = []

        def one_more() -> None:
            k = len(benches)
            say(f"calibration run {k + 1}/{runs if k < runs else cap}")
            config = BenchConfig(iterations=iterations, rounds=rounds, cold_starts=cold_starts, progress=say, seed=k)
            benches.append(run_bench(scenarios, list(runtimes) or None, config))

        for _ in range(runs):
            one_more()
        analysis = aa_analysis(benches)
        # Runs that disagree are measured further: with enough runs, the one far off is left out of the floors.
        while not analysis["agreement"]["ok"] and len(benches) < cap:
            say(f"calibration runs disagree ({_first(describe(analysis['agreement']))}): measuring another")
            one_more()
            analysis = aa_analysis(benches)
    env = benches[0].get("environment") if sources else environment()
    doc = {"schema": "rmprof.calibration/1", "environment": env, **analysis}
    applied = benches[0].get("drift")
    if sources and isinstance(applied, dict):
        doc["applied_drift"] = applied  # the drift these runs' rerun intervals already included
    if not analysis["agreement"]["ok"] and not no_save:
        if output:  # the runs took long: keep them
            write_json_atomic(output, {**doc, "benches": benches})
        # Floors from runs that disagree would become every later compare's thresholds on this machine.
        raise RmprofError(
            f"not saved: the calibration's {len(benches)} runs disagree ({_first(describe(analysis['agreement']))}); "
            "calibrate again when the machine is quieter (--no-save shows the figures)"
        )
    if not no_save:
        from rmprof.bench.noise import drift_for, floors_for

        doc["saved_to"] = str(save_floors(analysis, env, sys.argv))
        # What later runs on this machine widen their rerun intervals by: this calibration pooled with earlier ones.
        doc["pooled_drift"] = drift_for(env)
        doc["pooled_calibrations"] = len((floors_for(env) or {}).get("drift_history") or [])
    if output:
        write_json_atomic(output, {**doc, "benches": benches})
    if as_json:
        echo_json(doc)
        return
    for line in format_calibration(doc):
        click.echo(line)


def _identical_runs(sources: tuple[Path, ...]) -> list[dict]:
    """The bench documents of runs the user says are identical: same machine and same commit, or an error."""
    from rmprof.bench.noise import fingerprint
    from rmprof.compare.sides import load_side
    from rmprof.errors import RmprofError
    from rmprof.history.record import build_key

    if len(sources) < 2:
        raise RmprofError("calibrate --from needs at least two runs of the same build")
    sides = [load_side(p) for p in sources]
    first = sides[0]["environment"]
    for path, side in zip(sources[1:], sides[1:], strict=True):
        env = side["environment"]
        if fingerprint(env) != fingerprint(first):
            raise RmprofError(f"{path}: measured on another machine ({fingerprint(env)}), not {fingerprint(first)}")
        if env.get("git_commit") != first.get("git_commit"):
            raise RmprofError(
                f"{path}: another build (commit {env.get('git_commit')}, not {first.get('git_commit')}): "
                "an A/A calibration needs identical builds"
            )
        mine, theirs = build_key(env), build_key(first)
        if mine is not None and theirs is not None and mine != theirs:
            raise RmprofError(f"{path}: another build of commit {env.get('git_commit')} (its tree differs)")
    return [
        {
            "scenarios": [sc["entry"] for sc in side["scenarios"]],
            "environment": side["environment"],
            "drift": side["drift"],
        }
        for side in sides
    ]


def format_calibration(doc: dict) -> list[str]:
    """The terminal summary: coverage overall and per metric, the runs' agreement, then each figure's floor."""
    from rmprof.bench.agreement import describe

    lines = []
    cov, rerun = doc["coverage"], doc["rerun_coverage"]
    if cov is not None:
        lines.append(
            f"coverage over {doc['coverage_pairs']} run pairs × figures: a run's 95 % CI held another identical "
            f"run's median {100 * cov:.0f} % of the time (an exact CI: ~83 %), its 95 % rerun interval "
            f"{100 * rerun:.0f} % (expected: ~95 %)"
        )
    lines.append(f"  {'figure':<20} {'CI':>5}  {'rerun':>5}")
    for metric, c in sorted(doc["coverage_by_metric"].items()):
        r = doc["rerun_coverage_by_metric"].get(metric, {"share": float("nan")})
        lines.append(f"  {metric:<20} {100 * c['share']:4.0f} %  {100 * r['share']:4.0f} %  ({c['pairs']} pairs)")
    agreement = doc.get("agreement") or {}
    lines.extend(describe(agreement))
    if agreement.get("ok") and not agreement.get("dropped") and doc["runs"] >= 2:
        lines.append(f"the {doc['runs']} runs agree (none farther from the others than identical runs may be)")
    if "applied_drift" in doc:
        applied = doc["applied_drift"]
        spread = _spread(applied) or "none (not calibrated then)"
        lines.append(f"drift these runs' rerun intervals included: {spread}")
    drift = doc.get("drift") or {}
    if drift:
        spread = _spread(drift)
        lines.append(f"between-run drift (beyond each run's own interval): {spread}")
    if "pooled_drift" in doc:
        spread = _spread(doc["pooled_drift"])
        n = doc["pooled_calibrations"]
        lines.append(
            f"later runs widen their rerun intervals by the drift pooled over this machine's last {n} "
            f"calibration{'s' if n != 1 else ''}: {spread}"
        )
    lines.append(f"A/A noise floor (largest change between {doc['runs']} identical runs, those left out aside):")
    counts = doc.get("floor_runs") or {}
    for fid, floor in sorted(doc["floors"].items()):
        fewer = f"  ({counts[fid]} runs)" if counts.get(fid, doc["runs"]) < doc["runs"] else ""
        lines.append(f"  {fid:<40} ±{100 * floor:.1f} %{fewer}")
    if doc.get("saved_to"):
        lines.append(f"saved to {doc['saved_to']}")
    return lines


def _first(lines: list[str], shown: int = 2) -> str:
    """The first ``shown`` lines joined, and how many more there are."""
    more = f"; and {len(lines) - shown} more" if len(lines) > shown else ""
    return "; ".join(lines[:shown]) + more


def _spread(drift: dict[str, float]) -> str:
    """Drift per metric kind as ``cold_start ±5.6 %, run ±0.0 %``."""
    return ", ".join(f"{k} ±{100 * v:.1f} %" for k, v in sorted(drift.items()))
