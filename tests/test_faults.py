"""Fault injection with real processes (issue 14, item 5).

- A profiler killed with SIGKILL mid-recording is a gap with its reason, in results.json and the report, and
  the other profilers of the same `rmprof profile` complete.
- A profiler whose output file is truncated, garbage or mangled is a gap naming the file, never a crash and
  never a quietly partial profile.
- A runtime binary that fails mid-run is a one-line error carrying its stderr's last line (exit 2), in
  `rmprof run`, `rmprof bench` and `rmprof profile`; nothing is left half-written.
- `rmprof bench -o` and `rmprof compare --out` leave no half-written output on an interrupt or an error.

Faults are injected from outside: stand-ins first on PATH or named by RMPROF_RUNTIME_BIN (tests/fault_tools.py),
real signals sent by the test, resource limits; production code runs unchanged.
"""

from __future__ import annotations

import html
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rmprof.profilers import get_profiler, python_tools
from rmprof.profilers.run_all import run_profilers
from rmprof.runtimes.binary import ENV_VAR, find_binary
from rmprof.scenarios import get_scenario
from tests.conftest import REPO
from tests.fault_tools import (
    corrupt_file,
    install_module_stand_in,
    install_stand_in,
    kill_when_seen,
)

PANIC = "thread 'main' panicked at src/executor.rs:1:1: injected fault"
# A short bench before the profilers: the faults under test come after it.
QUICK = ["--rounds", "2", "-n", "4"]


def ready(*profilers: str) -> None:
    """Skip unless every profiler named can run here (in CI a missing one fails)."""
    for name in profilers:
        status = get_profiler(name).status()
        if not (status.found and status.permitted):
            if os.environ.get("CI"):
                pytest.fail(f"CI: {name}: {status.problem}")
            pytest.skip(f"{name}: {status.problem}")


def rmprof_env(**extra: str) -> dict[str, str]:
    """The environment for `python -m rmprof` from this checkout, plus ``extra``."""
    pythonpath = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": pythonpath, **extra}


def rmprof(*args: str, env: dict[str, str] | None = None, **popen: Any) -> subprocess.Popen[str]:
    """``python -m rmprof ARGS`` started in the background (stdout and stderr piped)."""
    return subprocess.Popen(
        [sys.executable, "-m", "rmprof", *args],
        cwd=REPO,
        env=env or rmprof_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def finished(proc: subprocess.Popen[str], timeout: float = 600) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of ``proc`` once it ends."""
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def one_line_error(code: int, err: str) -> None:
    """rmprof's way to fail: exit 2, one `rmprof: error:` line, no traceback."""
    assert code == 2, err
    assert err.startswith("rmprof: error:") and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err


def gaps_and_report(run_dir: Path) -> tuple[dict[str, Any], str]:
    """results.json and report.html of a completed run."""
    results = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    return results, (run_dir / "report.html").read_text(encoding="utf-8")


# ---------------------------------------------------------------------------------------------------------
# A profiler killed mid-recording


def _tool(name: str) -> Callable[[list[str]], bool]:
    """Matches the command line of profiler ``name`` recording (not its version or permission checks)."""

    def match(args: list[str]) -> bool:
        exe = Path(args[0]).name
        if name == "py-spy":
            return exe == "py-spy" and "record" in args
        if name == "perf":
            return exe == "perf" and args[1:2] == ["record"] and "--call-graph" in args
        if name in ("callgrind", "massif"):
            return f"--tool={name}" in args and not any(a.endswith("=/dev/null") for a in args)
        if name == "scalene":
            return args[1:4] == ["-m", "scalene", "run"]
        return name == "memray" and "--memray-out" in args

    return match


# (victim, runtime, the profilers run, seconds from the victim's start to the kill): each victim runs beside a
# fast profiler that must still complete. py-spy and scalene record for several seconds, the others for less.
KILLS = [
    ("py-spy", "python", ["py-spy", "memray"], 1.0),
    ("scalene", "python", ["scalene", "memray"], 1.5),
    ("memray", "python", ["memray", "py-spy"], 0.3),
    ("perf", "rust-bin", ["perf", "massif"], 0.2),
    ("callgrind", "rust-bin", ["callgrind", "massif"], 0.1),
    ("massif", "rust-bin", ["massif", "callgrind"], 0.1),
]


@pytest.mark.slow
@pytest.mark.parametrize(("victim", "runtime", "profilers", "after_s"), KILLS, ids=[k[0] for k in KILLS])
def test_a_profiler_killed_mid_recording_is_a_gap_and_the_others_complete(
    victim: str, runtime: str, profilers: list[str], after_s: float, tmp_path: Path
) -> None:
    ready(*profilers)
    out = tmp_path / "run"
    chosen = [arg for name in profilers for arg in ("-p", name)]
    proc = rmprof("profile", "-s", "simple", "-r", runtime, *chosen, *QUICK, "-q", "--out", str(out))
    kill_when_seen(proc, _tool(victim), after_s)
    code, _, err = finished(proc)
    assert code == 0, err
    results, report = gaps_and_report(out)
    gaps = [g for g in results["gaps"] if g["profiler"] == victim]
    assert len(gaps) == 1 and "SIGKILL" in gaps[0]["reason"], results["gaps"]
    assert gaps[0]["runtime"] == runtime
    assert gaps[0]["reason"] in html.unescape(report)
    survivors = {p["profiler"] for p in results["profiles"]}
    assert survivors == set(profilers) - {victim}, results["gaps"]


# ---------------------------------------------------------------------------------------------------------
# A profiler writing a truncated or garbage output file


def _break_memray(monkeypatch: pytest.MonkeyPatch, fault: str) -> None:
    """memray's capture is written by the profiled child itself (no tool on PATH to stand in for): break it
    in this process, right after the real child wrote it."""
    real = python_tools.run_tool

    def run_tool(cmd: list[str], **kwargs: Any) -> python_tools.ToolRun:
        run = real(cmd, **kwargs)
        if "--memray-out" in cmd:
            corrupt_file(Path(cmd[cmd.index("--memray-out") + 1]), fault)
        return run

    monkeypatch.setattr(python_tools, "run_tool", run_tool)


def _inject(profiler: str, fault: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Put a stand-in for ``profiler``'s tool first on PATH (or PYTHONPATH) that breaks its output by ``fault``."""
    if profiler == "memray":
        _break_memray(monkeypatch, fault)
    elif profiler == "scalene":
        shadow = install_module_stand_in(tmp_path / "shadow", "scalene", fault)
        monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(shadow), os.environ.get("PYTHONPATH")])))
        monkeypatch.syspath_prepend(str(shadow))
    else:
        tool = {"callgrind": "valgrind", "massif": "valgrind"}.get(profiler, profiler)
        real = python_tools.tool_path(tool)
        assert real is not None, tool
        install_stand_in(tmp_path / "bin", tool, real, fault)
        monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")


# (profiler, runtime, the raw file it parses): each is broken every way that makes sense for its format.
BROKEN = [
    ("py-spy", "python", "python.py-spy.speedscope.json", ["truncate", "garbage", "json"]),
    ("scalene", "python", "python.scalene.json", ["truncate", "garbage", "json"]),
    ("memray", "python", "python.memray.bin", ["truncate", "garbage"]),
    ("perf", "rust-bin", "perf.script.txt", ["truncate", "garbage", "mangle"]),
    ("callgrind", "rust-bin", "rust-bin.callgrind.out", ["truncate", "garbage", "mangle"]),
    ("massif", "rust-bin", "rust-bin.massif.out", ["truncate", "garbage", "mangle"]),
]
BROKEN_CASES = [(p, r, f, fault) for p, r, f, faults in BROKEN for fault in faults]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("profiler", "runtime", "raw", "fault"), BROKEN_CASES, ids=[f"{c[0]}-{c[3]}" for c in BROKEN_CASES]
)
def test_a_broken_output_file_is_a_gap_naming_it(
    profiler: str, runtime: str, raw: str, fault: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Truncated, garbage, mangled (digits turned to letters) or wrongly shaped output: a gap that names the
    file; never a crash, an 'unexpected error', or a profile quietly made of what was left."""
    ready(profiler)
    if runtime == "rust-bin":
        monkeypatch.setenv(ENV_VAR, str(find_binary()))
    _inject(profiler, fault, tmp_path, monkeypatch)
    result = run_profilers(get_scenario("simple"), [runtime], [profiler], tmp_path / "run", min_samples=200)
    assert result["profiles"] == [], "a profile was made from a broken file"
    [gap] = result["gaps"]
    assert gap["profiler"] == profiler and raw in gap["reason"], gap
    assert "unexpected error" not in gap["reason"], gap
