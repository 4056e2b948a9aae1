"""The rendered fixture report in real headless Chromium: loads from file:// with no console errors and no
network requests, every flame graph draws, a click zooms, search highlights; the first screen holds the verdict
with every long section collapsed, a link opens the section it targets, no table is wider than the page; a
screenshot is saved to tests/artifacts/report.png.

Skipped without chromium/playwright, except under CI (see tests/browser.py).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rmprof.report.render import render_report
from tests.browser import BrowserSession, launch_browser, open_page

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "run_text"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture run directory, copied and rendered."""
    run_dir = tmp_path_factory.mktemp("run") / "run_text"
    shutil.copytree(FIXTURE, run_dir)
    return render_report(run_dir)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for the module."""
    with launch_browser() as b:
        yield b


@pytest.fixture
def session(browser: Any, report_file: Path) -> Iterator[BrowserSession]:
    """The report opened in a fresh page, with every flame graph drawn."""
    with open_page(browser, 1280, 900) as s:
        # The flame graphs are in a collapsed section: the URL hash opens it.
        s.page.goto(report_file.resolve().as_uri() + "#flamegraphs", wait_until="load")
        s.page.wait_for_function(
            "document.querySelectorAll('[data-report-flame]').length > 0 && "
            "Array.from(document.querySelectorAll('[data-report-flame]')).every(b => b.dataset.drawn === '1')",
            timeout=10_000,
        )
        yield s


def test_loads_clean_and_draws_every_flamegraph(session: BrowserSession) -> None:
    """No console errors, no network; each flame graph box holds drawn frames."""
    page = session.page
    counts = page.eval_on_selector_all(
        "[data-report-flame]", "bs => bs.map(b => b.querySelectorAll('.rmprof-frame').length)"
    )
    assert len(counts) == 4
    assert all(c > 3 for c in counts), counts
    assert page.locator("#verdict .verdict-card").count() >= 2
    session.assert_clean()


def test_first_paint_is_fast(session: BrowserSession) -> None:
    """DOMContentLoaded fires well within a second of navigation (flame graphs draw after it)."""
    dcl = session.page.evaluate("performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd")
    assert 0 < dcl < 1000, dcl


def test_click_zooms_and_search_highlights(session: BrowserSession) -> None:
    """Clicking a frame zooms into it (reset becomes active); a search marks matching frames."""
    page = session.page
    box = page.locator("[data-report-flame]").first
    before = box.locator(".rmprof-frame").count()
    target = box.locator('.rmprof-frame[data-idx]:not([data-idx="0"])').first
    name = target.get_attribute("data-name")
    width_before = target.bounding_box()["width"]
    target.click()
    assert not box.locator(".rmprof-flame-reset").is_disabled()
    zoomed = box.locator(".rmprof-focus")
    assert zoomed.count() == 1 and zoomed.get_attribute("data-name") == name
    assert zoomed.bounding_box()["width"] >= width_before
    box.locator(".rmprof-flame-reset").click()
    assert box.locator(".rmprof-frame").count() == before

    box.locator(".rmprof-flame-search").fill("select")
    page.wait_for_function(
        "el => el.querySelectorAll('.rmprof-match').length > 0", arg=box.element_handle(), timeout=5000
    )
    matched = box.locator(".rmprof-match")
    assert all("select" in (matched.nth(i).get_attribute("data-name") or "").lower() for i in range(matched.count()))
    assert "Matched" in box.locator(".rmprof-flame-matchinfo").inner_text()
    session.assert_clean()


def test_narrow_screen_stacks_flamegraphs(browser: Any, report_file: Path) -> None:
    """On a phone-width viewport the flame graphs are stacked, one per row."""
    with open_page(browser, 600, 900) as s:
        s.page.goto(report_file.resolve().as_uri() + "#flamegraphs", wait_until="load")
        lefts = s.page.eval_on_selector_all(
            ".flame-grid .flame-card", "cs => cs.map(c => c.getBoundingClientRect().left)"
        )
        assert len(set(round(x) for x in lefts)) == 1
        s.assert_clean()


def test_screenshot(session: BrowserSession) -> None:
    """A full-page screenshot for a human to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    session.page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
    assert (ARTIFACTS / "report.png").stat().st_size > 10_000
    session.assert_clean()


def test_first_screen_is_the_verdict_and_long_sections_are_collapsed(browser: Any, report_file: Path) -> None:
    """Opened without a hash: the summary is on the first screen, every long section is closed with its headline
    visible, and the page is a few screens tall, not the ~17,000 px of every section open."""
    with open_page(browser, 1280, 900) as s:
        s.goto_file(report_file)
        page = s.page
        assert page.locator("#summary-table").is_visible()
        assert page.locator("#summary-table").bounding_box()["y"] < 900
        sections = page.eval_on_selector_all("details.section", "ds => ds.map(d => [d.id, d.open])")
        assert {name for name, _ in sections} >= {"verdict", "tables", "bottlenecks", "flamegraphs", "environment"}
        assert not any(is_open for _, is_open in sections), sections
        assert all(page.locator(f"#{name} > summary .section-headline").is_visible() for name, _ in sections)
        closed_height = page.evaluate("document.documentElement.scrollHeight")
        page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        open_height = page.evaluate("document.documentElement.scrollHeight")
        assert closed_height < 3000 and open_height > 3 * closed_height, (closed_height, open_height)
        s.assert_clean()


def test_a_link_opens_the_section_it_targets(browser: Any, report_file: Path) -> None:
    """The verdict's link to the gaps opens the Gaps section; a link into a nested block opens its parents."""
    with open_page(browser, 1280, 900) as s:
        s.goto_file(report_file)
        page = s.page
        assert not page.locator("#gaps").evaluate("d => d.open")
        page.locator('.verdict-items a[href="#gaps"]').click()
        page.wait_for_function("document.getElementById('gaps').open")
        assert page.locator("#gaps table.gaps").is_visible()
        page.evaluate("location.hash = '#profile-python.py-spy'")
        page.wait_for_function("document.getElementById('profile-python.py-spy').open")
        assert page.locator("#bottlenecks").evaluate("d => d.open")
        assert page.locator("#profile-python\\.py-spy table.top-frames").is_visible()
        s.assert_clean()


def test_tables_fit_the_page_width(browser: Any, report_file: Path) -> None:
    """With every section open, the page never scrolls sideways and no table outgrows the page at 1280 px; at
    700 px a wide table scrolls inside its own box."""
    for width in (1280, 700):
        with open_page(browser, width, 900) as s:
            s.goto_file(report_file)
            page = s.page
            page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            loose = page.eval_on_selector_all(
                "table", "ts => ts.filter(t => !t.closest('.table-scroll')).map(t => t.className)"
            )
            assert not loose, loose
            if width == 1280:
                wide = page.eval_on_selector_all(
                    ".table-scroll",
                    "ds => ds.filter(d => d.scrollWidth > d.clientWidth + 1).map(d => d.innerHTML.slice(0, 60))",
                )
                assert not wide, wide
            s.assert_clean()
