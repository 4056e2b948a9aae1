"""valgrind callgrind on the Rust binary: exact, deterministic instruction counts with call paths.

Only the timed runs are counted (``--toggle-collect`` on the binary's ``timed_pipeline_run``, a run and
the freeing of its outputs, as the bench times it): process start-up and the JSON the binary prints depend
on timings and random hash seeds, which made whole-process totals differ by a few instructions from run to
run (measured: 822,861 vs 822,843), while the runs alone count the same every time. One untimed warm-up
run goes first: the first run's allocations grow a heap whose state init left behind, and that moved the
count of a run whose code had not changed by -19 % and +4.6 % when only init changed (glibc's
``_int_malloc``; docs/optimizations/05-binary-measurement.md).

Call paths. Callgrind records, per function, its self cost and, per call edge caller -> callee, the
inclusive cost of those calls; it does not record full stacks. The stacks here are reconstructed: each
function's self cost is spread over the call paths that lead to it, each caller weighted by its share of
the edges' inclusive cost into that function (recursively up to a function without callers; a caller
already on the path, i.e. recursion, is not followed again). Branches below ``PATH_EPSILON`` of a
function's cost are dropped and the rest renormalized, and each function's self cost is split over its
paths in whole instructions (largest remainder), so the profile's total is exactly callgrind's total.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rmprof.child_failure import last_line
from rmprof.profile_model import Frame, Profile
from rmprof.profilers import subset
from rmprof.profilers.base import ProfileJob, Profiler, ProfilerGap, ToolStatus, malformed_output
from rmprof.profilers.binary_tools import (
    VALGRIND_INSTALL_FIX,
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
from rmprof.profilers.native_names import ADDRESS_NAME, name_in_object, unknown_in

# `rmprof_runtime::timed_pipeline_run` (rmprof-runtime), `rmprof_runtime_rustpython::base::timed_pipeline_run`.
COLLECT_PATTERN = "*::timed_pipeline_run"
COLLECT_SCOPE = "timed runs (timed_pipeline_run: a run and freeing its outputs, after 1 warm-up run)"
WARMUP_RUNS = 1
PATH_EPSILON = 1e-3
MAX_DEPTH = 200


def valgrind_status(profiler: str, tool: str) -> ToolStatus:
    """valgrind on PATH, its version, and whether ``valgrind --tool=TOOL true`` runs here."""
    path = shutil.which("valgrind")
    if path is None:
        return ToolStatus(
            profiler, found=False, permitted=False, problem="valgrind not found on PATH", fix=VALGRIND_INSTALL_FIX
        )
    version = tool_version([path, "--version"])
    out = "--callgrind-out-file=/dev/null" if tool == "callgrind" else "--massif-out-file=/dev/null"
    try:
        proc = subprocess.run([path, f"--tool={tool}", out, "true"], capture_output=True, text=True, timeout=120)
        failed = None if proc.returncode == 0 else f" failed: {last_line(proc.stderr)}"
    except (OSError, subprocess.TimeoutExpired) as exc:
        failed = f": {exc}"
    if failed:
        return ToolStatus(
            profiler,
            found=True,
            version=version,
            path=path,
            permitted=False,
            problem=f"valgrind --tool={tool} true{failed}",
            fix=VALGRIND_INSTALL_FIX,
        )
    return ToolStatus(profiler, found=True, version=version, path=path)


# ---------------------------------------------------------------------------------------------------------
# The callgrind format (https://valgrind.org/docs/manual/cl-format.html)


@dataclass
class CallgrindData:
    """Self cost per function, inclusive cost per call edge, and the file's own totals (first event)."""

    events: list[str] = field(default_factory=list)
    totals: int | None = None
    self_cost: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    calls: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    call_counts: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    file_of: dict[str, str] = field(default_factory=dict)
    cmd: str = ""


_NAMED = re.compile(r"^\((\d+)\)(?: (.*))?$")
# Which compression table a key's names live in (the spec shares files between fl/fi/fe/cfi/cfl).
_TABLE = {
    "ob": "ob",
    "cob": "ob",
    "fl": "fl",
    "fi": "fl",
    "fe": "fl",
    "cfi": "fl",
    "cfl": "fl",
    "fn": "fn",
    "cfn": "fn",
}


def parse_callgrind(text: str) -> CallgrindData:
    """Parse a callgrind output file: name compression, position compression, calls= cost lines.

    A function is its object and its name: callgrind calls both the executable's ``_start`` and libc's
    ``__libc_start_call_main`` "(below main)", and merged by name the two made a cycle through
    ``__libc_start_main`` that split the program over two roots. Names are qualified with their object only
    where two objects share one (see ``_display_names``).
    """
    names: dict[str, dict[str, str]] = {"ob": {}, "fl": {}, "fn": {}}
    self_cost: dict[tuple[str, str], int] = defaultdict(int)
    calls: dict[tuple[tuple[str, str], tuple[str, str]], int] = defaultdict(int)
    call_counts: dict[tuple[tuple[str, str], tuple[str, str]], int] = defaultdict(int)
    file_of: dict[tuple[str, str], str] = {}
    events: list[str] = []
    cmd = ""
    npos = 1
    ob = ""
    fn: tuple[str, str] = ("", "")
    fl = ""
    cob: str | None = None
    cfn: str | None = None
    pending_call: tuple[tuple[str, str], tuple[str, str], int] | None = None
    skip_next_position = False
    summary: int | None = None
    totals: int | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        head = line[0]
        if head.isdigit() or head in "+-*":
            if skip_next_position:
                # The line after jump=/jcnd= is the jump's source position, without costs.
                skip_next_position = False
                continue
            cost = _first_cost(line, npos)
            if pending_call is not None:
                caller, callee, count = pending_call
                if caller != callee:
                    calls[(caller, callee)] += cost
                    call_counts[(caller, callee)] += count
                else:
                    # A direct recursive call's inclusive cost is already inside the function's own
                    # costs; counting it again would count instructions twice.
                    pass
                pending_call = None
            else:
                self_cost[fn] += cost
            continue
        key, sep, value = line.partition("=")
        if sep and key in _TABLE:
            name = _resolve(names[_TABLE[key]], value)
            if key == "ob":
                ob = name
            elif key == "cob":
                cob = name
            elif key == "fn":
                fn = (ob, name)
                file_of.setdefault(fn, fl)
            elif key == "fl":
                fl = name
            elif key == "cfn":
                cfn = name
            continue
        if sep and key == "calls":
            count = int(value.split()[0])
            # cob= and cfn= name the target of this one call; without them it is in the caller's object.
            pending_call = (fn, (cob or ob, cfn) if cfn is not None else fn, count)
            cob = cfn = None
            continue
        if sep and key in ("jump", "jcnd"):
            skip_next_position = True
            continue
        key, sep, value = line.partition(":")
        if not sep:
            continue
        value = value.strip()
        if key == "events":
            events = value.split()
        elif key == "positions":
            npos = len(value.split())
        elif key == "summary":
            summary = (summary or 0) + int(value.split()[0])
        elif key == "totals":
            totals = (totals or 0) + int(value.split()[0])
        elif key == "cmd":
            cmd = value
    if text.strip() and not events:
        raise ValueError("no 'events:' line in it: not a callgrind output file")
    if text.strip() and not text.endswith("\n"):
        raise ValueError("it ends in the middle of a line: the file is truncated")
    display = _display_names({*self_cost, *file_of, *(f for edge in calls for f in edge)})
    data = CallgrindData(events=events, totals=totals if totals is not None else summary, cmd=cmd)
    for f, cost in self_cost.items():
        data.self_cost[display[f]] += cost
    for (a, b), cost in calls.items():
        data.calls[(display[a], display[b])] += cost
        data.call_counts[(display[a], display[b])] += call_counts[(a, b)]
    for f, file in file_of.items():
        data.file_of.setdefault(display[f], file)
    return data


def _display_names(functions: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """One readable, unique name per (object, function): Rust names demangled, callgrind's address names
    (``0x000000000001ab70``, an offset in the object) named from the object's ELF file (native_names),
    and a name that several objects use qualified as ``name [object]``."""
    base = {}
    for ob, name in functions:
        if ADDRESS_NAME.match(name):
            obj = ob if ob.startswith("/") else None
            base[(ob, name)] = name_in_object(obj, int(name, 16)) if obj else unknown_in(ob or None)
        else:
            base[(ob, name)] = rust_name(name)
    objects: dict[str, set[str]] = defaultdict(set)
    for (ob, _), name in base.items():
        objects[name].add(ob)
    return {
        (ob, name): f"{shown} [{os.path.basename(ob) or '?'}]" if len(objects[shown]) > 1 else shown
        for (ob, name), shown in base.items()
    }


def _resolve(table: dict[str, str], value: str) -> str:
    """A compressed ``(id) name`` defines an id, ``(id)`` refers to it; anything else is the name."""
    m = _NAMED.match(value.strip())
    if not m:
        return value.strip()
    ident, name = m.group(1), m.group(2)
    if name is not None:
        table[ident] = name
        return name
    return table.get(ident, f"({ident})")


def _first_cost(line: str, npos: int) -> int:
    """The first event's cost on a cost line (after the position columns; missing costs are 0)."""
    parts = line.split()
    if len(parts) <= npos:
        return 0
    text = parts[npos]
    return int(text, 16) if text.startswith("0x") else int(text)


# ---------------------------------------------------------------------------------------------------------
# Reconstructing call paths


def reconstruct_profile(data: CallgrindData, runtime: str, **kwargs: Any) -> Profile:
    """Root-first stacks whose weights are self instructions, summing exactly to the file's total."""
    callers: dict[str, dict[str, int]] = defaultdict(dict)
    for (caller, callee), cost in data.calls.items():
        if cost > 0:
            callers[callee][caller] = callers[callee].get(caller, 0) + cost
    profile = Profile(runtime=runtime, profiler="callgrind", kind="cpu", unit="instructions", **kwargs)

    def paths_up(fn: str, on_path: frozenset[str], budget: float, depth: int) -> list[tuple[tuple[str, ...], float]]:
        """Root-first paths ending at ``fn`` with their fractions of fn's cost (summing to 1)."""
        ups = {c: w for c, w in callers.get(fn, {}).items() if c not in on_path}
        if not ups or depth >= MAX_DEPTH:
            return [((fn,), 1.0)]
        total = sum(ups.values())
        out: list[tuple[tuple[str, ...], float]] = []
        for caller, w in sorted(ups.items(), key=lambda kv: (-kv[1], kv[0])):
            share = w / total
            if budget * share < PATH_EPSILON and out:
                continue
            for path, frac in paths_up(caller, on_path | {fn}, budget * share, depth + 1):
                out.append(((*path, fn), share * frac))
        kept = sum(frac for _, frac in out)
        return [(path, frac / kept) for path, frac in out]

    for fn in sorted(data.self_cost, key=lambda f: (-data.self_cost[f], f)):
        cost = data.self_cost[fn]
        if cost <= 0:
            continue
        merged: dict[tuple[str, ...], float] = defaultdict(float)
        for path, frac in paths_up(fn, frozenset(), 1.0, 0):
            merged[path] += frac
        for path, weight in _apportion(cost, merged).items():
            if weight:
                profile.add_stack((Frame(name, data.file_of.get(name) or None) for name in path), weight)
    return profile


def _apportion(total: int, shares: dict[tuple[str, ...], float]) -> dict[tuple[str, ...], int]:
    """Split ``total`` into whole parts proportional to ``shares`` (largest remainder; sums exactly)."""
    exact = {k: total * v for k, v in shares.items()}
    parts = {k: int(v) for k, v in exact.items()}
    left = total - sum(parts.values())
    for k in sorted(exact, key=lambda k: (-(exact[k] - parts[k]), k))[:left]:
        parts[k] += 1
    return parts


# ---------------------------------------------------------------------------------------------------------
# The profiler


class ValgrindProfiler(Profiler):
    """A valgrind tool (its name is the profiler's) on an rmprof binary, for a few iterations of the input."""

    iterations = 3
    slowdown = 60.0  # a run under the tool against a plain run (measured on the seed scenarios: 30-60x)
    fixed_s = 3.0  # valgrind's start-up and reading its output back

    def choose(self, job: ProfileJob) -> tuple[ProfileJob, subset.Choice]:
        """The job on the input and with the iterations that fit its share of the time budget (subset.py)."""
        choice = subset.choose(job, self.iterations, subset.room(job, self.slowdown, self.fixed_s), extra_runs=1)
        if choice.reason:
            job.progress(f"{self.name}: {choice.reason}")
        return subset.apply(job, choice, self.name), choice

    def status(self) -> ToolStatus:
        """valgrind found, its version, and whether this tool runs."""
        return valgrind_status(self.name, self.name)

    def tools(self, job: ProfileJob) -> tuple[Path, Path, str | None]:
        """The job's binary, the scripts/perf wrapper and valgrind's version, or a gap naming what is missing."""
        binary = require_binary(job.runtime)
        require_tool("valgrind", VALGRIND_INSTALL_FIX)
        return binary, script_path(f"{self.name}.sh"), tool_version(["valgrind", "--version"])


class Callgrind(ValgrindProfiler):
    """valgrind --tool=callgrind on rmprof-runtime for a few iterations of the scenario's input."""

    name = "callgrind"
    kind = "cpu"

    def profile(self, job: ProfileJob) -> list[Profile]:
        """Count the pipeline runs' instructions; fall back to the whole process if none were counted."""
        binary, wrapper, version = self.tools(job)
        job, choice = self.choose(job)
        iterations = choice.iterations
        scope = COLLECT_SCOPE
        data, doc, out_file = self._run(job, binary, wrapper, COLLECT_PATTERN, iterations)
        if not data.totals:
            # The function was renamed or inlined away: count everything rather than nothing.
            scope = "whole process (no timed_pipeline_run function found)"
            data, doc, out_file = self._run(job, binary, wrapper, None, iterations)
        if not data.totals:
            raise ProfilerGap(f"callgrind counted no instructions (see {out_file})", None)
        outputs_check = check_outputs(doc, job.expected_path, "callgrind")
        profile = reconstruct_profile(data, runtime=job.runtime, tool_version=version)
        total = int(data.totals)
        if int(profile.total) != total:
            raise ProfilerGap(
                f"callgrind: self costs sum to {int(profile.total)}, not the file's total {total} ({out_file})", None
            )
        # Every instruction is counted, none sampled: the count is the total itself.
        profile.sample_count = total
        profile.meta = {
            "total_instructions": total,
            "iterations": iterations,
            "instructions_per_iteration": total / iterations,
            "budget": choice.to_json(),
            "items_per_iteration": doc.get("items"),
            "event": data.events[0] if data.events else "Ir",
            "scope": scope,
            "stacks": "reconstructed from per-edge inclusive costs (see rmprof/profilers/callgrind.py)",
            "outputs_check": outputs_check,
            "binary": str(binary),
            "raw": [str(out_file)],
        }
        return [profile]

    def _run(
        self, job: ProfileJob, binary: Path, wrapper: Path, pattern: str | None, iterations: int
    ) -> tuple[CallgrindData, dict[str, Any], Path]:
        """One callgrind run; its parsed file, the binary's JSON, and the file's path."""
        job.raw_dir.mkdir(parents=True, exist_ok=True)
        out_file = job.raw_dir / f"{job.runtime}.callgrind.out"
        out_file.unlink(missing_ok=True)
        toggle = ["-t", pattern] if pattern else []
        job.progress(f"callgrind: {iterations} iterations of {job.scenario_name}")
        cmd = [
            bash(),
            str(wrapper),
            "-o",
            str(out_file),
            *toggle,
            "--",
            str(binary),
            *pipeline_args(job, iterations),
            "--warmup",
            str(WARMUP_RUNS),
        ]
        proc, _ = run_logged(cmd, job.raw_dir, f"{job.runtime}.callgrind", job.timeout_s, "callgrind")
        doc = binary_result(binary, proc, "callgrind")
        if not out_file.is_file():
            raise ProfilerGap(f"callgrind wrote no output file: {last_line(proc.stderr)}", None)
        with malformed_output("callgrind", out_file):
            data = parse_callgrind(out_file.read_text(encoding="utf-8", errors="replace"))
        return data, doc, out_file
