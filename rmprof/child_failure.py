"""How a child process that failed is worded, wherever rmprof starts one (bench children and workers, runtime
binaries, profiled children, profiler tools): which child, which command (shortened), how it ended (exit
status or signal) and the last line of its stderr, where programs put their error.

Only the last line: the messages are one line (``rmprof: error: ...``), and the lines before it are the
child's progress, not its reason (a Rust panic, a Python exception and rmprof's own children all end there).
"""

from __future__ import annotations

import signal
from collections.abc import Sequence
from pathlib import PurePath

NO_OUTPUT = "(no output)"
# rmprof's own children (rmprof/child_protocol.py) say why they stopped on a line of their own: it wins over
# whatever a tool around them printed after it.
CHILD_PREFIX = "rmprof child:"
# At most this much of a line goes into a message: a child may print a whole document on one line.
WIDTH = 300


def signal_name(returncode: int) -> str | None:
    """The signal that ended a process, from its return code (negative: killed by that signal); else None."""
    if returncode >= 0:
        return None
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def how_it_ended(returncode: int | None) -> str:
    """A process's end in words: ``exited with 3``, ``was killed by SIGKILL``, ``did not finish``."""
    if returncode is None:
        return "did not finish"
    killed = signal_name(returncode)
    return f"was killed by {killed}" if killed else f"exited with {returncode}"


def last_line(text: str) -> str:
    """The last non-empty line of ``text`` (where binaries and tools put their error), at most WIDTH long."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return _cut(lines[-1]) if lines else NO_OUTPUT


def reason_line(stderr: str) -> str:
    """Why a child stopped, from its stderr: rmprof's own child's last ``rmprof child:`` line (without the
    prefix; it wins over what a tool around the child printed after it), else the last line (last_line)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in reversed(lines):
        if line.startswith(CHILD_PREFIX):
            return _cut(line.removeprefix(CHILD_PREFIX).strip())
    return last_line(stderr)


def failure_reason(returncode: int, stderr: str) -> str:
    """The short reason a child (possibly under a tool) failed: the signal that killed it, else its
    reason_line, else its exit status."""
    killed = signal_name(returncode)
    if killed is not None:
        return f"killed by {killed}"
    return reason_line(stderr) if stderr.strip() else f"exit code {returncode}"


def short_command(cmd: Sequence[str]) -> str:
    """``cmd`` as a reader recognises it: each path by its file name, the whole at most 80 characters."""
    words = [PurePath(w).name if "/" in w and not w.startswith("-") else w for w in map(str, cmd)]
    text = " ".join(words)
    return text if len(text) <= 80 else text[:79] + "…"


def child_failed(
    what: str, returncode: int | None, stderr: str, cmd: Sequence[str] | None = None, problem: str = ""
) -> str:
    """The one-line message for a failed child: ``WHAT (COMMAND) exited with N[PROBLEM]: REASON`` (reason_line
    of its stderr); without ``cmd`` when ``what`` is the command itself (a binary's path)."""
    command = f" ({short_command(cmd)})" if cmd else ""
    return f"{what}{command} {how_it_ended(returncode)}{problem}: {reason_line(stderr)}"


def _cut(line: str) -> str:
    """A line cut to WIDTH characters, its end kept (where the error is)."""
    return line if len(line) <= WIDTH else "…" + line[-(WIDTH - 1) :]
