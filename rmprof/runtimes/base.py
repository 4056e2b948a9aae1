"""The Runtime interface every runtime implements: check availability, prepare a manifest, run items."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from rmprof.manifest.model import Manifest

Outputs = dict[str, list[Any]]


class Prepared(ABC):
    """A manifest made ready to run (parsed, validated, nodes built) on one runtime."""

    @abstractmethod
    def run(self, items: list[Any]) -> Outputs:
        """Run the pipeline once over ``items``; raise PipelineError naming node and item on failure."""

    def close(self) -> None:  # noqa: B027 - optional hook: most runtimes hold nothing to release
        """Release what ``prepare`` acquired (event loop, native handle)."""

    def __enter__(self) -> Prepared:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Runtime(ABC):
    """One way of executing manifests (python asyncio, rust in-process, rust binary, ...)."""

    name: str = ""
    description: str = ""
    in_process: bool = True

    def unavailable_reason(self) -> str | None:
        """Why this runtime cannot run here (with the fix), or None when it can."""
        return None

    def location(self) -> dict[str, Any]:
        """Where this runtime comes from, for `rmprof doctor`: version, path, places looked."""
        return {}

    @abstractmethod
    def prepare(self, manifest: Manifest) -> Prepared:
        """Build an executor for an already validated ``manifest``."""

    def prepare_text(self, text: str) -> Prepared:
        """Manifest text to a ready executor: parse, validate, build (what the bench calls initialization)."""
        from rmprof.manifest import parse_manifest

        return self.prepare(parse_manifest(text))
