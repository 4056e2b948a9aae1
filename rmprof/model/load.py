"""Reading rmprof's documents back: the one loader report, compare, merge, history and export go through.

A document is read, its ``"schema"`` field matched against the versions the reader accepts, and the whole of it
validated against that version's JSON Schema (rmprof/model/schemas.py). Anything that cannot be used is one
``RmprofError`` line (exit 2) naming the file, the schema version and, for a wrong shape, the JSON path of the
first problem — never a KeyError deep in a reader. Documents of an accepted version load whatever keys later
versions added, since the schemas require only the keys every version has.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from rmprof.errors import RmprofError
from rmprof.files import read_json
from rmprof.model.schemas import BENCH_SCHEMA, COMPARE_SCHEMA, RUN_SCHEMA, VERSIONS, problem

if TYPE_CHECKING:
    from rmprof.model.bench import BenchDocument
    from rmprof.model.compare import CompareDocument
    from rmprof.model.run import RunDocument

# How each document is named in an error line.
WHAT = {RUN_SCHEMA: "results.json", BENCH_SCHEMA: "bench results", COMPARE_SCHEMA: "compare.json"}


def _expected(accepted: tuple[str, ...]) -> str:
    return " or ".join(repr(v) for v in accepted)


def check_document(doc: Any, where: Path | str, accepted: tuple[str, ...]) -> dict[str, Any]:
    """``doc`` when it is a valid document of one of the ``accepted`` schema versions; else a one-line
    RmprofError naming ``where``, the version and the JSON path of the first problem."""
    version = doc.get("schema") if isinstance(doc, dict) else None
    if not isinstance(version, str):
        raise RmprofError(f'{where}: not an rmprof document (no "schema" field; {_expected(accepted)} expected)')
    if version not in accepted:
        if version in VERSIONS:
            raise RmprofError(f"{where}: {WHAT[version]} ({version!r}), not {_expected(accepted)}")
        raise RmprofError(
            f"{where}: schema {version!r}, this rmprof reads {_expected(accepted)}: written by another version of "
            "rmprof or another tool; rerun it with this one"
        )
    found = problem(doc, VERSIONS[version])
    if found is not None:
        raise RmprofError(f"{where}: not a valid {version} document: {found}")
    return cast("dict[str, Any]", doc)


def load_document(path: Path, accepted: tuple[str, ...]) -> dict[str, Any]:
    """The document at ``path``, of one of the ``accepted`` versions, checked (a one-line RmprofError otherwise)."""
    return check_document(read_json(path), path, accepted)


def load_results(path: Path) -> RunDocument:
    """results.json at ``path``, checked against rmprof/results.schema.json."""
    return cast("RunDocument", load_document(path, (RUN_SCHEMA,)))


def load_bench(path: Path) -> BenchDocument:
    """An ``rmprof bench -o`` file at ``path``, checked against rmprof/bench.schema.json."""
    return cast("BenchDocument", load_document(path, (BENCH_SCHEMA,)))


def load_compare(path: Path) -> CompareDocument:
    """compare.json at ``path``, checked against rmprof/compare.schema.json."""
    return cast("CompareDocument", load_document(path, (COMPARE_SCHEMA,)))
