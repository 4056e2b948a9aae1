"""``rmprof compare``: before/after comparison of two runs with Criterion-style verdicts and diff flame graphs."""

from __future__ import annotations

import time
from pathlib import Path

import click

from rmprof.commands.common import Progress, echo_json, write_json_atomic, write_text_atomic
from rmprof.errors import RmprofError

COMPARE_JSON = "compare.json"
COMPARE_HTML = "compare.html"


class RegressionFound(RmprofError):
    """--fail-on-regression and a gated metric regressed beyond the threshold."""

    exit_code = 1


def default_out_dir(after: Path, after_kind: str) -> Path:
    """AFTER itself when it is a run directory (its results.json's folder), else ./rmprof-compare-<timestamp>."""
    if after_kind == "run":
        return after if after.is_dir() else after.parent
    return Path(f"rmprof-compare-{time.strftime('%Y%m%d-%H%M%S')}")


@click.command()
@click.argument("before", type=click.Path(path_type=Path))
@click.argument("after", type=click.Path(path_type=Path))
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
    help="Noise threshold in percent: smaller changes are 'within noise'.",
)
@click.option(
    "--fail-on-regression",
    is_flag=True,
    help="Exit 1 when a gated metric (run/init/cold-start time, callgrind instructions) regressed "
    "beyond the threshold.",
)
@click.option("--json", "as_json", is_flag=True, help="Print compare.json instead of the summary lines.")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines.")
def compare(
    before: Path,
    after: Path,
    out_dir: Path | None,
    threshold: float,
    fail_on_regression: bool,
    as_json: bool,
    quiet: bool,
) -> None:
    """Compare BEFORE and AFTER (run directories or `rmprof bench -o` files): verdict per metric, diff flame graphs."""
    say = Progress(quiet)
    doc = write_comparison(before, after, out_dir, threshold, say, as_json)
    gate = doc["summary"]["gate"]
    if fail_on_regression and not gate["passed"]:
        # An RmprofError, not click's Exit: rmprof.cli.main runs click with standalone_mode=False, where
        # Exit only returns its code; the error path is what turns a code into the process's exit status.
        raise RegressionFound(
            f"{len(gate['regressions'])} gated metric(s) regressed beyond {threshold:g}%: "
            + ", ".join(gate["regressions"])
        )


def write_comparison(
    before: Path, after: Path, out_dir: Path | None, threshold: float, say: Progress, as_json: bool = False
) -> dict:
    """Compare two runs, write compare.json and compare.html, print the summary; return the document."""
    from rmprof.compare.diff import compare_runs, format_row, format_summary, load_side
    from rmprof.compare.render import render_compare_html

    before_side, after_side = load_side(before), load_side(after)
    say(f"comparing {before} -> {after} (threshold {threshold:g}%)")
    doc = compare_runs(before_side, after_side, threshold / 100.0)
    out = out_dir or default_out_dir(after, after_side["kind"])
    html = render_compare_html(doc)  # render before writing anything: a template error leaves no half output
    try:
        write_json_atomic(out / COMPARE_JSON, doc)
        write_text_atomic(out / COMPARE_HTML, html)
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
    say(f"written {out / COMPARE_JSON} and {out / COMPARE_HTML}")
    return doc
