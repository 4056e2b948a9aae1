"""Named baselines: a saved copy of a run directory's results.json and profiles/ to compare later runs with.

Baselines live in ``$RMPROF_BASELINE_DIR/NAME`` when that variable is set, else in
``$XDG_CACHE_HOME/rmprof/baselines/NAME`` (``~/.cache/rmprof/baselines/NAME`` by default). A saved
baseline is itself a run directory (without report.html and raw/), so ``rmprof compare`` reads it as one.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

from rmprof.errors import RmprofError
from rmprof.run_dir import PROFILES, RESULTS, load_results

# Names become folder names: keep them to one portable path component.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def baselines_root() -> Path:
    """The folder holding every named baseline."""
    override = os.environ.get("RMPROF_BASELINE_DIR")
    if override:
        return Path(override).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache).expanduser() / "rmprof" / "baselines"


def _check_name(name: str) -> str:
    if not _NAME.match(name or ""):
        raise RmprofError(
            f"bad baseline name {name!r}: use letters, digits, '.', '_' or '-' (at most 100, not starting with '.')"
        )
    return name


def list_baselines() -> list[str]:
    """Names of the saved baselines, sorted."""
    root = baselines_root()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and (p / RESULTS).is_file())


def baseline_dir(name: str) -> Path:
    """The run directory of baseline ``name``, or a one-line error listing the known baselines."""
    path = baselines_root() / _check_name(name)
    if not (path / RESULTS).is_file():
        known = ", ".join(list_baselines()) or "none saved yet"
        raise RmprofError(f"no baseline named '{name}' in {baselines_root()} (known: {known})")
    return path


def save_baseline(run_dir: str | Path, name: str) -> Path:
    """Copy ``run_dir``'s results.json and profiles/ to baseline ``name`` (replacing it); return its folder."""
    run_dir = Path(run_dir)
    load_results(run_dir)  # refuse to save something compare could not read back
    target = baselines_root() / _check_name(name)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Build the copy beside the target and swap it in by renames, so an interrupted save never leaves a
    # half-copied baseline under the name.
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=target.parent))
    try:
        shutil.copy2(run_dir / RESULTS, staging / RESULTS)
        if (run_dir / PROFILES).is_dir():
            shutil.copytree(run_dir / PROFILES, staging / PROFILES)
        old = None
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{name}.old.", dir=target.parent))
            os.replace(target, old / name)
        os.replace(staging, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise RmprofError(f"cannot save baseline '{name}' to {target}: {exc}") from None
    return target
