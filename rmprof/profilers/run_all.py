"""Run every applicable (runtime, profiler) pair of a scenario; write profiles, keep raw outputs, list gaps.

A profiler that cannot run (missing, denied, crashed, timed out, or an unexpected bug in its wrapper)
becomes a gap with a reason and a fix; the other pairs go on and nothing already written is removed.
"""

from __future__ import annotations

import functools
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rmprof.exporters.folded import to_folded
from rmprof.exporters.pprof import SUFFIX as PPROF_SUFFIX
from rmprof.exporters.pprof import write_pprof
from rmprof.exporters.speedscope import to_speedscope, validate_speedscope
from rmprof.files import write_json_atomic, write_text_atomic
from rmprof.profile_model import Profile
from rmprof.profilers import PROFILERS, get_profiler
from rmprof.profilers.base import ProfileJob, Profiler, ProfilerGap
from rmprof.run_dir import PROFILES, RAW

# Each (runtime, profiler) pair gets at least this much of the budget, even when the bench spent it: a profile
# of a hundred items is worth little, and the costly profilers' usual runs of a fast pipeline take less.
MIN_PAIR_S = 10.0


def _gap(runtime: str, profiler: str, reason: str, fix: str | None) -> dict[str, Any]:
    return {"runtime": runtime, "profiler": profiler, "reason": reason, "fix": fix}


def _load(names: list[str], explicit: bool) -> tuple[list[Profiler], list[tuple[str, str]]]:
    """The profilers that can be imported, and (name, reason) for those that cannot."""
    loaded, missing = [], []
    for name in names:
        if name not in PROFILERS:
            missing.append((name, f"unknown profiler (known: {', '.join(PROFILERS)})"))
            continue
        try:
            loaded.append(get_profiler(name))
        except ImportError as exc:
            # A registered profiler whose module is absent is "not implemented" here; only worth a gap
            # when the user asked for it by name.
            if explicit:
                missing.append((name, f"not implemented ({exc})"))
    return loaded, missing


def write_profile(profile: Profile, out_dir: Path) -> dict[str, Any]:
    """Write one profile as speedscope JSON, folded text and gzipped pprof (atomically); its summary with the paths."""
    _relative_raw(profile, out_dir)  # before exporting: the file carries the same metadata as results.json
    doc = to_speedscope(profile)
    problems = validate_speedscope(doc)
    if problems:
        raise ProfilerGap(f"internal error: the exported speedscope file is invalid: {problems[0]}")
    speedscope_rel = f"{PROFILES}/{profile.name}.speedscope.json"
    folded_rel = f"{PROFILES}/{profile.name}.folded"
    write_json_atomic(out_dir / speedscope_rel, doc)
    write_text_atomic(out_dir / folded_rel, to_folded(profile))
    pprof_rel = f"{PROFILES}/{profile.name}{PPROF_SUFFIX}"
    write_pprof(profile, out_dir / pprof_rel)
    return {**profile.summary(), "file": speedscope_rel, "folded": folded_rel, "pprof": pprof_rel}


def _relative_raw(profile: Profile, out_dir: Path) -> None:
    """Raw-file paths in the profile's meta relative to the run directory: the directory is renamed into
    place when the run completes, and a moved run must still find its raw files."""
    raw = profile.meta.get("raw")
    if not isinstance(raw, list):
        return
    base = Path(out_dir).resolve()
    out = []
    for item in raw:
        path = Path(str(item))
        try:
            out.append(str(path.resolve().relative_to(base)) if path.is_absolute() else str(path))
        except ValueError:
            out.append(str(path))
    profile.meta["raw"] = out


def run_profilers(
    scenario: Any,
    runtimes: list[str],
    profilers: list[str],
    out_dir: Path,
    min_samples: int = 1000,
    progress: Callable[[str], None] = lambda message: None,
    *,
    explicit: bool = False,
    timeout_s: float = 180.0,
    step: Callable[[str, int, int, str | None], None] | None = None,
    budget_s: float | None = None,
    run_s: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Profile ``scenario`` on each runtime with each applicable profiler; {"profiles": [...], "gaps": [...]}.

    ``explicit`` says the profiler names were given by the user: then a registered profiler whose module
    is missing is reported as a gap instead of being skipped. ``step`` (task, done, total, message), e.g.
    Progress.advance, reports each (runtime, profiler) pair as a step of one task, and the profilers' own
    messages as what runs now; without it they go to ``progress`` as lines. Gaps always go to ``progress``.
    ``budget_s`` is the time the profilers may take together: each pair gets an even share of what is left
    when it starts, and the profilers whose cost is a multiple of the run (memray, callgrind, massif) choose
    their iterations or an input subset from it and ``run_s`` (seconds of one run per runtime, from the bench).
    """
    # Absolute paths: profiled children run in the package's parent folder (see python_tools.run_tool).
    out_dir = Path(out_dir).resolve()
    raw_dir = out_dir / RAW
    raw_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / PROFILES).mkdir(parents=True, exist_ok=True)
    loaded, missing = _load(profilers, explicit)
    gaps = [_gap(runtime, name, reason, None) for name, reason in missing for runtime in runtimes]
    # A profiler that does not support a runtime is skipped silently: that pair simply does not exist.
    from rmprof.runtimes import get_runtime

    applies = {runtime: get_runtime(runtime).profilers for runtime in runtimes}
    pairs = [(runtime, p) for runtime in runtimes for p in loaded if p.name in applies[runtime]]
    if explicit:
        # Asked for by name but applying to none of the runtimes: said, or the run would claim "gaps: none".
        for p in loaded:
            if not any(p.name == q.name for _, q in pairs):
                where = ", ".join(p.runtimes) or "no registered runtime"
                for runtime in runtimes:
                    reason = f"{p.name} does not apply to {runtime}"
                    gaps.append(_gap(runtime, p.name, reason, f"it applies to {where}"))
    unavailable = _unavailable_runtimes({runtime for runtime, _ in pairs})
    results: list[dict[str, Any]] = []
    task = f"{getattr(scenario, 'name', 'scenario')}: profilers"

    def advance(done: int, message: str | None) -> None:
        if step is not None:
            step(task, done, len(pairs), message)
        elif message:
            progress(message)

    started = time.monotonic()
    for n, (runtime, profiler) in enumerate(pairs, start=1):
        advance(n - 1, f"profiling {runtime} with {profiler.name} ({n}/{len(pairs)})…")
        share = None
        if budget_s is not None:
            left = max(0.0, budget_s - (time.monotonic() - started)) / (len(pairs) - n + 1)
            share = max(left, MIN_PAIR_S)
        if runtime in unavailable:
            gaps.append(
                _gap(
                    runtime,
                    profiler.name,
                    f"runtime {runtime} is unavailable: {unavailable[runtime]}",
                    get_runtime(runtime).fix,
                )
            )
            continue
        job = ProfileJob(
            manifest_path=Path(scenario.manifest_path).resolve(),
            input_path=Path(scenario.input_path).resolve(),
            expected_path=Path(scenario.expected_path).resolve() if scenario.expected_path else None,
            runtime=runtime,
            raw_dir=raw_dir,
            scenario_name=getattr(scenario, "name", "scenario"),
            min_samples=min_samples,
            timeout_s=timeout_s,
            progress=functools.partial(advance, n - 1),
            run_s=(run_s or {}).get(runtime),
            budget_s=share,
        )
        try:
            for profile in profiler.profile(job):
                results.append(write_profile(profile, out_dir))
        except ProfilerGap as gap:
            progress(f"{runtime} with {profiler.name}: gap: {gap.reason}")
            gaps.append(_gap(runtime, profiler.name, gap.reason, gap.fix))
        except Exception as exc:  # noqa: BLE001 - one broken wrapper must not end the whole run
            log = raw_dir / f"{runtime}.{profiler.name}.error.txt"
            write_text_atomic(log, traceback.format_exc())
            reason = f"unexpected error in the {profiler.name} wrapper: {type(exc).__name__}: {exc}"
            progress(f"{runtime} with {profiler.name}: gap: {reason}")
            gaps.append(_gap(runtime, profiler.name, reason, f"report it with {RAW}/{log.name}"))
    if pairs:
        advance(len(pairs), None)
    return {"profiles": results, "gaps": gaps}


def run_seconds(bench_scenario: dict[str, Any]) -> dict[str, float]:
    """Seconds one run takes per runtime: the bench's median, else its first timed run (from the budget block)."""
    out = dict((bench_scenario.get("budget") or {}).get("first_run_s") or {})
    for name, entry in (bench_scenario.get("runtimes") or {}).items():
        median = (entry.get("run") or {}).get("median")
        if median:
            out[name] = median / 1e9
    return out


def _unavailable_runtimes(names: set[str]) -> dict[str, str]:
    """Runtime name -> why it cannot run here, for the requested runtimes that cannot."""
    from rmprof.errors import RmprofError
    from rmprof.runtimes import get_runtime

    out = {}
    for name in sorted(names):
        try:
            reason = get_runtime(name).unavailable_reason()
        except (RmprofError, ImportError) as exc:
            reason = str(exc)
        if reason:
            out[name] = reason
    return out
