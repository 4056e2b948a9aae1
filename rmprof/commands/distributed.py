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


def history_options(func: F) -> F:
    """--history PATH and --no-history: where this run's figures are recorded, or not at all."""
    func = click.option("--no-history", is_flag=True, help="Record nothing in the history (also: RMPROF_HISTORY=off).")(
        func
    )
    return click.option(
        "--history",
        "history_path",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Record the figures in this SQLite history (default $RMPROF_HISTORY, else "
        "$XDG_DATA_HOME/rmprof/history.sqlite).",
    )(func)


def history_target(history_path: Path | None, no_history: bool) -> Path | None:
    """The history file to record in, or None when recording is off."""
    from rmprof.history.store import resolve_path

    return resolve_path(history_path, no_history)
