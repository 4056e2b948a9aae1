"""scalene: line-level CPU (Python vs native vs system time) and memory of the Python runtime.

``python -m scalene run -o OUT.json LAUNCHER --- ARGS`` profiles a script; scalene cannot run a module, so
a two-line launcher in the raw folder calls the child's ``main``. The profile has one stack per source
line: [function frame, line frame], weighted by the line's share of CPU time × elapsed time.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
import sys
from pathlib import Path
from typing import Any

import rmprof
from rmprof.analysis.categories import node_task
from rmprof.profile_model import Frame, Profile
from rmprof.profilers import python_tools
from rmprof.profilers.base import ProfileJob, Profiler, ProfilerGap, ToolStatus, malformed_output
from rmprof.profilers.process import ToolRun

# Seconds between CPU samples; 0.002 s gives ~1,000 samples in ~3 s (scalene's default 0.01 s needs 10+ s).
SAMPLING_INTERVAL_S = 0.002
# What scalene actually delivers at that interval on a 2-core VM (measured ~375/s): used for calibration.
EFFECTIVE_RATE_HZ = 350
# Scalene starts slowly and its loop need not be long: the calibrated loop is capped at a few seconds.
MAX_LOOP_S = 6.0
# The profiled loop lasts ~2x MAX_LOOP_S. Scalene now and then hangs without output (seen once in ~10 CI
# runs) or exits without a report; a bounded wait and one retry turn that into a short delay instead of a gap.
HANG_TIMEOUT_S = 60.0
ATTEMPTS = 2
INSTALL_FIX = "pip install scalene (or pip install 'rmprof[profilers]') into the interpreter that runs rmprof"
LAUNCHER = "import sys\nfrom rmprof.profilers.profiled_loop import main\nsys.exit(main())\n"
_DEF = re.compile(r"^\s*(?:async\s+)?def\s+(\w+)|^\s*class\s+(\w+)")
# The Python runtime runs each node in a copy of one task loop named `node <id> (<NodeType>)`. scalene keys
# functions by source line, which every copy shares, so the name it reports is one arbitrary node's.
SHARED_NODE_TASK = "node task (every node)"
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


def _scalene_crashed(run: ToolRun, report: Path) -> bool:
    """Scalene itself failed: an exit code without a report and without the child's own error line (the scenario
    failing says ``rmprof child: ...``; a signal from outside is not retried either). Seen once in ~25 CI runs:
    exit code 245, nothing on stderr, while 20 runs of the same job alone all passed."""
    if run.returncode <= 0 or report.exists():
        return False
    return not any(line.strip().startswith("rmprof child:") for line in run.stderr.splitlines())


def _source_text(line: str) -> str:
    """A source line as scalene stores it (with ``\\u003e``-style escapes), unescaped and stripped."""
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), line).strip()


def _shared_name(function: str) -> str:
    """A per-node copy of the task loop is every node's loop to scalene (see SHARED_NODE_TASK)."""
    return SHARED_NODE_TASK if node_task(Frame(function)) is not None else function


def _function_names(file_doc: dict[str, Any]) -> dict[int, str]:
    """Function start line -> name: scalene's function table, else the ``def`` on that line."""
    names = {int(fn["lineno"]): _shared_name(str(fn["line"])) for fn in file_doc.get("functions", [])}
    for line in file_doc.get("lines", []):
        start = int(line.get("start_function_line") or 0)
        if start and start not in names and int(line["lineno"]) == start:
            match = _DEF.match(_source_text(line.get("line", "")))
            if match:
                names[start] = match.group(1) or match.group(2)
    return names


def profile_from_scalene(doc: dict[str, Any], runtime: str, version: str | None) -> Profile:
    """A line-level Profile (milliseconds) from scalene's JSON, with its memory figures in ``meta``."""
    profile = Profile(runtime=runtime, profiler="scalene", kind="cpu", unit="milliseconds")
    elapsed_ms = float(doc.get("elapsed_time_sec") or 0.0) * 1000.0
    samples = 0
    memory_lines = []
    for filename, file_doc in (doc.get("files") or {}).items():
        names = _function_names(file_doc)
        for line in file_doc.get("lines", []):
            lineno = int(line["lineno"])
            start = int(line.get("start_function_line") or 0)
            function = names.get(start, f"<function at line {start}>") if start else "<module>"
            percent = (
                float(line.get("n_cpu_percent_python", 0))
                + float(line.get("n_cpu_percent_c", 0))
                + float(line.get("n_sys_percent", 0))
            )
            samples += len(line.get("cpu_samples_list") or [])
            if percent > 0:
                text = _source_text(line.get("line", ""))
                stack = [
                    Frame(function, filename, start or None),
                    Frame(f"{Path(filename).name}:{lineno} {text[:80]}", filename, lineno),
                ]
                profile.add_stack(stack, percent / 100.0 * elapsed_ms)
            if float(line.get("n_malloc_mb", 0)) > 0 or float(line.get("n_peak_mb", 0)) > 0:
                memory_lines.append(
                    {
                        "file": filename,
                        "line": lineno,
                        "function": function,
                        "peak_mb": round(float(line.get("n_peak_mb", 0)), 4),
                        "malloc_mb": round(float(line.get("n_malloc_mb", 0)), 4),
                        "mallocs": int(line.get("n_mallocs", 0)),
                        "avg_mb": round(float(line.get("n_avg_mb", 0)), 4),
                        "python_fraction": round(float(line.get("n_python_fraction", 0)), 4),
                    }
                )
    profile.sample_count = samples
    profile.rate_hz = 1.0 / SAMPLING_INTERVAL_S
    profile.tool_version = version
    peak_at = None
    if doc.get("max_footprint_fname"):
        peak_at = f"{doc['max_footprint_fname']}:{doc.get('max_footprint_lineno')}"
    profile.meta.update(
        {
            "elapsed_s": round(elapsed_ms / 1000.0, 4),
            "memory_profiled": bool(doc.get("memory")),
            "peak_mb": doc.get("max_footprint_mb"),
            "peak_at": peak_at,
            "peak_python_fraction": doc.get("max_footprint_python_fraction"),
            "native_allocations_mb": doc.get("native_allocations_mb"),
            "memory_lines": sorted(memory_lines, key=lambda m: -m["malloc_mb"]),
            "per_file_cpu_percent": {
                name: round(float(f.get("percent_cpu_time", 0)), 3) for name, f in (doc.get("files") or {}).items()
            },
        }
    )
    return profile


class Scalene(Profiler):
    """Line-level CPU and memory of the Python runtime."""

    name = "scalene"
    kind = "cpu"

    def status(self) -> ToolStatus:
        """Importable by this interpreter (scalene profiles in-process, so it must be the same one)?"""
        if importlib.util.find_spec("scalene") is None:
            problem = f"scalene is not installed for {sys.executable}"
            return ToolStatus(self.name, False, problem=problem, fix=INSTALL_FIX)
        try:
            version = importlib.metadata.version("scalene")
        except importlib.metadata.PackageNotFoundError:
            version = None
        return ToolStatus(self.name, True, version, path=f"{sys.executable} -m scalene")

    def profile(self, job: ProfileJob) -> list[Profile]:
        """Calibrate, run unprofiled and under scalene, and parse its JSON."""
        status = self.status()
        if not status.found:
            raise ProfilerGap(status.problem or "scalene is not usable", status.fix)
        job.raw_dir.mkdir(parents=True, exist_ok=True)
        job.progress(f"scalene: calibrating {job.runtime}")
        cal = python_tools.calibrate(job, EFFECTIVE_RATE_HZ, max_seconds=MAX_LOOP_S, tag="scalene.calibrate")
        unprofiled = python_tools.run_child(job, "scalene.unprofiled", iterations=cal.iterations)

        raw = job.raw_dir / f"{job.runtime}.scalene.json"
        report = job.raw_dir / f"{job.runtime}.scalene.report.json"
        launcher = job.raw_dir / "scalene_launch.py"
        launcher.write_text(LAUNCHER, encoding="utf-8")
        raw.unlink(missing_ok=True)
        report.unlink(missing_ok=True)
        package_dir = str(Path(rmprof.__file__).resolve().parent)
        # --profile-all lifts scalene's "skip installed packages" rule (rmprof may live in site-packages);
        # --profile-only then keeps just rmprof's own files, where the pipeline runs.
        cmd = [
            sys.executable, "-m", "scalene", "run", "-o", str(raw),
            "--profile-all", "--profile-only", package_dir,
            "--cpu-sampling-rate", str(SAMPLING_INTERVAL_S),
            "--cpu-percent-threshold", "0", "--malloc-threshold", "1",
            str(launcher), "---", *python_tools.child_args(job, report, iterations=cal.iterations),
        ]  # fmt: skip
        job.progress(f"scalene: profiling {cal.iterations} iterations on {job.runtime}")
        log = job.raw_dir / f"{job.runtime}.scalene.log"
        for attempt in range(1, ATTEMPTS + 1):
            try:
                run = python_tools.run_tool(cmd, timeout_s=min(job.timeout_s, HANG_TIMEOUT_S), log=log)
            except ProfilerGap as gap:
                if attempt == ATTEMPTS or "timed out" not in gap.reason:
                    raise
                job.progress(f"scalene: no result after {HANG_TIMEOUT_S:.0f} s (a scalene hang); retrying once")
                continue
            if attempt == ATTEMPTS or not _scalene_crashed(run, report):
                break
            job.progress(f"scalene: exited with code {run.returncode} and no report (a scalene crash); retrying once")
        if run.returncode != 0 or not report.exists():
            python_tools.raise_if_killed(run, "scalene", job.runtime)
            raise ProfilerGap(f"the scenario failed under scalene on {job.runtime}: {python_tools.child_failure(run)}")
        profiled = python_tools.read_report(report)
        doc = python_tools.load_json(raw, "scalene")
        with malformed_output("scalene", raw):
            profile = profile_from_scalene(doc, job.runtime, status.version)
        if not profile.stacks:
            raise ProfilerGap(f"scalene recorded no CPU time in rmprof's files (see {raw.name})")
        python_tools.record_overhead(profile, unprofiled, profiled)
        profile.meta["iterations"] = profiled.iterations
        profile.meta["raw"] = raw.name
        return [profile]
