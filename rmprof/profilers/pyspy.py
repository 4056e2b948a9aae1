"""py-spy: a sampling profiler that reads the Python interpreter's stacks from outside (ptrace).

``py-spy record --format speedscope`` runs the scenario child and samples it at a fixed rate; with
``--native`` it also unwinds the native stack, which makes the Rust frames under a PyO3 call visible.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from rmprof.exporters.speedscope import from_speedscope
from rmprof.profile_model import Profile
from rmprof.profilers import python_tools
from rmprof.profilers.base import ProfileJob, Profiler, ProfilerGap, ToolStatus
from rmprof.profilers.native_names import AddressNamer, parse_maps, rename_address_frames

# 250 Hz reaches 1,000 samples in 4 s; each sample pauses the child, so higher rates cost more overhead.
RATE_HZ = 250
PTRACE_SCOPE = Path("/proc/sys/kernel/yama/ptrace_scope")
INSTALL_FIX = "pip install py-spy (or pip install 'rmprof[profilers]')"
# Frames that belong to the Rust runtime: its crate's symbols and source files.
RUST_FRAME = re.compile(r"rmprof_runtime|rust_runtime/src|_native\.")


def ptrace_problem() -> tuple[str, str] | None:
    """Why py-spy may not attach to its child here, with the fix; None when ptrace is allowed."""
    try:
        scope = int(PTRACE_SCOPE.read_text().strip())
    except (OSError, ValueError):
        return None  # no Yama module: classic ptrace rules, and py-spy is the child's parent
    # Scope 1 allows tracing descendants, and `py-spy record -- cmd` starts the child itself.
    if scope <= 1 or (scope == 2 and os.geteuid() == 0):
        return None
    if scope == 2:
        return (
            "kernel.yama.ptrace_scope is 2: only root may ptrace",
            "run as root, or: sudo sysctl kernel.yama.ptrace_scope=1",
        )
    return ("kernel.yama.ptrace_scope is 3: ptrace is disabled until reboot", "reboot with kernel.yama.ptrace_scope=1")


class PySpy(Profiler):
    """CPU sampling of the Python runtime, and of the Rust extension with --native."""

    name = "py-spy"
    kind = "cpu"

    def status(self) -> ToolStatus:
        """Found on PATH (or beside the interpreter)? Its version, and whether ptrace is permitted."""
        path = python_tools.tool_path("py-spy")
        if path is None:
            return ToolStatus(self.name, found=False, problem="py-spy not found on PATH", fix=INSTALL_FIX)
        version = None
        try:
            out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=20, check=False)
            version = out.stdout.strip().removeprefix("py-spy").strip() or None
        except (OSError, subprocess.TimeoutExpired):
            pass
        problem = ptrace_problem()
        if problem:
            return ToolStatus(self.name, True, version, path, permitted=False, problem=problem[0], fix=problem[1])
        return ToolStatus(self.name, True, version, path)

    def profile(self, job: ProfileJob) -> list[Profile]:
        """Calibrate, run unprofiled and under ``py-spy record``, and parse the speedscope output."""
        status = self.status()
        if not status.found or not status.permitted:
            raise ProfilerGap(status.problem or "py-spy is not usable", status.fix)
        assert status.path is not None
        job.raw_dir.mkdir(parents=True, exist_ok=True)
        job.progress(f"py-spy: calibrating {job.runtime}")
        cal = python_tools.calibrate(job, RATE_HZ, tag="py-spy.calibrate")
        iterations = cal.iterations
        unprofiled = python_tools.run_child(job, "py-spy.unprofiled", iterations=iterations)
        profile, profiled = self._record(job, status.path, iterations)
        if profile.sample_count < job.min_samples:
            # A busy machine delays samples; one longer run, scaled by what was missing, fixes that.
            iterations = (
                int(iterations * job.min_samples / max(profile.sample_count, 1) * python_tools.SAMPLE_MARGIN) + 1
            )
            job.progress(f"py-spy: {profile.sample_count} samples < {job.min_samples}; {iterations} iterations")
            unprofiled = python_tools.run_child(job, "py-spy.unprofiled", iterations=iterations)
            profile, profiled = self._record(job, status.path, iterations)
        profile.tool_version = status.version
        python_tools.record_overhead(profile, unprofiled, profiled)
        profile.meta["calibrated_per_iteration_ns"] = round(cal.per_iteration_ns, 1)
        profile.meta["per_iteration_ns_unprofiled"] = round(unprofiled.per_iteration_ns, 1)
        if _native_frames(job.runtime):
            rust_frames = [f for f in profile.frames if RUST_FRAME.search(f"{f.name} {f.file or ''}")]
            profile.meta["rust_frames"] = len(rust_frames)
            if not rust_frames:
                # Without them the profile would silently show only the Python side of the call.
                raise ProfilerGap(
                    "py-spy --native recorded no Rust frames of rmprof_runtime (no symbols in the extension?)",
                    "build the extension with debug info (profile.release debug = 'line-tables-only') and unstripped",
                )
        return [profile]

    def _record(self, job: ProfileJob, exe: str, iterations: int) -> tuple[Profile, python_tools.ChildReport]:
        """One ``py-spy record`` run of ``iterations`` loops; the parsed profile and the child's report."""
        raw = job.raw_dir / f"{job.runtime}.py-spy.speedscope.json"
        report = job.raw_dir / f"{job.runtime}.py-spy.report.json"
        raw.unlink(missing_ok=True)
        report.unlink(missing_ok=True)
        cmd = [exe, "record", "--format", "speedscope", "--rate", str(RATE_HZ), "--output", str(raw)]
        if _native_frames(job.runtime):
            cmd.append("--native")
        maps = job.raw_dir / f"{job.runtime}.py-spy.maps"
        maps.unlink(missing_ok=True)
        cmd += ["--", *python_tools.child_command(job, report, iterations=iterations, maps_out=maps)]
        job.progress(f"py-spy: recording {iterations} iterations on {job.runtime} at {RATE_HZ} Hz")
        run = python_tools.run_tool(cmd, timeout_s=job.timeout_s, log=job.raw_dir / f"{job.runtime}.py-spy.log")
        if run.returncode != 0 or not report.exists():
            python_tools.raise_if_killed(run, "py-spy", job.runtime)
            text = run.stderr.lower()
            if "permission denied" in text or "operation not permitted" in text:
                raise ProfilerGap(
                    f"py-spy was denied access to the child: {python_tools.child_failure(run)}",
                    "run as root, or allow ptrace: sudo sysctl kernel.yama.ptrace_scope=0 "
                    "(in a container: --cap-add SYS_PTRACE)",
                )
            raise ProfilerGap(f"the scenario failed under py-spy on {job.runtime}: {python_tools.child_failure(run)}")
        child = python_tools.read_report(report)
        doc = python_tools.load_json(raw, "py-spy")
        try:
            profile = from_speedscope(doc, job.runtime, self.name, self.kind)
        except ValueError as exc:
            raise ProfilerGap(f"py-spy output {raw.name} is not valid speedscope: {exc}") from None
        # py-spy weighs each sample 1/rate seconds; the profile counts samples, exactly.
        if profile.unit == "seconds":
            profile.weights = [max(1.0, round(w * RATE_HZ)) for w in profile.weights]
            profile.unit = "samples"
        profile.sample_count = int(sum(profile.weights))
        # Native frames py-spy could not symbolize carry absolute addresses, different in every run (ASLR).
        renamed = rename_address_frames(profile, _namer(maps))
        if renamed:
            profile.meta["address_frames_renamed"] = renamed
        profile.rate_hz = RATE_HZ
        # py-spy writes one speedscope profile per sampled thread (idle threads are left out).
        profile.meta["thread_names"] = [p.get("name") for p in doc.get("profiles", [])]
        profile.meta["threads"] = len(profile.meta["thread_names"])
        profile.meta["iterations"] = child.iterations
        profile.meta["raw"] = raw.name
        return profile, child


def _namer(maps: Path) -> AddressNamer | None:
    """Names for the child's addresses from the memory maps it copied, None when it copied none."""
    try:
        return AddressNamer(parse_maps(maps.read_text(encoding="utf-8")))
    except OSError:
        return None  # frames are then named by their object alone: [unknown in libc.so.6]


def _native_frames(runtime: str) -> bool:
    """Whether ``runtime`` runs compiled code in the profiled process: py-spy --native shows its frames."""
    from rmprof.runtimes import get_runtime

    return get_runtime(runtime).native_frames
