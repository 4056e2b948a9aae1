"""Scenarios: a manifest, an input, an expected output and an iteration count, kept in one folder."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from rmprof.errors import InputError, RmprofError, parse_file
from rmprof.manifest import Manifest, load_manifest
from rmprof.values import deep_values, parse_input, type_name

SCENARIO_ROOT = Path(__file__).parent / "scenarios"
DEFAULT_ITERATIONS = 100


@dataclass
class Scenario:
    """A pipeline with its input; ``expected`` is None for an ad-hoc manifest + input."""

    name: str
    manifest_path: Path
    input_path: Path
    expected_path: Path | None = None
    description: str = ""
    iterations: int = DEFAULT_ITERATIONS
    # Run once on the baseline by check_scenario: the bench does not run a pipeline of seconds again for it.
    checked: bool = False

    @cached_property
    def manifest(self) -> Manifest:
        """The validated manifest."""
        return load_manifest(self.manifest_path)

    @cached_property
    def items(self) -> list[Any]:
        """The validated input items."""
        return load_input(self.input_path)

    @cached_property
    def expected(self) -> dict[str, list[Any]] | None:
        """The expected outputs (sink id -> items), when the scenario has them."""
        if self.expected_path is None:
            return None
        from rmprof.files import read_json

        with deep_values():  # expected items nest as deep as items may (1,000 levels)
            doc = read_json(self.expected_path)
        # A malformed file is bad input (exit 2), not outputs that differ from it (exit 1).
        if not isinstance(doc, dict):
            raise RmprofError(f"{self.expected_path}: expected an object (sink id -> items), got {type_name(doc)}")
        for sink, items in doc.items():
            if not isinstance(items, list):
                raise RmprofError(f"{self.expected_path}: {sink}: expected an array of items, got {type_name(items)}")
        return doc


def load_input(path: str | Path) -> list[Any]:
    """Read and validate an input file (a JSON array of items, or NDJSON lines read whole); errors name the file."""
    from rmprof.ndjson import is_ndjson, read_items

    if is_ndjson(path):
        return list(read_items(path))
    return parse_file(path, parse_input, InputError)


def scenario_names() -> list[str]:
    """The names of the scenarios shipped with rmprof."""
    return sorted(p.name for p in SCENARIO_ROOT.iterdir() if (p / "manifest.json").is_file())


def from_dir(folder: Path, name: str | None = None) -> Scenario:
    """A scenario folder: manifest.json, input.json, and optionally expected.json and scenario.json."""
    meta: dict[str, Any] = {}
    meta_path = folder / "scenario.json"
    if meta_path.is_file():
        from rmprof.files import read_json

        meta = read_json(meta_path)
        if not isinstance(meta, dict):
            raise RmprofError(f"{meta_path}: expected an object, got {type_name(meta)}")
    iterations = meta.get("iterations", DEFAULT_ITERATIONS)
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1:
        raise RmprofError(f"{meta_path}: iterations: expected a positive integer, got {iterations!r}")
    expected = folder / "expected.json"
    return Scenario(
        name=name or str(meta.get("name", folder.name)),
        manifest_path=folder / "manifest.json",
        input_path=folder / "input.json",
        expected_path=expected if expected.is_file() else None,
        description=str(meta.get("description", "")),
        iterations=iterations,
    )


def get_scenario(name_or_dir: str) -> Scenario:
    """A shipped scenario by name, or a scenario folder by path."""
    if name_or_dir in scenario_names():
        return from_dir(SCENARIO_ROOT / name_or_dir, name_or_dir)
    folder = Path(name_or_dir)
    if folder.is_dir() and (folder / "manifest.json").is_file():
        return from_dir(folder)
    known = ", ".join(scenario_names())
    raise RmprofError(f"unknown scenario '{name_or_dir}' (known: {known}; or a folder with manifest.json)")


def from_files(manifest: str | Path, input_path: str | Path, expected: str | Path | None = None) -> Scenario:
    """An ad-hoc scenario from a manifest file and an input file."""
    return Scenario(
        name=Path(manifest).stem,
        manifest_path=Path(manifest),
        input_path=Path(input_path),
        expected_path=Path(expected) if expected else None,
    )


# Choosing scenarios for a command: --scenario NAME|DIR|all, or --manifest/--input.


def check_code_allowed(manifests: Any, allow_code: bool) -> None:
    """Refuse, with one line (exit 2), manifests that run Python code unless --allow-code was given."""
    if allow_code:
        return
    for m in manifests:
        if m.has_code:
            index = next(i for i, n in enumerate(m.nodes) if n.node_type == "PythonNode")
            raise RmprofError(
                f"manifest '{m.name}' runs Python code (nodes[{index}] is a PythonNode); "
                "running it runs a program: pass --allow-code to allow it"
            )


def resolve_scenario(
    scenario: str | None, manifest: str | None, input_path: str | None, expected: str | None = None
) -> Any:
    """The Scenario named by the scenario options (exactly one way must be given)."""
    _expected_with_manifest(manifest, expected)
    if scenario and (manifest or input_path):
        raise RmprofError("give either --scenario or --manifest with --input, not both")
    if scenario:
        return get_scenario(scenario)
    if manifest and input_path:
        return from_files(manifest, input_path, expected)
    if manifest or input_path:
        raise RmprofError("--manifest and --input go together")
    raise RmprofError("say what to run: --scenario NAME, or --manifest FILE --input FILE")


def _expected_with_manifest(manifest: str | None, expected: str | None) -> None:
    """--expected belongs to --manifest: with --scenario it was silently ignored (a scenario has its own)."""
    if expected and not manifest:
        raise RmprofError("--expected goes with --manifest and --input (a scenario checks its own expected.json)")


def chosen_scenarios(
    scenario: str | None, manifest: str | None, input_path: str | None, expected: str | None, allow_code: bool
) -> list:
    """The scenarios named by --scenario NAME|DIR|all, or the one of --manifest/--input, each checked once
    on the baseline: bad input fails here, before anything is measured or written."""
    _expected_with_manifest(manifest, expected)
    if scenario and not (manifest or input_path):
        scenarios = select_scenarios(scenario, allow_code)
    else:
        scenarios = [resolve_scenario(scenario, manifest, input_path, expected)]
        check_code_allowed([sc.manifest for sc in scenarios], allow_code)
    for sc in scenarios:
        check_scenario(sc)
    return scenarios


def check_scenario(scenario: Scenario) -> None:
    """Validate the manifest and input and run the pipeline once on the baseline.

    A pipeline that fails on its own input (a type mismatch, an overflow) has nothing to measure: that is the
    user's input error, reported with node and item before anything is timed or written. A large NDJSON input is
    checked on the items the timed runs use (ndjson.SAMPLE_ITEMS), never loaded whole.
    """
    if scenario.checked:
        return
    from rmprof.ndjson import SAMPLE_ITEMS, first_items, is_ndjson
    from rmprof.runtimes import BASELINE, get_runtime

    items = first_items(scenario.input_path, SAMPLE_ITEMS) if is_ndjson(scenario.input_path) else scenario.items
    with get_runtime(BASELINE).prepare(scenario.manifest) as prepared:
        prepared.run(items)
    scenario.checked = True


def select_scenarios(name: str, allow_code: bool = False) -> list:
    """``all`` or one scenario name / folder. ``all`` leaves out scenarios with code unless allowed; a
    named one with code is refused without --allow-code."""
    if name == "all":
        scenarios = [get_scenario(n) for n in scenario_names()]
        return [sc for sc in scenarios if allow_code or not sc.manifest.has_code]
    scenarios = [get_scenario(name)]
    check_code_allowed([sc.manifest for sc in scenarios], allow_code)
    return scenarios
