"""``rmprof run``: run a pipeline once on one runtime, check it, print the outputs."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

import click

from rmprof.commands.common import (
    OutputPath,
    allow_code_option,
    echo_json,
    scenario_options,
)
from rmprof.errors import RmprofError
from rmprof.scenarios import check_code_allowed, resolve_scenario
from rmprof.values import first_difference


class OutputMismatch(RmprofError):
    """The runtime's outputs differ from the scenario's expected outputs."""

    exit_code = 1


@click.command()
@scenario_options()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the outputs.")
@click.option(
    "--output",
    "-o",
    "output",
    type=OutputPath(dir_okay=False),
    help='Write every sink item to this NDJSON file, one line {"sink": ID, "item": VALUE} each, as it arrives.',
)
@click.option("--quiet", "-q", is_flag=True, help="No progress lines (a long NDJSON run reports how far it has read).")
@allow_code_option
def run(
    scenario: str | None,
    manifest: str | None,
    input_path: str | None,
    expected: str | None,
    runtime: str,
    as_json: bool,
    output: str | None,
    quiet: bool,
    allow_code: bool,
) -> None:
    """Run a pipeline once on one runtime; check the outputs against the expected ones when known.

    An input named .ndjson or .jsonl (one JSON value per line) streams through the runtime in bounded
    memory; --output writes the sink items as NDJSON lines instead of holding them.
    """
    from rmprof.ndjson import deep_values

    # Items may nest up to 1,000 levels (as the Rust readers allow): checking, running and printing them recurse.
    with deep_values():
        _run(scenario, manifest, input_path, expected, runtime, as_json, output, quiet, allow_code)


def _run(
    scenario: str | None,
    manifest: str | None,
    input_path: str | None,
    expected: str | None,
    runtime: str,
    as_json: bool,
    output: str | None,
    quiet: bool,
    allow_code: bool,
) -> None:
    from rmprof.runtimes import get_runtime
    from rmprof.streaming import streams

    sc = resolve_scenario(scenario, manifest, input_path, expected)
    manifest_obj = sc.manifest
    check_code_allowed([manifest_obj], allow_code)
    rt = get_runtime(runtime)
    reason = rt.unavailable_reason()
    if reason:
        raise RmprofError(f"runtime '{runtime}' is not available: {reason}")
    if streams(sc.input_path, Path(output) if output else None):
        _run_streamed(sc, rt, runtime, Path(output) if output else None, as_json, quiet)
        return
    items = sc.items
    start = time.perf_counter()
    with rt.prepare(manifest_obj) as prepared:
        outputs = prepared.run(items)
    elapsed_ms = (time.perf_counter() - start) * 1e3
    _report(sc, runtime, len(items), outputs, elapsed_ms, as_json)


def _run_streamed(sc: Any, rt: Any, runtime: str, output: Path | None, as_json: bool, quiet: bool) -> None:
    """The NDJSON path: stream the input (or write in-memory outputs) to ``output``, report line counts."""
    from rmprof.commands.common import Progress
    from rmprof.ndjson import is_ndjson
    from rmprof.read_progress import ReadWatcher
    from rmprof.streaming import run_ndjson_input, write_ndjson_output

    sinks = list(sc.manifest.sinks)
    start = time.perf_counter()
    if is_ndjson(sc.input_path):
        say = Progress(quiet)
        task = f"{runtime}: reading {Path(sc.input_path).name}"
        watcher = ReadWatcher(
            Path(sc.input_path),
            lambda done, total, message: say.advance(task, done, total, f"{runtime}: {message}"),
            interval=0.5 if say.live() else 5.0,
        )
        with say, rt.prepare(sc.manifest) as prepared:
            with contextlib.nullcontext() if quiet else watcher:
                summary, outputs = run_ndjson_input(
                    prepared, sc.input_path, sinks, output, read_back=sc.expected is not None
                )
            if watcher.reported and say.live():
                size = Path(sc.input_path).stat().st_size
                say.advance(task, size, size)  # the bar ends full
        items, counts = summary["items"], summary["sinks"]
    else:
        items_list = sc.items
        with rt.prepare(sc.manifest) as prepared:
            outputs = prepared.run(items_list)
        items = len(items_list)
        if output is not None:
            counts = write_ndjson_output(outputs, output)
    elapsed_ms = (time.perf_counter() - start) * 1e3
    if output is None:
        _report(sc, runtime, items, outputs, elapsed_ms, as_json)
        return
    # The outputs as held (or as read back before the file was published): the output may be a device or
    # a pipe that cannot be read again.
    difference = first_difference(sc.expected, outputs) if sc.expected is not None else None
    lines = [f"  {sink}: {n} items -> {output}" for sink, n in counts.items()]
    _finish(sc, runtime, items, {"output": str(output), "sinks": counts}, elapsed_ms, difference, lines, as_json)


def _report(sc: Any, runtime: str, items: int, outputs: Any, elapsed_ms: float, as_json: bool) -> None:
    """Print the outputs (or their preview), and fail when they differ from the expected ones."""
    difference = first_difference(sc.expected, outputs) if sc.expected is not None else None
    lines = []
    for sink, values in outputs.items():
        preview = ", ".join(repr(v) for v in values[:3]) + (", ..." if len(values) > 3 else "")
        lines.append(f"  {sink}: {len(values)} items [{preview}]")
    _finish(sc, runtime, items, {"outputs": outputs}, elapsed_ms, difference, lines, as_json)


def _finish(
    sc: Any,
    runtime: str,
    items: int,
    result: dict[str, Any],
    elapsed_ms: float,
    difference: str | None,
    sink_lines: list[str],
    as_json: bool,
) -> None:
    """The run's summary (JSON document or lines: ``result`` holds the outputs or where they went), then fail
    when the outputs differ from the expected ones."""
    doc = {
        "scenario": sc.name,
        "runtime": runtime,
        "pipeline": sc.manifest.name,
        "items": items,
        **result,
        "elapsed_ms": round(elapsed_ms, 3),
        "expected": None if sc.expected is None else difference is None,
    }
    if as_json:
        echo_json(doc)
    else:
        click.echo(f"{sc.name} on {runtime}: {items} items in {elapsed_ms:.2f} ms (prepare + one run)")
        for line in sink_lines:
            click.echo(line)
        if sc.expected is not None and difference is None:
            click.echo("  outputs match the expected outputs")
    if difference is not None:
        raise OutputMismatch(f"outputs differ from {sc.expected_path}: {difference}")
