"""The Runtime interface every runtime implements: check availability, prepare a manifest, run items."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rmprof.child_protocol import ChildCommand, module_command
from rmprof.errors import RmprofError
from rmprof.manifest.model import Manifest

if TYPE_CHECKING:
    from rmprof.model.node_timing import NodeTiming
    from rmprof.runtimes.rounds import RoundRequest, RoundResult

Outputs = dict[str, list[Any]]


class Prepared(ABC):
    """A manifest made ready to run (parsed, validated, nodes built) on one runtime."""

    @abstractmethod
    def run(self, items: list[Any]) -> Outputs:
        """Run the pipeline once over ``items``; raise PipelineError naming node and item on failure."""

    def run_instrumented(self, items: list[Any]) -> NodeTiming:
        """Run once more, instrumented, and say where the time went per node and per boundary.

        A separate pass from ``run``: ``run`` (the headline timing) reads no clock per item or per chunk.
        Outputs and errors are exactly those of ``run`` over the same items (the same exceptions too).
        The result is a ``NodeTiming`` (rmprof/model/node_timing.py, schema rmprof/node_timing.schema.json): the
        outputs, the granularity of a latency sample (item or chunk), the pass's wall time, every node in
        topological order (ns, items, calls, p50/p95/p99 per sample) and the boundary crossings; node ns plus edge
        ns account for (close to) all of the wall time.
        """
        raise NotImplementedError(f"{type(self).__name__} has no instrumented run")

    def close(self) -> None:  # noqa: B027 - optional hook: most runtimes hold nothing to release
        """Release what ``prepare`` acquired (event loop, native handle)."""

    def __enter__(self) -> Prepared:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


IN_PROCESS = "in-process"
BINARY = "binary"


class Runtime(ABC):
    """One way of executing manifests (python asyncio, rust in-process, rust binary, ...).

    A runtime owns its identity (name, label, order, kind), how it is found and fixed, which profilers apply to
    it, and how it is measured: ``measure_round`` times it in fresh processes, ``process_command`` starts one
    process that runs a scenario (cold start, peak RSS). The harness, the report and the CLI read these and never
    branch on a runtime's name or kind.
    """

    name: str = ""
    label: str = ""  # how tables and charts name it: "rust (in-process)"
    description: str = ""
    order: int = 50  # place in tables (the baseline first)
    kind: str = IN_PROCESS
    profilers: tuple[str, ...] = ()  # names of the profilers that apply (rmprof/profilers/__init__.py)
    native_frames: bool = False  # compiled frames inside the profiled Python process (py-spy --native)
    # The binary runtime that runs the same executor on its own: this runtime's run time minus that one's, per
    # item, is what crossing between Python and native code costs (the bench's "boundary").
    standalone: str | None = None
    # Which frozen machine reference (rmprof/bench/machine_reference.py: "python" or "native") moves like this
    # runtime when the machine itself speeds up or slows down between two runs; compare reads it.
    machine_reference: str = "native"
    fix: str = "./scripts/setup.sh"  # what makes it available when it is not

    @property
    def in_process(self) -> bool:
        """Whether it runs inside this Python process (else as a child process of its own)."""
        return self.kind == IN_PROCESS

    def applies_to(self, manifest: Manifest) -> bool:
        """Whether a scenario with ``manifest`` is measured on this runtime when no runtimes are chosen."""
        return True

    def unavailable_reason(self) -> str | None:
        """Why this runtime cannot run here (with the fix), or None when it can."""
        return None

    def location(self) -> dict[str, Any]:
        """Where this runtime comes from, for `rmprof doctor`: version, path, places looked."""
        return {}

    def build(self) -> Path | None:
        """The file holding this runtime's compiled code (saved with baselines), or None when the checkout is it."""
        return None

    def build_identity(self) -> dict[str, Any] | None:
        """Which compiled build this runtime runs (rmprof/runtimes/provenance.py: kind, path, build), or None
        when it has none of its own (the Python baseline runs the checkout)."""
        return None

    @abstractmethod
    def prepare(self, manifest: Manifest) -> Prepared:
        """Build an executor for an already validated ``manifest``."""

    def prepare_text(self, text: str) -> Prepared:
        """Manifest text to a ready executor: parse, validate, build (what the bench calls initialization)."""
        from rmprof.manifest import parse_manifest

        return self.prepare(parse_manifest(text))

    def process_command(self, manifest_path: Path, input_path: Path, iterations: int) -> ChildCommand:
        """A fresh process that runs the scenario ``iterations`` times: it prints a JSON line when the first run
        ends (cold start) and a last JSON line with ``peak_rss_bytes`` (rmprof/bench/child.py)."""
        request = {
            "runtime": self.name,
            "manifest": str(manifest_path),
            "input": str(input_path),
            "iterations": iterations,
        }
        return module_command("rmprof.bench.child", request)

    def use_build(self, path: Path) -> None:
        """Run ``path`` (a saved baseline's build) in this process instead of the current build."""
        raise RmprofError(f"runtime {self.name} has no build to replace")

    def memory(self, prepared: Prepared, items: list[Any]) -> dict[str, int | None]:
        """Peak bytes one run allocates: ``run_alloc_peak_bytes`` (Python heap, tracemalloc) and
        ``native_heap_peak_bytes`` (compiled code's heap, where it counts it)."""
        return {"run_alloc_peak_bytes": python_alloc_peak(prepared.run, items), "native_heap_peak_bytes": None}

    @classmethod
    def measure_round(cls, runtimes: list[Runtime], request: RoundRequest) -> RoundResult:
        """One round: ``runtimes`` (all of this class's round group) timed in one fresh worker process,
        interleaved sample by sample (rmprof/bench/worker.py)."""
        from rmprof.runtimes.rounds import worker_round

        return worker_round(runtimes, request)

    @classmethod
    def round_group(cls, runtime: Runtime | None) -> str:
        """Runtimes with the same group are measured together in one round process (in-process: one worker)."""
        return "worker"


def python_alloc_peak(fn: Callable[[list[Any]], Any], items: list[Any]) -> int:
    """Peak Python heap allocated during one run (tracemalloc), above what existed before it."""
    import tracemalloc

    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        fn(items)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return max(0, peak - base)
