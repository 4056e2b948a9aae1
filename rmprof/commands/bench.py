"""``rmprof bench``: the plan's metrics for every runtime, with honest statistics."""

from __future__ import annotations

from pathlib import Path

import click

from rmprof.commands.common import (
    OutputPath,
    Progress,
    allow_code_option,
    allow_mixed_builds_option,
    echo_json,
    rounds_option,
    scenario_options,
    time_budget_option,
)
from rmprof.commands.distributed import history_options, history_target, shard_option
from rmprof.files import write_json_atomic
from rmprof.scenarios import chosen_scenarios
from rmprof.shard import Shard


@click.command()
@scenario_options(with_all=True)
@click.option(
    "--iterations", "-n", type=click.IntRange(min=3), help="Run samples per runtime (default: the scenario's)."
)
@rounds_option
@time_budget_option("the bench")
@click.option("--cold-starts", type=click.IntRange(min=3), default=20, show_default=True)
@click.option("-o", "--output", type=OutputPath(dir_okay=False, path_type=Path), help="Write the JSON results here.")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON results instead of the table.")
@click.option(
    "--format",
    "out_format",
    type=click.Choice(["json", "bmf"]),
    default="json",
    show_default=True,
    help="What -o writes: rmprof's JSON results, or Bencher Metric Format (bmf: also printed instead of the table).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress lines.")
@shard_option
@history_options
@allow_code_option
@allow_mixed_builds_option
def bench(
    scenario: str | None,
    manifest: str | None,
    input_path: str | None,
    expected: str | None,
    runtimes: tuple[str, ...],
    iterations: int | None,
    rounds: int,
    time_budget_s: float,
    cold_starts: int,
    output: Path | None,
    as_json: bool,
    out_format: str,
    quiet: bool,
    shard: Shard | None,
    history_path: Path | None,
    no_history: bool,
    allow_code: bool,
    allow_mixed_builds: bool,
) -> None:
    """Measure init, run time, throughput, memory and cold start per runtime, interleaved (default: all scenarios)."""
    from rmprof.bench.harness import BenchConfig, run_bench
    from rmprof.bench.table import print_table

    if not (scenario or manifest or input_path):
        scenario = "all"
    scenarios = chosen_scenarios(scenario, manifest, input_path, expected, allow_code)
    every_scenario = [sc.name for sc in scenarios]
    if shard:
        from rmprof.shard import select_shard

        scenarios = select_shard(scenarios, shard)
    history = history_target(history_path, no_history)
    from rmprof.runtimes.provenance import check_builds, measured_runtimes

    check_builds(measured_runtimes([sc.manifest for sc in scenarios], runtimes), allow_mixed_builds)
    say = Progress(quiet)
    config = BenchConfig(
        iterations=iterations,
        rounds=rounds,
        cold_starts=cold_starts,
        time_budget_s=time_budget_s,
        history=history,
        progress=say,
        step=say.advance,
    )
    doc = run_bench(scenarios, list(runtimes) or None, config)
    if shard:
        doc["shard"] = {**shard.to_json(), "all_scenarios": sorted(set(every_scenario))}
    from rmprof.history.record import record_bench

    record_bench(history, doc, str(output) if output else None, say)
    if out_format == "bmf":
        from rmprof.exporters.bmf import bench_to_bmf

        doc, as_json = bench_to_bmf(doc), True
    if output:
        write_json_atomic(output, doc)
    if as_json:
        echo_json(doc)
    else:
        print_table(doc)
        if output:
            click.echo(f"results written to {output}")
