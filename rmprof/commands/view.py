"""``rmprof view PROFILE``: open a speedscope file in the speedscope viewer (the npm package)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import click

from rmprof.errors import RmprofError

INSTALL_HINT = "npm install -g speedscope"


def find_speedscope(start: Path | None = None) -> str | None:
    """The ``speedscope`` executable: on PATH, else in node_modules/.bin of the current folder or a parent."""
    found = shutil.which("speedscope")
    if found:
        return found
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "node_modules" / ".bin" / "speedscope"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def speedscope_command(profile: Path, start: Path | None = None) -> list[str]:
    """The argument list that opens ``profile`` in speedscope, or RmprofError saying how to install it."""
    exe = find_speedscope(start)
    if exe is None:
        raise RmprofError(
            f"the speedscope viewer is not installed (no 'speedscope' on PATH or in node_modules/.bin); "
            f"install it with `{INSTALL_HINT}` (needs Node.js), or drop {profile} on https://www.speedscope.app"
        )
    return [exe, str(profile)]


@click.command()
@click.argument("profile", type=click.Path(path_type=Path))
def view(profile: Path) -> None:
    """Open PROFILE (a .speedscope.json file) in the speedscope viewer."""
    if not profile.is_file():
        raise RmprofError(f"{profile}: no such profile file")
    argv = speedscope_command(profile)
    try:
        proc = subprocess.run(argv, check=False)
    except OSError as exc:
        raise RmprofError(f"cannot run {argv[0]}: {exc}") from None
    if proc.returncode != 0:
        raise RmprofError(f"speedscope exited with status {proc.returncode}")
