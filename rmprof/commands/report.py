"""``rmprof report RUN_DIR``: re-render report.html of a run directory from its files alone."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--open", "open_it", is_flag=True, help="Open the report in the default web browser.")
@click.option(
    "--summary", is_flag=True, help="Print the run's summary (speedups, bottlenecks, targets, gaps) before the path."
)
def report(run_dir: Path, open_it: bool, summary: bool) -> None:
    """Re-render RUN_DIR/report.html (and summary.md) from results.json and profiles/, and print its path."""
    from rmprof.errors import RmprofError
    from rmprof.report.markdown import write_summary
    from rmprof.report.render import render_report

    if not run_dir.is_dir():
        raise RmprofError(f"{run_dir}: not a run directory (no such directory)")
    path = render_report(run_dir)
    write_summary(run_dir)
    if summary:
        from rmprof.report.terminal import emit, make_console, run_summary
        from rmprof.run_dir import load_results

        console = make_console()
        emit(console, run_summary(load_results(run_dir), console))
    click.echo(str(path))
    if open_it:
        import webbrowser

        webbrowser.open(path.resolve().as_uri())
