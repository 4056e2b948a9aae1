"""perf on the in-process runtimes: the profiled Python child under `perf record`, with CPython's perf support.

The child (rmprof/profilers/profiled_loop.py) runs with ``-X perf_jit`` on Python ≥ 3.13; on 3.12 it runs with
``-X perf`` and writes the trampolines' jitdump itself (rmprof/profilers/perf_trampoline_child.py). `perf inject
--jit` gives perf the trampolines' unwinding tables, so one DWARF-unwound stack goes from ``main`` through the
Python loop into the Rust executor and back up into a PythonNode's Python function. What CPython, the child and
`perf inject` write for the child (in /tmp and the run's raw folder), and perf's build-id cache, are removed once
the samples are read.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from rmprof.profile_model import Profile
from rmprof.profilers import perf_jit, perf_trampolines, python_tools
from rmprof.profilers.base import ProfileJob, ProfilerGap, malformed_output
from rmprof.profilers.binary_tools import require_tool, tool_version
from rmprof.profilers.perf_script import PERF_INSTALL_FIX, parse_perf_script, permission_fix, samples_to_profile

# Lower than on the binary: each sample copies STACK_BYTES of stack, and Python's C stack is deep.
FREQUENCY_HZ = 1000
# Bytes of user stack copied per sample for DWARF unwinding: from a leaf in node code to `main` passes two
# evaluation loops, PyO3 and the executor (measured under 16 KiB; perf's maximum is 65528).
STACK_BYTES = 32768
SCRIPT_FIELDS = "comm,pid,tid,time,period,event,ip,sym,dso,srcline"
# On 3.12 a frame in a trampoline arena is named by its offset in the arena's object (perf_trampolines.py).
SCRIPT_FIELDS_3_12 = "comm,pid,tid,time,period,event,ip,sym,symoff,dso,srcline"
TRAMPOLINE_CHILD = "rmprof.profilers.perf_trampoline_child"


def own_jitdump() -> bool:
    """Whether the child writes the jitdump itself: Python 3.12, whose -X perf writes only a perf map."""
    return sys.version_info[:2] < perf_jit.JIT_VERSION


def profile_in_process(job: ProfileJob) -> list[Profile]:
    """Calibrate the child, run it unprofiled and under perf with the same iterations; the mixed profile."""
    why = perf_jit.unsupported_reason()
    if why is not None:
        raise ProfilerGap(f"perf on {job.runtime}: {why}", perf_jit.FIX)
    perf = require_tool("perf", PERF_INSTALL_FIX)
    job.raw_dir.mkdir(parents=True, exist_ok=True)
    job.progress(f"perf: calibrating {job.runtime}")
    cal = python_tools.calibrate(job, FREQUENCY_HZ, tag="perf.calibrate")
    iterations = cal.iterations
    unprofiled = python_tools.run_child(job, "perf.unprofiled", iterations=iterations)
    profile, profiled = _record(job, perf, iterations)
    if profile.sample_count < job.min_samples:
        # A busy machine delays samples; one longer run, scaled by what was missing, fixes that.
        scale = job.min_samples / max(profile.sample_count, 1) * python_tools.SAMPLE_MARGIN
        iterations = int(iterations * scale) + 1
        job.progress(f"perf: {profile.sample_count} samples < {job.min_samples}; {iterations} iterations")
        unprofiled = python_tools.run_child(job, "perf.unprofiled", iterations=iterations)
        profile, profiled = _record(job, perf, iterations)
    if profile.sample_count == 0:
        raise ProfilerGap(f"perf recorded no samples of {job.runtime} (see {job.raw_dir / (job.runtime + '.perf')})")
    python_tools.record_overhead(profile, unprofiled, profiled)
    profile.tool_version = tool_version([perf, "--version"])
    profile.meta["per_iteration_ns_unprofiled"] = round(unprofiled.per_iteration_ns, 1)
    return [profile]


def _record(job: ProfileJob, perf: str, iterations: int) -> tuple[Profile, python_tools.ChildReport]:
    """One recorded run of ``iterations`` loops: record, inject the trampolines, script, parse, clean up."""
    out_dir = job.raw_dir / f"{job.runtime}.perf"
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    data, jit_data, script = out_dir / "perf.data", out_dir / "perf.jit.data", out_dir / "perf.script.txt"
    report = out_dir / "report.json"
    # perf caches every object a sample touched under ~/.debug, thousands of jitted ones included: not there.
    perf_cmd = [perf, "--buildid-dir", str(out_dir / "buildid-cache")]
    jit_dir = out_dir / "jit"
    if own_jitdump():
        child = [sys.executable, "-X", "perf", "-m", TRAMPOLINE_CHILD, "--jitdump-dir", str(jit_dir)]
    else:
        child = [sys.executable, "-X", "perf_jit", "-m", python_tools.CHILD_MODULE]
    child += python_tools.child_args(job, report, iterations=iterations)
    fields = SCRIPT_FIELDS_3_12 if own_jitdump() else SCRIPT_FIELDS
    record = [*perf_cmd, "record", "-q", "-k", "1", "-e", "cpu-clock", "-F", str(FREQUENCY_HZ)]
    record += ["--call-graph", f"dwarf,{STACK_BYTES}", "-o", str(data), "--", *child]
    job.progress(f"perf: recording {iterations} iterations on {job.runtime} at {FREQUENCY_HZ} Hz")
    pids: set[int] = set()
    names: perf_trampolines.TrampolineNames | None = None
    try:
        run = python_tools.run_tool(record, timeout_s=job.timeout_s, log=out_dir / "record.log", what="perf record")
        pids |= _pids(perf_cmd, data)
        if run.returncode != 0 or not report.exists():
            python_tools.raise_if_killed(run, "perf", job.runtime)
            text = run.stderr.lower()
            if "perf_event_paranoid" in text or "permission denied" in text:
                why = python_tools.child_failure(run)
                raise ProfilerGap(f"perf may not record here: {why}", permission_fix())
            raise ProfilerGap(f"the scenario failed under perf on {job.runtime}: {python_tools.child_failure(run)}")
        child_report = python_tools.read_report(report)
        job.progress(f"perf: reading the samples of {job.runtime} (perf inject --jit, perf script)")
        _perf_step([*perf_cmd, "inject", "--jit", "-i", str(data), "-o", str(jit_data)], job, "perf inject --jit")
        with script.open("w", encoding="utf-8") as sink:
            _perf_step(
                [*perf_cmd, "script", "-i", str(jit_data), "-F", fields, "--full-source-path"],
                job,
                "perf script",
                stdout=sink,
            )
        if own_jitdump():
            names = perf_trampolines.TrampolineNames.load(jit_dir, pids)
    finally:
        for pid in pids:
            perf_jit.remove_leftovers(pid)
        shutil.rmtree(jit_dir, ignore_errors=True)  # the child's jitdump and perf inject's objects of it
        jit_data.unlink(missing_ok=True)  # it names the removed jitted objects: unreadable from now on
        shutil.rmtree(out_dir / "buildid-cache", ignore_errors=True)
    with malformed_output("perf script", script):
        samples = parse_perf_script(script.read_text(encoding="utf-8", errors="replace"), resolve=names)
        profile, stats = samples_to_profile(samples, runtime=job.runtime, rate_hz=float(FREQUENCY_HZ))
    profile.meta = {
        "event": "cpu-clock",
        "call_graph": "dwarf",
        "python_frames": "-X perf + rmprof's jitdump" if own_jitdump() else "-X perf_jit",
        "frequency_hz": FREQUENCY_HZ,
        "stack_bytes": STACK_BYTES,
        "iterations": child_report.iterations,
        "interpreter": f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}",
        **({"trampolines_uncovered": names.uncovered} if names is not None else {}),
        "raw": [str(data), str(script)],
        **stats,
    }
    return profile, child_report


def _perf_step(cmd: list[str], job: ProfileJob, what: str, stdout: Any = None) -> None:
    """Run one perf post-processing command; a gap naming it when it fails."""
    try:
        proc = subprocess.run(
            cmd,
            stdout=stdout if stdout is not None else subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            timeout=job.timeout_s,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ProfilerGap(f"{what} did not finish: {exc}") from None
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        raise ProfilerGap(f"{what} failed (exit {proc.returncode}): {lines[-1] if lines else 'no message'}")


def _pids(perf_cmd: list[str], data: Path) -> set[int]:
    """The processes sampled in ``data`` (the child; CPython named its /tmp files by this pid)."""
    if not data.is_file():
        return set()
    try:
        proc = subprocess.run(
            [*perf_cmd, "script", "-i", str(data), "-F", "pid"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return set()
    return {int(line) for line in proc.stdout.split() if line.isdigit()}
