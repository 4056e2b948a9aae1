"""The report's first screen (rmprof/report/view_summary.py, the summary block of templates/report.html.j2): the
verdict, each runtime's speedups with intervals and sample counts, its bottleneck node and profile bottleneck,
what changed against a comparison; and every long section collapsed under a headline. Expected texts are the
fixture's numbers written out by hand (tests/fixtures/run_text), not formatted by the module under test."""

from __future__ import annotations

import html as htmllib
import json
import re
import shutil
from pathlib import Path
from typing import Any

from rmprof.report.render import render_report

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "run_text"
LONG_SECTIONS = (
    "verdict",
    "tables",
    "nodes",
    "bottlenecks",
    "hypotheses",
    "flamegraphs",
    "profilers",
    "gaps",
    "environment",
    "method",
)


def copy_fixture(tmp_path: Path, name: str = "run_text") -> Path:
    run_dir = tmp_path / name
    shutil.copytree(FIXTURE, run_dir, ignore=shutil.ignore_patterns("*.py", "report.html", "__pycache__"))
    return run_dir


def edit_results(run_dir: Path, change: Any) -> None:
    doc = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    change(doc)
    (run_dir / "results.json").write_text(json.dumps(doc), encoding="utf-8")


def text_of(fragment: str) -> str:
    """The visible text of an HTML fragment, whitespace collapsed."""
    return " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def summary_of(page: str) -> str:
    """The summary block: everything before the first collapsed section."""
    start = page.index('<section id="summary"')
    assert start < page.index('<details class="section"'), "the summary must come before the collapsed sections"
    return page[start : page.index("</section>", start)]


def summary_rows(page: str) -> dict[str, str]:
    """The first-screen table's rows by runtime name (python, rust, rust-bin): their visible text."""
    table = re.search(r'<table[^>]*id="summary-table".*?</table>', page, re.S)
    assert table, "no summary table"
    rows = {}
    for tr in re.findall(r"<tr>(.*?)</tr>", table.group(0).split("<tbody>")[1], re.S):
        text = text_of(tr)
        rows[text.split(" ")[0]] = text
    return rows


def test_first_screen_states_the_verdict_speedups_and_profile_bottlenecks(tmp_path: Path) -> None:
    page = render_report(copy_fixture(tmp_path)).read_text(encoding="utf-8")
    verdict = text_of(summary_of(page))
    assert "Correct outputs on every runtime measured (python, rust, rust-bin)." in verdict
    assert "4 of 5 of the plan's targets met; missed: initialization 5-10x faster." in verdict
    assert "3 timing figures noisy" in verdict and "python cold start, rust cold start, rust-bin cold start" in verdict
    assert "2 gaps: scalene on python; callgrind on rust-bin." in verdict
    assert "Fastest: rust-bin (standalone binary), 101× the asyncio baseline's run-time speed." in verdict

    rows = summary_rows(page)
    assert set(rows) == {"python", "rust", "rust-bin"}  # the fused floors stay in the tables
    python, rust, rust_bin = rows["python"], rows["rust"], rows["rust-bin"]
    assert "1.90 ms [1.82 ms – 1.99 ms] n 20" in python and "the baseline" in python
    assert "orchestration (91 % of python.py-spy samples) hottest frame EpollSelector.select (24 % self)" in python
    # Each speedup with its 95 % CI and both sides' sample counts: run, init, cold start.
    assert "49.0 µs [46.8 µs – 50.9 µs]" in rust
    assert "38.7× [36.7×–41.2×] n 20 + 20" in rust
    assert "2.82× [2.70×–3.01×] n 30 + 30" in rust
    assert "1.49× [1.41×–1.60×] n 5 + 5" in rust
    assert "7.0 KiB (-73 %)" in rust
    assert "allocation & GC (37 % of rust.perf samples)" in rust
    assert "101× [94.2×–106×] n 20 + 20" in rust_bin
    assert "1.48× [1.35×–1.59×] n 30 + 15" in rust_bin
    assert "98.9× [92.1×–105×] n 5 + 5" in rust_bin
    assert all("✓ correct" in r for r in rows.values())


def test_first_screen_states_the_bottleneck_node_with_its_interval(tmp_path: Path) -> None:
    run_dir = copy_fixture(tmp_path)

    def add_nodes(doc: dict[str, Any]) -> None:
        def node(runtime: str, name: str, kind: str, share: float, ns: list[float]) -> dict[str, Any]:
            return {
                "runtime": runtime,
                "node": name,
                "node_type": kind,
                "share": share,
                "ns_per_item": {"median": ns[0], "ci95": ns[1:], "n": 60, "rounds": 30},
            }

        analysis = doc["analysis"]
        analysis["nodes"] = [
            node("python", "source", "DataSourceNode", 0.321, [594.0, 549.0, 624.0]),
            node("python", "upper", "TextTransformNode", 0.031, [314.0, 280.0, 327.0]),
            node("rust", "upper", "TextTransformNode", 0.158, [10.3, 9.24, 10.5]),
        ]
        analysis["headline"]["bottleneck_node"] = {"python": "source", "rust": "upper"}

    edit_results(run_dir, add_nodes)
    rows = summary_rows(render_report(run_dir).read_text(encoding="utf-8"))
    assert "source (DataSourceNode) 32.1 % of the run, 594 ns per item [549 ns – 624 ns], n 60 passes" in rows["python"]
    assert (
        "upper (TextTransformNode) 15.8 % of the run, 10.3 ns per item [9.24 ns – 10.5 ns], n 60 passes"
        in (rows["rust"])
    )
    assert "– no per-node figures" not in rows["rust"]


def test_wrong_outputs_and_a_runtime_not_measured_lead_the_verdict(tmp_path: Path) -> None:
    run_dir = copy_fixture(tmp_path)

    def break_it(doc: dict[str, Any]) -> None:
        [sc] = doc["bench"]["scenarios"]
        sc["correct"]["rust-bin"] = False
        sc["gaps"] = {"rustpython": "rmprof._native_rustpython is not built"}

    edit_results(run_dir, break_it)
    page = render_report(run_dir).read_text(encoding="utf-8")
    summary = summary_of(page)
    assert '<li class="tone-bad">' in summary
    assert "WRONG outputs on rust-bin" in text_of(summary)
    assert "✗ WRONG" in summary_rows(page)["rust-bin"]
    assert "not measured: rmprof._native_rustpython is not built" in summary_rows(page)["rustpython"]
    assert "rustpython not benched" in text_of(summary)


def test_long_sections_are_collapsed_under_their_headline(tmp_path: Path) -> None:
    page = render_report(copy_fixture(tmp_path)).read_text(encoding="utf-8")
    headlines = {}
    for name in LONG_SECTIONS:
        m = re.search(
            rf'<details class="section" id="{name}"( open)?>\s*<summary><h2>(.*?)</h2>(.*?)</summary>', page, re.S
        )
        assert m, f"section {name} is not a <details> with a summary heading"
        assert m.group(1) is None, f"section {name} is open"
        headlines[name] = text_of(m.group(3))
        assert headlines[name], f"section {name} has no headline"
    # Each headline says what its section holds, from the run's own figures.
    assert headlines["profilers"] == "4 profiles by memray, perf, py-spy; 2 gaps"
    assert headlines["gaps"] == "scalene on python (asyncio baseline); callgrind on rust-bin (standalone binary)"
    assert headlines["flamegraphs"] == "3 CPU and 1 memory flame graphs"
    assert headlines["nodes"] == "no per-node figures in this run"
    assert "3 timing figures noisy" not in headlines["tables"] and ", 3 noisy;" in headlines["tables"]
    # Nothing long is left outside a collapsed section: the flame graphs and frame tables are all inside one.
    first_section = page.index('<details class="section"')
    assert page.index('class="flame-box"') > first_section and page.index("top-frames") > first_section


def test_what_changed_comes_from_the_comparison_beside_the_run(tmp_path: Path) -> None:
    """A run compared with one whose rust runs took 1/0.7 as long: the first screen says rust's run time
    improved by 30 %, names the sides and links the whole comparison; a run never compared says nothing."""
    from rmprof.compare.output import write_comparison

    before, after = copy_fixture(tmp_path, "before"), copy_fixture(tmp_path, "after")

    def faster_rust(doc: dict[str, Any]) -> None:
        [sc] = doc["bench"]["scenarios"]
        samples = sc["runtimes"]["rust"]["samples"]
        samples["run_ns"] = [0.7 * x for x in samples["run_ns"]]

    edit_results(after, faster_rust)
    assert 'id="changed"' not in render_report(after).read_text(encoding="utf-8")
    write_comparison(before, after, after, None, lambda _: None)
    summary = summary_of(render_report(after).read_text(encoding="utf-8"))
    text = text_of(summary)
    assert "What changed: before → after (this run)" in text
    # 49.0 µs × 0.7 = 34.3 µs: the medians scale with the samples (text_of leaves a space where a tag closed).
    assert "rust (in-process) run time per iteration : 49.0 µs → 34.3 µs, -30.0 % [" in text
    assert "(improved, gated, n 20 → 20)" in text
    assert 'href="compare.html"' in summary


def test_an_unreadable_comparison_is_a_note(tmp_path: Path) -> None:
    run_dir = copy_fixture(tmp_path)
    (run_dir / "compare.json").write_text('{"schema": "rmprof.compare/0"}', encoding="utf-8")
    page = render_report(run_dir).read_text(encoding="utf-8")
    assert 'id="changed"' not in page
    assert "What changed is not shown:" in text_of(page[page.index('id="notes"') :])
