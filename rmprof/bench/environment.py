"""What machine and software a measurement ran on."""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = ("rmprof", "click", "jinja2", "maturin", "py-spy", "scalene", "memray")


def _command_version(args: list[str]) -> str | None:
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0] if out.returncode == 0 and text else None


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (or the platform's processor string)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def checkout() -> Path | None:
    """The rmprof checkout: the one it runs from, or the working folder when it is one.

    An installed rmprof (site-packages) has no .git; run from its checkout, as the README does, the working
    folder tells which commit was built.
    """
    for repo in (Path(__file__).resolve().parents[2], Path.cwd()):
        if (repo / ".git").exists() and (repo / "rmprof" / "cli.py").is_file():
            return repo
    return None


def _git(repo: Path, *args: str) -> bytes | None:
    """A git command's stdout in ``repo``, or None when git is missing or fails."""
    try:
        out = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout if out.returncode == 0 else None


def git_state(repo: Path | None = None) -> dict[str, Any]:
    """``{"git_commit", "git_dirty", "git_diff_digest"}`` of the checkout (``repo``, else ``checkout()``).

    ``git_diff_digest`` (16 hex digits, None when clean) covers ``git diff HEAD`` and the untracked files'
    names and contents, so that two different modified trees differ; ``git_commit`` then carries it after
    ``-dirty-`` (``abc1234-dirty-0123456789abcdef``), so that every reader comparing commits (compare's
    environment, calibrate, history) tells a modified tree from its clean commit. All None outside a checkout.
    """
    repo = repo or checkout()
    head = _git(repo, "rev-parse", "--short", "HEAD") if repo else None
    if repo is None or head is None:
        return {"git_commit": None, "git_dirty": None, "git_diff_digest": None}
    commit = head.decode().strip()
    diff = _git(repo, "diff", "HEAD", "--binary", "--no-ext-diff", "--no-color")
    untracked = _git(repo, "ls-files", "--others", "--exclude-standard", "-z")
    if diff is None or untracked is None:
        return {"git_commit": commit, "git_dirty": None, "git_diff_digest": None}
    names = [n for n in untracked.split(b"\0") if n]
    if not diff and not names:
        return {"git_commit": commit, "git_dirty": False, "git_diff_digest": None}
    digest = hashlib.sha256(diff)
    for name in sorted(names):
        digest.update(b"\0" + name + b"\0")
        try:
            digest.update((repo / os.fsdecode(name)).read_bytes())
        except OSError:
            digest.update(b"(unreadable)")
    short = digest.hexdigest()[:16]
    return {"git_commit": f"{commit}-dirty-{short}", "git_dirty": True, "git_diff_digest": short}


def git_commit() -> str | None:
    """The checkout's commit, with ``-dirty-<digest>`` when the tree differs from it (``git_state``)."""
    return git_state()["git_commit"]


def environment() -> dict[str, Any]:
    """CPU, cores, OS, Python, rustc, package versions and git commit (with its dirty flag)."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "machine": platform.machine(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "rustc": _command_version(["rustc", "--version"]),
        "packages": versions,
        **git_state(),
        "load_average": list(load) if load else None,
    }
