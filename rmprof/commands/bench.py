"""``rmprof bench``: the plan's metrics for every runtime, with honest statistics."""

from __future__ import annotations

from pathlib import Path

import click

from rmprof.commands.common import RUNTIME_NAMES, Progress, echo_json, write_json_atomic


def select_scenarios(name: str) -> list:
    """``all`` or one scenario name / folder."""
    from rmprof.scenarios import get_scenario, scenario_names

    names = scenario_names() if name == "all" else [name]
    return [get_scenario(n) for n in names]


@click.command()
@click.option("--scenario", "-s", default="all", show_default=True, metavar="NAME|DIR|all")
@click.option(
    "--runtime",
    "-r",
    "runtimes",
    multiple=True,
    type=click.Choice(RUNTIME_NAMES),
    help="Runtimes to measure (repeatable; default: every available one).",
)
@click.option(
    "--iterations", "-n", type=click.IntRange(min=3), help="Run samples per runtime (default: the scenario's)."
)
@click.option("--cold-starts", type=click.IntRange(min=3), default=12, show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the JSON results here.")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON results instead of the table.")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines.")
def bench(
    scenario: str,
    runtimes: tuple[str, ...],
    iterations: int | None,
    cold_starts: int,
    output: Path | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """Measure init, run time, throughput, memory and cold start of each runtime, interleaved."""
    from rmprof.bench.harness import BenchConfig, run_bench
    from rmprof.bench.table import render

    scenarios = select_scenarios(scenario)
    for sc in scenarios:
        _ = sc.manifest, sc.items  # validate every input before measuring anything
    config = BenchConfig(iterations=iterations, cold_starts=cold_starts, progress=Progress(quiet))
    doc = run_bench(scenarios, list(runtimes or RUNTIME_NAMES), config)
    if output:
        write_json_atomic(output, doc)
    if as_json:
        echo_json(doc)
    else:
        click.echo(render(doc))
        if output:
            click.echo(f"results written to {output}")
