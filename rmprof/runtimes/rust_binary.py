"""The standalone Rust binary as a runtime: one child process per run."""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rmprof.child_protocol import ChildCommand
from rmprof.errors import RuntimeUnavailable
from rmprof.manifest.model import Manifest
from rmprof.runtimes.base import BINARY, Outputs, Prepared, Runtime
from rmprof.runtimes.binary import (
    BINARY_NAME,
    ENV_VAR,
    RUSTPYTHON_BINARY_NAME,
    RUSTPYTHON_ENV_VAR,
    RUSTPYTHON_FIX,
    binary_build_info,
    binary_source,
    candidate_paths,
    find_binary,
    run_binary_at,
)
from rmprof.runtimes.rounds import RoundRequest, RoundResult, binary_args, binary_round

if TYPE_CHECKING:
    from rmprof.model.node_timing import NodeTiming


class BinaryPrepared(Prepared):
    """The manifest written where the binary can read it."""

    def __init__(self, manifest: Manifest, binary: Path) -> None:
        self.binary = binary
        self._dir = tempfile.TemporaryDirectory(prefix="rmprof-bin-")
        self.manifest_path = Path(self._dir.name) / "manifest.json"
        self.manifest_path.write_text(manifest.text, encoding="utf-8")
        self.last_result: dict[str, Any] = {}

    def run(self, items: list[Any]) -> Outputs:
        """Write the items, run the binary once, return its outputs."""
        self.last_result = run_binary_at(self.binary, self._args(items))
        return self.last_result["outputs"]

    def run_instrumented(self, items: list[Any]) -> NodeTiming:
        """Run the binary once with ``--node-timing``: its ``node_timing`` document plus the outputs.

        The outputs are those of the process's plain run, which precedes the instrumented pass over the
        same input (both compute the same outputs: a failure in either is raised). Edges: ``json_parse``
        and ``json_serialize`` (see ``rmprof.runtimes.binary.run_node_timing``).
        """
        self.last_result = run_binary_at(self.binary, [*self._args(items), "--node-timing"])
        return {"outputs": self.last_result["outputs"], **self.last_result["node_timing"]}

    def run_ndjson(self, input_path: str, label: str, output_path: str) -> dict[str, Any]:
        """Run the binary once with ``--output``: it reads the NDJSON file ``input_path`` in chunks and writes
        each sink item to ``output_path`` as it leaves the pipeline; ``{"items", "sinks"}`` or the error."""
        from rmprof.errors import InputError
        from rmprof.ndjson import stream_error

        args = ["--manifest", str(self.manifest_path), "--input", input_path, "--output", output_path]
        try:
            # No time limit: a streamed input can be any length; Ctrl-C still stops the child.
            self.last_result = run_binary_at(self.binary, [*args, "--allow-code"], timeout=None)
        except InputError as exc:
            raise stream_error(exc.message, exc.line, exc.line_error, input_path, label) from None
        return {"items": self.last_result["items"], "sinks": self.last_result["sinks"]}

    def _args(self, items: list[Any]) -> list[str]:
        """Write the items where the binary reads them; its arguments for one run."""
        input_path = Path(self._dir.name) / "input.json"
        input_path.write_text(json.dumps(items), encoding="utf-8")
        # The CLI has already refused code without --allow-code; the binary checks again on its own.
        return binary_args(self.manifest_path, input_path)

    def close(self) -> None:
        self._dir.cleanup()


class RustBinaryRuntime(Runtime):
    """The Rust executor as a separate process (``rmprof-runtime``)."""

    name = "rust-bin"
    label = "rust-bin (standalone binary)"
    description = "standalone Rust binary rmprof-runtime, run as a child process"
    order = 30
    kind = BINARY
    profilers = ("perf", "callgrind", "massif")
    binary = BINARY_NAME
    env_var = ENV_VAR
    fix = "build the binaries: ./scripts/setup.sh, or set RMPROF_RUNTIME_BIN to an rmprof-runtime binary"

    def applies_to(self, manifest: Manifest) -> bool:
        """Manifests without PythonNode code: with code, rustpython is the binary that runs it."""
        return not manifest.has_code

    def binary_path(self) -> Path:
        """The binary this runtime runs, or RuntimeUnavailable saying where it looked and how to build it."""
        return find_binary(self.binary, self.env_var)

    def unavailable_reason(self) -> str | None:
        """Why the binary cannot be found, or None."""
        try:
            self.binary_path()
        except RuntimeUnavailable as exc:
            return exc.message
        return None

    def location(self) -> dict[str, Any]:
        """The binary's path and version, and every place it is looked for."""
        looked = candidate_paths(self.binary, self.env_var)
        try:
            path = self.binary_path()
        except RuntimeUnavailable:
            return {"looked": [str(p) for p in looked]}
        out = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=30)
        version = out.stdout.strip().partition(" ")[2] if out.returncode == 0 else None
        return {
            "path": str(path),
            "version": version,
            "source": binary_source(path, self.binary, self.env_var),
            "build": binary_build_info(path),
            "looked": [str(p) for p in looked],
        }

    def build(self) -> Path | None:
        """The binary itself (saved with baselines for paired comparisons)."""
        try:
            return self.binary_path()
        except RuntimeUnavailable:
            return None

    def build_identity(self) -> dict[str, Any] | None:
        """The binary in use: ``{"kind": "binary", "path", "source", "build_id", "build"}``; ``source`` says what
        chose it (``RMPROF_RUNTIME_BIN``, "next to interpreter", "PATH", "cargo target"), ``build`` is what its
        ``--build-info`` prints and ``build_id`` its id (None when it cannot tell). None when there is no binary."""
        try:
            path = self.binary_path()
        except RuntimeUnavailable:
            return None
        source = binary_source(path, self.binary, self.env_var)
        build = binary_build_info(path)
        build_id = build.get("build_id") if build else None
        return {"kind": "binary", "path": str(path), "source": source, "build_id": build_id, "build": build}

    def prepare(self, manifest: Manifest) -> Prepared:
        """Check the binary exists and stage the manifest."""
        return BinaryPrepared(manifest, self.binary_path())

    def process_command(self, manifest_path: Path, input_path: Path, iterations: int) -> ChildCommand:
        """The binary itself, its request all on its command line; with one iteration it prints its outputs, like
        the Python child its first item, and its JSON document (with ``peak_rss_bytes``) is its answer."""
        quiet = ["--no-outputs"] if iterations > 1 else []
        args = binary_args(Path(manifest_path).resolve(), Path(input_path).resolve())
        return ChildCommand([str(self.binary_path()), *args, "--iterations", str(iterations), *quiet])

    def memory(self, prepared: Prepared, items: list[Any]) -> dict[str, int | None]:
        """Nothing measurable from here: the binary reports its own allocations in each round (``alloc``)."""
        return {"run_alloc_peak_bytes": None, "native_heap_peak_bytes": None}

    @classmethod
    def measure_round(cls, runtimes: list[Runtime], request: RoundRequest) -> RoundResult:
        """A fresh process of the binary (a saved build when ``request.builds`` names one) timing itself."""
        (runtime,) = runtimes
        assert isinstance(runtime, RustBinaryRuntime)
        binary = request.builds.get(runtime.name) or runtime.binary_path()
        return binary_round(runtime, Path(binary), request)

    @classmethod
    def round_group(cls, runtime: Runtime | None) -> str:
        """Each binary is a process of its own."""
        return runtime.name if runtime else cls.name


class RustPythonRuntime(RustBinaryRuntime):
    """The Rust executor as a binary with PythonNode code in the RustPython VM (``rmprof-runtime-rustpython``)."""

    name = "rustpython"
    label = "rustpython (binary, RustPython VM)"
    description = "Rust binary rmprof-runtime-rustpython: PythonNode code in the RustPython VM"
    order = 40
    binary = RUSTPYTHON_BINARY_NAME
    env_var = RUSTPYTHON_ENV_VAR
    fix = RUSTPYTHON_FIX

    def applies_to(self, manifest: Manifest) -> bool:
        """Manifests with PythonNode code (elsewhere it is rust-bin again)."""
        return manifest.has_code
