"""``rmprof report RUN_DIR``: re-render report.html of a run directory from its files alone."""

from __future__ import annotations

from pathlib import Path

import click

from rmprof.commands.distributed import report_history_options


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--open", "open_it", is_flag=True, help="Open the report in the default web browser.")
@click.option(
    "--summary", is_flag=True, help="Print the run's summary (speedups, bottlenecks, targets, gaps) before the path."
)
@report_history_options
def report(run_dir: Path, open_it: bool, summary: bool, history_path: Path | None, no_history: bool) -> None:
    """Re-render RUN_DIR/report.html (and summary.md) from results.json and profiles/, and print its path; a
    folder of runs (--scenario all, a shard, a merge) re-renders every scenario and its overview."""
    from rmprof.commands.distributed import history_target
    from rmprof.errors import RmprofError
    from rmprof.report.markdown import write_summary
    from rmprof.report.overview import render_folder
    from rmprof.report.render import render_report
    from rmprof.run_tree import is_folder_of_runs, scenario_runs

    if not run_dir.is_dir():
        raise RmprofError(f"{run_dir}: not a run directory (no such directory)")
    history = history_target(history_path, no_history)  # the one rmprof profile records in, by default
    if is_folder_of_runs(run_dir):  # --scenario all, a shard or a merge: every scenario, then the overview
        path = render_folder(run_dir, history)
    else:
        path = render_report(run_dir, history)
        write_summary(run_dir)
    if summary:
        from rmprof.report.terminal import emit, make_console, run_summary

        console = make_console()
        for _, results in scenario_runs(run_dir):
            emit(console, run_summary(results, console))
    click.echo(str(path))
    if open_it:
        import webbrowser

        webbrowser.open(path.resolve().as_uri())
