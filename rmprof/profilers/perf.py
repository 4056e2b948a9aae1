"""perf: cpu-clock samples with DWARF call graphs, parsed from `perf script` text.

On the binary runtimes perf runs rmprof-runtime (here); on the in-process ones it runs the profiled Python child
with CPython's perf support, so Python and native frames share one stack (rmprof/profilers/perf_inprocess.py).
The helpers perf shares with callgrind and massif live in rmprof/profilers/binary_tools.py.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from rmprof.child_failure import child_failed, last_line, signal_name
from rmprof.profile_model import Profile
from rmprof.profilers.base import ProfileJob, Profiler, ProfilerGap, ToolStatus, malformed_output, overhead_record
from rmprof.profilers.binary_tools import (
    bash,
    binary_result,
    check_outputs,
    pipeline_args,
    require_binary,
    require_tool,
    run_logged,
    script_path,
    tool_version,
)
from rmprof.profilers.perf_script import (
    PERF_INSTALL_FIX,
    parse_perf_script,
    permission_fix,
    read_paranoid,
    samples_to_profile,
)

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
        """The fix for a denied perf_event_open (rmprof/profilers/perf_script.py)."""
        return permission_fix()

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
        raise ProfilerGap(child_failed("perf record", proc.returncode, proc.stderr), None)

    @staticmethod
    def _record_wall(out_dir: Path) -> float:
        """Wall seconds of `perf record` alone, as record.sh wrote them (perf script excluded)."""
        start, end = (out_dir / "record.wall").read_text(encoding="utf-8").split()
        return float(end) - float(start)
