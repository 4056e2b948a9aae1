"""The JSON Schemas of rmprof's documents (shipped beside the package's modules) and checking a value against one.

Four schema files, JSON Schema 2020-12, each versioned by its ``$id`` and, for the documents that carry one, by the
document's own ``"schema"`` field:

- ``results.schema.json``: results.json, ``rmprof.run/1`` (its ``bench`` block is a bench document);
- ``bench.schema.json``: the bench document, ``rmprof.bench/1`` (``rmprof bench -o`` / ``--json``, results.json's
  ``bench``);
- ``node_timing.schema.json``: one instrumented pass (``Prepared.run_instrumented``, a binary's ``--node-timing``);
- ``compare.schema.json``: compare.json, ``rmprof.compare/1``.

jsonschema is imported on first use: ``rmprof --help`` never pays for it.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any, Literal

SCHEMA_DIR = Path(__file__).resolve().parents[1]
Kind = Literal["run", "bench", "compare", "node_timing"]
SCHEMA_FILES: dict[Kind, str] = {
    "run": "results.schema.json",
    "bench": "bench.schema.json",
    "compare": "compare.schema.json",
    "node_timing": "node_timing.schema.json",
}
RUN_SCHEMA = "rmprof.run/1"
BENCH_SCHEMA = "rmprof.bench/1"
COMPARE_SCHEMA = "rmprof.compare/1"
# The "schema" field of each versioned document, and the schema file that describes it.
VERSIONS: dict[str, Kind] = {RUN_SCHEMA: "run", BENCH_SCHEMA: "bench", COMPARE_SCHEMA: "compare"}
# How much of a failing value an error line quotes: enough to recognise it, never a whole block.
QUOTE_CHARS = 120


def schema_path(kind: Kind) -> Path:
    """The file of one schema."""
    return SCHEMA_DIR / SCHEMA_FILES[kind]


@functools.cache
def schema(kind: Kind) -> dict[str, Any]:
    """One schema, parsed."""
    return json.loads(schema_path(kind).read_text(encoding="utf-8"))


@functools.cache
def _registry() -> Any:
    """Every schema by its ``$id``, so that one schema's ``$ref`` to another (run -> bench) resolves offline."""
    from referencing import Registry, Resource

    return Registry().with_resources(
        (schema(kind)["$id"], Resource.from_contents(schema(kind))) for kind in SCHEMA_FILES
    )


@functools.cache
def _validator(kind: Kind, definition: str | None = None) -> Any:
    """A validator of a whole schema, or of one of its ``$defs``."""
    import jsonschema

    top = schema(kind)
    if definition is not None:
        if definition not in top["$defs"]:
            raise ValueError(f"{SCHEMA_FILES[kind]} has no $defs/{definition}")
        top = {"$schema": top["$schema"], "$ref": f"{top['$id']}#/$defs/{definition}"}
    return jsonschema.Draft202012Validator(top, registry=_registry())


def problem(doc: Any, kind: Kind, definition: str | None = None) -> str | None:
    """The first thing wrong with ``doc`` under schema ``kind`` (or its ``$defs/definition``) as
    ``$.path: message``, or None when it is valid."""
    from jsonschema.exceptions import best_match

    error = best_match(_validator(kind, definition).iter_errors(doc))
    if error is None:
        return None
    message = " ".join(error.message.split())
    if len(message) > QUOTE_CHARS:
        message = message[: QUOTE_CHARS - 1] + "…"
    return f"{error.json_path}: {message}"
