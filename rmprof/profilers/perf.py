"""perf: cpu-clock samples with DWARF call graphs, parsed from `perf script` text.

On the binary runtimes perf runs rmprof-runtime (here); on the in-process ones it runs the profiled Python child
with CPython's perf support, so Python and native frames share one stack (rmprof/profilers/perf_inprocess.py).
The helpers perf shares with callgrind and massif live in rmprof/profilers/binary_tools.py.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rmprof.profile_model import Frame, Profile
from rmprof.profilers.base import ProfileJob, Profiler, ProfilerGap, ToolStatus, malformed_output, overhead_record
from rmprof.profilers.binary_tools import (
    bash,
    binary_result,
    check_outputs,
    pipeline_args,
    require_binary,
    require_tool,
    run_logged,
    rust_name,
    script_path,
    tool_version,
)
from rmprof.profilers.native_names import ADDRESS_NAME, unknown_in
from rmprof.profilers.perf_jit import python_frame
from rmprof.profilers.process import signal_name
from rmprof.runtimes.binary import last_line

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


def parse_perf_script(text: str) -> list[PerfSample]:
    """Parse `perf script -F comm,tid,time,period,event,ip,sym,dso,srcline` text into samples."""
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
    sym = re.sub(r"\+0x[0-9a-f]+$", "", sym.strip())
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


# ---------------------------------------------------------------------------------------------------------
# The profiler


class Perf(Profiler):
    """`perf record -e cpu-clock --call-graph dwarf` on rmprof-runtime, looped to enough samples."""

    name = "perf"
    kind = "cpu"
    frequency_hz = 4000
    # Collect this much more CPU time than the sample target needs: perf's own work and timer slack
    # make the sample count come out a little lower than time x frequency.
    margin = 2.0
    max_iterations = 50_000_000

    def status(self) -> ToolStatus:
        """perf on PATH, its version, perf_event_paranoid, and whether a cpu-clock record works."""
        path = shutil.which("perf")
        if path is None:
            return ToolStatus(
                self.name, found=False, permitted=False, problem="perf not found on PATH", fix=PERF_INSTALL_FIX
            )
        version = tool_version([path, "--version"])
        if version is None:
            # Debian's /usr/bin/perf is a wrapper that fails when no perf matches the running kernel.
            return ToolStatus(
                self.name,
                found=False,
                path=path,
                permitted=False,
                problem=f"{path} --version fails (no perf for kernel {os.uname().release}?)",
                fix=PERF_INSTALL_FIX,
            )
        problem = self._record_problem(path)
        if problem is None:
            return ToolStatus(self.name, found=True, version=version, path=path)
        return ToolStatus(
            self.name,
            found=True,
            version=version,
            path=path,
            permitted=False,
            problem=problem,
            fix=self._permission_fix(),
        )

    def _record_problem(self, perf: str) -> str | None:
        """Why `perf record -e cpu-clock true` fails here, or None when it works."""
        with tempfile.TemporaryDirectory(prefix="rmprof-perf-") as tmp:
            try:
                proc = subprocess.run(
                    [perf, "record", "-q", "-e", "cpu-clock", "-o", f"{tmp}/t.data", "true"],
                    capture_output=True,
                    text=True,
                    timeout=60,
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                return f"perf record -e cpu-clock true: {exc}"
        if proc.returncode != 0:
            paranoid = read_paranoid()
            return f"perf record -e cpu-clock true failed (perf_event_paranoid={paranoid}): {last_line(proc.stderr)}"
        return None

    @staticmethod
    def _permission_fix() -> str:
        """The fix for a denied perf_event_open: the sysctl when not root, container rights when root."""
        paranoid = read_paranoid()
        if os.geteuid() != 0 and (paranoid is None or paranoid > 1):
            return "sudo sysctl kernel.perf_event_paranoid=1"
        return (
            "allow perf_event_open: in a container run with --cap-add PERFMON (or SYS_ADMIN) and a "
            "seccomp profile that permits perf_event_open; or sudo sysctl kernel.perf_event_paranoid=1"
        )

    def profile(self, job: ProfileJob) -> list[Profile]:
        """Calibrate, record with perf, check the child's outputs, and parse the samples."""
        from rmprof.runtimes import get_runtime

        if get_runtime(job.runtime).in_process:
            from rmprof.profilers.perf_inprocess import profile_in_process

            return profile_in_process(job)
        binary = require_binary(job.runtime)
        perf = require_tool("perf", PERF_INSTALL_FIX)
        record = script_path("record.sh")
        job.raw_dir.mkdir(parents=True, exist_ok=True)
        version = tool_version([perf, "--version"])

        per_iter_s, startup_s = self._calibrate(binary, job)
        iterations = self._iterations_for(job.min_samples, per_iter_s, startup_s)
        for attempt in range(3):
            job.progress(f"perf: recording {iterations} iterations of {job.scenario_name} at {self.frequency_hz} Hz")
            out_dir = job.raw_dir / f"{job.runtime}.perf"
            if out_dir.exists():
                shutil.rmtree(out_dir)
            cmd = [
                bash(),
                str(record),
                "-F",
                str(self.frequency_hz),
                "-o",
                str(out_dir),
                "--",
                str(binary),
                *pipeline_args(job, iterations),
            ]
            proc, _ = run_logged(cmd, job.raw_dir, f"{job.runtime}.perf-record", job.timeout_s, "perf")
            doc = self._record_result(binary, proc, out_dir)
            script = out_dir / "perf.script.txt"
            with malformed_output("perf script", script):
                samples = parse_perf_script(script.read_text(encoding="utf-8", errors="replace"))
                profile, stats = samples_to_profile(
                    samples, runtime=job.runtime, rate_hz=float(self.frequency_hz), tool_version=version
                )
            if profile.sample_count >= job.min_samples or attempt == 2:
                break
            # Too few samples (a busy machine, a slow start): scale the loop up and record again.
            scale = job.min_samples / max(profile.sample_count, 1) * self.margin
            iterations = min(self.max_iterations, math.ceil(iterations * scale))
        if profile.sample_count == 0:
            raise ProfilerGap(f"perf recorded no samples of rmprof-runtime (see {out_dir})", None)

        outputs_check = check_outputs(doc, job.expected_path, "perf")
        profiled_s = self._record_wall(out_dir)
        job.progress(f"perf: timing {iterations} unprofiled iterations for the overhead")
        unprofiled_proc, unprofiled_s = run_logged(
            [str(binary), *pipeline_args(job, iterations)],
            job.raw_dir,
            f"{job.runtime}.perf-unprofiled",
            job.timeout_s,
            "rmprof-runtime",
        )
        check_outputs(binary_result(binary, unprofiled_proc, "no profiler"), job.expected_path, "no profiler")
        profile.overhead = overhead_record(iterations, unprofiled_s, profiled_s)
        profile.meta = {
            "event": "cpu-clock",
            "call_graph": "dwarf",
            "frequency_hz": self.frequency_hz,
            "iterations": iterations,
            "items_per_iteration": doc.get("items"),
            "outputs_check": outputs_check,
            "binary": str(binary),
            "raw": [str(out_dir / "perf.data"), str(out_dir / "perf.script.txt")],
            **stats,
        }
        return [profile]

    def _calibrate(self, binary: Path, job: ProfileJob) -> tuple[float, float]:
        """Seconds per iteration and process start-up, timed unprofiled with --no-outputs."""
        iterations = 10
        while True:
            cmd = [str(binary), *pipeline_args(job, iterations, outputs=False)]
            proc, wall = run_logged(cmd, job.raw_dir, f"{job.runtime}.perf-calibrate", job.timeout_s, "rmprof-runtime")
            doc = binary_result(binary, proc, "calibration")
            run_s = sum(doc.get("run_ns", [])) / 1e9
            # Grow the loop until it is long enough to time (50 ms) or the whole run took long.
            if run_s >= 0.05 or wall >= 2.0 or iterations >= self.max_iterations:
                return run_s / iterations, max(wall - run_s, 0.0)
            iterations = min(self.max_iterations, iterations * 10)

    def _iterations_for(self, min_samples: int, per_iter_s: float, startup_s: float) -> int:
        """Iterations whose CPU time gives ``min_samples`` samples (with a margin) at our frequency."""
        needed_s = min_samples / self.frequency_hz * self.margin
        if per_iter_s <= 0:
            return 1000
        return max(1, min(self.max_iterations, math.ceil(max(needed_s - startup_s, 0.0) / per_iter_s)))

    @staticmethod
    def _record_result(binary: Path, proc: subprocess.CompletedProcess[str], out_dir: Path) -> dict[str, Any]:
        """The binary's JSON from the recorded run, or a gap naming what failed (pipeline or perf)."""
        # record.sh runs perf under bash, which reports a process it ran killed by signal N as exit 128 + N.
        killed = signal_name(128 - proc.returncode) if proc.returncode > 128 else None
        if killed is not None:
            raise ProfilerGap(
                f"perf record.sh exited with {proc.returncode}: a process under it was killed by {killed} "
                f"({last_line(proc.stderr)})",
                "rerun; something outside rmprof stopped it (the OOM killer, a user, a container limit)",
            )
        if proc.stdout.strip():
            doc = binary_result(binary, proc, "perf")
            if proc.returncode == 0 and (out_dir / "perf.script.txt").is_file():
                return doc
        if "perf_event_paranoid" in proc.stderr or "Permission denied" in proc.stderr:
            raise ProfilerGap(f"perf may not record here: {last_line(proc.stderr)}", Perf._permission_fix())
        raise ProfilerGap(f"perf record failed (exit {proc.returncode}): {last_line(proc.stderr)}", None)

    @staticmethod
    def _record_wall(out_dir: Path) -> float:
        """Wall seconds of `perf record` alone, as record.sh wrote them (perf script excluded)."""
        start, end = (out_dir / "record.wall").read_text(encoding="utf-8").split()
        return float(end) - float(start)


def read_paranoid() -> int | None:
    """kernel.perf_event_paranoid, or None when it cannot be read."""
    try:
        return int(PARANOID_PATH.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None
