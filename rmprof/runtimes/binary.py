"""Finding and running the standalone Rust binary ``rmprof-runtime``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rmprof.child_failure import child_failed
from rmprof.errors import ChildFailed, InputError, ManifestError, PipelineError, RmprofError, RuntimeUnavailable

if TYPE_CHECKING:
    from rmprof.model.node_timing import NodeTiming

BINARY_NAME = "rmprof-runtime"
ENV_VAR = "RMPROF_RUNTIME_BIN"
# The same binary with the RustPython VM for PythonNode (cargo feature `rustpython`).
RUSTPYTHON_BINARY_NAME = "rmprof-runtime-rustpython"
RUSTPYTHON_ENV_VAR = "RMPROF_RUSTPYTHON_BIN"
ENV_VARS = {BINARY_NAME: ENV_VAR, RUSTPYTHON_BINARY_NAME: RUSTPYTHON_ENV_VAR}
# How each binary is built: the RustPython one (a long build) only on request.
BUILD_COMMANDS = {BINARY_NAME: "./scripts/setup.sh", RUSTPYTHON_BINARY_NAME: "./scripts/setup.sh --rustpython"}
RUSTPYTHON_FIX = (
    "build the RustPython runtimes: ./scripts/setup.sh --rustpython (rmprof-runtime-rustpython and "
    "rmprof._native_rustpython; about 8 minutes the first time)"
)


# Where a binary was found (``binary_source``), as results.json and `rmprof doctor` name it.
FROM_INTERPRETER = "next to interpreter"
FROM_PATH = "PATH"
FROM_CARGO = "cargo target"


def candidate_paths(name: str = BINARY_NAME, env_var: str | None = None) -> list[Path]:
    """Where the binary ``name`` is looked for, in order: the environment variable ``env_var``, the folder of
    the running interpreter (the build installed with this rmprof), PATH, then cargo's target folders.

    The interpreter's folder comes before PATH: another checkout's venv on PATH holds another build, and
    measuring it beside this checkout's extension would compare two builds without a word.
    """
    paths = []
    env_var = env_var or ENV_VARS.get(name, ENV_VAR)
    if os.environ.get(env_var):
        paths.append(Path(os.environ[env_var]))
    paths.append(Path(sys.executable).parent / name)
    found = shutil.which(name)
    if found:
        paths.append(Path(found))
    repo = Path(__file__).resolve().parents[2]
    default_target = Path.home() / ".cache" / "rmprof" / "cargo-target"
    for target in (
        os.environ.get("CARGO_TARGET_DIR"),
        repo / "rust_runtime" / "target",
        repo / "target",
        default_target,
    ):
        if target:
            paths.append(Path(target) / "release" / name)
    return paths


def find_binary(name: str = BINARY_NAME, env_var: str | None = None) -> Path:
    """The first executable candidate, or RuntimeUnavailable listing where it looked."""
    env_var = env_var or ENV_VARS.get(name, ENV_VAR)
    chosen = os.environ.get(env_var)
    if chosen and not (Path(chosen).is_file() and os.access(chosen, os.X_OK)):
        # The user named a build: falling back to another one would measure what they did not ask for.
        raise RuntimeUnavailable(f"{env_var}={chosen} is not an executable file; unset it to use the {name} built here")
    paths = candidate_paths(name, env_var)
    for path in paths:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    looked = ", ".join(str(p) for p in paths)
    command = BUILD_COMMANDS.get(name, "./scripts/setup.sh")
    raise RuntimeUnavailable(f"{name} not found (looked in: {looked}); build it with {command} or set {env_var}")


def binary_source(path: Path, name: str = BINARY_NAME, env_var: str | None = None) -> str:
    """Why ``path`` is the binary ``name`` in use: the environment variable's name when it chose it, else
    ``FROM_INTERPRETER``, ``FROM_PATH`` or ``FROM_CARGO`` (checked in ``candidate_paths``'s order)."""
    env_var = env_var or ENV_VARS.get(name, ENV_VAR)
    if os.environ.get(env_var) and Path(os.environ[env_var]) == path:
        return env_var
    if path == Path(sys.executable).parent / name:
        return FROM_INTERPRETER
    found = shutil.which(name)
    if found and Path(found) == path:
        return FROM_PATH
    return FROM_CARGO


# --build-info answers, per binary file as it is now (path, size, mtime): the file does not change under a bench.
_BUILD_INFO: dict[tuple[str, int, int], dict[str, Any] | None] = {}


def binary_build_info(path: Path) -> dict[str, Any] | None:
    """The build identity ``path --build-info`` prints (``rmprof_runtime::build_info``), or None for a binary
    that cannot tell (built before builds were named, or not an rmprof-runtime at all)."""
    try:
        stat = path.stat()
    except OSError:
        return None
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _BUILD_INFO:
        try:
            proc = subprocess.run([str(path), "--build-info"], capture_output=True, text=True, timeout=30)
            doc = json.loads(proc.stdout) if proc.returncode == 0 else None
        except (OSError, subprocess.TimeoutExpired, json.JSONDecodeError):
            doc = None
        _BUILD_INFO[key] = doc if isinstance(doc, dict) and isinstance(doc.get("build_id"), str) else None
    return _BUILD_INFO[key]


def run_binary(args: list[str], timeout: float | None = 600.0, name: str = BINARY_NAME) -> dict[str, Any]:
    """Run the binary ``name`` with ``args``; return its JSON, or raise the error it reported."""
    return run_binary_at(find_binary(name), args, timeout)


def run_binary_at(binary: Path, args: list[str], timeout: float | None = 600.0) -> dict[str, Any]:
    """Run the binary at ``binary`` (a saved baseline's build, say) with ``args``; its JSON or its error."""
    try:
        proc = subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ChildFailed(f"{binary} did not finish within {timeout:.0f} s") from None
    return parse_binary_output(binary, proc.returncode, proc.stdout, proc.stderr)


def run_node_timing(
    manifest: str | os.PathLike[str],
    input_path: str | os.PathLike[str],
    *,
    name: str = BINARY_NAME,
    allow_code: bool = False,
    timeout: float = 600.0,
) -> NodeTiming:
    """Run the binary ``name`` once with ``--node-timing`` over the files; return its ``"node_timing"`` document.

    The document is ``{"granularity": "chunk", "wall_ns", "nodes": [...], "edges": [...]}`` with the node
    entries of ``Prepared.run_instrumented`` and two edges: ``json_parse`` (the input file parsed into
    values; bytes: the file's) and ``json_serialize`` (the outputs written as JSON; bytes: the text's).
    Errors are raised as ``run_binary`` raises them.
    """
    args = ["--manifest", os.fspath(manifest), "--input", os.fspath(input_path), "--no-outputs", "--node-timing"]
    if allow_code:
        args.append("--allow-code")
    return run_binary(args, timeout=timeout, name=name)["node_timing"]


def parse_binary_output(binary: Path, returncode: int, stdout: str, stderr: str) -> dict[str, Any]:
    """Turn the binary's exit code and JSON into a result or the matching rmprof error."""
    if returncode < 0:
        raise ChildFailed(child_failed(str(binary), returncode, stderr))
    try:
        doc = json.loads(stdout)
    except json.JSONDecodeError:
        raise ChildFailed(child_failed(str(binary), returncode, stderr, problem=" without JSON output")) from None
    if "error" in doc:
        err = doc["error"]
        kind, message = err.get("kind"), err.get("message", "")
        if kind == "runtime":
            raise PipelineError(message, node=err.get("node"), item=err.get("item"))
        if kind == "manifest":
            raise ManifestError(message)
        if kind == "input":
            # A streamed NDJSON input also names the line at fault and what is wrong with it.
            raise InputError(message, line=err.get("line"), line_error=err.get("line_error"))
        if kind == "io":
            raise RmprofError(message)
        if kind == "refused":
            raise RmprofError(message)
        raise ChildFailed(f"{binary}: {message}")
    if returncode != 0:
        raise ChildFailed(child_failed(str(binary), returncode, stderr))
    return doc
