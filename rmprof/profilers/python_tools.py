"""What the Python-side profilers share: the child command, calibration, running a tool, overhead.

Every profiler runs ``python -m rmprof.profilers.profiled_loop`` (the scenario in a loop) under its tool. The loop
is calibrated first, unprofiled, so that the profiled loop lasts long enough for ``job.min_samples``
samples; the same iteration count is then run unprofiled once more so that the profiler's overhead is a
ratio of two loops of equal work.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rmprof
from rmprof.child_failure import failure_reason, signal_name
from rmprof.child_protocol import read_answer_file, request_args
from rmprof.errors import ChildFailed
from rmprof.profile_model import Profile
from rmprof.profilers.base import ProfileJob, ProfilerGap, overhead_record
from rmprof.profilers.process import ToolRun, run_process

# The calibration run is short: it only needs a per-iteration time good to ~20 %.
CALIBRATION_SECONDS = 0.4
# Aim above the minimum: sampling profilers lose a few samples to scheduling on a busy 2-core machine.
SAMPLE_MARGIN = 1.3
CHILD_MODULE = "rmprof.profilers.profiled_loop"
# Where pip puts a tool's executable when rmprof runs from an unactivated venv (bin/ not on PATH).
EXTRA_TOOL_DIRS: list[Path] = [Path(sys.executable).parent]


@dataclass
class ChildReport:
    """What the child wrote after its loop."""

    iterations: int
    loop_seconds: float
    per_iteration_ns: float
    correct: bool | None
    # memray's capture as the child wrote it: {"bytes", "sha256"}.
    capture: dict[str, Any] | None = None


def tool_path(name: str) -> str | None:
    """The executable ``name`` on PATH, else in EXTRA_TOOL_DIRS (a venv's bin, where pip puts it)."""
    found = shutil.which(name)
    if found:
        return found
    for folder in EXTRA_TOOL_DIRS:
        candidate = folder / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def package_parent() -> Path:
    """The folder holding the rmprof package this process imported (site-packages or a checkout)."""
    return Path(rmprof.__file__).resolve().parent.parent


def child_env() -> dict[str, str]:
    """The environment for the child: rmprof importable even when it is not installed (a source tree)."""
    env = dict(os.environ)
    parts = [str(package_parent())] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(parts))
    # Python output unbuffered: a crashing child's last stderr line must reach the log.
    env["PYTHONUNBUFFERED"] = "1"
    return env


def child_args(
    job: ProfileJob,
    report: Path,
    *,
    iterations: int | None = None,
    seconds: float | None = None,
    memray_out: Path | None = None,
    maps_out: Path | None = None,
) -> list[str]:
    """Write the child's request (rmprof/child_protocol.py) beside ``report``, the file it answers in; the
    arguments naming it, which follow ``-m rmprof.profilers.profiled_loop`` (what a tool appends to its own)."""
    request = {
        "manifest": str(job.manifest_path),
        "input": str(job.input_path),
        "runtime": job.runtime,
        "expected": None if job.expected_path is None else str(job.expected_path),
        **({"iterations": iterations} if iterations is not None else {"seconds": seconds}),
        "answer_file": str(report),
        "memray_out": None if memray_out is None else str(memray_out),
        "maps_out": None if maps_out is None else str(maps_out),
    }
    return request_args(report.with_suffix(".request.json"), request)


def child_command(job: ProfileJob, report: Path, **request: Any) -> list[str]:
    """The full unprofiled child command line, its request written as ``child_args(job, report, **request)``
    writes it."""
    return [sys.executable, "-m", CHILD_MODULE, *child_args(job, report, **request)]


def run_tool(cmd: list[str], *, timeout_s: float, log: Path | None = None, what: str = "") -> ToolRun:
    """Run ``cmd`` with a timeout in the child's environment; its output goes to ``log`` too. Raises ProfilerGap."""
    try:
        # `python -m` puts the working folder first on sys.path: running in the package's parent makes the
        # child import the same rmprof as this process, not a checkout that happens to be the cwd.
        run = run_process(cmd, timeout_s=timeout_s, what=what, env=child_env(), cwd=package_parent())
    except ProfilerGap:
        _write_log(log, cmd, None, "", "")
        raise
    _write_log(log, cmd, run.returncode, run.stdout, run.stderr)
    return run


def _write_log(log: Path | None, cmd: list[str], code: int | None, stdout: str, stderr: str) -> None:
    """Keep what the tool printed beside its raw output: the first place to look when it failed."""
    if log is None:
        return
    log.parent.mkdir(parents=True, exist_ok=True)
    status = "did not finish (timed out or could not start)" if code is None else f"exit code {code}"
    log.write_text(
        f"$ {' '.join(cmd)}\n# {status}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}", encoding="utf-8"
    )


def raise_if_killed(run: ToolRun, what: str, runtime: str) -> None:
    """A gap when ``what`` (a tool, or the child it profiled) was killed by a signal: whatever it wrote is
    incomplete, and its stderr only shows what it printed before the kill."""
    name = signal_name(run.returncode)
    if name is not None:
        raise ProfilerGap(
            f"{what} was killed by {name} while profiling {runtime}",
            "rerun; something outside rmprof stopped it (the OOM killer, a user, a container limit)",
        )


def child_failure(run: ToolRun) -> str:
    """The one-line reason a child (possibly under a tool) failed, from its stderr (child_failure.py)."""
    return failure_reason(run.returncode, run.stderr)


def read_report(path: Path) -> ChildReport:
    """The child's report (its answer file), or ProfilerGap when it is missing or unreadable."""
    try:
        doc = read_answer_file(path, "the scenario child")
    except ChildFailed as exc:
        raise ProfilerGap(exc.message) from None
    try:
        return ChildReport(
            iterations=int(doc["iterations"]),
            loop_seconds=float(doc["loop_seconds"]),
            per_iteration_ns=float(doc["per_iteration_ns"]),
            correct=doc.get("correct"),
            capture=doc.get("capture"),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ProfilerGap(f"the scenario child wrote no usable report ({exc!r} in {path.name})") from None


def run_child(job: ProfileJob, tag: str, *, iterations: int | None = None, seconds: float | None = None) -> ChildReport:
    """Run the child unprofiled; its report, or ProfilerGap naming why it failed."""
    report = job.raw_dir / f"{job.runtime}.{tag}.report.json"
    report.unlink(missing_ok=True)
    cmd = child_command(job, report, iterations=iterations, seconds=seconds)
    run = run_tool(cmd, timeout_s=job.timeout_s, log=job.raw_dir / f"{job.runtime}.{tag}.log", what="scenario child")
    if run.returncode != 0:
        raise ProfilerGap(f"the scenario failed on {job.runtime}: {child_failure(run)}")
    return read_report(report)


@dataclass
class Calibration:
    """How many iterations the profiled loop needs, from an unprofiled run."""

    per_iteration_ns: float
    iterations: int
    target_seconds: float


def calibrate(
    job: ProfileJob, rate_hz: float, *, min_seconds: float = 1.0, max_seconds: float = 60.0, tag: str = "calibrate"
) -> Calibration:
    """Iterations for a loop lasting ≥ min_samples / rate_hz (with a margin), within [min_s, max_s]. The
    bench's run time (``job.run_s``) stands in for the calibration child when known: for a run of seconds, the
    child's warm-up and one iteration would cost as much as the profile."""
    if job.run_s is not None and job.run_s > 0:
        per_iteration_ns = job.run_s * 1e9
    else:
        per_iteration_ns = run_child(job, tag, seconds=CALIBRATION_SECONDS).per_iteration_ns
    target = min(max(job.min_samples / rate_hz * SAMPLE_MARGIN, min_seconds), max_seconds)
    per_iter_s = max(per_iteration_ns, 1.0) / 1e9
    iterations = max(1, math.ceil(target / per_iter_s))
    return Calibration(per_iteration_ns, iterations, target)


def record_overhead(profile: Profile, unprofiled: ChildReport, profiled: ChildReport) -> None:
    """Set ``profile.overhead`` to the ratio of the profiled and unprofiled loops (same iteration count)."""
    if unprofiled.iterations != profiled.iterations:
        raise ValueError("overhead needs two loops of the same iteration count")
    profile.overhead = overhead_record(profiled.iterations, unprofiled.loop_seconds, profiled.loop_seconds)


def load_json(path: Path, what: str) -> Any:
    """A tool's JSON output, or ProfilerGap naming the file when it is missing or broken."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProfilerGap(f"{what} wrote no output file {path.name}") from None
    except (OSError, ValueError) as exc:
        raise ProfilerGap(f"{what} output {path.name} is unreadable: {exc}") from None
