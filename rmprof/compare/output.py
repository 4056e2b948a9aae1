"""Writing a comparison: compare.json, compare.html and compare.md into one folder, and its lines on stdout.

Used by ``rmprof compare`` and by ``rmprof profile --baseline`` (which compares the run it just made).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from rmprof.errors import RmprofError
from rmprof.files import json_text, write_texts_atomic

if TYPE_CHECKING:
    from rmprof.model.compare import CompareDocument

COMPARE_JSON = "compare.json"
COMPARE_HTML = "compare.html"


def default_out_dir(after: Path | None, after_kind: str) -> Path:
    """AFTER itself when it is a run directory (its results.json's folder), else ./rmprof-compare-<timestamp>."""
    if after is not None and after_kind == "run":
        return after if after.is_dir() else after.parent
    return Path(f"rmprof-compare-{time.strftime('%Y%m%d-%H%M%S')}")


def write_comparison(
    before: Path,
    after: Path,
    out_dir: Path | None,
    threshold: float | None,
    say: Callable[[str], None],
    as_json: bool = False,
    use_floor: bool = True,
    gate_cold_start: bool = False,
) -> CompareDocument:
    """Compare two runs, write compare.json and compare.html, print the summary; return the document.
    ``threshold`` is a fraction for every signal, or None for the defaults (``thresholds.thresholds_for``)."""
    from rmprof.bench.noise import fingerprint, floors_for
    from rmprof.compare.diff import compare_runs
    from rmprof.compare.sides import load_side

    before_side, after_side = load_side(before), load_side(after)
    shown = "defaults" if threshold is None else f"{100 * threshold:g}%"
    say(f"comparing {before} -> {after} (threshold {shown})")
    floors, stored = None, None
    if use_floor and fingerprint(before_side["environment"]) == fingerprint(after_side["environment"]):
        stored = floors_for(after_side["environment"])
        floors = stored["floors"] if stored else None
    doc = compare_runs(before_side, after_side, threshold, floors, gate_cold_start)
    if stored and floors:
        # A floor is an estimate of its day: say how old and on how many agreeing runs it rests.
        doc["noise_floor"].update(
            {k: stored.get(k) for k in ("created_unix", "age_days", "runs", "floor_runs") if k in stored}
        )
    write_document(doc, out_dir or default_out_dir(after, after_side["kind"]), say, as_json)
    return doc


def write_document(doc: CompareDocument, out: Path, say: Callable[[str], None], as_json: bool) -> None:
    """Write compare.json, compare.html and compare.md into ``out`` and print the rows and the gate."""
    from rmprof.compare.render import render_compare_html
    from rmprof.compare.wording import format_row, format_summary
    from rmprof.report.markdown import COMPARE_MD, compare_markdown

    html = render_compare_html(doc)  # render before writing anything: a template error leaves no half output
    markdown = compare_markdown(doc, COMPARE_HTML)
    try:
        # One set: an error or an interrupt leaves no new compare.json beside an old compare.html.
        write_texts_atomic({out / COMPARE_JSON: json_text(doc), out / COMPARE_HTML: html, out / COMPARE_MD: markdown})
    except OSError as exc:
        raise RmprofError(f"cannot write the comparison to {out}: {exc}") from None
    if as_json:
        click.echo(json.dumps(doc, indent=2, allow_nan=False))
    else:
        for row in doc["comparisons"]:
            click.echo(format_row(row))
        for w in doc["environment"]["warnings"]:
            click.echo(f"warning: {w}")
        click.echo(format_summary(doc))
    say(f"written {out / COMPARE_JSON}, {out / COMPARE_HTML} and {out / COMPARE_MD}")
