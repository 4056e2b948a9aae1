"""results.json read back and checked against rmprof/results.schema.json, the one contract of rmprof's documents.

The schema (JSON Schema 2020-12) describes results.json (``rmprof.run/1``), the bench document inside it
(``rmprof.bench/1``), one instrumented pass (``$defs/node_timing``) and compare.json (``rmprof.compare/1``).
Report, compare, merge, history and export read results.json through ``load_results`` (via
``run_dir.load_results``): a document of another schema version, or one whose shape is wrong, ends the command
with one line naming the version and the JSON path, instead of a KeyError deep in a reader.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from rmprof.errors import RmprofError

SCHEMA_PATH = Path(__file__).with_name("results.schema.json")
RUN_SCHEMA = "rmprof.run/1"
BENCH_SCHEMA = "rmprof.bench/1"
COMPARE_SCHEMA = "rmprof.compare/1"
# How much of a failing value an error line quotes: enough to recognise it, never a whole block.
QUOTE_CHARS = 120


@functools.cache
def _validator(definition: str | None = None) -> Any:
    """A validator of the whole schema, or of one of its ``$defs`` (``node_timing``); imported on first use."""
    import jsonschema

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    if definition is not None:
        if definition not in schema["$defs"]:
            raise ValueError(f"results.schema.json has no $defs/{definition}")
        schema = {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": f"#/$defs/{definition}"}
    return jsonschema.Draft202012Validator(schema)


def problem(doc: Any, definition: str | None = None) -> str | None:
    """The first thing wrong with ``doc`` under the schema (``$.path: message``), or None when it is valid."""
    from jsonschema.exceptions import best_match

    error = best_match(_validator(definition).iter_errors(doc))
    if error is None:
        return None
    message = " ".join(error.message.split())
    if len(message) > QUOTE_CHARS:
        message = message[: QUOTE_CHARS - 1] + "…"
    return f"{error.json_path}: {message}"


def check_document(doc: Any, where: Path | str, expected: str) -> dict[str, Any]:
    """``doc`` when it is a valid document of schema ``expected``; else RmprofError naming ``where``, the schema
    version and the JSON path of the first problem."""
    version = doc.get("schema") if isinstance(doc, dict) else None
    if not isinstance(version, str):
        raise RmprofError(f'{where}: not an rmprof results file (no "schema" field; {expected!r} expected)')
    if version != expected:
        raise RmprofError(
            f"{where}: schema {version!r}, this rmprof reads {expected!r}: written by another version of rmprof "
            "or another tool; rerun it with this one"
        )
    found = problem(doc)
    if found is not None:
        raise RmprofError(f"{where}: not a valid {expected} document: {found}")
    return doc


def load_results(path: Path) -> dict[str, Any]:
    """results.json at ``path``, checked against the schema (a one-line RmprofError when it cannot be used)."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RmprofError(f"{path}: cannot read: {exc}") from None
    return check_document(doc, path, RUN_SCHEMA)
