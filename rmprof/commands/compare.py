"""``rmprof compare``: before/after comparison of two runs with Criterion-style verdicts and diff flame graphs,
or (``--paired NAME``) a baseline's saved Rust builds timed against the current ones in one session."""

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
)
from rmprof.compare.output import default_out_dir, write_comparison, write_document
from rmprof.errors import RmprofError


class RegressionFound(RmprofError):
    """--fail-on-regression and a gated metric regressed beyond the threshold."""

    exit_code = 1


class GateInconclusive(RmprofError):
    """--fail-on-regression and the gate could not tell: no regression proven, but no pass either."""

    exit_code = 3


@click.command()
@click.argument("before", required=False, type=click.Path(path_type=Path))
@click.argument("after", required=False, type=click.Path(path_type=Path))
@click.option(
    "--paired",
    metavar="NAME",
    help="Time baseline NAME's saved Rust builds against the current ones, alternating in this session "
    "(instead of BEFORE AFTER).",
)
@scenario_options(with_all=True)
@rounds_option
@click.option("--iterations", "-n", type=click.IntRange(min=3), help="With --paired: run samples per build.")
@click.option(
    "--out",
    "out_dir",
    type=OutputPath(file_okay=False, path_type=Path),
    help="Where compare.json and compare.html go (default: AFTER if it is a run directory, "
    "else ./rmprof-compare-<timestamp>).",
)
@click.option(
    "--threshold",
    type=click.FloatRange(min=0),
    default=None,
    metavar="PCT",
    help="Regression threshold in percent, for every gated figure alike (default: 5 for run times, 10 for "
    "initialization, 2 for callgrind instruction counts). A larger stored A/A noise floor never turns a change "
    "into a pass.",
)
@click.option("--no-noise-floor", is_flag=True, help="Ignore the noise floor stored by `rmprof calibrate`.")
@click.option(
    "--gate-cold-start",
    is_flag=True,
    help="Gate cold-start times too (informational by default: they drift between runs beyond their interval).",
)
@click.option(
    "--fail-on-regression",
    is_flag=True,
    help="Exit 1 when a gated metric (instructions; run and init time) regressed beyond the threshold, 3 when "
    "the gate cannot tell (a side too noisy, evidence too weak, the machine moved), 0 only on a PASS.",
)
@click.option("--json", "as_json", is_flag=True, help="Print compare.json instead of the summary lines.")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines.")
@allow_code_option
@allow_mixed_builds_option
def compare(
    before: Path | None,
    after: Path | None,
    paired: str | None,
    scenario: str | None,
    manifest: str | None,
    input_path: str | None,
    expected: str | None,
    runtimes: tuple[str, ...],
    rounds: int,
    iterations: int | None,
    out_dir: Path | None,
    threshold: float | None,
    no_noise_floor: bool,
    gate_cold_start: bool,
    fail_on_regression: bool,
    as_json: bool,
    quiet: bool,
    allow_code: bool,
    allow_mixed_builds: bool,
) -> None:
    """Compare BEFORE and AFTER (run directories, `--scenario all` run folders or `rmprof bench -o` files):
    verdict per metric, gate, diff flame graphs. Or --paired NAME: baseline NAME's builds vs the current ones."""
    say = Progress(quiet)
    from rmprof.compare.thresholds import thresholds_for

    fraction = None if threshold is None else threshold / 100.0
    if paired:
        if before or after:
            raise RmprofError("give either BEFORE AFTER or --paired NAME, not both")
        from rmprof.compare.paired import paired_comparison
        from rmprof.runtimes import runtime_names
        from rmprof.runtimes.provenance import check_builds

        # The current side is one build: its extension and binary timed against the baseline's must agree.
        check_builds(list(runtimes) or runtime_names(), allow_mixed_builds)

        doc = paired_comparison(
            paired,
            (scenario, manifest, input_path, expected, allow_code),
            list(runtimes),
            rounds,
            iterations,
            thresholds_for(fraction),
            not no_noise_floor,
            say,
        )
        write_document(doc, out_dir or default_out_dir(None, "paired"), say, as_json)
    else:
        if before is None or after is None:
            raise RmprofError("say what to compare: BEFORE AFTER (run directories or results files), or --paired NAME")
        options = {"use_floor": not no_noise_floor, "gate_cold_start": gate_cold_start}
        doc = write_comparison(before, after, out_dir, fraction, say, as_json, **options)
    if fail_on_regression:
        raise_for_gate(doc["summary"]["gate"])


def raise_for_gate(gate: dict) -> None:
    """The gate's exit status as an error: 1 for a regression, 3 when it cannot tell; nothing on a PASS."""
    # An RmprofError, not click's Exit: rmprof.cli.main runs click with standalone_mode=False, where
    # Exit only returns its code; the error path is what turns a code into the process's exit status.
    if gate["regressions"]:
        raise RegressionFound(
            f"{len(gate['regressions'])} gated metric(s) regressed: " + ", ".join(gate["regressions"])
        )
    if gate.get("inconclusive"):
        ids = [row["id"] for row in gate["inconclusive"]]
        raise GateInconclusive(
            f"gate inconclusive: {len(ids)} gated metric(s) cannot be called: {', '.join(ids)} "
            "(reasons in compare.json/compare.html; try rmprof compare --paired NAME or more --rounds)"
        )
