"""perf's shared parts: `perf script` text parsed into samples, samples into the Profile model, and what perf
needs here (its install fix, perf_event_paranoid). Both perf profilers import it: rmprof/profilers/perf.py (the
binary runtimes) and rmprof/profilers/perf_inprocess.py (the in-process ones, with CPython's perf support).
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rmprof.profile_model import Frame, Profile
from rmprof.profilers.binary_tools import rust_name
from rmprof.profilers.native_names import ADDRESS_NAME, unknown_in
from rmprof.profilers.perf_jit import python_frame

PARANOID_PATH = Path("/proc/sys/kernel/perf_event_paranoid")
PERF_INSTALL_FIX = "install perf: apt-get install linux-perf (Debian) or linux-tools-$(uname -r) (Ubuntu)"

# ---------------------------------------------------------------------------------------------------------
# perf script parsing

# "comm tid time: period event:", or "comm pid/tid ..." when the pid is asked for too.
_HEADER = re.compile(
    r"^(?P<comm>\S.*?)\s+(?:(?P<pid>\d+)/)?(?P<tid>\d+)\s+(?P<time>\d+\.\d+):\s+(?P<period>\d+)\s+(?P<event>\S+):\s*$"
)
# "<addr> <symbol> (<dso>)"; inlined frames have no dso. Symbols may contain parentheses themselves,
# so the dso is only the trailing group that starts with "/" or "[".
_FRAME = re.compile(r"^\s*(?P<addr>[0-9a-f]+)\s+(?P<sym>.+?)(?:\s+\((?P<dso>[/\[][^()]*)\))?\s*$")
_SRCLINE = re.compile(r"^\s+(?P<file>.+):(?P<line>\d+)(?P<inlined> \(inlined\))?\s*$")


@dataclass
class PerfSample:
    """One sample: the process name and its stack, leaf first, as (name, file, line) triples; ``python`` holds
    the indices (in ``frames``) of Python functions named by CPython's perf support (file = the code's file)."""

    comm: str
    period: int
    frames: list[tuple[str, str | None, int | None]]
    python: set[int] = field(default_factory=set)
    pid: int | None = None


# A frame's (function, file) when a caller knows it is a Python function perf names otherwise: Python 3.12's
# trampoline arenas (rmprof/profilers/perf_trampolines.py); it gets the symbol and the object as perf prints them.
PythonFrameResolver = Callable[[str, "str | None"], "tuple[str, str] | None"]


def parse_perf_script(text: str, resolve: PythonFrameResolver | None = None) -> list[PerfSample]:
    """Parse `perf script -F comm,tid,time,period,event,ip,sym,dso,srcline` text into samples; ``resolve``
    names the Python frames that CPython's own symbols do not."""
    samples: list[PerfSample] = []
    current: PerfSample | None = None
    for raw in text.splitlines():
        if not raw.strip():
            current = None
            continue
        if not raw.startswith((" ", "\t")):
            m = _HEADER.match(raw)
            if m:
                current = PerfSample(m["comm"], int(m["period"]), [], pid=int(m["pid"]) if m["pid"] else None)
                samples.append(current)
            continue
        if current is None:
            continue
        if raw.startswith("\t"):
            m = _FRAME.match(raw)
            if m:
                py = python_frame(m["sym"], m["dso"])
                if py is None and resolve is not None:
                    py = resolve(m["sym"], m["dso"])
                if py is not None:
                    current.python.add(len(current.frames))
                    current.frames.append((py[0], py[1], None))
                else:
                    current.frames.append((_frame_name(m["sym"], m["dso"]), None, None))
            continue
        # A srcline line (two spaces) belongs to the frame line just before it.
        src = _SRCLINE.match(raw)
        if src and current.frames and src["file"] != "??" and len(current.frames) - 1 not in current.python:
            name, _, _ = current.frames[-1]
            current.frames[-1] = (name, src["file"], int(src["line"]))
    _check_complete(text, samples)
    return samples


def _check_complete(text: str, samples: list[PerfSample]) -> None:
    """ValueError unless ``text`` is whole `perf script` output: samples, the last one ended by its newline
    (a blank line after a call chain). A cut file must not pass as a profile with fewer samples."""
    if not text.strip():
        return  # perf recorded nothing: a run too short, reported as such by the caller
    if not samples:
        raise ValueError("no sample header in it: not `perf script` output")
    if not text.endswith("\n") or (samples[-1].frames and not text.endswith("\n\n")):
        raise ValueError(f"it ends inside sample {len(samples)}: the file is truncated")


def _frame_name(sym: str, dso: str | None) -> str:
    """The frame's function name; unknown symbols name their object so they stay distinguishable, and never
    by an address, which differs between two runs of one build (ASLR)."""
    # `-F symoff` appends "+0x<offset>", before the " (inlined)" that inlined frames carry when no srcline is asked.
    sym = re.sub(r"\+0x[0-9a-f]+(?=( \(inlined\))?$)", "", sym.strip())
    if sym == "[unknown]" or ADDRESS_NAME.match(sym):
        return unknown_in(dso)
    return rust_name(sym)


def samples_to_profile(samples: list[PerfSample], runtime: str, **kwargs: Any) -> tuple[Profile, dict[str, Any]]:
    """Root-first stacks of one weight each; frames keyed by function and file (lines go to meta)."""
    profile = Profile(runtime=runtime, profiler="perf", kind="cpu", unit="samples", **kwargs)
    # One file per function: perf sometimes gives a non-inlined frame the source line of code inlined
    # into it (core's ptr/mod.rs for Op::apply), which would split one function into several boxes.
    seen: dict[str, Counter[str]] = {}
    for sample in samples:
        for i, (name, file, _) in enumerate(sample.frames):
            if file is not None and i not in sample.python:
                seen.setdefault(name, Counter())[file] += 1
    file_of = {name: files.most_common(1)[0][0] for name, files in seen.items()}
    hot_lines: Counter[tuple[str, str, int]] = Counter()
    skipped = 0
    reached_main = 0
    python_samples = 0
    for sample in samples:
        # perf-exec is perf's own child before it execs the binary: not the program's time.
        if sample.comm == "perf-exec" or not sample.frames:
            skipped += 1
            continue
        # Frames carry no line: the same function at different lines must stay one flame graph box. A Python
        # function keeps its own file: two functions of one name (`process` of two nodes) are two frames.
        last = len(sample.frames) - 1
        frames = [
            Frame(name, file if last - i in sample.python else file_of.get(name))
            for i, (name, file, _) in enumerate(reversed(sample.frames))
        ]
        profile.add_stack(frames, 1)
        if sample.python:
            python_samples += 1
        leaf_name, leaf_file, leaf_line = sample.frames[0]
        if leaf_file is not None and leaf_line is not None:
            hot_lines[(leaf_name, leaf_file, leaf_line)] += 1
        if any(name == "main" or name.endswith("::main") for name, _, _ in sample.frames):
            reached_main += 1
    profile.sample_count = len(profile.stacks)
    stats = {
        "samples_skipped": skipped,
        "stacks_reaching_main": reached_main,
        "samples_with_python_frames": python_samples,
        "top_lines": [{"name": n, "file": f, "line": ln, "samples": c} for (n, f, ln), c in hot_lines.most_common(20)],
    }
    return profile, stats


def read_paranoid() -> int | None:
    """kernel.perf_event_paranoid, or None when it cannot be read."""
    try:
        return int(PARANOID_PATH.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None


def permission_fix() -> str:
    """The fix for a denied perf_event_open: the sysctl when not root, container rights when root."""
    paranoid = read_paranoid()
    if os.geteuid() != 0 and (paranoid is None or paranoid > 1):
        return "sudo sysctl kernel.perf_event_paranoid=1"
    return (
        "allow perf_event_open: in a container run with --cap-add PERFMON (or SYS_ADMIN) and a "
        "seccomp profile that permits perf_event_open; or sudo sysctl kernel.perf_event_paranoid=1"
    )
