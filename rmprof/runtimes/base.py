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

    def run_instrumented(self, items: list[Any]) -> dict[str, Any]:
        """Run once more, instrumented, and say where the time went per node and per boundary.

        A separate pass from ``run``: ``run`` (the headline timing) reads no clock per item or per chunk.
        Outputs and errors are exactly those of ``run`` over the same items (the same exceptions too).
        The result::

            {"outputs": {leaf: [...]},          # as run() returns them
             "granularity": "item" | "chunk",    # what one latency sample covers: one item at one node,
                                                 # or one chunk at one node (runtimes that batch items)
             "wall_ns": int,                     # the whole instrumented pass, boundaries included
             "nodes": [                          # every node, in topological order
                 {"node": id, "node_type": "CalculatorNode",
                  "ns": int,                     # all the time attributable to the node (op, copies, moves)
                  "items": int,                  # items handed to the node
                  "calls": int,                  # latency samples: items or chunks, per "granularity"
                  "p50_ns": int, "p95_ns": int, "p99_ns": int},  # latency per sample
                 ...],
             "edges": [                          # boundary crossings (none for a runtime without any)
                 {"edge": "input (Python → Rust)", "kind": "input_conversion",
                  "ns": int, "items": int, "bytes": int},
                 ...]}

        Node ns plus edge ns account for (close to) all of ``wall_ns``: each node's share of the run is
        ``ns / wall_ns``. Edge kinds: ``input_conversion`` / ``output_conversion`` (in-process Rust),
        ``json_parse`` / ``json_serialize`` (the binaries); ``bytes`` is defined by the runtime that
        measures it (see its docstring).
        """
        raise NotImplementedError(f"{type(self).__name__} has no instrumented run")

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
