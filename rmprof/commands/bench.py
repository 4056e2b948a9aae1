"""``rmprof bench``: the plan's metrics for every runtime, with honest statistics."""

from __future__ import annotations

from pathlib import Path

import click

from rmprof.commands.common import (
    RUNTIME_NAMES,
    Progress,
    allow_code_option,
    check_code_allowed,
    echo_json,
    write_json_atomic,
)


def select_scenarios(name: str, allow_code: bool = False) -> list:
    """``all`` or one scenario name / folder. ``all`` leaves out scenarios with code unless allowed; a
    named one with code is refused without --allow-code."""
    from rmprof.scenarios import get_scenario, scenario_names

    if name == "all":
        scenarios = [get_scenario(n) for n in scenario_names()]
        return [sc for sc in scenarios if allow_code or not sc.manifest.has_code]
    scenarios = [get_scenario(name)]
    check_code_allowed([sc.manifest for sc in scenarios], allow_code)
    return scenarios


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
@allow_code_option
def bench(
    scenario: str,
    runtimes: tuple[str, ...],
    iterations: int | None,
    cold_starts: int,
    output: Path | None,
    as_json: bool,
    quiet: bool,
    allow_code: bool,
) -> None:
    """Measure init, run time, throughput, memory and cold start of each runtime, interleaved."""
    from rmprof.bench.harness import BenchConfig, run_bench
    from rmprof.bench.table import render

    scenarios = select_scenarios(scenario, allow_code)
    for sc in scenarios:
        _ = sc.manifest, sc.items  # validate every input before measuring anything
    config = BenchConfig(iterations=iterations, cold_starts=cold_starts, progress=Progress(quiet))
    doc = run_bench(scenarios, list(runtimes) or None, config)
    if output:
        write_json_atomic(output, doc)
    if as_json:
        echo_json(doc)
    else:
        click.echo(render(doc))
        if output:
            click.echo(f"results written to {output}")
