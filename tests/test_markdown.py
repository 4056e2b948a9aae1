"""Markdown to paste into a pull request: compare.md beside compare.html, summary.md in every run directory."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from rmprof.compare.diff import compare_runs
from rmprof.compare.sides import load_side
from rmprof.report.markdown import compare_markdown, md_code, md_text, summary_markdown, write_summary
from tests.conftest import REPO, run_cli

FIXTURE = REPO / "tests" / "fixtures" / "run_text"
# A name a manifest may hold: a table separator, code and HTML.
ODD = "te|xt`<b>x</b>"


def unescaped_pipes(line: str) -> int:
    """The cell separators GitHub sees in a table line (a backslash-escaped pipe is text, even in code)."""
    return len(re.findall(r"(?<!\\)\|", line))


def tables(text: str) -> list[list[str]]:
    """The tables of a Markdown text, each as its lines."""
    out: list[list[str]] = []
    previous = False
    for line in text.splitlines():
        if line.startswith("|"):
            if not previous:
                out.append([])
            out[-1].append(line)
        previous = line.startswith("|")
    return out


def assert_no_raw_html(text: str) -> None:
    """ODD's tags appear only escaped or inside code spans (which Markdown shows literally)."""
    outside_code = re.sub(r"``.*?``|`[^`\n]*`", "", text)
    assert not re.search(r"(?<!\\)<b>", outside_code)


def assert_tables_well_formed(text: str) -> None:
    """Every row of every table has as many cells as its header: no name split a cell."""
    for table in tables(text):
        widths = {unescaped_pipes(line) for line in table}
        assert len(widths) == 1, table


def copy_run(tmp_path: Path, name: str) -> tuple[Path, dict]:
    run = tmp_path / name
    shutil.copytree(FIXTURE, run)
    return run, json.loads((run / "results.json").read_text(encoding="utf-8"))


def save(run: Path, results: dict) -> Path:
    (run / "results.json").write_text(json.dumps(results), encoding="utf-8")
    return run


@pytest.fixture
def runs(tmp_path: Path) -> tuple[Path, Path]:
    """Before and after: the fixture run, and a copy whose rust run time is 30 % slower and whose callgrind
    count grew 10 % while rust-bin's wall time did not move (the signals disagree); scenario named ODD."""
    before, b = copy_run(tmp_path, "before")
    after, a = copy_run(tmp_path, "after")
    for results, instructions in ((b, 200_000), (a, 220_000)):
        results["bench"]["scenarios"][0]["scenario"] = ODD
        results["profiles"].append(
            {
                "name": "rust-bin.callgrind",
                "runtime": "rust-bin",
                "profiler": "callgrind",
                "kind": "memory",  # keeps it out of the differential flamegraphs: it has no file here
                "unit": "instructions",
                "total": instructions,
                "sample_count": 1,
                "meta": {"total_instructions": instructions},
            }
        )
    rust = a["bench"]["scenarios"][0]["runtimes"]["rust"]
    rust["samples"]["run_ns"] = [x * 1.3 for x in rust["samples"]["run_ns"]]
    return save(before, b), save(after, a)


# ---------------------------------------------------------------------------
# Escaping
# ---------------------------------------------------------------------------


def test_names_cannot_open_markup_or_split_cells() -> None:
    assert md_text("a|b") == "a\\|b"
    assert md_text("<script>") == "\\<script>"
    assert md_text("`x`") == "\\`x\\`"
    assert md_text("**bold** [l](u) ~s~") == "\\*\\*bold\\*\\* \\[l\\](u) \\~s\\~"
    assert md_text("snake_case_name") == "snake_case_name"  # intraword: no emphasis on GitHub
    assert md_text("_private") == "\\_private"
    assert md_text("a & b &lt;") == "a & b &amp;lt;"
    assert md_text("two\nlines") == "two lines"
    assert md_code("q`r") == "`` q`r ``"
    assert md_code("a|b") == "`a|b`" and md_code("a|b", in_table=True) == "`a\\|b`"


# ---------------------------------------------------------------------------
# compare.md
# ---------------------------------------------------------------------------


def test_compare_markdown_gate_table_disagreements_and_flamegraph_links(runs: tuple[Path, Path]) -> None:
    doc = compare_runs(load_side(runs[0]), load_side(runs[1]), 0.02)
    text = compare_markdown(doc)
    gate = doc["summary"]["gate"]
    assert not gate["passed"]
    assert text.splitlines()[2].startswith("**Gate: FAIL**: 2 gated regression(s) beyond 2 %")
    rust_run, instructions = f"{ODD}/rust/run", f"{ODD}/rust-bin/instructions"
    assert set(gate["regressions"]) == {rust_run, instructions}
    assert f"{md_code(rust_run)} (wall time)" in text and f"{md_code(instructions)} (instructions)" in text

    [table] = tables(text)
    gated = [r for r in doc["comparisons"] if r["gated"]]
    assert len(table) == 2 + len(gated)
    assert table[0] == "| figure | before | after | change [95 % CI] | verdict | decided by |"
    # Regressions first, each with its verdict and the signal that decided it.
    assert "**regressed** (fails the gate)" in table[2] and "**regressed** (fails the gate)" in table[3]
    row = next(line for line in table if md_code(rust_run, in_table=True) in line)
    assert "| wall time |" in row and re.search(r"\| \+\d+\.\d% \[\+\d+\.\d%, \+\d+\.\d%\] \|", row)
    row = next(line for line in table if md_code(instructions, in_table=True) in line)
    assert "+10.0% (exact)" in row and "| 200,000 instructions | 220,000 instructions |" in row
    assert row.endswith("| instructions |")
    assert_tables_well_formed(text)
    assert_no_raw_html(text)

    assert "#### Where wall time and instructions disagree" in text
    assert len(gate["disagreements"]) == 1 and md_text(gate["disagreements"][0]) in text
    links = re.findall(r"\]\(compare\.html#profile-(\d+)\)", text)
    assert [int(i) for i in links] == list(range(len(doc["profiles"]))) and doc["profiles"]
    for i, p in enumerate(doc["profiles"]):
        assert f"- [{md_text(p['name'])}](compare.html#profile-{i})" in text


def test_compare_markdown_of_a_hostile_comparison(tmp_path: Path) -> None:
    """Scenario, runtime, frame and CPU names that are HTML (tests/test_compare.py's hostile document)."""
    from tests.test_compare import XSS, hostile_doc

    text = compare_markdown(hostile_doc(tmp_path))
    outside_code = re.sub(r"``.*?``|`[^`\n]*`", "", text)
    assert XSS not in outside_code and md_text(XSS) in text
    assert "**Gate: FAIL**" in text and "#### Warnings" in text and "CPU differs" in text
    assert_tables_well_formed(text)


def test_compare_markdown_pass(runs: tuple[Path, Path]) -> None:
    # The fixture's few rounds settle only a wide threshold: at 100 % every row is conclusive.
    doc = compare_runs(load_side(runs[0]), load_side(runs[0]), 1.0)
    text = compare_markdown(doc)
    assert "**Gate: PASS**: no gated figure regressed beyond 100 %, each conclusive" in text
    assert "fails the gate" not in text and "disagree" not in text


def test_rmprof_compare_writes_compare_md_beside_compare_html(runs: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    done = run_cli("compare", str(runs[0]), str(runs[1]), "--out", str(out), "-q")
    assert done.returncode == 0, done.stderr
    doc = json.loads((out / "compare.json").read_text(encoding="utf-8"))
    md = (out / "compare.md").read_text(encoding="utf-8")
    assert (out / "compare.html").is_file() and md == compare_markdown(doc)
    html = (out / "compare.html").read_text(encoding="utf-8")
    for i in range(len(doc["profiles"])):
        assert f'id="profile-{i}"' in html  # every link of compare.md lands on a differential flamegraph
    exported = run_cli("export", "markdown", str(out / "compare.json"))
    assert exported.returncode == 0 and exported.stdout == md


# ---------------------------------------------------------------------------
# summary.md
# ---------------------------------------------------------------------------


def test_summary_markdown_says_what_the_report_says(tmp_path: Path) -> None:
    run, results = copy_run(tmp_path, "run")
    results["analysis"]["headline"]["bottleneck_node"] = {"python": ODD}
    results["analysis"]["nodes"] = [
        {"runtime": "python", "node": ODD, "node_type": "TextTransformNode", "share": 0.4,
         "ns_per_item": {"median": 550.0, "ci95": [500.0, 600.0]}}
    ]  # fmt: skip
    save(run, results)
    text = write_summary(run).read_text(encoding="utf-8")
    assert text == summary_markdown(results)
    # Expected text written out from the fixture's own numbers (bench.scenarios[0].speedups, targets, analysis):
    # e.g. rust run 38.68× [36.66, 41.18], rust memory 7143 B (7.0 KiB) against 26767 B (26.1 KiB): 73 % less.
    assert "#### Verdict" in text and "[report.html](report.html)" in text
    assert "- **Fastest: rust-bin (standalone binary), 101× the asyncio baseline's run-time speed.**" in text
    for sentence in [
        "rust (in-process) runs the text pipeline 38.7× faster than the asyncio baseline \\[95 % CI 36.7×–41.2×\\].",
        "rust (in-process) initializes (parse, validate, build) 2.82× faster than the asyncio baseline "
        "\\[95 % CI 2.70×–3.01×\\].",
        "rust (in-process) starts cold (fresh process to first output) 1.49× faster than the asyncio baseline "
        "\\[95 % CI 1.41×–1.60×\\].",
        "rust (in-process) allocates 73 % less memory per run than the asyncio baseline (7.0 KiB vs 26.1 KiB).",
        "rust-bin (standalone binary) runs the text pipeline 101× faster than the asyncio baseline "
        "\\[95 % CI 94.2×–106×\\].",
        "rust-bin (standalone binary) initializes (parse, validate, build) 1.48× faster than the asyncio baseline "
        "\\[95 % CI 1.35×–1.59×\\].",
        "rust-bin (standalone binary) starts cold (fresh process to first output) 98.9× faster than the asyncio "
        "baseline \\[95 % CI 92.1×–105×\\].",
        "rust-bin (standalone binary) allocates 50 % less memory per run than the asyncio baseline "
        "(13.0 KiB vs 26.1 KiB).",
    ]:
        assert f"- {sentence}\n" in text, sentence
    assert (
        f"Bottleneck node of {md_text('python (asyncio baseline)')}: {md_code(ODD)} (TextTransformNode), 40.0 %" in text
    )
    for line in [
        "- Where python (asyncio baseline) spends it: orchestration (91 % of python.py-spy samples); hottest frame "
        "EpollSelector.select (24 % self).",
        "- Where rust (in-process) spends it: allocation & GC (37 % of rust.perf samples); hottest frame "
        "rmprof_runtime::nodes::text_transform_in_place (8 % self).",
        "- Where rust-bin (standalone binary) spends it: node compute (50 % of rust-bin.perf samples); hottest frame "
        "\\<rmprof_runtime::alloc_counter::CountingAlloc as core::alloc::global::GlobalAlloc>::alloc (18 % self).",
    ]:
        assert f"{line}\n" in text, line

    targets, times = tables(text)
    assert len(targets) == 2 + 5  # header, rule, the fixture's five targets
    init = next(line for line in targets if "initialization 5-10x faster" in line)
    assert init.endswith("| **missed** |")
    assert len(times) == 2 + 10  # run: 4 runtimes (python-fused included); init and cold start: 3 each
    rust_run = next(line for line in times if line.startswith("| run | rust (in-process) |"))
    assert "| 38.7× \\[36.7×–41.2×\\] |" in rust_run
    assert_tables_well_formed(text)
    assert_no_raw_html(text)


def test_export_markdown_of_a_run_directory(tmp_path: Path) -> None:
    done = run_cli("export", "markdown", str(FIXTURE))
    assert done.returncode == 0, done.stderr
    assert done.stdout == summary_markdown(json.loads((FIXTURE / "results.json").read_text(encoding="utf-8")))
    out = tmp_path / "s.md"
    assert run_cli("export", "markdown", str(FIXTURE / "results.json"), "-o", str(out)).returncode == 0
    assert out.read_text(encoding="utf-8") == done.stdout
    bad = run_cli("export", "markdown", str(REPO / "pyproject.toml"))
    assert bad.returncode == 2 and "cannot read" in bad.stderr
