"""``rmprof history``: list the recorded figures, their change points, or draw the trend page."""

from __future__ import annotations

from pathlib import Path

import click

from rmprof.commands.common import OutputPath, Progress, echo_json


@click.command()
@click.option(
    "--history",
    "history_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The SQLite history (default $RMPROF_HISTORY, else $XDG_DATA_HOME/rmprof/history.sqlite).",
)
@click.option(
    "--add", "add", multiple=True, type=click.Path(path_type=Path), help="Record this run folder first (repeatable)."
)
@click.option("--scenario", "-s", "scenarios", multiple=True, help="Only this scenario (repeatable).")
@click.option("--runtime", "-r", "runtimes", multiple=True, help="Only this runtime (repeatable).")
@click.option(
    "--metric",
    "-m",
    "metrics",
    multiple=True,
    help="Only this metric or family: run, init, speedup, memory, ... (repeatable).",
)
@click.option("--machine", metavar="ID", help="Only this machine (an id, or its first characters).")
@click.option("--branch", help="Only runs of this branch.")
@click.option("--commit", help="Only runs of this commit (or its first characters).")
@click.option("--changes", is_flag=True, help="List the change points instead of the figures.")
@click.option("--limit", type=click.IntRange(min=1), default=60, show_default=True, help="Figures listed (newest).")
@click.option("--html", "html_out", type=OutputPath(dir_okay=False, path_type=Path), help="Write the trend page here.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures and change points as JSON.")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines.")
def history(
    history_path: Path | None,
    add: tuple[Path, ...],
    scenarios: tuple[str, ...],
    runtimes: tuple[str, ...],
    metrics: tuple[str, ...],
    machine: str | None,
    branch: str | None,
    commit: str | None,
    changes: bool,
    limit: int,
    html_out: Path | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """List the figures recorded by profile/bench/merge (filtered), their change points, or --html a trend page."""
    from rmprof.errors import RmprofError
    from rmprof.history.listing import history_document, print_changes, print_rows
    from rmprof.history.record import record_folder
    from rmprof.history.store import Filters, query, resolve_path
    from rmprof.history.trend import write_history_html

    say = Progress(quiet)
    path = resolve_path(history_path)
    if path is None:
        raise RmprofError("the history is off (RMPROF_HISTORY): name one with --history PATH")
    for folder in add:
        record_folder(path, folder, say)
    filters = Filters(scenarios, runtimes, metrics, machine, branch, commit)
    rows = query(path, filters)
    if html_out:
        out = write_history_html(html_out, rows, str(path))
        say(f"trend page: {len(rows)} figure(s)")
        if not as_json:
            click.echo(str(out))
    if as_json:
        echo_json(history_document(rows, str(path), limit))
    elif changes:
        print_changes(rows)
    elif not html_out:
        print_rows(rows, limit, str(path))
