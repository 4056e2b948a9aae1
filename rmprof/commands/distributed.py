"""Options for running across machines and over time: --shard I/N, --history PATH, --no-history."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def _parse_shard(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    if value is None:
        return None
    from rmprof.shard import parse_shard

    return parse_shard(value)


def shard_option(func: F) -> F:
    """--shard I/N: run a deterministic 1/N of the scenarios (whole scenarios, every runtime of each)."""
    return click.option(
        "--shard",
        metavar="I/N",
        callback=_parse_shard,
        help="Run shard I of N: a deterministic 1/N of the scenarios, each whole (all its runtimes here); "
        "combine the shards with rmprof merge.",
    )(func)


def _history_options(path_help: str, off_help: str) -> Callable[[F], F]:
    """--history PATH and --no-history, with the help texts of one command."""

    def decorate(func: F) -> F:
        func = click.option("--no-history", is_flag=True, help=off_help)(func)
        return click.option(
            "--history", "history_path", type=click.Path(dir_okay=False, path_type=Path), help=path_help
        )(func)

    return decorate


_DEFAULT_HISTORY = "default $RMPROF_HISTORY, else $XDG_DATA_HOME/rmprof/history.sqlite"

# Where a run's figures are recorded, or not at all (profile, bench).
history_options = _history_options(
    f"Record the figures in this SQLite history ({_DEFAULT_HISTORY}).",
    "Record nothing in the history (also: RMPROF_HISTORY=off).",
)

# Which history a re-rendered report reads "what changed" from (report).
report_history_options = _history_options(
    "Without a compare.json beside the run, say what changed since the previous run in this SQLite history "
    f"({_DEFAULT_HISTORY}, as rmprof profile records).",
    "Compare with no earlier run of the history.",
)


def history_target(history_path: Path | None, no_history: bool) -> Path | None:
    """The history file to record in, or None when recording is off."""
    from rmprof.history.store import resolve_path

    return resolve_path(history_path, no_history)
