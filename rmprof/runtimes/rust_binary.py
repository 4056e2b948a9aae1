"""The standalone Rust binary as a runtime: one child process per run."""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from rmprof.errors import RuntimeUnavailable
from rmprof.manifest.model import Manifest
from rmprof.runtimes.base import Outputs, Prepared, Runtime
from rmprof.runtimes.binary import BINARY_NAME, RUSTPYTHON_BINARY_NAME, candidate_paths, find_binary, run_binary


class BinaryPrepared(Prepared):
    """The manifest written where the binary can read it."""

    def __init__(self, manifest: Manifest, binary: str = BINARY_NAME) -> None:
        self.binary = binary
        self._dir = tempfile.TemporaryDirectory(prefix="rmprof-bin-")
        self.manifest_path = Path(self._dir.name) / "manifest.json"
        self.manifest_path.write_text(manifest.text, encoding="utf-8")
        self.last_result: dict[str, Any] = {}

    def run(self, items: list[Any]) -> Outputs:
        """Write the items, run the binary once, return its outputs."""
        self.last_result = run_binary(self._args(items), name=self.binary)
        return self.last_result["outputs"]

    def run_instrumented(self, items: list[Any]) -> dict[str, Any]:
        """Run the binary once with ``--node-timing``: its ``node_timing`` document plus the outputs.

        The outputs are those of the process's plain run, which precedes the instrumented pass over the
        same input (both compute the same outputs: a failure in either is raised). Edges: ``json_parse``
        and ``json_serialize`` (see ``rmprof.runtimes.binary.run_node_timing``).
        """
        self.last_result = run_binary([*self._args(items), "--node-timing"], name=self.binary)
        return {"outputs": self.last_result["outputs"], **self.last_result["node_timing"]}

    def _args(self, items: list[Any]) -> list[str]:
        """Write the items where the binary reads them; its arguments for one run."""
        input_path = Path(self._dir.name) / "input.json"
        input_path.write_text(json.dumps(items), encoding="utf-8")
        # The CLI has already refused code without --allow-code; the binary checks again on its own.
        return ["--manifest", str(self.manifest_path), "--input", str(input_path), "--allow-code"]

    def close(self) -> None:
        self._dir.cleanup()


class RustBinaryRuntime(Runtime):
    """The Rust executor as a separate process (``rmprof-runtime``)."""

    name = "rust-bin"
    description = "standalone Rust binary rmprof-runtime, run as a child process"
    in_process = False
    binary = BINARY_NAME

    def unavailable_reason(self) -> str | None:
        """Why the binary cannot be found, or None."""
        try:
            find_binary(self.binary)
        except RuntimeUnavailable as exc:
            return exc.message
        return None

    def location(self) -> dict[str, Any]:
        """The binary's path and version, and every place it is looked for."""
        looked = candidate_paths(self.binary)
        try:
            path = find_binary(self.binary)
        except RuntimeUnavailable:
            return {"looked": [str(p) for p in looked]}
        out = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=30)
        version = out.stdout.strip().partition(" ")[2] if out.returncode == 0 else None
        return {"path": str(path), "version": version, "looked": [str(p) for p in looked]}

    def prepare(self, manifest: Manifest) -> Prepared:
        """Check the binary exists and stage the manifest."""
        find_binary(self.binary)
        return BinaryPrepared(manifest, self.binary)


class RustPythonRuntime(RustBinaryRuntime):
    """The Rust executor with PythonNode code in the RustPython VM (``rmprof-runtime-rustpython``).

    Only as a binary: inside CPython, a second interpreter would bring the heavy RustPython build into the
    default extension build, and nothing to gain that the binary does not measure.
    """

    name = "rustpython"
    description = "Rust binary rmprof-runtime-rustpython: PythonNode code in the RustPython VM"
    binary = RUSTPYTHON_BINARY_NAME
