"""memray: every allocation of the Python runtime's measured loop, its peak, and the stacks alive at the peak.

The profiled child's request naming ``memray_out`` (RAW.bin) wraps only the child's measured loop in
``memray.Tracker`` (Python allocators traced). ``memray run`` around the whole process also records
interpreter start-up and imports, and its high-water mark falls there: on the seed scenarios ~1.4 MB held
by compiled bytecode and module dicts, against a loop peak of 35-80 KB. The capture is then read with
memray's own reader (``memray.FileReader``) in this process.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import math
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rmprof.profile_model import Frame, Profile
from rmprof.profilers import python_tools, subset
from rmprof.profilers.base import ProfileJob, Profiler, ProfilerGap, ToolStatus

# The loop only has to reach its steady state; memray's capture grows with every allocation (~12 KB per
# iteration of the text scenario), so a quarter second of unprofiled work is plenty (memray slows the text loop ~8x).
LOOP_SECONDS = 0.25
MAX_ITERATIONS = 2000
# Under memray a run of the 200-node chain took ~8x longer, and reading the capture back about as long again.
SLOWDOWN = 16.0
FIXED_S = 3.0  # three child processes' start-up
DISK_FIX = "free disk space (or raise the file-size limit) where the run directory is, and rerun"
INSTALL_FIX = "pip install memray (or pip install 'rmprof[profilers]') into the interpreter that runs rmprof"


def _frames(stack: list[tuple[str, str, int]]) -> list[Frame]:
    """memray's (function, file, line) tuples, innermost first, as root-first Frames."""
    return [Frame(function, filename, lineno) for function, filename, lineno in reversed(stack)]


@contextlib.contextmanager
def _native_stderr() -> Iterator[list[str]]:
    """Catch what native code writes to file descriptor 2 inside the block; the list holds its lines after."""
    lines: list[str] = []
    with tempfile.TemporaryFile() as sink:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
        try:
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            lines.extend(sink.read().decode("utf-8", errors="replace").splitlines())


def profile_from_capture(path: Path, runtime: str, version: str | None) -> Profile:
    """A bytes Profile of the allocations alive at the high-water mark, with memray's totals in meta.

    ValueError for a damaged capture: memray's reader only complains on stderr ("Memray ERROR: Failed to
    process allocation record") and returns the records before the damage, which would pass for a smaller heap.
    """
    import memray

    profile = Profile(runtime=runtime, profiler="memray", kind="memory", unit="bytes")
    with _native_stderr() as complaints:
        with memray.FileReader(str(path)) as reader:
            meta = reader.metadata
            live_allocations = 0
            for record in reader.get_high_watermark_allocation_records(merge_threads=True):
                if record.size <= 0:
                    continue
                profile.add_stack(_frames(record.stack_trace()), float(record.size))
                live_allocations += record.n_allocations
        stats = memray._memray.compute_statistics(str(path), num_largest=10)
    errors = [line.strip() for line in complaints if "ERROR" in line]
    if errors:
        raise ValueError(f"the capture is damaged or truncated ({errors[0]})")
    profile.sample_count = live_allocations
    profile.tool_version = version
    profile.meta.update(
        {
            "peak_bytes": meta.peak_memory,
            "total_allocations": stats.total_num_allocations,
            "total_bytes_allocated": stats.total_memory_allocated,
            "allocations_at_peak": live_allocations,
            "python_allocator": meta.python_allocator,
            "trace_python_allocators": meta.trace_python_allocators,
            "duration_s": round((meta.end_time - meta.start_time).total_seconds(), 3),
            "top_locations_by_size": _locations(stats.top_locations_by_size),
            "top_locations_by_count": _locations(stats.top_locations_by_count),
        }
    )
    return profile


def _locations(rows: list[tuple[Any, int]]) -> list[dict[str, Any]]:
    """memray's top locations ((function, file, line), figure) as JSON-able dicts."""
    out = []
    for location, figure in rows:
        function, filename, lineno = location
        out.append({"function": function, "file": filename, "line": lineno, "value": int(figure)})
    return out


def _check_capture(path: Path, written: dict[str, Any] | None, stderr: str) -> None:
    """A gap unless ``path`` is whole: memray wrote all of it (a full disk makes it stop tracking and say so
    on the child's stderr) and it is still what the child wrote (size and SHA-256 from the child's report)."""
    complaints = [line.strip() for line in stderr.splitlines() if "Memray ERROR" in line]
    if complaints:
        raise ProfilerGap(f"memray could not write the whole capture {path.name}: {complaints[0]}", DISK_FIX)
    if written is None:
        raise ProfilerGap(f"the memray-recorded child could not read back its capture {path.name}", DISK_FIX)
    data = path.read_bytes()
    if len(data) != written.get("bytes") or hashlib.sha256(data).hexdigest() != written.get("sha256"):
        raise ProfilerGap(
            f"memray capture {path.name} is not the file the child wrote ({len(data)} bytes, written "
            f"{written.get('bytes')}): truncated or overwritten since",
            "rerun; nothing else may write into the run directory meanwhile",
        )


class Memray(Profiler):
    """Allocations and peak memory of the Python runtime."""

    name = "memray"
    kind = "memory"

    def status(self) -> ToolStatus:
        """Importable by this interpreter (it records the child and reads the capture here)?"""
        if importlib.util.find_spec("memray") is None:
            problem = f"memray is not installed for {sys.executable}"
            return ToolStatus(self.name, False, problem=problem, fix=INSTALL_FIX)
        if not sys.platform.startswith(("linux", "darwin")):
            return ToolStatus(self.name, False, problem="memray runs on Linux and macOS only", fix="use Linux or macOS")
        try:
            version = importlib.metadata.version("memray")
        except importlib.metadata.PackageNotFoundError:
            version = None
        return ToolStatus(self.name, True, version, path=f"{sys.executable} -m memray")

    def profile(self, job: ProfileJob) -> list[Profile]:
        """Run the child with its loop under memray's Tracker (and unprofiled, for the overhead); read the capture."""
        status = self.status()
        if not status.found:
            raise ProfilerGap(status.problem or "memray is not usable", status.fix)
        job.raw_dir.mkdir(parents=True, exist_ok=True)
        if job.run_s is not None:
            per_iteration_ns = job.run_s * 1e9  # the bench timed it: no calibration child
        else:
            job.progress(f"memray: calibrating {job.runtime}")
            probe = python_tools.run_child(job, "memray.calibrate", seconds=python_tools.CALIBRATION_SECONDS)
            per_iteration_ns = probe.per_iteration_ns
        iterations = max(1, min(MAX_ITERATIONS, math.ceil(LOOP_SECONDS * 1e9 / max(per_iteration_ns, 1.0))))
        # A run longer than the loop needs is cut to the first items (said in meta["budget"] and the report).
        choice = subset.choose(job, iterations, subset.room(job, SLOWDOWN, FIXED_S, cap_s=LOOP_SECONDS))
        whole_job, job = job, subset.apply(job, choice, "memray")
        iterations = choice.iterations
        if choice.reason:
            whole_job.progress(f"memray: {choice.reason}")
        unprofiled = python_tools.run_child(job, "memray.unprofiled", iterations=iterations)

        raw = job.raw_dir / f"{job.runtime}.memray.bin"
        report = job.raw_dir / f"{job.runtime}.memray.report.json"
        raw.unlink(missing_ok=True)
        report.unlink(missing_ok=True)
        cmd = python_tools.child_command(job, report, iterations=iterations, memray_out=raw)
        job.progress(f"memray: recording {iterations} iterations on {job.runtime}")
        run = python_tools.run_tool(cmd, timeout_s=job.timeout_s, log=job.raw_dir / f"{job.runtime}.memray.log")
        if run.returncode != 0 or not report.exists():
            python_tools.raise_if_killed(run, "the memray-recorded child", job.runtime)
            raise ProfilerGap(f"the scenario failed under memray on {job.runtime}: {python_tools.child_failure(run)}")
        if not raw.exists():
            raise ProfilerGap(f"memray wrote no capture {raw.name}")
        profiled = python_tools.read_report(report)
        _check_capture(raw, profiled.capture, run.stderr)
        try:
            profile = profile_from_capture(raw, job.runtime, status.version)
        except (OSError, RuntimeError, ValueError) as exc:
            raise ProfilerGap(f"memray capture {raw.name} is unreadable: {exc}") from None
        if not profile.stacks:
            raise ProfilerGap(f"memray recorded no live allocation at the peak in {raw.name}")
        python_tools.record_overhead(profile, unprofiled, profiled)
        profile.meta["iterations"] = profiled.iterations
        profile.meta["budget"] = choice.to_json()
        profile.meta["raw"] = raw.name
        # What the figures cover: a reader comparing them with RSS or cold-start memory must know.
        profile.meta["scope"] = "measured loop (memray.Tracker; start-up, imports and preparation excluded)"
        return [profile]
