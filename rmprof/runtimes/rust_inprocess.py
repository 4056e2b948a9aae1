"""The Rust executor in this process, through the PyO3 extension ``rmprof._native``."""

from __future__ import annotations

from typing import Any

from rmprof.errors import InputError, ManifestError, PipelineError, RuntimeUnavailable
from rmprof.manifest.model import Manifest
from rmprof.runtimes.base import Outputs, Prepared, Runtime


def load_native() -> Any:
    """The extension module, or RuntimeUnavailable saying how to build it."""
    try:
        from rmprof import _native
    except ImportError as exc:
        raise RuntimeUnavailable(
            f"the Rust extension rmprof._native is not built ({exc}); run ./scripts/setup.sh "
            "or `pip install .` from the repository"
        ) from None
    return _native


class RustPrepared(Prepared):
    """A native Pipeline built from the manifest text."""

    def __init__(self, manifest_text: str) -> None:
        self._native = load_native()
        try:
            # PythonNode code runs in this interpreter; the CLI has refused it already without --allow-code.
            self.pipeline = self._native.Pipeline(manifest_text, allow_code=True)
        except self._native.ManifestError as exc:
            raise ManifestError(str(exc)) from None

    def run(self, items: list[Any]) -> Outputs:
        """Run once: items cross into Rust as one batch, the GIL is released while nodes run."""
        try:
            return self.pipeline.run(items)
        except self._native.PipelineError as exc:
            message, node, item = exc.args
            raise PipelineError(message, node=node, item=item) from None
        except self._native.InputError as exc:
            raise InputError(str(exc)) from None


class RustRuntime(Runtime):
    """The Rust executor, in-process."""

    name = "rust"
    description = "Rust executor in-process through PyO3 (one boundary crossing per run)"

    def unavailable_reason(self) -> str | None:
        """Why the extension cannot be imported, or None."""
        try:
            load_native()
        except RuntimeUnavailable as exc:
            return exc.message
        return None

    def location(self) -> dict[str, Any]:
        """The extension's file and the crate version it was built from."""
        try:
            native = load_native()
        except RuntimeUnavailable:
            return {}
        return {"path": native.__file__, "version": native.version()}

    def prepare(self, manifest: Manifest) -> Prepared:
        """Parse and build the manifest in Rust."""
        return RustPrepared(manifest.text)

    def prepare_text(self, text: str) -> Prepared:
        """Parse, validate and build in Rust alone (no Python-side validation)."""
        return RustPrepared(text)
