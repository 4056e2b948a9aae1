"""``rmprof profile``: bench + every applicable profiler + analysis -> results.json and report.html."""

from __future__ import annotations

from pathlib import Path

import click

from rmprof.commands.common import (
    OutputPath,
    Progress,
    allow_code_option,
    allow_mixed_builds_option,
    rounds_option,
    scenario_options,
    time_budget_option,
)
from rmprof.commands.distributed import history_options, history_target, shard_option
from rmprof.shard import Shard


def _profiler_names() -> tuple[str, ...]:
    from rmprof.profilers import PROFILERS

    return tuple(PROFILERS)


@click.command()
@scenario_options(with_all=True)
@click.option(
    "--profiler",
    "-p",
    "profilers",
    multiple=True,
    help="Profilers (repeatable; default every one that applies): py-spy, scalene, memray, perf, "
    "callgrind, massif; 'none' for the bench alone.",
)
@click.option("--iterations", "-n", type=click.IntRange(min=3), help="Bench run samples per runtime.")
@rounds_option
@time_budget_option("the bench and the profilers together")
@click.option(
    "--min-samples",
    type=click.IntRange(min=10),
    default=1000,
    show_default=True,
    help="Samples each CPU profile must gather.",
)
@click.option(
    "--out",
    "out_dir",
    type=OutputPath(file_okay=False, path_type=Path),
    help="Run directory (default rmprof-runs/<timestamp>-<scenario>).",
)
@click.option(
    "--force", is_flag=True, help="Replace --out if it exists and is not empty (whole, once the run completes)."
)
@click.option("--save-baseline", metavar="NAME", help="Also keep this run as baseline NAME (see rmprof compare).")
@click.option("--baseline", metavar="NAME", help="Compare this run with baseline NAME (writes compare.html).")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines.")
@click.option("--json", "as_json", is_flag=True, help="Print the run directories and report paths as JSON.")
@shard_option
@history_options
@allow_code_option
@allow_mixed_builds_option
def profile(
    scenario: str | None,
    manifest: str | None,
    input_path: str | None,
    expected: str | None,
    runtimes: tuple[str, ...],
    profilers: tuple[str, ...],
    iterations: int | None,
    rounds: int,
    time_budget_s: float,
    min_samples: int,
    out_dir: Path | None,
    force: bool,
    save_baseline: str | None,
    baseline: str | None,
    quiet: bool,
    as_json: bool,
    shard: Shard | None,
    history_path: Path | None,
    no_history: bool,
    allow_code: bool,
    allow_mixed_builds: bool,
) -> None:
    """Bench and profile a scenario on every runtime; write results.json, profiles/, raw/ and report.html."""
    from rmprof.commands.common import echo_json
    from rmprof.history.record import record_folder
    from rmprof.profiling import ProfileRequest, check_profilers, default_out, profile_all
    from rmprof.scenarios import chosen_scenarios
    from rmprof.shard import select_shard

    scenarios = chosen_scenarios(scenario, manifest, input_path, expected, allow_code)
    every_scenario = [sc.name for sc in scenarios]
    if shard:
        scenarios = select_shard(scenarios, shard)
    history = history_target(history_path, no_history)
    chosen = [] if profilers == ("none",) else list(profilers or _profiler_names())
    check_profilers(chosen)
    from rmprof.runtimes.provenance import check_builds, measured_runtimes

    check_builds(measured_runtimes([sc.manifest for sc in scenarios], runtimes), allow_mixed_builds)
    request = ProfileRequest(
        scenarios=scenarios,
        runtimes=list(runtimes),
        profilers=chosen,
        explicit=bool(profilers),
        iterations=iterations,
        rounds=rounds,
        time_budget_s=time_budget_s,
        min_samples=min_samples,
        shard=shard,
        all_scenarios=every_scenario,
        history=history,
    )
    label = scenario if scenario == "all" else scenarios[0].name
    label += f"-shard{shard.index}of{shard.count}" if shard else ""
    out = out_dir or default_out(label)
    say = Progress(quiet)
    summary = profile_all(
        request,
        out,
        say,
        force=force,
        save_baseline=save_baseline,
        baseline=baseline,
        # Under --json stdout carries one JSON document: the comparison's lines go to stderr (or nowhere).
        comparison_lines=("none" if quiet else "stderr") if as_json else "stdout",
    )
    record_folder(history, out, say)
    say.close()
    if as_json:
        echo_json(summary)
    else:
        from rmprof.report.terminal import print_profile_summary

        print_profile_summary(summary["runs"], summary)
