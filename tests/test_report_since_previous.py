"""The report's first screen without a compare.json: what changed since the previous comparable run in the
history (rmprof/history/previous.py, view_summary.since_previous). The earlier runs are hand-written history
records beside the fixture run (tests/fixtures/run_text), and the expected texts are their numbers written out by
hand: rust's run went from 70.0 µs [68.0 µs–72.0 µs] to the fixture's 49.0 µs [46.8 µs–50.9 µs] (−30.0 %), every
other judged figure's intervals overlap (python's run with a median 10 % apart)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from rmprof.history.cells import Cell
from rmprof.history.previous import real_change
from rmprof.history.record import record_folder
from rmprof.history.store import RunRecord, record
from rmprof.report.render import render_report
from rmprof.run_tree import environment_of, fingerprint
from tests.test_report_summary import copy_fixture, summary_of, text_of

FIXTURE_CREATED = 1795814251.0588167  # tests/fixtures/run_text/results.json created_unix


def fixture_fingerprint(run_dir: Path) -> dict:
    """The machine the fixture run was measured on."""
    return fingerprint(environment_of(json.loads((run_dir / "results.json").read_text(encoding="utf-8"))))


def earlier_run(
    run_dir: Path, hours_before: float, rust_run: tuple[float, float, float], **fields: object
) -> RunRecord:
    """A hand-written run of the text scenario ``hours_before`` the fixture's, on the fixture's machine (unless
    ``fingerprint`` is given): python's, rust-bin's and rust's speedup overlap the fixture's intervals."""
    cells = (
        # 10 % slower than the fixture's median, but the intervals overlap: not a change.
        Cell("python", "run", "ns", 2_100_000.0, 1_950_000.0, 2_300_000.0, 20),
        Cell("rust", "run", "ns", *rust_run, 20),
        Cell("rust-bin", "run", "ns", 18_900.0, 18_500.0, 19_800.0, 20),
        Cell("rust", "speedup.run", "x", 38.0, 36.0, 41.0, 20),
        Cell("rust", "memory.run_alloc_peak_bytes", "bytes", 9_000.0),  # no interval: not judged
    )
    values: dict = {
        "created_unix": FIXTURE_CREATED - 3600 * hours_before,
        "scenario": "text",
        "commit": "abc1234",
        "branch": "main",
        "fingerprint": fixture_fingerprint(run_dir),
        "cells": cells,
        "build": "feedbeef00000000",
    }
    values.update(fields)
    return RunRecord(**values)


def changed_block(page: str) -> str:
    """The visible text of the first screen's what-changed block."""
    summary = summary_of(page)
    start = summary.index(">", summary.index('id="changed"')) + 1
    return text_of(summary[start:])


def test_the_first_screen_names_the_one_figure_that_moved_beyond_its_interval(tmp_path: Path) -> None:
    run_dir = copy_fixture(tmp_path)
    history = tmp_path / "history.sqlite"
    other_machine = {**fixture_fingerprint(run_dir), "cpu": "another CPU"}
    record(
        history,
        [
            # The previous comparable run: one hour before, with a branch that must be escaped.
            earlier_run(run_dir, 1, (70_000.0, 68_000.0, 72_000.0), branch="<script>alert(1)</script>"),
            # Older, and every figure changed: not the previous run.
            earlier_run(run_dir, 2, (20_000.0, 19_000.0, 21_000.0), commit="0ld0000"),
            # Newer than the previous run but on another machine, or after this run: never compared.
            earlier_run(run_dir, 0.5, (99_000.0, 98_000.0, 100_000.0), fingerprint=other_machine, commit="0th3r00"),
            earlier_run(run_dir, -1, (99_000.0, 98_000.0, 100_000.0), commit="l4ter00"),
        ],
    )
    record_folder(history, run_dir, lambda _: None)  # this run itself, as rmprof profile records it

    page = render_report(run_dir, history).read_text(encoding="utf-8")
    text = changed_block(page)
    assert "What changed since the previous run: 2026-11-27 20:17:31 UTC → this run" in text
    assert "commit abc1234, build feedbeef00000000, branch <script>alert(1)</script>" in text
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
    rows = re.findall(r'<ul class="changed-rows">(.*?)</ul>', summary_of(page), re.S)
    assert len(rows) == 1
    items = [text_of(li) for li in re.findall(r"<li[^>]*>(.*?)</li>", rows[0], re.S)]
    assert items == [
        "rust (in-process) run time per iteration : 70.0 µs [68.0 µs–72.0 µs] → 49.0 µs [46.8 µs–50.9 µs], "
        "-30.0 % (improved)"
    ]
    # Python run, rust run, rust-bin run and rust's run speedup judged; rust's memory peak has no interval.
    assert "4 figures with a 95 % interval in both runs judged" in text
    assert "do not overlap and the medians differ by more than the gate's threshold (5 % for run times" in text
    assert "1 not judged (cold starts, which drift between runs beyond their interval; memory peaks" in text
    for elsewhere in ("0ld0000", "0th3r00", "l4ter00"):
        assert elsewhere not in page


def test_no_earlier_run_is_one_line(tmp_path: Path) -> None:
    run_dir = copy_fixture(tmp_path)
    history = tmp_path / "history.sqlite"
    missing = render_report(run_dir, tmp_path / "none-yet.sqlite").read_text(encoding="utf-8")
    record_folder(history, run_dir, lambda _: None)
    # Only this run, and a later one: nothing before it to compare with.
    record(history, [earlier_run(run_dir, -1, (70_000.0, 68_000.0, 72_000.0))])
    page = render_report(run_dir, history).read_text(encoding="utf-8")
    for html, path in ((missing, tmp_path / "none-yet.sqlite"), (page, history)):
        line = re.search(r'<p class="changed-first muted" id="changed">(.*?)</p>', html, re.S)
        assert line, "no one-line note"
        assert text_of(line.group(1)) == (
            f"No earlier run of text on this machine in the history {path}: nothing to compare this run with yet."
        )
        assert "changed-rows" not in summary_of(html)


def test_a_comparison_beside_the_run_wins_over_the_history(tmp_path: Path) -> None:
    from rmprof.compare.output import write_comparison

    before, after = copy_fixture(tmp_path, "before"), copy_fixture(tmp_path, "after")
    history = tmp_path / "history.sqlite"
    record(history, [earlier_run(after, 1, (70_000.0, 68_000.0, 72_000.0))])
    write_comparison(before, after, after, None, lambda _: None)
    text = changed_block(render_report(after, history).read_text(encoding="utf-8"))
    assert text.startswith("What changed: before → after (this run)")
    assert "since the previous run" not in text and "abc1234" not in text


def test_an_unusable_history_is_a_note_and_no_history_says_nothing(tmp_path: Path) -> None:
    run_dir = copy_fixture(tmp_path)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database at all, just bytes" * 10)
    page = render_report(run_dir, junk).read_text(encoding="utf-8")
    assert 'id="changed"' not in page
    assert "What changed since the previous run is not shown:" in text_of(page[page.index('id="notes"') :])
    assert 'id="changed"' not in render_report(run_dir).read_text(encoding="utf-8")  # history off: as before


def test_a_change_needs_intervals_apart_and_more_than_the_gates_threshold() -> None:
    def cell(value: float, lo: float | None, hi: float | None, metric: str = "run") -> Cell:
        return Cell("rust", metric, "x" if metric.startswith("speedup.") else "ns", value, lo, hi)

    assert real_change(cell(100, 99, 101), cell(110, 109, 111)) is True
    assert real_change(cell(100, 99, 101), cell(90, 89, 91)) is True
    assert real_change(cell(100, 95, 105), cell(110, 104, 116)) is False  # overlapping intervals
    assert real_change(cell(100, 99.9, 100.1), cell(104, 103.9, 104.1)) is False  # apart, but within 5 %
    assert real_change(cell(100, 99.9, 100.1), cell(106, 105.9, 106.1)) is True
    # Initialization is judged at 10 %, a speedup at its metric's threshold.
    assert real_change(cell(100, 99, 101, "init"), cell(108, 107, 109, "init")) is False
    assert real_change(cell(100, 99, 101, "init"), cell(112, 111, 113, "init")) is True
    assert real_change(cell(50, 49, 51, "speedup.run"), cell(47, 46.5, 47.5, "speedup.run")) is True
    # Cold starts are informational (they drift between runs beyond their interval), as in compare.
    assert real_change(cell(100, 99, 101, "cold_start"), cell(150, 149, 151, "cold_start")) is None
    assert real_change(cell(100, None, None), cell(200, 199, 201)) is None  # nothing to judge by


def test_rmprof_report_compares_with_the_history_it_is_given(tmp_path: Path) -> None:
    """`rmprof report RUN --history PATH` re-renders the first screen with what changed since the previous run;
    `--no-history` leaves it out (as the suite's RMPROF_HISTORY=off does by default)."""
    from tests.conftest import run_cli

    run_dir = copy_fixture(tmp_path)
    history = tmp_path / "history.sqlite"
    record(history, [earlier_run(run_dir, 1, (70_000.0, 68_000.0, 72_000.0))])
    done = run_cli("report", str(run_dir), "--history", str(history))
    assert done.returncode == 0, done.stderr
    assert "rust (in-process) run time per iteration : 70.0 µs" in changed_block(
        (run_dir / "report.html").read_text(encoding="utf-8")
    )
    done = run_cli("report", str(run_dir), "--history", str(history), "--no-history")
    assert done.returncode == 0, done.stderr
    assert 'id="changed"' not in (run_dir / "report.html").read_text(encoding="utf-8")
