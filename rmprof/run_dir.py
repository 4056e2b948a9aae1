"""A run directory: what `rmprof profile` writes and `rmprof report` / `rmprof compare` read.

Layout::

    RUN_DIR/
      results.json                       everything measured (schema below), written last-but-one
      report.html                        rendered from results.json + profiles/ alone
      summary.md                         the verdict and tables as Markdown (rmprof/report/markdown.py)
      compare.json, compare.html, compare.md   with --baseline: the comparison (rmprof compare)
      profiles/<runtime>.<profiler>.speedscope.json   one per profile (speedscope file format)
      profiles/<runtime>.<profiler>.folded            the same stacks as folded text
      profiles/<runtime>.<profiler>.pb.gz             the same profile as gzipped pprof profile.proto
      raw/                               the tools' own outputs, as written

results.json (schema "rmprof.run/1") is typed in rmprof/model/run.py (``RunDocument``: the scenario, the bench
document, profile summaries, gaps, analysis, noise floor) and checked by rmprof/results.schema.json when read back.

Every write is atomic (temp file + rename), so a reader never sees half a file.
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rmprof.errors import RmprofError
from rmprof.files import staged_dir
from rmprof.model.load import load_results as load_checked
from rmprof.model.schemas import RUN_SCHEMA

if TYPE_CHECKING:
    from rmprof.model.run import RunDocument, ScenarioBlock
    from rmprof.profile_model import Profile

RESULTS = "results.json"
REPORT = "report.html"
PROFILES = "profiles"
RAW = "raw"
SCHEMA = RUN_SCHEMA


def scenario_block(scenario: Any, iterations: int) -> ScenarioBlock:
    """``results["scenario"]``: what was run (name, pipeline, nodes, connections, input size)."""
    m = scenario.manifest
    return {
        "name": scenario.name,
        "description": scenario.description,
        "pipeline": m.name,
        "items": len(scenario.items),
        "iterations": iterations,
        "nodes": [{"id": n.id, "node_type": n.node_type, "params": n.params} for n in m.nodes],
        "connections": [{"from": c.source, "to": c.target} for c in m.connections],
    }


def load_results(run_dir: Path) -> RunDocument:
    """results.json of a run directory, checked against rmprof/results.schema.json (rmprof/model/load.py), or a
    one-line error saying what is wrong."""
    path = Path(run_dir) / RESULTS
    if not path.is_file():
        raise RmprofError(f"{run_dir}: not a run directory (no {RESULTS})")
    return load_checked(path)


class RunDir:
    """One run directory: its results, its profiles and where each part lives (the layout above).

    ``rmprof profile`` writes it, and the report, the analysis and ``rmprof compare`` read profiles through
    ``load_profiles`` alone: a profile's metadata travels inside its speedscope file (its ``"rmprof"`` object),
    so what is read back is what was written.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @property
    def results_path(self) -> Path:
        return self.path / RESULTS

    @property
    def report_path(self) -> Path:
        return self.path / REPORT

    @property
    def profiles_dir(self) -> Path:
        return self.path / PROFILES

    @property
    def raw_dir(self) -> Path:
        return self.path / RAW

    def create(self) -> RunDir:
        """Make the folders a run writes into."""
        self.profiles_dir.mkdir(parents=True, exist_ok=True)
        self.raw_dir.mkdir(parents=True, exist_ok=True)
        return self

    def results(self) -> RunDocument:
        """results.json, checked (a one-line error when it is missing or not rmprof's)."""
        return load_results(self.path)

    def write_results(self, doc: RunDocument) -> None:
        """Write results.json atomically."""
        from rmprof.files import write_json_atomic

        write_json_atomic(self.results_path, doc)

    def load_profile(self, summary: dict[str, Any]) -> Profile:
        """The Profile of one results.json profile entry (OSError or ValueError when it cannot be read)."""
        from rmprof.exporters.speedscope import from_speedscope

        rel = summary.get("file")
        if not isinstance(rel, str) or not rel:
            raise ValueError("no speedscope file listed")
        doc = json.loads((self.path / rel).read_text(encoding="utf-8"))
        if not isinstance(doc, dict):
            raise ValueError("not a speedscope document")
        kind = str(summary.get("kind") or "cpu")
        return from_speedscope(doc, str(summary.get("runtime")), str(summary.get("profiler")), kind)

    def load_profiles(self, summaries: list[Any] | None = None) -> tuple[dict[str, Profile], list[str]]:
        """The profiles listed in results.json (or ``summaries``) by name, and a note for each one unreadable."""
        if summaries is None:
            summaries = self.results().get("profiles") or []
        profiles: dict[str, Profile] = {}
        notes: list[str] = []
        for s in summaries:
            if not isinstance(s, dict):
                continue
            name = str(s.get("name") or f"{s.get('runtime')}.{s.get('profiler')}")
            file = s.get("file")
            try:
                profiles[name] = self.load_profile(s)
            except FileNotFoundError:
                notes.append(f"{name}: profile file {file} is missing; its flame graph is left out.")
            except (OSError, ValueError, TypeError, KeyError, IndexError) as exc:
                reason = " ".join(str(exc).split())[:200]
                if not file:
                    notes.append(f"{name}: no profile file listed in results.json.")
                else:
                    notes.append(f"{name}: profile file {file} is unreadable ({reason}); its flame graph is left out.")
        return profiles, notes


class StagedRun:
    """A run directory built beside its final place and renamed into it when the run completes.

    ``--out`` naming a non-empty directory is refused unless ``force`` (which replaces it whole, only once
    the new run is complete). On any error or interrupt the staging directory is removed and ``final`` is left
    as it was: nothing half-written ever looks like a run.
    """

    def __init__(self, final: Path, force: bool = False) -> None:
        self.final = Path(final)
        self.force = force
        self.path = self.final
        self._staged = ExitStack()

    def __enter__(self) -> StagedRun:
        final = self.final
        if final.exists() and not final.is_dir():
            raise RmprofError(f"{final}: exists and is not a directory: choose another --out")
        if final.is_dir() and any(final.iterdir()) and not self.force:
            raise RmprofError(f"{final}: exists and is not empty: choose another --out, or pass --force to replace it")
        try:
            self.path = self._staged.enter_context(staged_dir(final))
        except OSError as exc:
            raise RmprofError(f"{final}: cannot create the run directory: {exc.strerror or exc}") from None
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            self._staged.__exit__(exc_type, exc, tb)
        except OSError as error:
            if exc_type is not None:
                raise
            raise RmprofError(
                f"{self.final}: cannot move the finished run into place: {error.strerror or error}"
            ) from None
