"""The HTML report (rmprof/report/render.py, templates/report.html.j2) rendered from the fixture run
directory tests/fixtures/run_text/, plus `rmprof report` and `rmprof view` on the command line."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape

from rmprof.exporters.speedscope import to_speedscope
from rmprof.profile_model import Frame, Profile
from rmprof.report.render import render_html, render_report

REPO = Path(__file__).resolve().parents[1]
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "run_text"
XSS = "<script>alert(1)</script>"
HOSTILE_FRAMES = ["a < b", "x & y", "say \"hi\" 'there'", XSS]
SECTIONS = [
    "header",
    "summary",
    "verdict",
    "tables",
    "bottlenecks",
    "hypotheses",
    "flamegraphs",
    "profilers",
    "gaps",
    "environment",
    "method",
]


def copy_fixture(tmp_path: Path) -> Path:
    """A writable copy of the fixture run directory."""
    run_dir = tmp_path / "run_text"
    shutil.copytree(FIXTURE, run_dir, ignore=shutil.ignore_patterns("*.py", "report.html", "__pycache__"))
    return run_dir


def results_of(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "results.json").read_text(encoding="utf-8"))


def rmprof_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m rmprof ARGS`` from the repository's package."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "rmprof", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd or REPO,
        timeout=120,
    )


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The fixture rendered once: (report path, its HTML)."""
    run_dir = copy_fixture(tmp_path_factory.mktemp("report"))
    path = render_report(run_dir)
    return path, path.read_text(encoding="utf-8")


def test_fixture_is_small_and_valid() -> None:
    """The fixture stays under 300 KB and matches the run-directory contract."""
    size = sum(p.stat().st_size for p in FIXTURE.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    assert size < 300_000, size
    doc = results_of(FIXTURE)
    assert doc["schema"] == "rmprof.run/1"
    assert 2 <= len(doc["profiles"]) <= 4
    for entry in doc["profiles"]:
        assert (FIXTURE / entry["file"]).is_file() and (FIXTURE / entry["folded"]).is_file()


def test_every_section_in_order(rendered: tuple[Path, str]) -> None:
    """All sections are present, in the order of the brief, and the page is self-contained and small."""
    path, html = rendered
    assert path.name == "report.html"
    positions = [html.index(f'id="{s}"') for s in SECTIONS]
    assert positions == sorted(positions)
    assert len(html.encode()) < 5_000_000
    assert html.count('<div class="flame-box"') == 4
    assert html.count('<script type="application/json"') == 4
    # No network: no external URLs in src/href, no @import or url() of remote resources.
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "@import" not in html and "url(http" not in html
    assert "<link" not in html


def test_figures_come_from_the_fixture(rendered: tuple[Path, str]) -> None:
    """Medians, speedups, sample counts, memory, targets and hypotheses shown are the fixture's numbers."""
    _, html = rendered
    doc = results_of(FIXTURE)
    # The fixture's figures as a reader sees them, written out (not formatted by the module under test):
    # (runtime, metric) -> (median, its 95 % CI).
    times = {
        ("python", "run"): ("1.90 ms", "1.82 ms – 1.99 ms"),
        ("python", "init"): ("138 µs", "135 µs – 147 µs"),
        ("python", "cold_start"): ("208 ms", "201 ms – 214 ms"),
        ("rust", "run"): ("49.0 µs", "46.8 µs – 50.9 µs"),
        ("rust", "init"): ("49.1 µs", "48.4 µs – 50.7 µs"),
        ("rust", "cold_start"): ("140 ms", "130 ms – 144 ms"),
        ("rust-bin", "run"): ("18.8 µs", "18.4 µs – 19.8 µs"),
        ("rust-bin", "init"): ("93.3 µs", "91.6 µs – 101 µs"),
        ("rust-bin", "cold_start"): ("2.10 ms", "2.01 ms – 2.24 ms"),
        ("python-fused", "run"): ("130 µs", "122 µs – 131 µs"),
    }
    for (name, metric), (median, ci) in times.items():
        assert median in html and ci in html, (name, metric)
    for peak in ("26.1 KiB", "7.0 KiB", "13.0 KiB", "7.5 KiB"):  # run memory of each runtime
        assert peak in html, peak
    speedups = [
        "38.7× [36.7×–41.2×]",
        "2.82× [2.70×–3.01×]",
        "1.49× [1.41×–1.60×]",
        "101× [94.2×–106×]",
        "1.48× [1.35×–1.59×]",
        "98.9× [92.1×–105×]",
        "14.6× [14.1×–15.9×]",
    ]
    for speedup in speedups:
        assert speedup in html, speedup
    assert "38.7× faster than the asyncio baseline" in html  # the rust run speedup of this fixture
    for entry in doc["profiles"]:
        assert f"{entry['sample_count']:,}" in html
    for t in doc["bench"]["targets"]:
        assert escape(t["label"]) in html
    for h in doc["analysis"]["hypotheses"]:
        assert escape(h["title"]) in html
        for e in h["evidence"]:
            assert escape(e) in html
    env = doc["bench"]["environment"]
    assert escape(env["git_commit"]) in html and escape(env["cpu"]) in html
    assert escape(doc["scenario"]["pipeline"]) in html


def test_units_and_links(rendered: tuple[Path, str]) -> None:
    """Profile files are relative links; the python-fused floor row is explained; memory in bytes units."""
    _, html = rendered
    assert 'href="profiles/python.py-spy.speedscope.json"' in html
    assert 'href="profiles/python.py-spy.folded"' in html
    assert "how much of the baseline is orchestration" in html
    assert "KiB" in html


def hostile_run(tmp_path: Path) -> Path:
    """A fixture copy whose pipeline, nodes, gaps, frames and files are hostile strings."""
    run_dir = copy_fixture(tmp_path)
    doc = results_of(run_dir)
    doc["scenario"]["pipeline"] = XSS
    doc["scenario"]["name"] = XSS
    doc["scenario"]["nodes"][0]["id"] = '<img src=x onerror="alert(1)">'
    doc["bench"]["scenarios"][0]["pipeline"] = XSS
    doc["gaps"].append({"runtime": XSS, "profiler": XSS, "reason": XSS, "fix": XSS})
    bottleneck = next(iter(doc["analysis"]["bottlenecks"].values()))
    for row, name in zip(bottleneck["top_self"], HOSTILE_FRAMES, strict=False):
        row["name"] = name
        row["file"] = "src/<b>evil</b>&co.py"
    bottleneck["per_node"] = {XSS: 0.5}
    doc["analysis"]["hypotheses"][0]["evidence"].append(XSS)
    doc["analysis"]["headline"]["top_bottleneck"]["python"] = XSS
    doc["profiles"][0]["folded"] = "javascript:alert(1)"
    # One profile file whose frames are hostile.
    profile = Profile(runtime="python", profiler="py-spy", kind="cpu", unit="samples")
    for i, name in enumerate(HOSTILE_FRAMES):
        profile.add_stack([Frame("main", "app.py", 1), Frame(name, "src/<b>evil</b>&co.py", i)], 10 + i)
    entry = next(e for e in doc["profiles"] if e["name"] == "python.py-spy")
    (run_dir / entry["file"]).write_text(json.dumps(to_speedscope(profile)), encoding="utf-8")
    (run_dir / "results.json").write_text(json.dumps(doc), encoding="utf-8")
    return run_dir


def test_hostile_strings_render_as_text(tmp_path: Path) -> None:
    """Pipeline names, frame names, files and gap reasons are escaped; no raw tag reaches the page."""
    html = render_report(hostile_run(tmp_path)).read_text(encoding="utf-8")
    assert XSS not in html
    assert "<img src=x" not in html and "<b>evil</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "a &lt; b" in html and "x &amp; y" in html
    assert "say &#34;hi&#34; &#39;there&#39;" in html
    assert 'href="javascript:' not in html
    # Frame names in the flame graph JSON are \u-escaped, not HTML.
    assert "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e" in html


def test_hostile_strings_in_a_browser(tmp_path: Path) -> None:
    """The hostile report runs no injected script in Chromium and shows the names as text."""
    from tests.browser import browser_page

    path = render_report(hostile_run(tmp_path))
    with browser_page() as session:
        session.goto_file(path)
        session.page.wait_for_function(
            "Array.from(document.querySelectorAll('[data-report-flame]')).every(b => b.dataset.drawn === '1')",
            timeout=10_000,
        )
        assert session.page.locator("#pipeline-name").inner_text() == XSS
        names = session.page.eval_on_selector_all(".rmprof-frame", "fs => fs.map(f => f.dataset.name)")
        assert XSS in names and "x & y" in names
        session.assert_clean()


def test_missing_and_corrupt_profiles_become_notes(tmp_path: Path) -> None:
    """A deleted profile file and a corrupt one are notes in the report; the rest still renders."""
    run_dir = copy_fixture(tmp_path)
    doc = results_of(run_dir)
    missing, corrupt = doc["profiles"][0], doc["profiles"][1]
    (run_dir / missing["file"]).unlink()
    (run_dir / corrupt["file"]).write_text('{"not": "speedscope"', encoding="utf-8")
    html = render_report(run_dir).read_text(encoding="utf-8")
    assert 'id="notes"' in html
    assert f"{missing['file']} is missing" in html
    assert f"{corrupt['file']} is unreadable" in html
    assert html.count('<div class="flame-box"') == 2
    assert "(missing)" in html


def test_render_html_with_synthetic_profiles() -> None:
    """render_html works from a dict and Profiles alone, also without analysis or bench runtimes."""
    profile = Profile(runtime="rust", profiler="massif", kind="memory", unit="bytes")
    profile.add_stack([Frame("main"), Frame("alloc_vec")], 4096)
    results = {
        "schema": "rmprof.run/1",
        "scenario": {"name": "tiny", "pipeline": "tiny", "items": 1},
        "bench": {},
        "profiles": [{**profile.summary(), "file": "profiles/rust.massif.speedscope.json"}],
        "gaps": [],
        "analysis": {},
    }
    html = render_html(results, {"rust.massif": profile})
    assert "rust (in-process) · massif" in html and "4.0 KiB" in html
    assert "No CPU profile in this run." in html


def test_report_command_rerenders(tmp_path: Path) -> None:
    """`rmprof report RUN_DIR` writes report.html and prints its path."""
    run_dir = copy_fixture(tmp_path)
    proc = rmprof_cli("report", str(run_dir))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(run_dir / "report.html")
    assert (run_dir / "report.html").stat().st_size > 10_000
    assert not list(run_dir.glob(".report.html.*"))  # atomic write left no temp file


@pytest.mark.parametrize("content", [None, "{broken", '{"schema": "other"}'])
def test_report_command_errors_are_one_line(tmp_path: Path, content: str | None) -> None:
    """Not a run directory, bad JSON, wrong schema: one line on stderr, exit 2."""
    if content is not None:
        (tmp_path / "results.json").write_text(content, encoding="utf-8")
    proc = rmprof_cli("report", str(tmp_path))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rmprof: error: "), proc.stderr
    assert not (tmp_path / "report.html").exists()


def test_report_command_on_missing_dir(tmp_path: Path) -> None:
    proc = rmprof_cli("report", str(tmp_path / "nope"))
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1


# ---------------------------------------------------------------------------
# rmprof view
# ---------------------------------------------------------------------------

PROFILE_FILE = FIXTURE / "profiles" / "python.py-spy.speedscope.json"


def path_without_speedscope() -> str:
    """PATH minus the folders holding a speedscope executable."""
    return os.pathsep.join(
        p for p in os.environ.get("PATH", "").split(os.pathsep) if p and not (Path(p) / "speedscope").exists()
    )


def test_view_without_speedscope_or_npx_opens_the_builtin_viewer(tmp_path: Path) -> None:
    """No speedscope and no npx: the npm hint on stderr, and rmprof's own flame graph page (exit 0)."""
    profile = tmp_path / PROFILE_FILE.name
    shutil.copy(PROFILE_FILE, profile)
    env = {"PATH": str(tmp_path / "empty-bin"), "BROWSER": "", "DISPLAY": "", "WAYLAND_DISPLAY": ""}
    proc = rmprof_cli("view", str(profile), env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "npm install -g speedscope" in proc.stderr.splitlines()[0]
    page = tmp_path / "python.py-spy.flame.html"
    assert proc.stdout.strip() == f"flame graph: {page}"
    assert "RmprofFlame" in page.read_text(encoding="utf-8")


def test_view_missing_profile(tmp_path: Path) -> None:
    proc = rmprof_cli("view", str(tmp_path / "nope.speedscope.json"))
    assert proc.returncode == 2 and "no such profile file" in proc.stderr


def test_view_finds_node_modules_bin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The seam: a speedscope in ./node_modules/.bin of a parent folder is the command that would run."""
    from rmprof.commands import view

    exe = tmp_path / "node_modules" / ".bin" / "speedscope"
    exe.parent.mkdir(parents=True)
    exe.write_text("#!/bin/sh\nexit 0\n")
    exe.chmod(0o755)
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    monkeypatch.setenv("PATH", path_without_speedscope())
    assert view.speedscope_command(PROFILE_FILE, start=sub) == [str(exe), str(PROFILE_FILE)]


@pytest.fixture(scope="module")
def speedscope_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real npm package speedscope, installed into a temporary prefix (skipped without npm/network)."""
    npm = shutil.which("npm")
    if not npm:
        pytest.skip("npm is not installed")
    prefix = tmp_path_factory.mktemp("speedscope")
    try:
        proc = subprocess.run(
            [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "speedscope"],
            capture_output=True,
            text=True,
            timeout=300,
        )
    except subprocess.TimeoutExpired:
        pytest.skip("npm install speedscope timed out")
    bin_dir = prefix / "node_modules" / ".bin"
    if proc.returncode != 0 or not (bin_dir / "speedscope").exists():
        pytest.skip(f"npm install speedscope failed: {proc.stderr.strip()[-300:]}")
    return bin_dir


def test_view_with_real_speedscope(speedscope_bin: Path, tmp_path: Path) -> None:
    """With speedscope on PATH, `rmprof view` runs it on the file; its browser call goes to a recorder."""
    recorder = tmp_path / "browser.sh"
    log = tmp_path / "opened.txt"
    recorder.write_text(f'#!/bin/sh\necho "$@" >> "{log}"\n')
    recorder.chmod(0o755)
    env = {
        "PATH": f"{speedscope_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "BROWSER": str(recorder),
        "DISPLAY": "",
        "WAYLAND_DISPLAY": "",
        "XDG_CURRENT_DESKTOP": "",
    }
    proc = rmprof_cli("view", str(PROFILE_FILE), env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Opening file://" in proc.stdout
    deadline = time.monotonic() + 10  # speedscope's `open` starts xdg-open detached: wait for it
    while not log.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    opened = log.read_text(encoding="utf-8")
    assert "speedscope/dist/release/index.html#localProfilePath=" in opened


def test_pipeline_header_shows_fan_out_as_branches() -> None:
    from rmprof.report.view_nodes import node_paths

    scenario = {
        "nodes": [{"id": i, "node_type": "PassThroughNode"} for i in ("src", "a", "b", "c")],
        "connections": [{"from": "src", "to": "a"}, {"from": "src", "to": "b"}, {"from": "b", "to": "c"}],
    }
    assert [[n["id"] for n in p] for p in node_paths(scenario)] == [["src", "a"], ["src", "b", "c"]]


def test_an_uncalibrated_machine_says_its_rerun_intervals_lack_drift(rendered: tuple[Path, str]) -> None:
    _, html = rendered
    assert "noise_floor" not in results_of(FIXTURE)
    assert "Until then the rerun column includes no between-run drift" in html


def test_the_verdict_states_the_boundary_with_its_interval(tmp_path: Path) -> None:
    run_dir = copy_fixture(tmp_path)
    doc = results_of(run_dir)
    [sc] = doc["bench"]["scenarios"]
    assert "boundary" not in sc  # an older run: no sentence, nothing invented
    assert "native boundary" not in render_report(run_dir).read_text(encoding="utf-8")
    sc["boundary"] = {
        "rust": {
            "binary": "rust-bin",
            "unit": "ns per item",
            "per_item_ns": 19.64,
            "ci95": [18.51, 20.97],
            "items": 100,
            "n": [100, 100],
            "rounds": 20,
        }
    }
    (run_dir / "results.json").write_text(json.dumps(doc), encoding="utf-8")
    html = render_report(run_dir).read_text(encoding="utf-8")
    assert "takes 19.6 ns per item [18.5, 21.0] longer than" in html
    assert "the Python ↔ native boundary (95 % CI over 20 rounds)" in html


def test_an_absent_setting_does_not_read_as_a_missing_package(tmp_path: Path) -> None:
    # A bench without -n keeps iterations None (each scenario's own count): it read "iterations not installed".
    run_dir = copy_fixture(tmp_path)
    doc = results_of(run_dir)
    doc["bench"]["config"]["iterations"] = None
    doc["bench"]["environment"]["packages"]["scalene"] = None
    (run_dir / "results.json").write_text(json.dumps(doc), encoding="utf-8")
    html = render_report(run_dir).read_text(encoding="utf-8")
    assert "iterations default;" in html and "iterations not installed" not in html
    assert "scalene not installed" in html
