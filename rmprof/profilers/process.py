"""The one way profilers run a tool: its own process group, a deadline, and nothing left behind.

Every profiler (py-spy, scalene and memray over the Python child; perf and valgrind over the binaries, through
their wrapper scripts) starts its tool here. The tool gets a session of its own so that on a timeout or an
interrupt the tool *and* everything it started (the profiled child, perf record, valgrind) are killed together:
killing only the direct child would leave the rest running, and no terminal signal reaches a new session.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from rmprof.profilers.base import ProfilerGap

TIMEOUT_FIX = "raise the profiling timeout or profile a smaller scenario"


@dataclass
class ToolRun:
    """A finished tool process: exit code, captured output, wall time."""

    returncode: int
    stdout: str
    stderr: str
    wall_seconds: float


def run_process(
    cmd: list[str],
    *,
    timeout_s: float,
    what: str = "",
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> ToolRun:
    """Run ``cmd`` (an argument list) in a process group of its own; a gap when it cannot start or times out."""
    what = what or Path(cmd[0]).name
    start = time.perf_counter()
    try:
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env=env,
            text=True,
            errors="replace",
            start_new_session=True,
            cwd=cwd,
        )
    except OSError as exc:
        raise ProfilerGap(f"{what} could not be started: {exc}", f"check that {cmd[0]} is installed") from None
    # The pipes are read in a thread so that this one sees the tool itself end: the pipes stay open as long as
    # anything the tool started holds them, and a tool killed by a signal leaves its child running otherwise.
    output: dict[str, tuple[str, str]] = {}
    reader = threading.Thread(target=lambda: output.setdefault("out", proc.communicate()), daemon=True)
    reader.start()
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        reader.join()
        raise ProfilerGap(f"{what} timed out after {timeout_s:.0f} s", TIMEOUT_FIX) from None
    except BaseException:
        # Interrupted (Ctrl-C, SIGTERM): stop the whole group before rmprof goes.
        kill_group(proc)
        proc.wait()
        raise
    if proc.returncode < 0:
        kill_group(proc)  # the tool died of a signal: what it started (the profiled child) goes with it
    reader.join(timeout=timeout_s)
    if reader.is_alive():  # something the tool left behind holds its pipes open: stop it
        kill_group(proc)
        reader.join()
    stdout, stderr = output.get("out", ("", ""))
    return ToolRun(proc.returncode, stdout, stderr, time.perf_counter() - start)


def kill_group(proc: subprocess.Popen[str]) -> None:
    """Kill the process group started for ``proc`` (a tool and whatever it started)."""
    with contextlib.suppress(ProcessLookupError):  # it may have exited on its own meanwhile
        os.killpg(proc.pid, signal.SIGKILL)
