"""``rmprof merge``: shard run folders combined into one run folder and one overview report."""

from __future__ import annotations

import json
from pathlib import Path

import click

from rmprof.commands.common import OutputPath, Progress, echo_json
from rmprof.commands.distributed import history_options, history_target


@click.command()
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=OutputPath(path_type=Path),
    help="The merged run folder (a file when merging bench files).",
)
@click.option("--force", is_flag=True, help="Replace --out if it exists and is not empty (once the merge is complete).")
@click.option("--allow-mixed-commits", is_flag=True, help="Merge runs that measured different git commits.")
@click.option("--allow-missing", is_flag=True, help="Merge although some shards' scenarios are missing.")
@history_options
@click.option("--quiet", "-q", is_flag=True, help="No progress lines.")
@click.option("--json", "as_json", is_flag=True, help="Print merge.json instead of the report's path.")
def merge(
    sources: tuple[Path, ...],
    out_dir: Path,
    force: bool,
    allow_mixed_commits: bool,
    allow_missing: bool,
    history_path: Path | None,
    no_history: bool,
    quiet: bool,
    as_json: bool,
) -> None:
    """Merge run folders SOURCES (the shards' --out) into --out: one run folder, report.html over every scenario.
    Shards of `rmprof bench -o` (files) merge into one bench file."""
    from rmprof.history.record import record_bench, record_folder
    from rmprof.merge import merge_bench_files, merge_runs

    say = Progress(quiet)
    history = history_target(history_path, no_history)
    if sources and all(s.is_file() for s in sources):
        doc = merge_bench_files(
            list(sources), out_dir, force=force, allow_mixed_commits=allow_mixed_commits, allow_missing=allow_missing
        )
        for warning in doc["merge"]["warnings"]:
            say(f"warning: {warning}")
        record_bench(history, doc, str(out_dir), say)
        click.echo(json.dumps(doc["merge"], indent=2) if as_json else str(out_dir))
        return
    record = merge_runs(
        list(sources),
        out_dir,
        force=force,
        allow_mixed_commits=allow_mixed_commits,
        allow_missing=allow_missing,
        progress=say,
    )
    for warning in record["warnings"]:
        say(f"warning: {warning}")
    record_folder(history, out_dir, say)
    if as_json:
        echo_json(record)
    else:
        click.echo(str(out_dir / "report.html"))
