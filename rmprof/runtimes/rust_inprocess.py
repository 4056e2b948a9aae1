"""The Rust executor in this process, through a PyO3 extension: ``rmprof._native`` (PythonNode code in
CPython) or ``rmprof._native_rustpython`` (the same executor, PythonNode code in the RustPython VM)."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rmprof.errors import InputError, ManifestError, PipelineError, RuntimeUnavailable
from rmprof.manifest.model import Manifest
from rmprof.runtimes.base import Outputs, Prepared, Runtime
from rmprof.runtimes.binary import RUSTPYTHON_FIX

if TYPE_CHECKING:
    from rmprof.model.node_timing import NodeTiming

# How each extension is built: the RustPython one (a long build) only on request.
BUILD_COMMANDS = {
    "rmprof._native": "./scripts/setup.sh",
    "rmprof._native_rustpython": "./scripts/setup.sh --rustpython",
}


def load_native(module: str = "rmprof._native") -> Any:
    """The extension module, or RuntimeUnavailable saying how to build it."""
    # Every RustPrepared asks (the bench's init time): a loaded module costs a dict lookup, not the
    # import machinery (~0.8 µs).
    loaded = sys.modules.get(module)
    if loaded is not None:
        return loaded
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        command = BUILD_COMMANDS.get(module, "./scripts/setup.sh")
        raise RuntimeUnavailable(
            f"the Rust extension {module} is not built ({exc}); run {command} from the repository"
        ) from None


def extension_build_info(native: Any) -> dict[str, Any] | None:
    """The extension module's build identity (``build_info()``, as the binary's ``--build-info``), or None for
    one built before it had that function."""
    build_info = getattr(native, "build_info", None)
    return build_info() if callable(build_info) else None


class RustPrepared(Prepared):
    """A native Pipeline built from the manifest text."""

    def __init__(self, manifest_text: str, module: str = "rmprof._native") -> None:
        native = self._native = load_native(module)
        try:
            # PythonNode code runs in this interpreter; the CLI has refused it already without --allow-code.
            # allow_code is passed by position: a keyword argument cost PyO3 ~0.3 µs of a ~4 µs build.
            self.pipeline = native.Pipeline(manifest_text, True)
        except self._native.ManifestError as exc:
            raise ManifestError(str(exc)) from None

    def run(self, items: list[Any]) -> Outputs:
        """Run once: items cross into Rust as one batch, the GIL is released while nodes run."""
        # The bench times this method: a direct call, errors mapped only on the failure path.
        try:
            return self.pipeline.run(items)
        except (self._native.PipelineError, self._native.InputError) as exc:
            raise self._mapped(exc) from None

    def run_instrumented(self, items: list[Any]) -> NodeTiming:
        """Run once with every node timed per chunk (``"granularity": "chunk"``), as ``Prepared`` describes.

        The edges are the list → Rust values conversion (``input_conversion``) and the way back
        (``output_conversion``); their bytes are the Rust values' footprint: 32 bytes per value plus the
        UTF-8 bytes of strings longer than 23 bytes (shorter ones are inline; object keys: 24 bytes plus
        their bytes), recursively.
        """
        try:
            return self.pipeline.run_instrumented(items)
        except (self._native.PipelineError, self._native.InputError) as exc:
            raise self._mapped(exc) from None

    def run_ndjson(self, input_path: str, label: str, output_path: str) -> dict[str, Any]:
        """Stream the NDJSON file ``input_path`` through the Rust executor into ``output_path`` (chunks of
        1,024 items read, run and written in Rust, the GIL released); ``{"items", "sinks"}`` or the error."""
        from rmprof.ndjson import stream_error

        try:
            return self.pipeline.run_stream(input_path, output_path)
        except self._native.PipelineError as exc:
            raise self._mapped(exc) from None
        except self._native.InputError as exc:
            message, line, kind = exc.args
            raise stream_error(message, line, kind, input_path, label) from None

    def _mapped(self, exc: Exception) -> Exception:
        """The rmprof error for a native PipelineError or InputError."""
        if isinstance(exc, self._native.PipelineError):
            message, node, item = exc.args
            return PipelineError(message, node=node, item=item)
        return InputError(str(exc))


class RustRuntime(Runtime):
    """The Rust executor, in-process."""

    name = "rust"
    label = "rust (in-process)"
    standalone = "rust-bin"
    description = "Rust executor in-process through PyO3 (one boundary crossing per run)"
    order = 20
    profilers = ("py-spy", "perf")  # perf: Python ≥ 3.12 (rmprof/profilers/perf_jit.py)
    native_frames = True
    module = "rmprof._native"
    fix = "build the extension: ./scripts/setup.sh (or pip install .) in the project folder"

    def unavailable_reason(self) -> str | None:
        """Why the extension cannot be imported, or None."""
        try:
            load_native(self.module)
        except RuntimeUnavailable as exc:
            return exc.message
        return None

    def location(self) -> dict[str, Any]:
        """The extension's file and the crate version it was built from."""
        try:
            native = load_native(self.module)
        except RuntimeUnavailable:
            return {}
        return {"path": native.__file__, "version": native.version(), "build": extension_build_info(native)}

    def build_identity(self) -> dict[str, Any] | None:
        """The extension in use: ``{"kind": "extension", "module", "path", "build_id", "build", "standalone"}``;
        ``build`` is its ``build_info()`` and ``build_id`` its id (None for an extension built before builds were
        named), ``standalone`` the binary runtime whose build must be the same for the boundary to mean anything.
        None when it is not built."""
        try:
            native = load_native(self.module)
        except RuntimeUnavailable:
            return None
        build = extension_build_info(native)
        return {
            "kind": "extension",
            "module": self.module,
            "path": native.__file__,
            "build_id": build.get("build_id") if build else None,
            "build": build,
            "standalone": self.standalone,
        }

    def build(self) -> Path | None:
        """The extension module's file (found without importing it)."""
        spec = importlib.util.find_spec(self.module)
        return Path(spec.origin) if spec is not None and spec.origin else None

    def use_build(self, path: Path) -> None:
        """Make ``import`` of the extension load the file at ``path`` (a saved baseline's build)."""
        spec = importlib.util.spec_from_file_location(self.module, path)
        if spec is None or spec.loader is None:
            raise RuntimeUnavailable(f"cannot load {self.module} from {path}")
        native = importlib.util.module_from_spec(spec)
        sys.modules[self.module] = native
        spec.loader.exec_module(native)

    def prepare(self, manifest: Manifest) -> Prepared:
        """Parse and build the manifest in Rust."""
        return RustPrepared(manifest.text, self.module)

    def prepare_text(self, text: str) -> Prepared:
        """Parse, validate and build in Rust alone (no Python-side validation)."""
        return RustPrepared(text, self.module)

    def memory(self, prepared: Prepared, items: list[Any]) -> dict[str, int | None]:
        """The Python heap of one run (tracemalloc) and the Rust heap the extension counts."""
        peaks = super().memory(prepared, items)
        measure = getattr(getattr(prepared, "pipeline", None), "run_heap_peak", None)
        peaks["native_heap_peak_bytes"] = int(measure(items)) if callable(measure) else None
        return peaks


class RustPythonInProcessRuntime(RustRuntime):
    """The Rust executor in-process with PythonNode code in RustPython's VM (one VM per calling thread).

    A separate extension module (built with the cargo feature `rustpython`) so that the RustPython VM,
    a long build, stays out of `pip install .` and `./scripts/setup.sh`; ./scripts/setup.sh --rustpython builds it.
    """

    name = "rustpython-inproc"
    label = "rustpython-inproc (in-process, RustPython VM)"
    standalone = "rustpython"
    description = "Rust executor in-process through PyO3, PythonNode code in the RustPython VM"
    order = 50
    module = "rmprof._native_rustpython"
    fix = RUSTPYTHON_FIX

    def applies_to(self, manifest: Manifest) -> bool:
        """Manifests with PythonNode code (elsewhere it is the rust runtime again)."""
        return manifest.has_code
