"""Finding and running the standalone Rust binary ``rmprof-runtime``."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from rmprof.errors import ChildFailed, InputError, ManifestError, PipelineError, RuntimeUnavailable

BINARY_NAME = "rmprof-runtime"
ENV_VAR = "RMPROF_RUNTIME_BIN"


def candidate_paths() -> list[Path]:
    """Where the binary is looked for, in order."""
    paths = []
    if os.environ.get(ENV_VAR):
        paths.append(Path(os.environ[ENV_VAR]))
    found = shutil.which(BINARY_NAME)
    if found:
        paths.append(Path(found))
    paths.append(Path(sys.executable).parent / BINARY_NAME)
    repo = Path(__file__).resolve().parents[2]
    for target in (os.environ.get("CARGO_TARGET_DIR"), repo / "rust_runtime" / "target", repo / "target"):
        if target:
            paths.append(Path(target) / "release" / BINARY_NAME)
    return paths


def find_binary() -> Path:
    """The first executable candidate, or RuntimeUnavailable listing where it looked."""
    paths = candidate_paths()
    for path in paths:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    looked = ", ".join(str(p) for p in paths)
    raise RuntimeUnavailable(
        f"{BINARY_NAME} not found (looked in: {looked}); build it with ./scripts/setup.sh or set {ENV_VAR}"
    )


def run_binary(args: list[str], timeout: float = 600.0) -> dict[str, Any]:
    """Run the binary with ``args``; return its JSON, or raise the error it reported."""
    binary = find_binary()
    try:
        proc = subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ChildFailed(f"{binary} did not finish within {timeout:.0f} s") from None
    return parse_binary_output(binary, proc.returncode, proc.stdout, proc.stderr)


def parse_binary_output(binary: Path, returncode: int, stdout: str, stderr: str) -> dict[str, Any]:
    """Turn the binary's exit code and JSON into a result or the matching rmprof error."""
    if returncode < 0:
        name = signal.Signals(-returncode).name
        raise ChildFailed(f"{binary} was killed by {name}: {_last_line(stderr)}")
    try:
        doc = json.loads(stdout)
    except json.JSONDecodeError:
        raise ChildFailed(f"{binary} exited with {returncode} without JSON output: {_last_line(stderr)}") from None
    if "error" in doc:
        err = doc["error"]
        kind, message = err.get("kind"), err.get("message", "")
        if kind == "runtime":
            raise PipelineError(message, node=err.get("node"), item=err.get("item"))
        if kind == "manifest":
            raise ManifestError(message)
        if kind == "input":
            raise InputError(message)
        raise ChildFailed(f"{binary}: {message}")
    if returncode != 0:
        raise ChildFailed(f"{binary} exited with {returncode}: {_last_line(stderr)}")
    return doc


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "(no output on stderr)"
