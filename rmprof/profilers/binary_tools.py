"""What the binary profilers (perf, callgrind, massif) share: the binary, the wrapper scripts and the tool,
running a wrapper with its output kept under ``raw_dir``, the binary's JSON as a result or a gap, the type-exact
output check, and readable Rust symbol names."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from rmprof.errors import PipelineError, RmprofError
from rmprof.profilers.base import ProfileJob, ProfilerGap
from rmprof.profilers.process import run_process
from rmprof.runtimes.binary import parse_binary_output
from rmprof.values import first_difference

SCRIPTS_DIR = Path(__file__).resolve().parents[1] / "scripts" / "perf"  # scripts/perf links here
VALGRIND_INSTALL_FIX = "install valgrind: apt-get install valgrind"


def require_binary(runtime: str) -> Path:
    """The binary a binary runtime runs (rmprof-runtime, rmprof-runtime-rustpython), or a gap saying how to build it."""
    from rmprof.runtimes import get_runtime

    rt = get_runtime(runtime)
    binary_path = getattr(rt, "binary_path", None)
    if binary_path is None:
        raise ProfilerGap(f"runtime {runtime} is not a binary: this profiler runs binaries", None)
    try:
        return binary_path()
    except RmprofError as exc:
        raise ProfilerGap(exc.message, rt.fix) from None


def require_tool(tool: str, fix: str) -> str:
    """The path of ``tool`` on PATH, or a gap with ``fix``."""
    path = shutil.which(tool)
    if path is None:
        raise ProfilerGap(f"{tool} not found on PATH", fix)
    return path


def script_path(name: str) -> Path:
    """One of the scripts/perf wrappers, or a gap when rmprof runs without its source tree."""
    path = SCRIPTS_DIR / name
    if not path.is_file():
        raise ProfilerGap(
            f"{path} not found: the rmprof installation is incomplete",
            "reinstall rmprof (./scripts/setup.sh or pip install .)",
        )
    return path


def bash() -> str:
    """The bash that runs the wrappers; an absolute fallback so that a trimmed PATH still finds it."""
    return shutil.which("bash") or "/bin/bash"


def pipeline_args(job: ProfileJob, iterations: int, outputs: bool = True) -> list[str]:
    """The binary's arguments for ``job`` and ``iterations`` runs."""
    args = ["--manifest", str(job.manifest_path), "--input", str(job.input_path), "--iterations", str(iterations)]
    # PythonNode code was allowed by the CLI (--allow-code) before any profiler runs.
    args.append("--allow-code")
    return args if outputs else [*args, "--no-outputs"]


def run_logged(
    cmd: list[str], raw_dir: Path, stem: str, timeout: float, tool: str
) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run ``cmd``, keep its stdout/stderr as raw_dir/STEM.stdout/.stderr; return it and its wall time."""
    raw_dir.mkdir(parents=True, exist_ok=True)
    run = run_process(cmd, timeout_s=timeout, what=tool)
    (raw_dir / f"{stem}.stdout").write_text(run.stdout, encoding="utf-8")
    (raw_dir / f"{stem}.stderr").write_text(run.stderr, encoding="utf-8")
    return subprocess.CompletedProcess(cmd, run.returncode, run.stdout, run.stderr), run.wall_seconds


def binary_result(binary: Path, proc: subprocess.CompletedProcess[str], tool: str) -> dict[str, Any]:
    """The binary's JSON result from a (possibly profiled) run, or a gap naming what failed."""
    try:
        return parse_binary_output(binary, proc.returncode, proc.stdout, proc.stderr)
    except PipelineError as exc:
        # The pipeline itself failed: the gap names the node and item, as the binary reported them.
        where = f" (node '{exc.node}', item {exc.item})" if exc.node is not None else ""
        raise ProfilerGap(f"the pipeline failed under {tool}{where}: {exc.message}", None) from None
    except RmprofError as exc:
        raise ProfilerGap(f"rmprof-runtime under {tool}: {exc.message}", None) from None


def check_outputs(doc: dict[str, Any], expected_path: Path | None, tool: str) -> str:
    """Check the child's printed outputs against the expected file (type-exact); return the verdict."""
    if expected_path is None:
        return "not checked (no expected output)"
    try:
        expected = json.loads(Path(expected_path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ProfilerGap(f"{expected_path}: cannot read expected output: {exc}", None) from None
    diff = first_difference(expected, doc.get("outputs"))
    if diff:
        raise ProfilerGap(f"rmprof-runtime under {tool} printed wrong outputs: {diff}", None)
    return "ok"


def tool_version(cmd: list[str]) -> str | None:
    """First line of a tool's version output, or None when it cannot run."""
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (proc.stdout or proc.stderr).strip()
    return text.splitlines()[0] if proc.returncode == 0 and text else None


_HASH = re.compile(r"::h[0-9a-f]{16}$")
_LEGACY_ESCAPES = {
    "$LT$": "<",
    "$GT$": ">",
    "$RF$": "&",
    "$BP$": "*",
    "$u20$": " ",
    "$u27$": "'",
    "$u5b$": "[",
    "$u5d$": "]",
    "$u7b$": "{",
    "$u7d$": "}",
    "$u7e$": "~",
    "$C$": ",",
    "$SP$": "@",
    "..": "::",
}


def rust_name(name: str) -> str:
    """A readable Rust symbol: legacy-mangled names demangled, the ``::h<hash>`` suffix dropped."""
    if name.startswith("_ZN") and name.endswith("E"):
        name = _demangle_legacy(name) or name
    return _HASH.sub("", name)


def _demangle_legacy(symbol: str) -> str | None:
    """Demangle a legacy Rust symbol ``_ZN<len><ident>...E`` (when the tool did not)."""
    body, parts, i = symbol[3:-1], [], 0
    while i < len(body):
        m = re.match(r"\d+", body[i:])
        if not m:
            return None
        n, i = int(m.group()), i + len(m.group())
        part = body[i : i + n]
        i += n
        if part.startswith("_$"):
            part = part[1:]
        for esc, ch in _LEGACY_ESCAPES.items():
            part = part.replace(esc, ch)
        parts.append(part)
    return "::".join(parts) if parts else None
