"""History (issue 16): the SQLite store, E-divisive change points, `rmprof history` and its trend page."""

from __future__ import annotations

import dataclasses
import json
import random
import re
import sqlite3
from pathlib import Path

import pytest

from rmprof.errors import RmprofError
from rmprof.history.cells import Cell
from rmprof.history.changepoints import best_split, e_divisive
from rmprof.history.store import Filters, RunRecord, default_path, machine_id, query, record, resolve_path
from tests.conftest import run_cli

MACHINE = {"cpu": "Test CPU", "cores": 2, "machine": "x86_64", "os": "Linux", "python": "3.11.7", "rustc": "rustc 1.95"}


def _noisy(n: int, level: float, noise: float, rng: random.Random, step_at: int | None = None, step: float = 1.0):
    return [
        level * (step if step_at is not None and i >= step_at else 1.0) * (1 + rng.gauss(0, noise)) for i in range(n)
    ]


# ---------------------------------------------------------------------------
# Change points
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(8))
def test_a_step_is_found_at_its_index(seed: int) -> None:
    values = _noisy(24, 1000.0, 0.02, random.Random(seed), step_at=15, step=1.2)
    found = e_divisive(values, seed=seed)
    assert [c.index for c in found] == [15]
    assert found[0].p_value <= 0.005 and 0.15 < found[0].change < 0.25


def test_flat_noisy_series_have_no_change_point() -> None:
    # 40 series of 30 points with 3 % noise: a false alarm in any of them fails the test.
    alarms = [seed for seed in range(40) if e_divisive(_noisy(30, 500.0, 0.03, random.Random(1000 + seed)), seed=seed)]
    assert alarms == []


def test_a_step_down_and_two_steps() -> None:
    rng = random.Random(3)
    values = _noisy(12, 100.0, 0.01, rng) + _noisy(12, 70.0, 0.01, rng) + _noisy(12, 90.0, 0.01, rng)
    assert [c.index for c in e_divisive(values, seed=1)] == [12, 24]


def test_guards_short_series_and_tiny_shifts() -> None:
    assert e_divisive([1.0, 2.0, 3.0]) == [] and best_split([1.0] * 7) is None
    assert best_split([1.0] * 8) == (4, 0.0) and e_divisive([0.0] * 8) == []
    # A perfectly clean 1 % shift is detectable but below the 2 % a change must reach.
    assert e_divisive([100.0] * 10 + [101.0] * 10) == []
    assert [c.index for c in e_divisive([100.0] * 10 + [103.0] * 10)] == [10]
    from_zero = e_divisive([0.0] * 10 + [5.0] * 10)
    assert [c.index for c in from_zero] == [10] and from_zero[0].change is None and from_zero[0].change_text == "0 → 5"
    values = _noisy(20, 10.0, 0.02, random.Random(5), step_at=10, step=1.3)
    assert e_divisive(values, seed=9) == e_divisive(values, seed=9)  # deterministic for a seed


# ---------------------------------------------------------------------------
# Store
# ---------------------------------------------------------------------------


def _record(
    i: int,
    value: float,
    *,
    scenario: str = "text",
    machine: dict | None = None,
    branch: str = "main",
    runtime: str = "rust",
    commit: str | None = None,
) -> RunRecord:
    m = {**(machine or MACHINE), "git_commit": commit or f"c{i:03d}"}
    cells = (
        Cell(runtime, "run", "ns", value, value * 0.98, value * 1.02, 20),
        Cell(runtime, "memory.run_alloc_peak_bytes", "bytes", 4096.0),
    )
    return RunRecord(1_800_000_000.0 + 3600 * i, scenario, m["git_commit"], branch, m, cells)


def test_store_records_once_and_filters(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    records = [_record(i, 100.0 + i) for i in range(5)] + [_record(9, 50.0, scenario="simple", branch="dev")]
    assert record(path, records) == 6
    assert record(path, records[:3]) == 0  # the same measurements again: nothing new
    assert len(query(path)) == 12
    assert {r["scenario"] for r in query(path, Filters(scenarios=("simple",)))} == {"simple"}
    assert {r["metric"] for r in query(path, Filters(metrics=("memory",)))} == {"memory.run_alloc_peak_bytes"}
    assert len(query(path, Filters(metrics=("run",)))) == 6
    assert [r["commit"] for r in query(path, Filters(branch="dev"))] == ["c009", "c009"]
    assert [r["value"] for r in query(path, Filters(commit="c00", metrics=("run",)))][:2] == [100.0, 101.0]
    mid = machine_id(MACHINE)
    assert len(query(path, Filters(machine=mid[:6]))) == 12 and query(path, Filters(machine="ffffff")) == []
    # The commit is not part of the machine: one series across commits.
    assert machine_id({**MACHINE, "git_commit": "a"}) == machine_id({**MACHINE, "git_commit": "b"}) == mid


def test_history_path_default_env_and_off(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("RMPROF_HISTORY", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_path() == tmp_path / "rmprof" / "history.sqlite" == resolve_path(None)
    assert resolve_path(tmp_path / "x.sqlite") == tmp_path / "x.sqlite"
    assert resolve_path(tmp_path / "x.sqlite", disabled=True) is None
    for off in ("off", "0", "", "none"):
        monkeypatch.setenv("RMPROF_HISTORY", off)
        assert resolve_path(None) is None
    monkeypatch.setenv("RMPROF_HISTORY", str(tmp_path / "y.sqlite"))
    assert resolve_path(None) == tmp_path / "y.sqlite"


def test_bad_history_files_are_one_line_errors(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite"
    junk.write_text("not a database at all, just text " * 20)
    with pytest.raises(RmprofError, match="not a usable rmprof history"):
        record(junk, [_record(0, 1.0)])
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    with pytest.raises(RmprofError, match="not an rmprof history"):
        query(other)
    for path in (junk, other, tmp_path / "missing.sqlite"):
        proc = run_cli("history", "--history", str(path))
        assert proc.returncode == 2 and proc.stderr.startswith("rmprof: error: ") and proc.stderr.count("\n") == 1


# ---------------------------------------------------------------------------
# From real runs, and the trend page
# ---------------------------------------------------------------------------


@pytest.mark.heavy
def test_history_records_every_bench_run_with_its_ci(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    quick = ["-s", "simple", "-r", "python", "-r", "rust", "-n", "3", "--rounds", "2", "--cold-starts", "3", "-q"]
    for _ in range(3):
        proc = run_cli("bench", *quick, "--history", str(path), "--json")
        assert proc.returncode == 0, proc.stderr
    proc = run_cli("bench", *quick, "--history", str(path), "--no-history", "--json")
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("history", "--history", str(path), "--json", "-m", "run", "-r", "rust", "--limit", "1000")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    rows = doc["rows"]
    assert len(rows) == 3 and len({r["run"] for r in rows}) == 3  # --no-history recorded nothing
    for r in rows:
        assert r["unit"] == "ns" and r["lo"] <= r["value"] <= r["hi"] and r["n"] >= 3
        assert r["commit"] and set(r["machine"]) >= {"cpu", "cores", "os", "python", "rustc", "git_commit"}
    assert doc["change_points"] == []
    metrics = {r["metric"] for r in json.loads(run_cli("history", "--history", str(path), "--json").stdout)["rows"]}
    assert {"run", "init", "cold_start", "speedup.run", "memory.run_alloc_peak_bytes"} <= metrics
    table = run_cli("history", "--history", str(path), "-s", "simple", "--limit", "4")
    assert table.returncode == 0 and "4 of" in table.stdout and "simple" in table.stdout


@pytest.fixture
def stepped_history(tmp_path: Path) -> Path:
    """30 runs: rust/run of `text` steps up 20 % at commit c017; python/run stays flat (3 % noise); the same
    scenario on a second machine, twice as slow, interleaved in time, stays flat too."""
    path = tmp_path / "steps.sqlite"
    rng = random.Random(11)
    slow = {**MACHINE, "cpu": "Slow <CPU> & co"}
    records = []
    for i in range(30):
        rust = _record(i, 2000.0 * (1.2 if i >= 17 else 1.0) * (1 + rng.gauss(0, 0.02)))
        python = _record(i, 90_000.0 * (1 + rng.gauss(0, 0.03)), runtime="python")
        records.append(dataclasses.replace(rust, cells=rust.cells + python.cells[:1]))  # one run, two runtimes
        other = _record(i, 4000.0 * (1 + rng.gauss(0, 0.02)), machine=slow, scenario="text")
        records.append(dataclasses.replace(other, created_unix=other.created_unix + 60))
    records.append(_record(40, 10.0, scenario="<script>alert(1)</script>"))
    assert record(path, records) == len(records)
    return path


def test_change_points_at_the_right_commit_and_nowhere_else(stepped_history: Path) -> None:
    proc = run_cli("history", "--history", str(stepped_history), "--json")
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)["change_points"]
    assert [(c["scenario"], c["runtime"], c["metric"], c["commit"], c["previous_commit"]) for c in found] == [
        ("text", "rust", "run", "c017", "c016")
    ]
    assert found[0]["machine_id"] == machine_id(MACHINE) and 0.15 < found[0]["change"] < 0.25
    listing = run_cli("history", "--history", str(stepped_history), "--changes")
    assert listing.returncode == 0 and "c017" in listing.stdout and listing.stdout.count("\n") == 3


def test_trend_page_shows_the_step_and_only_it(stepped_history: Path, tmp_path: Path) -> None:
    out = tmp_path / "trend.html"
    proc = run_cli("history", "--history", str(stepped_history), "--html", str(out))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(out)
    html = out.read_text(encoding="utf-8")
    charts = re.findall(r'<figure class="chart[^"]*" id="[^"]+" data-changes="(\d+)">\s*<h4>([^<]+)</h4>', html)
    # Two machines are two series of text: 2 machines × rust (run, memory) + python run on the first, and the
    # escaped scenario's series.
    assert len(charts) == 3 + 2 + 2
    assert sorted(int(n) for n, _ in charts) == [0] * 6 + [1]
    assert [title for n, title in charts if n == "1"] == ["rust (in-process) · run"]
    assert html.count('class="cp"') == 1 and "+" in html and "at c017" in html
    assert '<polygon class="band"' in html  # the CI band
    # Self-contained, and every string escaped.
    assert "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Slow &lt;CPU&gt; &amp; co" in html
    assert not re.search(r'(src|href)="(https?:)?//', html)
    filtered = tmp_path / "python.html"
    assert (
        run_cli("history", "--history", str(stepped_history), "-r", "python", "--html", str(filtered)).returncode == 0
    )
    assert 'class="cp"' not in filtered.read_text()
