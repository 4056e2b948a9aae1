"""Shared headless-Chromium launcher for browser tests (playwright driving the system chromium).

Usage::

    from tests.browser import browser_page

    def test_page(tmp_path):
        with browser_page() as session:
            session.goto_file(tmp_path / "page.html")
            ...
            session.assert_clean()  # no console errors, page errors, dialogs or network requests

Without chromium or playwright the test is skipped, unless the environment variable CI is set (e.g.
"true"): then it fails, so CI cannot skip browser tests silently. RMPROF_CHROMIUM overrides the
browser path (default /usr/bin/chromium, else chromium / chromium-browser on PATH).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Schemes a self-contained report may load; anything else is a network request and recorded.
LOCAL_SCHEMES = ("file:", "data:", "about:", "blob:")


def in_ci() -> bool:
    """True when the CI environment variable is set to anything but an empty/false value."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _unavailable(reason: str) -> None:
    """Skip the test, or fail it under CI."""
    if in_ci():
        pytest.fail(f"browser test cannot run under CI: {reason}", pytrace=False)
    pytest.skip(reason)


def chromium_path() -> str:
    """Path of the chromium executable; skips (fails under CI) the test when there is none."""
    override = os.environ.get("RMPROF_CHROMIUM")
    candidates = [override] if override else ["/usr/bin/chromium"]
    if not override:
        candidates += [shutil.which("chromium") or "", shutil.which("chromium-browser") or ""]
    for path in candidates:
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    _unavailable(f"no chromium executable (looked for {', '.join(c for c in candidates if c)})")
    raise AssertionError("unreachable")


@dataclass
class BrowserSession:
    """A playwright page plus everything the page reported that a clean report must not produce."""

    page: Any
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    network_requests: list[str] = field(default_factory=list)

    def goto_file(self, path: Path) -> None:
        """Open a local HTML file and wait until it has loaded."""
        self.page.goto(Path(path).resolve().as_uri(), wait_until="load")

    def problems(self) -> list[str]:
        """Every console error, uncaught exception, dialog and network request seen so far."""
        return (
            [f"console error: {m}" for m in self.console_errors]
            + [f"page error: {m}" for m in self.page_errors]
            + [f"dialog: {m}" for m in self.dialogs]
            + [f"network request: {u}" for u in self.network_requests]
        )

    def assert_clean(self) -> None:
        """Fail if the page logged a console error, threw, opened a dialog or touched the network."""
        problems = self.problems()
        assert not problems, "\n".join(problems)


def _require_playwright() -> Any:
    """The playwright sync API module; skips (fails under CI) when playwright is not installed."""
    try:
        from playwright import sync_api
    except ImportError:
        _unavailable("the playwright package is not installed (pip install playwright)")
        raise
    return sync_api


@contextmanager
def launch_browser() -> Iterator[Any]:
    """Launch headless system Chromium via playwright and yield the Browser."""
    sync_api = _require_playwright()
    executable = chromium_path()
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def open_page(browser: Any, width: int = 1200, height: int = 900) -> Iterator[BrowserSession]:
    """Open a fresh page in ``browser`` that records console errors, dialogs and network requests."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    session = BrowserSession(page=page)

    def on_console(msg: Any) -> None:
        if msg.type == "error":
            session.console_errors.append(msg.text)

    def on_dialog(dialog: Any) -> None:
        session.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def on_request(request: Any) -> None:
        if not request.url.startswith(LOCAL_SCHEMES):
            session.network_requests.append(request.url)

    def on_route(route: Any) -> None:
        if route.request.url.startswith(LOCAL_SCHEMES):
            route.continue_()
        else:
            route.abort()

    page.on("console", on_console)
    page.on("pageerror", lambda exc: session.page_errors.append(str(exc)))
    page.on("dialog", on_dialog)
    page.on("request", on_request)
    page.route("**/*", on_route)
    try:
        yield session
    finally:
        context.close()


@contextmanager
def browser_page(width: int = 1200, height: int = 900) -> Iterator[BrowserSession]:
    """Launch Chromium and yield one recording page (see ``BrowserSession``)."""
    with launch_browser() as browser, open_page(browser, width, height) as session:
        yield session
