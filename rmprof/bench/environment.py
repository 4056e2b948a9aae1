"""What machine and software a measurement ran on."""

from __future__ import annotations

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


def git_commit() -> str | None:
    """The commit of the rmprof checkout: the one it runs from, or the working folder when it is one.

    An installed rmprof (site-packages) has no .git; run from its checkout, as the README does, the working
    folder tells which commit was built.
    """
    for repo in (Path(__file__).resolve().parents[2], Path.cwd()):
        if (repo / ".git").exists() and (repo / "rmprof" / "cli.py").is_file():
            return _command_version(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"])
    return None


def environment() -> dict[str, Any]:
    """CPU, cores, OS, Python, rustc, package versions and git commit."""
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
        "git_commit": git_commit(),
        "load_average": list(load) if load else None,
    }
