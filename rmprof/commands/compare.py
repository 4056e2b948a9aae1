"""``rmprof compare``: before/after comparison of two runs with Criterion-style verdicts and diff flame graphs,
or (``--paired NAME``) a baseline's saved Rust builds timed against the current ones in one session."""

from __future__ import annotations

import time
from pathlib import Path

import click

from rmprof.commands.common import (
    Progress,
    allow_code_option,
    echo_json,
    rounds_option,
    scenario_options,
)
from rmprof.errors import RmprofError
from rmprof.files import write_json_atomic, write_text_atomic

COMPARE_JSON = "compare.json"
COMPARE_HTML = "compare.html"


class RegressionFound(RmprofError):
    """--fail-on-regression and a gated metric regressed beyond the threshold."""

    exit_code = 1


def default_out_dir(after: Path | None, after_kind: str) -> Path:
    """AFTER itself when it is a run directory (its results.json's folder), else ./rmprof-compare-<timestamp>."""
    if after is not None and after_kind == "run":
        return after if after.is_dir() else after.parent
    return Path(f"rmprof-compare-{time.strftime('%Y%m%d-%H%M%S')}")


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
    type=click.Path(file_okay=False, path_type=Path),
    help="Where compare.json and compare.html go (default: AFTER if it is a run directory, "
    "else ./rmprof-compare-<timestamp>).",
)
@click.option(
    "--threshold",
    type=click.FloatRange(min=0),
    default=2.0,
    show_default=True,
    metavar="PCT",
    help="Noise threshold in percent: smaller changes are 'within noise' (a larger stored A/A noise floor wins).",
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
    help="Exit 1 when a gated metric (instructions; run and init time) regressed beyond the threshold.",
)
@click.option("--json", "as_json", is_flag=True, help="Print compare.json instead of the summary lines.")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines.")
@allow_code_option
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
    threshold: float,
    no_noise_floor: bool,
    gate_cold_start: bool,
    fail_on_regression: bool,
    as_json: bool,
    quiet: bool,
    allow_code: bool,
) -> None:
    """Compare BEFORE and AFTER (run directories, `--scenario all` run folders or `rmprof bench -o` files):
    verdict per metric, gate, diff flame graphs. Or --paired NAME: baseline NAME's builds vs the current ones."""
    say = Progress(quiet)
    if paired:
        if before or after:
            raise RmprofError("give either BEFORE AFTER or --paired NAME, not both")
        from rmprof.compare.paired import paired_comparison

        doc = paired_comparison(
            paired,
            (scenario, manifest, input_path, expected, allow_code),
            list(runtimes),
            rounds,
            iterations,
            threshold / 100.0,
            not no_noise_floor,
            say,
        )
        write_document(doc, out_dir or default_out_dir(None, "paired"), say, as_json)
    else:
        if before is None or after is None:
            raise RmprofError("say what to compare: BEFORE AFTER (run directories or results files), or --paired NAME")
        options = {"use_floor": not no_noise_floor, "gate_cold_start": gate_cold_start}
        doc = write_comparison(before, after, out_dir, threshold, say, as_json, **options)
    gate = doc["summary"]["gate"]
    if fail_on_regression and not gate["passed"]:
        # An RmprofError, not click's Exit: rmprof.cli.main runs click with standalone_mode=False, where
        # Exit only returns its code; the error path is what turns a code into the process's exit status.
        raise RegressionFound(
            f"{len(gate['regressions'])} gated metric(s) regressed beyond {threshold:g}%: "
            + ", ".join(gate["regressions"])
        )


def write_comparison(
    before: Path,
    after: Path,
    out_dir: Path | None,
    threshold: float,
    say: Progress,
    as_json: bool = False,
    use_floor: bool = True,
    gate_cold_start: bool = False,
) -> dict:
    """Compare two runs, write compare.json and compare.html, print the summary; return the document."""
    from rmprof.bench.noise import fingerprint, floors_for
    from rmprof.compare.diff import compare_runs, load_side

    before_side, after_side = load_side(before), load_side(after)
    say(f"comparing {before} -> {after} (threshold {threshold:g}%)")
    floors = None
    if use_floor and fingerprint(before_side["environment"]) == fingerprint(after_side["environment"]):
        stored = floors_for(after_side["environment"])
        floors = stored["floors"] if stored else None
    doc = compare_runs(before_side, after_side, threshold / 100.0, floors, gate_cold_start)
    write_document(doc, out_dir or default_out_dir(after, after_side["kind"]), say, as_json)
    return doc


def write_document(doc: dict, out: Path, say: Progress, as_json: bool) -> None:
    """Write compare.json, compare.html and compare.md into ``out`` and print the rows and the gate."""
    from rmprof.compare.diff import format_row, format_summary
    from rmprof.compare.render import render_compare_html
    from rmprof.report.markdown import COMPARE_MD, compare_markdown

    html = render_compare_html(doc)  # render before writing anything: a template error leaves no half output
    markdown = compare_markdown(doc, COMPARE_HTML)
    try:
        write_json_atomic(out / COMPARE_JSON, doc)
        write_text_atomic(out / COMPARE_HTML, html)
        write_text_atomic(out / COMPARE_MD, markdown)
    except OSError as exc:
        raise RmprofError(f"cannot write the comparison to {out}: {exc}") from None
    if as_json:
        echo_json(doc)
    else:
        for row in doc["comparisons"]:
            click.echo(format_row(row))
        for w in doc["environment"]["warnings"]:
            click.echo(f"warning: {w}")
        click.echo(format_summary(doc))
    say(f"written {out / COMPARE_JSON}, {out / COMPARE_HTML} and {out / COMPARE_MD}")
