"""The benchmark plan's five bottleneck hypotheses, each judged on this run's measurements."""

from __future__ import annotations

from typing import Any

from rmprof.analysis.bottlenecks import share_of
from rmprof.formatting import format_bytes, format_share, format_time
from rmprof.profile_model import Frame, Profile
from rmprof.runtimes import BASELINE, PYTHON_FUSED


def _pct(x: float) -> str:
    return format_share(x, 0)


def _verdict(evidence_for: bool | None) -> str:
    return "inconclusive" if evidence_for is None else ("supported" if evidence_for else "refuted")


def _median(entry: dict[str, Any] | None, metric: str) -> float | None:
    if not entry or metric not in entry:
        return None
    return entry[metric]["median"]


def orchestration(bench: dict[str, Any], bottlenecks: dict[str, Any]) -> dict[str, Any]:
    """H1: asyncio queue/task overhead dominates the baseline."""
    evidence, signals = [], []
    rts = bench.get("runtimes", {})
    py, fused = _median(rts.get(BASELINE), "run"), _median(rts.get(PYTHON_FUSED), "run")
    if py and fused:
        share = max(0.0, 1 - fused / py)
        signals.append(share >= 0.5)
        evidence.append(
            f"the same computation as a plain Python loop takes {format_time(fused)} vs {format_time(py)} "
            f"through asyncio: {_pct(share)} of the baseline's run time is orchestration"
        )
    overhead = bench.get("executor_overhead") or {}
    if "ratio" in overhead:
        # The Rust executor's own orchestration, beside Python's (context: the verdict is about the baseline).
        lo, hi = overhead["ci95"]
        evidence.append(
            f"the Rust executor ({overhead['executor']}) takes {overhead['ratio']:.2f}× [{lo:.2f}, {hi:.2f}] the time "
            f"of its plain-loop floor ({overhead['floor']}): its chunks and per-node passes"
        )
    cpu = bottlenecks.get(f"{BASELINE}.py-spy")
    if cpu:
        share = cpu["categories"].get("orchestration", 0.0)
        signals.append(share >= 0.3)
        evidence.append(f"py-spy attributes {_pct(share)} of python samples to the event loop, tasks and queues")
    return {
        "id": "orchestration",
        "title": "Pipeline orchestration: asyncio queue overhead",
        "verdict": _verdict(any(signals) if signals else None),
        "evidence": evidence,
    }


def type_checking(profiles: dict[str, Profile]) -> dict[str, Any]:
    """H2: dynamic type checks cost a large share of the baseline."""
    prof = profiles.get("python.py-spy")
    if prof is None:
        return {
            "id": "type_checking",
            "title": "Type checking: dynamic typing overhead",
            "verdict": "inconclusive",
            "evidence": ["no py-spy profile of the python runtime in this run"],
        }
    share = share_of(prof, lambda f: f.name in ("_number", "type_name", "isinstance") and _in_nodes(f))
    return {
        "id": "type_checking",
        "title": "Type checking: dynamic typing overhead",
        "verdict": _verdict(share >= 0.10),
        "evidence": [f"the per-item value checks (_number and friends) hold {_pct(share)} of python samples"],
    }


def _in_nodes(frame: Frame) -> bool:
    return (frame.file or "").endswith("nodes.py") or frame.file is None


def gil(profiles: dict[str, Profile]) -> dict[str, Any]:
    """H3: the GIL serializes the pipeline."""
    evidence = []
    verdict: bool | None = None
    prof = profiles.get("python.py-spy")
    if prof is not None:
        threads = prof.meta.get("threads")
        if threads is not None:
            evidence.append(
                f"py-spy saw {threads} Python thread(s) running the pipeline: with one thread there is no second "
                "thread to contend for the GIL; asyncio is single-threaded by design"
            )
            verdict = threads > 1
        else:
            evidence.append("the python profile does not record how many threads ran")
    rust = profiles.get("rust.py-spy")
    if rust is not None:
        released = share_of(rust, lambda f: "allow_threads" in f.name or "PyEval_SaveThread" in f.name)
        evidence.append(f"the Rust extension runs {_pct(released)} of its samples with the GIL released")
    if not evidence:
        evidence.append("no py-spy profile in this run")
    return {
        "id": "gil",
        "title": "GIL contention: single-threaded bottleneck",
        "verdict": _verdict(verdict),
        "evidence": evidence,
    }


def allocations(bench: dict[str, Any], profiles: dict[str, Profile], bottlenecks: dict[str, Any]) -> dict[str, Any]:
    """H4: Python object allocation is a major cost."""
    evidence, signals = [], []
    rts = bench.get("runtimes", {})
    mem = {n: e.get("memory", {}) for n, e in rts.items()}
    py_alloc = mem.get(BASELINE, {}).get("run_alloc_peak_bytes")
    fused_alloc = mem.get(PYTHON_FUSED, {}).get("run_alloc_peak_bytes")
    if py_alloc and fused_alloc:
        evidence.append(
            f"one asyncio run allocates a peak of {format_bytes(py_alloc)} of Python heap, "
            f"the fused loop {format_bytes(fused_alloc)}"
        )
        signals.append(py_alloc >= 2 * fused_alloc)
    cpu = bottlenecks.get(f"{BASELINE}.py-spy")
    if cpu:
        share = cpu["categories"].get("allocation & GC", 0.0)
        evidence.append(
            f"allocation and GC frames hold {_pct(share)} of python CPU samples (visible only with native frames)"
        )
    memray = profiles.get("python.memray")
    if memray is not None and memray.meta.get("total_allocations") is not None:
        evidence.append(
            f"memray counted {memray.meta['total_allocations']:,} allocations in the profiled loop, "
            f"peak {format_bytes(memray.meta.get('peak_bytes'))}"
        )
    for name in ("rust-bin.perf", "rust.py-spy"):
        if name in bottlenecks:
            share = bottlenecks[name]["categories"].get("allocation & GC", 0.0)
            evidence.append(f"{name}: allocation holds {_pct(share)} of samples")
    return {
        "id": "allocations",
        "title": "Memory allocations: Python object overhead",
        "verdict": _verdict(any(signals) if signals else None),
        "evidence": evidence or ["not measured"],
    }


def initialization(bench: dict[str, Any]) -> dict[str, Any]:
    """H5: module imports and setup dominate start-up."""
    rts = bench.get("runtimes", {})
    evidence, verdict = [], None
    init, cold, run = (_median(rts.get(BASELINE), m) for m in ("init", "cold_start", "run"))
    if cold and init is not None and run:
        rest = max(0.0, cold - init - run)
        evidence.append(
            f"a fresh python process needs {format_time(cold)} to its first output: "
            f"{format_time(init)} building the pipeline, {format_time(run)} running it, "
            f"{format_time(rest)} interpreter start-up and imports"
        )
        verdict = rest / cold >= 0.5
    for name in _binaries(rts):
        bin_cold = _median(rts.get(name), "cold_start")
        if cold and bin_cold:
            evidence.append(
                f"the {name} binary reaches its first output in {format_time(bin_cold)} ({cold / bin_cold:.0f}× sooner)"
            )
    return {
        "id": "initialization",
        "title": "Initialization: module imports and setup",
        "verdict": _verdict(verdict),
        "evidence": evidence or ["cold start not measured"],
    }


def _binaries(rts: dict[str, Any]) -> list[str]:
    """The measured runtimes that run as a binary of their own."""
    from rmprof.errors import RmprofError
    from rmprof.runtimes import BINARY, get_runtime, ordered

    found = []
    for name in ordered(rts):
        try:
            if get_runtime(name).kind == BINARY:
                found.append(name)
        except RmprofError:
            continue  # not a registered runtime (a fused floor, a plugin gone)
    return found


def judge_all(
    bench_scenario: dict[str, Any], profiles: dict[str, Profile], bottlenecks: dict[str, Any]
) -> list[dict[str, Any]]:
    """All five hypotheses, in the plan's order."""
    return [
        orchestration(bench_scenario, bottlenecks),
        type_checking(profiles),
        gil(profiles),
        allocations(bench_scenario, profiles, bottlenecks),
        initialization(bench_scenario),
    ]
