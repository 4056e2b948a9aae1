"""``rmprof calibrate``: measure this machine's A/A noise floor (the same bench several times) and store it."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from rmprof.commands.common import (
    Progress,
    allow_code_option,
    echo_json,
    rounds_option,
    scenario_options,
)
from rmprof.files import write_json_atomic


@click.command()
@scenario_options(with_all=True)
@click.option("--runs", type=click.IntRange(min=2), default=3, show_default=True, help="Identical bench runs.")
@click.option("--iterations", "-n", type=click.IntRange(min=3), help="Run samples per runtime per bench run.")
@rounds_option
@click.option("--cold-starts", type=click.IntRange(min=3), default=20, show_default=True)
@click.option("--no-save", is_flag=True, help="Print the noise floor without storing it.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Also write the JSON here.")
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
    iterations: int | None,
    rounds: int,
    cold_starts: int,
    no_save: bool,
    output: Path | None,
    as_json: bool,
    quiet: bool,
    allow_code: bool,
) -> None:
    """Bench the same build RUNS times: per metric, the A/A noise floor and how often a run's 95 % interval
    covers another run's median. The floor is stored with the baselines; compare and the report use it."""
    from rmprof.bench.environment import environment
    from rmprof.bench.harness import BenchConfig, run_bench
    from rmprof.bench.noise import aa_analysis, save_floors
    from rmprof.scenarios import chosen_scenarios

    if not (scenario or manifest or input_path):
        scenario = "all"
    scenarios = chosen_scenarios(scenario, manifest, input_path, expected, allow_code)
    say = Progress(quiet)
    benches = []
    for k in range(runs):
        say(f"calibration run {k + 1}/{runs}")
        config = BenchConfig(iterations=iterations, rounds=rounds, cold_starts=cold_starts, progress=say, seed=k)
        benches.append(run_bench(scenarios, list(runtimes) or None, config))
    analysis = aa_analysis(benches)
    env = environment()
    doc = {"schema": "rmprof.calibration/1", "environment": env, **analysis}
    if not no_save:
        doc["saved_to"] = str(save_floors(analysis, env, sys.argv))
    if output:
        write_json_atomic(output, {**doc, "benches": benches})
    if as_json:
        echo_json(doc)
        return
    for line in format_calibration(doc):
        click.echo(line)


def format_calibration(doc: dict) -> list[str]:
    """The terminal summary: coverage overall and per metric, then the noise floor of each figure."""
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
    drift = doc.get("drift") or {}
    if drift:
        spread = ", ".join(f"{k} ±{100 * v:.1f} %" for k, v in sorted(drift.items()))
        lines.append(f"between-run drift (beyond each run's own interval; widens later rerun intervals): {spread}")
    lines.append(f"A/A noise floor (largest change between {doc['runs']} identical runs):")
    for fid, floor in sorted(doc["floors"].items()):
        lines.append(f"  {fid:<40} ±{100 * floor:.1f} %")
    if doc.get("saved_to"):
        lines.append(f"saved to {doc['saved_to']}")
    return lines
