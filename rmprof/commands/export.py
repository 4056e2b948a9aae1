"""``rmprof export FORMAT SOURCE``: what a run (or a comparison) measured, in a format other tools read."""

from __future__ import annotations

from pathlib import Path

import click

from rmprof.commands.common import OutputPath, echo_json
from rmprof.errors import RmprofError
from rmprof.files import write_json_atomic, write_text_atomic

FORMATS = ("bmf", "markdown")


def _markdown(source: Path) -> str:
    """summary.md of a run directory (each scenario's, for the folder of a ``--scenario all`` run) or
    compare.md of a compare.json (or of the folder holding it)."""
    from rmprof.model.load import load_compare
    from rmprof.report.markdown import compare_markdown, summary_markdown
    from rmprof.run_dir import RESULTS, load_results

    if source.is_dir() and not (source / RESULTS).is_file():
        runs = sorted(d for d in source.iterdir() if d.is_dir() and (d / RESULTS).is_file())
        if runs:
            return "\n".join(summary_markdown(load_results(d), f"{d.name}/report.html") for d in runs)
        if (source / "compare.json").is_file():
            source = source / "compare.json"
    if source.is_dir():
        return summary_markdown(load_results(source))
    if source.name == RESULTS:
        return summary_markdown(load_results(source.parent))
    return compare_markdown(load_compare(source))


@click.command()
@click.argument("fmt", metavar="FORMAT", type=click.Choice(FORMATS))
@click.argument("source", type=click.Path(path_type=Path))
@click.option(
    "-o", "--output", type=OutputPath(dir_okay=False, path_type=Path), help="Write it here instead of printing it."
)
def export(fmt: str, source: Path, output: Path | None) -> None:
    """Write SOURCE as FORMAT: bmf (Bencher Metric Format JSON of a run directory, a `--scenario all` folder,
    results.json or an `rmprof bench -o` file) or markdown (summary.md of a run, compare.md of a compare.json).

    Profiles are already in every run directory as speedscope, folded and pprof (.pb.gz) files."""
    if not source.exists():
        raise RmprofError(f"{source}: no such file or directory")
    if fmt == "bmf":
        from rmprof.exporters.bmf import source_to_bmf

        doc = source_to_bmf(source)
        if output:
            write_json_atomic(output, doc)
        else:
            echo_json(doc)
        return
    text = _markdown(source)
    if output:
        write_text_atomic(output, text)
    else:
        click.echo(text, nl=False)
