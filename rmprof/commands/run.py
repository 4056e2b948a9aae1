"""``rmprof run``: run a pipeline once on one runtime, check it, print the outputs."""

from __future__ import annotations

import time

import click

from rmprof.commands.common import (
    allow_code_option,
    echo_json,
    scenario_options,
)
from rmprof.errors import RmprofError
from rmprof.scenarios import check_code_allowed, resolve_scenario


class OutputMismatch(RmprofError):
    """The runtime's outputs differ from the scenario's expected outputs."""

    exit_code = 1


@click.command()
@scenario_options()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the outputs.")
@allow_code_option
def run(
    scenario: str | None,
    manifest: str | None,
    input_path: str | None,
    expected: str | None,
    runtime: str,
    as_json: bool,
    allow_code: bool,
) -> None:
    """Run a pipeline once on one runtime; check the outputs against the expected ones when known."""
    from rmprof.runtimes import get_runtime
    from rmprof.values import first_difference

    sc = resolve_scenario(scenario, manifest, input_path, expected)
    manifest_obj, items = sc.manifest, sc.items
    check_code_allowed([manifest_obj], allow_code)
    rt = get_runtime(runtime)
    reason = rt.unavailable_reason()
    if reason:
        raise RmprofError(f"runtime '{runtime}' is not available: {reason}")
    start = time.perf_counter()
    with rt.prepare(manifest_obj) as prepared:
        outputs = prepared.run(items)
    elapsed_ms = (time.perf_counter() - start) * 1e3

    difference = first_difference(sc.expected, outputs) if sc.expected is not None else None
    doc = {
        "scenario": sc.name,
        "runtime": runtime,
        "pipeline": manifest_obj.name,
        "items": len(items),
        "outputs": outputs,
        "elapsed_ms": round(elapsed_ms, 3),
        "expected": None if sc.expected is None else difference is None,
    }
    if as_json:
        echo_json(doc)
    else:
        click.echo(f"{sc.name} on {runtime}: {len(items)} items in {elapsed_ms:.2f} ms (prepare + one run)")
        for sink, values in outputs.items():
            preview = ", ".join(repr(v) for v in values[:3]) + (", ..." if len(values) > 3 else "")
            click.echo(f"  {sink}: {len(values)} items [{preview}]")
        if sc.expected is not None and difference is None:
            click.echo("  outputs match the expected outputs")
    if difference is not None:
        raise OutputMismatch(f"outputs differ from {sc.expected_path}: {difference}")
