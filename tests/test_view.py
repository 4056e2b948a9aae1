"""`rmprof view` without a global speedscope: through npx when it is there, else rmprof's own flame graph
page (written beside the profile, opened in $BROWSER). No network: PATH holds stand-in executables."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rmprof.commands import view
from rmprof.report.flamepage import render_profile_page, write_profile_page
from tests.browser import browser_page
from tests.test_report_render import FIXTURE, PROFILE_FILE, XSS, rmprof_cli

IMG = '<img src=x onerror="window.__pwned=1">'


def fake_tool(folder: Path, name: str, log: Path, status: int = 0) -> Path:
    """An executable ``name`` in ``folder`` that appends its arguments to ``log`` and exits ``status``."""
    folder.mkdir(parents=True, exist_ok=True)
    exe = folder / name
    exe.write_text(f'#!/bin/sh\necho "$@" >> "{log}"\nexit {status}\n')
    exe.chmod(0o755)
    return exe


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    """A copy of the fixture's python py-spy profile in a folder of its own."""
    out = tmp_path / "run" / "profiles" / PROFILE_FILE.name
    out.parent.mkdir(parents=True)
    shutil.copy(PROFILE_FILE, out)
    return out


def no_gui(path: str, browser: str = "") -> dict[str, str]:
    return {"PATH": path, "BROWSER": browser, "DISPLAY": "", "WAYLAND_DISPLAY": ""}


def test_npx_runs_speedscope_when_it_is_not_installed(tmp_path: Path, profile: Path) -> None:
    log = tmp_path / "npx.txt"
    bin_dir = tmp_path / "bin"
    fake_tool(bin_dir, "npx", log)
    proc = rmprof_cli("view", str(profile), env=no_gui(str(bin_dir)), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert log.read_text(encoding="utf-8").split() == ["--yes", "speedscope", str(profile)]
    assert not (profile.parent / "python.py-spy.flame.html").exists()


def test_speedscope_command_prefers_an_installed_speedscope(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    fake_tool(bin_dir, "npx", tmp_path / "log")
    monkeypatch.setenv("PATH", str(bin_dir))
    assert view.speedscope_command(PROFILE_FILE, start=tmp_path) == [
        str(bin_dir / "npx"),
        "--yes",
        "speedscope",
        str(PROFILE_FILE),
    ]
    fake_tool(bin_dir, "speedscope", tmp_path / "log")
    assert view.speedscope_command(PROFILE_FILE, start=tmp_path) == [str(bin_dir / "speedscope"), str(PROFILE_FILE)]
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    assert view.speedscope_command(PROFILE_FILE, start=tmp_path) is None


def test_failing_npx_falls_back_to_the_builtin_viewer_in_the_browser(tmp_path: Path, profile: Path) -> None:
    """npx without network exits non-zero: the flame graph page opens in $BROWSER instead."""
    bin_dir = tmp_path / "bin"
    fake_tool(bin_dir, "npx", tmp_path / "npx.txt", status=1)
    opened = tmp_path / "opened.txt"
    browser = fake_tool(tmp_path / "browser-bin", "browser", opened)
    proc = rmprof_cli("view", str(profile), env=no_gui(str(bin_dir), str(browser)), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "exited with status 1; opening rmprof's own flame graph viewer instead" in proc.stderr
    page = profile.parent / "python.py-spy.flame.html"
    assert proc.stdout.strip() == f"flame graph: {page}"
    assert opened.read_text(encoding="utf-8").strip() == page.as_uri()


def test_builtin_flag_skips_speedscope_and_reports_no_browser(tmp_path: Path, profile: Path) -> None:
    bin_dir = tmp_path / "bin"
    fake_tool(bin_dir, "speedscope", tmp_path / "speedscope.txt")
    proc = rmprof_cli("view", "--builtin", str(profile), env=no_gui(str(bin_dir)), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "speedscope.txt").exists()
    assert "no web browser to open it here" in proc.stderr
    assert (profile.parent / "python.py-spy.flame.html").is_file()


def test_not_a_speedscope_file_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "x.speedscope.json"
    bad.write_text('{"a": 1}', encoding="utf-8")
    proc = rmprof_cli("view", "--builtin", str(bad), env=no_gui(str(tmp_path)), cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rmprof: error: ") and "not a speedscope profile" in lines[0]


def test_page_goes_to_the_temp_folder_when_the_profile_folder_is_read_only(
    profile: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rmprof import files

    real = files.write_text_atomic

    def read_only_beside_the_profile(path: Path, text: str) -> None:
        if Path(path).parent == profile.parent:
            raise PermissionError(13, "Permission denied", str(path))
        real(path, text)

    monkeypatch.setattr(files, "write_text_atomic", read_only_beside_the_profile)
    page = write_profile_page(profile)
    assert page.parent.name == "rmprof-view" and page.is_file()
    assert not (profile.parent / "python.py-spy.flame.html").exists()


def test_page_escapes_names_and_draws_in_chromium(tmp_path: Path) -> None:
    """The page shows the profile's frames with the report's viewer, escapes hostile names, loads nothing."""
    from rmprof.exporters.speedscope import to_speedscope
    from rmprof.profile_model import Frame, Profile

    prof = Profile(runtime="python", profiler="py-spy", kind="cpu", unit="samples")
    prof.add_stack([Frame("main", "app.py", 1), Frame(XSS, "evil.py", 2)], 30)
    prof.add_stack([Frame("main", "app.py", 1), Frame("work", "app.py", 9)], 70)
    path = tmp_path / f"{IMG}.speedscope.json"  # the file name becomes the page's title
    path.write_text(json.dumps(to_speedscope(prof)), encoding="utf-8")
    html = render_profile_page(path)
    assert XSS not in html and IMG not in html  # escaped wherever they appear
    page = write_profile_page(path)
    with browser_page() as session:
        session.goto_file(page)
        session.page.wait_for_selector(".rmprof-frame")
        names = session.page.eval_on_selector_all(".rmprof-frame", "els => els.map(e => e.dataset.name)")
        assert {"main", "work", XSS} <= set(names)
        assert session.page.evaluate("window.__pwned === undefined")
        session.assert_clean()


def test_fixture_profiles_all_render() -> None:
    for path in sorted((FIXTURE / "profiles").glob("*.speedscope.json")):
        assert "data-rmprof-flame" in render_profile_page(path), path
