"""One measuring round: runtimes timed in fresh processes, so that every interval includes the noise between them.

Two strategies, chosen by the runtime's class (``Runtime.measure_round``), never by its name: in-process runtimes
share one fresh worker process (rmprof/bench/worker.py) and are sampled in turn; a binary runs as a fresh process
of its own that times itself (``--iterations``) and prints its samples as JSON.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from rmprof.child_protocol import module_command, run_child
from rmprof.runtimes.references import RUST_FUSED

if TYPE_CHECKING:
    from rmprof.runtimes.base import Runtime

T = TypeVar("T")

# Fresh processes start in the folder holding this rmprof package, so that `python -m` imports the same
# rmprof (a checkout in the working folder would otherwise come first on sys.path).
CHILD_CWD = Path(__file__).resolve().parents[2]


# Untimed builds before the init samples, on every runtime. Five were not enough for the binary: its small heap
# still grew on a later build, which took 3-10 µs instead of 1.2 (simple, warm); where that build fell depended
# on the process's heap layout (one more command-line argument moved it from after the samples into them), and
# the binary's init intervals were ±40 %. After 20, 18 of 480 samples in three benches were over twice the fastest
# (before: every other one on simple and text).
INIT_WARMUP = 20


@dataclass
class RoundRequest:
    """What one round measures: the scenario's files and how many samples of what."""

    manifest_path: Path
    input_path: Path
    samples: int  # run samples per runtime
    init_samples: int = 0
    warmup: int = 3  # untimed runs before the run samples
    init_warmup: int = INIT_WARMUP  # untimed builds before the init samples
    instrumented: int = 0  # instrumented passes per runtime (per-node costs), apart from the timing
    # An untimed instrumented pass first (its path's first-call costs); a budget skips it for runs of seconds.
    instrumented_warmup: bool = True
    inner: dict[str, int] | None = None  # runs per sample, as calibrated by an earlier round
    fused: bool = False  # also time the python-fused floor (in-process rounds)
    machine_reference: bool = False  # also time the machine references (rmprof/bench/reference.py; worker rounds)
    # The binary runtime whose process also times the rust-fused floor after its own figures (bench/rust_fused.py)
    rust_fused: str | None = None
    builds: dict[str, Path] = field(default_factory=dict)  # runtime -> a saved build to time instead of the current


@dataclass
class RoundResult:
    """Samples of one round, per runtime (ns)."""

    run_ns: dict[str, list[float]] = field(default_factory=dict)
    init_ns: dict[str, list[float]] = field(default_factory=dict)
    vm_init_ns: dict[str, list[float]] = field(default_factory=dict)  # an embedded VM's start-up (part of init)
    passes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # instrumented passes (rmprof/bench/nodes)
    alloc: dict[str, dict[str, Any]] = field(default_factory=dict)  # allocation counts a binary reports
    inner: dict[str, int] | None = None
    # kind -> {"what", "digest", "identity", "unit", "samples"} of the machine references (worker rounds)
    machine_reference: dict[str, dict[str, Any]] = field(default_factory=dict)


def worker_round(runtimes: list[Runtime], request: RoundRequest) -> RoundResult:
    """In-process ``runtimes`` (and the python-fused floor and machine references when asked) in one fresh
    worker process."""
    names = [rt.name for rt in runtimes]
    doc = {
        "manifest": str(Path(request.manifest_path).resolve()),
        "input": str(Path(request.input_path).resolve()),
        "runtimes": names,
        "fused": request.fused,
        "samples": request.samples,
        "init_samples": request.init_samples,
        "warmup": request.warmup,
        "init_warmup": request.init_warmup,
        "inner": request.inner,
        "native": {n: str(p) for n, p in request.builds.items() if n in names},
        "instrumented": request.instrumented,
        "instrumented_warmup": request.instrumented_warmup,
        "machine_reference": request.machine_reference,
    }
    command = module_command("rmprof.bench.worker", doc)
    answer = run_child(f"bench worker for {', '.join(names)}", command, timeout=600, cwd=CHILD_CWD)
    return RoundResult(
        run_ns=answer["run_ns"],
        init_ns=answer["init_ns"],
        passes=answer.get("instrumented") or {},
        inner=answer["inner"],
        machine_reference=answer.get("machine_reference") or {},
    )


def binary_round(runtime: Runtime, binary: Path, request: RoundRequest) -> RoundResult:
    """One fresh process of the binary at ``binary`` timing ``request.samples`` runs after two warm-up runs, then
    ``request.init_samples`` builds after ``request.init_warmup`` untimed ones.

    Init samples are the warm builds (``warm_init_ns``), as the worker samples the in-process runtimes' init
    after warm-up builds; the process's first build (``init_ns``) pays its first use of the code and is part of
    cold start. A saved build older than ``--init-samples`` has no comparable init figure: its round gives none.
    """
    from rmprof.errors import ChildFailed
    from rmprof.runtimes.binary import run_binary_at

    args = [
        *binary_args(request.manifest_path, request.input_path),
        "--iterations",
        str(request.samples),
        "--warmup",
        "2",
        "--no-outputs",
    ]
    if request.instrumented:
        args.append("--node-timing")
    # Optional figures: a saved build older than one of these flags refuses it, and its round gives none of it.
    optional = []
    if request.init_samples:
        optional.append(["--init-samples", str(request.init_samples), "--init-warmup", str(request.init_warmup)])
    if request.rust_fused == runtime.name:
        optional.append(["--fused-iterations", str(request.samples)])
    while True:
        try:
            doc = run_binary_at(binary, [*args, *(a for group in optional for a in group)], timeout=300)
            break
        except ChildFailed as exc:
            refused = [g for g in optional if f"unknown argument '{g[0]}'" in exc.message]
            if not refused:
                raise
            optional.remove(refused[0])
    name = runtime.name
    # Empty for a build older than --init-samples: callers add no init samples for it (paired compares skip it).
    result = RoundResult(run_ns={name: doc["run_ns"]}, init_ns={name: doc.get("warm_init_ns") or []})
    if doc.get("vm_init_ns") is not None:
        result.vm_init_ns[name] = [doc["vm_init_ns"]]
    if doc.get("node_timing"):
        result.passes[name] = [doc["node_timing"]]
    if doc.get("alloc") is not None:
        result.alloc[name] = doc["alloc"]
    if doc.get("fused_run_ns"):
        # The floor's samples, from the same process as the executor's (round-paired with them).
        result.run_ns[RUST_FUSED] = doc["fused_run_ns"]
    return result


def round_order(items: Sequence[T], r: int) -> list[T]:
    """Who goes first in round ``r`` (from 0): ``items`` as given in even rounds, reversed in odd ones, so that
    none always follows the same other (the bench's round groups and paired mode's two builds alike)."""
    return list(items) if r % 2 == 0 else list(reversed(items))


def binary_args(manifest_path: Path, input_path: Path) -> list[str]:
    """The binaries' arguments for one scenario (code in it was allowed by the CLI already)."""
    return ["--manifest", str(manifest_path), "--input", str(input_path), "--allow-code"]
