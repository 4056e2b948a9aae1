"""A run folder as a whole: one run directory, or the folder of several (``--scenario all``, a shard, a merge).

``profile --scenario all``, ``profile --shard I/N`` and ``merge`` lay out one run directory per scenario,
``FOLDER/<scenario>/`` (see rmprof/run_dir.py), beside which the folder itself holds:

    FOLDER/report.html     the overview: every scenario, the machine that measured it, links to its report
    FOLDER/shard.json      a shard's record (schema "rmprof.shard/1"): which shard, which scenarios of which
    FOLDER/merge.json      a merge's record (schema "rmprof.merge/1"): sources, shards, machines per scenario

Each scenario's results.json keeps its own environment (the machine fingerprint), so a merged folder says
which machine measured what without any other file.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rmprof.errors import RmprofError
from rmprof.files import read_json
from rmprof.run_dir import RESULTS, load_results

if TYPE_CHECKING:
    from rmprof.model.bench import Environment
    from rmprof.model.run import RunDocument

SHARD_FILE = "shard.json"
MERGE_FILE = "merge.json"
SHARD_SCHEMA = "rmprof.shard/1"
MERGE_SCHEMA = "rmprof.merge/1"
# What identifies the machine (and build) that measured a scenario: the fingerprint fields.
FINGERPRINT_FIELDS = ("cpu", "cores", "machine", "os", "python", "rustc", "git_commit")


def is_folder_of_runs(path: Path) -> bool:
    """Whether ``path`` holds one run directory per scenario rather than being one itself."""
    path = Path(path)
    return path.is_dir() and not (path / RESULTS).is_file() and any(_scenario_dirs(path))


def _scenario_dirs(path: Path) -> list[Path]:
    return sorted(d for d in path.iterdir() if d.is_dir() and not d.name.startswith(".") and (d / RESULTS).is_file())


def scenario_runs(path: Path) -> list[tuple[Path, RunDocument]]:
    """Every (run directory, results) of a run folder: itself when it is one run directory, else its children."""
    path = Path(path)
    if not path.is_dir():
        raise RmprofError(f"{path}: not a run directory (no such directory)")
    if (path / RESULTS).is_file():
        return [(path, load_results(path))]
    dirs = _scenario_dirs(path)
    if not dirs:
        raise RmprofError(f"{path}: not a run directory (no {RESULTS}, and no scenario folders holding one)")
    return [(d, load_results(d)) for d in dirs]


def environment_of(results: RunDocument) -> Environment:
    """The environment a results.json was measured in (its bench's)."""
    bench = results.get("bench") if isinstance(results.get("bench"), dict) else {}
    env = bench.get("environment")
    return env if isinstance(env, dict) else {}


def fingerprint(env: dict[str, Any]) -> dict[str, Any]:
    """The machine fingerprint of an environment: CPU, cores, architecture, OS, Python, rustc, commit."""
    return {k: env.get(k) for k in FINGERPRINT_FIELDS}


def machine_of(fp: dict[str, Any]) -> dict[str, Any]:
    """The machine part of a fingerprint (everything but the commit): what tells runners apart."""
    return {k: v for k, v in fp.items() if k != "git_commit"}


def scenario_name(results: RunDocument, run_dir: Path) -> str:
    """The scenario a results.json measured (its folder's name when the file does not say)."""
    scenario = results.get("scenario") if isinstance(results.get("scenario"), dict) else {}
    name = scenario.get("name")
    return name if isinstance(name, str) and name else run_dir.name


def read_record(path: Path, name: str, schema: str) -> dict[str, Any] | None:
    """``path/name`` (shard.json or merge.json) when present, checked against ``schema``; None when absent."""
    file = Path(path) / name
    if not file.is_file():
        return None
    doc = read_json(file)
    if not isinstance(doc, dict) or doc.get("schema") != schema:
        raise RmprofError(f"{file}: not an rmprof {name} (schema {schema!r} expected)")
    return doc
