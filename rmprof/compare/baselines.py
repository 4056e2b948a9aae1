"""Named baselines: a saved copy of a run's results.json and profiles/ to compare later runs with, and of the
runtime artifacts it measured (the Rust binaries and extension modules) to time against later builds.

Baselines live in ``$RMPROF_BASELINE_DIR/NAME`` when that variable is set, else in
``$XDG_CACHE_HOME/rmprof/baselines/NAME`` (``~/.cache/rmprof/baselines/NAME`` by default). A saved
baseline is itself a run directory (without report.html and raw/; one folder per scenario for a run of
several), so ``rmprof compare`` reads it as one. ``artifacts/artifacts.json`` maps each Rust runtime to its
saved file, which ``rmprof compare --paired NAME`` times against the current build.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path

from rmprof.errors import RmprofError
from rmprof.files import staged_dir
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
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and _is_run(p))


def _is_run(path: Path) -> bool:
    return (path / RESULTS).is_file() or any((d / RESULTS).is_file() for d in path.iterdir() if d.is_dir())


def baseline_dir(name: str) -> Path:
    """The run directory of baseline ``name``, or a one-line error listing the known baselines."""
    path = baselines_root() / _check_name(name)
    if not path.is_dir() or not _is_run(path):
        known = ", ".join(list_baselines()) or "none saved yet"
        raise RmprofError(f"no baseline named '{name}' in {baselines_root()} (known: {known})")
    return path


ARTIFACTS = "artifacts"
ARTIFACTS_INDEX = "artifacts.json"


def current_artifacts() -> dict[str, Path]:
    """The compiled runtimes' files this rmprof runs now: runtime -> binary or extension module (those that exist)."""
    from rmprof.runtimes import get_runtime, runtime_names

    found: dict[str, Path] = {}
    for name in runtime_names():
        build = get_runtime(name).build()
        if build is not None:
            found[name] = build
    return found


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _save_artifacts(folder: Path, runtimes: set[str]) -> None:
    """Copy the current files of the Rust ``runtimes`` into ``folder`` with an index (file, size, sha256, origin)."""
    folder.mkdir()
    index = {}
    for runtime, src in current_artifacts().items():
        if runtime not in runtimes:
            continue  # only what the run measured: the RustPython builds alone are ~90 MB
        dest = folder / f"{runtime}{''.join(src.suffixes) if src.suffix == '.so' else ''}"
        shutil.copy2(src, dest)
        index[runtime] = {"file": dest.name, "bytes": dest.stat().st_size, "sha256": _sha256(dest), "origin": str(src)}
    (folder / ARTIFACTS_INDEX).write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")


def baseline_artifacts(name: str) -> dict[str, dict]:
    """Runtime -> {"path", "sha256", ...} of the artifacts saved with baseline ``name`` (empty when none)."""
    folder = baseline_dir(name) / ARTIFACTS
    try:
        index = json.loads((folder / ARTIFACTS_INDEX).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {
        rt: {**info, "path": str(folder / info["file"])}
        for rt, info in index.items()
        if (folder / info["file"]).is_file()
    }


def _run_dirs(run_dir: Path) -> list[Path]:
    """The run directories a run consists of: itself, or one per scenario for a run of several."""
    if (run_dir / RESULTS).is_file():
        return [run_dir]
    subdirs = sorted(d for d in run_dir.iterdir() if d.is_dir() and (d / RESULTS).is_file()) if run_dir.is_dir() else []
    return subdirs or [run_dir]


def save_baseline(run_dir: str | Path, name: str) -> Path:
    """Copy ``run_dir``'s results.json and profiles/ (per scenario for a run of several) and the current Rust
    runtime artifacts to baseline ``name`` (replacing it); return its folder."""
    run_dir = Path(run_dir)
    parts = _run_dirs(run_dir)
    measured: set[str] = set()
    for part in parts:
        results = load_results(part)  # refuse to save something compare could not read back
        for sc in (results.get("bench") or {}).get("scenarios") or []:
            measured.update(sc.get("runtimes") or {})
    target = baselines_root() / _check_name(name)
    # Build the copy beside the target and swap it in, so an interrupted save never leaves a half-copied
    # baseline under the name, and a failed one keeps the baseline saved before.
    try:
        with staged_dir(target) as staging:
            for part in parts:
                dest = staging if part == run_dir else staging / part.name
                dest.mkdir(exist_ok=True)
                shutil.copy2(part / RESULTS, dest / RESULTS)
                if (part / PROFILES).is_dir():
                    shutil.copytree(part / PROFILES, dest / PROFILES)
            _save_artifacts(staging / ARTIFACTS, measured)
    except OSError as exc:
        raise RmprofError(f"cannot save baseline '{name}' to {target}: {exc}") from None
    return target
