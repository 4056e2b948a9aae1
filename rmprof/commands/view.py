"""``rmprof view PROFILE``: open a speedscope file in the speedscope viewer (the npm package, installed or
fetched by npx), or else in rmprof's own flame graph viewer, which needs nothing but a browser."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
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


def speedscope_command(profile: Path, start: Path | None = None) -> list[str] | None:
    """The argument list that opens ``profile`` in speedscope: the installed executable, else the package
    through ``npx --yes`` (from npm's cache, or downloaded once); None when there is neither."""
    exe = find_speedscope(start)
    if exe is not None:
        return [exe, str(profile)]
    npx = shutil.which("npx")
    if npx is not None:
        return [npx, "--yes", "speedscope", str(profile)]
    return None


def can_open_browser() -> bool:
    """Whether a graphical browser can be expected: $BROWSER is set, or a desktop session (or macOS or
    Windows). Without one, Python's webbrowser would run a text browser (lynx, w3m) in this terminal,
    which cannot draw the flame graph."""
    if os.environ.get("BROWSER"):
        return True
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def open_in_browser(page: Path) -> bool:
    """Open ``page`` in the web browser; False when there is none to open it in."""
    import webbrowser

    if not can_open_browser():
        return False
    try:
        return webbrowser.open(page.resolve().as_uri())
    except webbrowser.Error:
        return False


def builtin_viewer(profile: Path) -> None:
    """Write the page of ``profile`` for rmprof's flame graph viewer, print its path, open it if possible."""
    from rmprof.report.flamepage import write_profile_page

    try:
        page = write_profile_page(profile)
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise RmprofError(f"{profile}: not a speedscope profile ({' '.join(str(exc).split())[:200]})") from None
    except OSError as exc:
        raise RmprofError(f"cannot write the flame graph page for {profile}: {exc}") from None
    click.echo(f"flame graph: {page}")
    if not open_in_browser(page):
        click.echo("no web browser to open it here: open that file in one", err=True)


@click.command()
@click.argument("profile", type=click.Path(path_type=Path))
@click.option(
    "--builtin", is_flag=True, help="Use rmprof's own flame graph viewer (a page for the browser; no Node.js)."
)
def view(profile: Path, builtin: bool) -> None:
    """Open PROFILE (a .speedscope.json file) in speedscope: installed, or through npx; without either, in
    rmprof's own flame graph viewer (the report's), whose page is written beside the profile."""
    if not profile.is_file():
        raise RmprofError(f"{profile}: no such profile file")
    argv = None if builtin else speedscope_command(profile)
    if argv is None:
        if not builtin:
            click.echo(
                f"rmprof: neither speedscope nor npx is installed (for speedscope: `{INSTALL_HINT}`, needs "
                "Node.js); opening rmprof's own flame graph viewer",
                err=True,
            )
        builtin_viewer(profile)
        return
    try:
        code = subprocess.run(argv, check=False).returncode
    except OSError as exc:
        code, why = None, f"cannot run {argv[0]}: {exc}"
    else:
        why = f"{' '.join(argv[:-1])} exited with status {code}"
    if code == 0:
        return
    # npx without network (or a broken install) still leaves a way to look at the profile.
    click.echo(f"rmprof: {why}; opening rmprof's own flame graph viewer instead", err=True)
    builtin_viewer(profile)
