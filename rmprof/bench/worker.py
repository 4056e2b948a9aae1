"""One round of the bench: a fresh process that times the in-process runtimes, interleaved.

The parent starts one worker per round, so that every runtime is measured in several processes and the
bench's intervals include the noise between processes (see ``rmprof.bench.stats``). It speaks
rmprof/child_protocol.py: a request file, the answer one JSON line on stdout::

    request:  {"manifest": path, "input": path, "runtimes": [name, ...], "fused": bool, "samples": k,
               "init_samples": j, "warmup": w, "init_warmup": b, "inner": {name: n} | null,
               "native": {runtime: path} | null, "instrumented": m, "instrumented_warmup": bool,
               "machine_reference": bool}
    answer:   {"run_ns": {name: [k floats]}, "init_ns": {name: [j floats]}, "inner": {name: n},
               "instrumented": {name: [m passes of Prepared.run_instrumented, without outputs]},
               "machine_reference": {kind: {"what", "digest", "identity", "unit", "samples": [k floats]}}}

The instrumented passes run after the timed samples, never between them. The machine references
(rmprof/bench/reference.py) take one sample after each turn of the runtimes' samples, so they see the same
moments of the machine.

``native`` loads a runtime's extension module from another file (a saved baseline's build) under its usual
module name, which is how ``rmprof compare --paired`` times two builds of the same runtime. Exit code 2 with
one ``rmprof child:`` line on stderr when the scenario cannot be prepared or run.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from rmprof import child_protocol
from rmprof.child_protocol import field
from rmprof.errors import RmprofError
from rmprof.runtimes import PYTHON_FUSED

# A timed sample should last long enough that timer resolution and call overhead stay below ~1 %.
MIN_SAMPLE_NS = 200_000
# Single runs timed to choose the inner loop count (the fastest decides).
CALIBRATION_RUNS = 5
FUSED = PYTHON_FUSED


class Timed:
    """Something to time: a callable running the scenario once, with its inner loop count."""

    def __init__(self, name: str, run_once: Callable[[], Any], inner: int | None = None) -> None:
        self.name = name
        self.run_once = run_once
        self.inner = inner or 1
        self.calibrated = inner is not None
        self.samples: list[float] = []

    def calibrate(self) -> None:
        """Enough back-to-back runs per sample to last about MIN_SAMPLE_NS (kept when the parent fixed it).

        The count holds for the whole bench (the first round sets it), so it must not depend on one unlucky
        timing: the fastest of a few runs, rounded down to a power of two, gives the same count run after run.
        """
        if self.calibrated:
            return
        once = 1 << 62
        for _ in range(CALIBRATION_RUNS):
            t0 = time.perf_counter_ns()
            self.run_once()
            once = min(once, max(time.perf_counter_ns() - t0, 1))
        fits = max(1, min(10_000, MIN_SAMPLE_NS // once))
        self.inner = 1 << (fits.bit_length() - 1)

    def sample(self) -> None:
        """One sample: the mean time of ``inner`` back-to-back runs, after one untimed run when inner > 1.

        Samples are taken round-robin, so each one starts on caches another runtime just used. The refill is
        a fixed cost per sample; spread over ``inner`` runs it would make the figure depend on the count, so
        short runs get one untimed run first and every sample measures the same warm steady state.
        """
        run_once, inner = self.run_once, self.inner
        if inner > 1:
            run_once()
        t0 = time.perf_counter_ns()
        for _ in range(inner):
            run_once()
        self.samples.append((time.perf_counter_ns() - t0) / inner)


def measure(request: dict[str, Any]) -> dict[str, Any]:
    """Time each requested runtime (and the fused floor) round-robin, then their initialization."""
    from pathlib import Path

    from rmprof.bench.fused import fused_function
    from rmprof.bench.reference import references
    from rmprof.runtimes import get_runtime
    from rmprof.scenarios import from_files

    for runtime, path in field(request, "native", dict, {}).items():
        get_runtime(runtime).use_build(Path(path))
    scenario = from_files(field(request, "manifest", str), field(request, "input", str))
    items, text = scenario.items, scenario.manifest.text
    inner = field(request, "inner", dict, {})
    samples = field(request, "samples", int)
    runtimes = {name: get_runtime(name) for name in field(request, "runtimes", list)}
    prepared = {name: rt.prepare_text(text) for name, rt in runtimes.items()}
    try:
        timed = [Timed(n, _bind(p.run, items), inner.get(n)) for n, p in prepared.items()]
        if request.get("fused"):
            timed.append(Timed(FUSED, _bind(fused_function(scenario), items), inner.get(FUSED)))
        for t in timed:
            for _ in range(request.get("warmup", 3)):
                t.run_once()
            t.calibrate()
        refs = references() if request.get("machine_reference") else []
        for ref in refs:
            ref.sample()  # warm-up: the first passes in a process pay its first use of the code
            ref.samples.clear()
        # Round-robin, so that drift within the process hits every runtime (and reference) alike.
        for _ in range(samples):
            for t in timed:
                t.sample()
            for ref in refs:
                ref.sample()
        init: dict[str, list[float]] = {n: [] for n in runtimes}
        init_samples, warmup = request.get("init_samples", 0), request.get("init_warmup", 3)
        # The first builds in a process are slower (caches, lazy imports): warm up like the run loop does,
        # so that every round samples the same steady state.
        for i in range(warmup + init_samples if init_samples else 0):
            for name, rt in runtimes.items():
                t0 = time.perf_counter_ns()
                p = rt.prepare_text(text)
                elapsed = float(time.perf_counter_ns() - t0)
                p.close()
                # Freed here, untimed: rebinding `p` in the next build would free this runtime's executor
                # inside the next runtime's timed window.
                del p
                if i >= warmup:
                    init[name].append(elapsed)
        passes, warm = request.get("instrumented", 0), request.get("instrumented_warmup", True)
        instrumented = {n: _instrumented(p, items, passes, warm) for n, p in prepared.items()}
    finally:
        for p in prepared.values():
            p.close()
    return {
        "run_ns": {t.name: t.samples for t in timed},
        "init_ns": init,
        "inner": {t.name: t.inner for t in timed},
        "instrumented": {n: passes for n, passes in instrumented.items() if passes},
        "machine_reference": {ref.kind: ref.answer() for ref in refs},
    }


def _instrumented(prepared: Any, items: list[Any], passes: int, warmup: bool = True) -> list[dict[str, Any]]:
    """``passes`` instrumented passes (none when the runtime has no instrumented run), after an untimed one
    unless ``warmup`` is false."""
    from rmprof.bench.nodes import without_outputs

    out = []
    try:
        if passes and warmup:
            prepared.run_instrumented(items)  # warm-up: the instrumented path's own first-call costs
        for _ in range(passes):
            out.append(without_outputs(prepared.run_instrumented(items)))
    except NotImplementedError:
        return []
    return out


def _bind(fn: Callable[[list[Any]], Any], items: list[Any]) -> Callable[[], Any]:
    return lambda: fn(items)


def main(argv: list[str] | None = None) -> int:
    """Read the request, time, print the answer; the exit code (rmprof/child_protocol.py)."""
    try:
        request = child_protocol.read_request(argv)
        answer = measure(request)
    except RmprofError as exc:
        return child_protocol.fail(exc)
    return child_protocol.answer(request, answer)


if __name__ == "__main__":
    sys.exit(main())
