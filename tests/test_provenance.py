"""Build provenance (issue 23, item 4): every Rust runtime names its build, rmprof measures the binary built with it
(next to its interpreter) before another one on PATH, and an extension beside a binary of another build is refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rmprof.bench import environment
from rmprof.compare.builds import compare_builds
from rmprof.errors import RmprofError, RuntimeUnavailable
from rmprof.runtimes import binary, get_runtime
from rmprof.runtimes.binary import BINARY_NAME, ENV_VAR, binary_build_info, binary_source, find_binary
from rmprof.runtimes.provenance import build_rows, check_builds, mixed_pairs
from tests.conftest import REPO, require_runtime, run_cli

OTHER_BUILD = "0123456789abcdef"
QUICK = ["-s", "simple", "-r", "rust", "-r", "rust-bin", "--rounds", "2", "-n", "3"]


def own_binary() -> Path:
    """The binary installed beside this interpreter (./scripts/setup.sh puts it there)."""
    path = Path(sys.executable).parent / BINARY_NAME
    if not path.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"CI: {path} is not built")
        pytest.skip(f"{path} is not built (./scripts/setup.sh)")
    return path


def other_build(folder: Path, real: Path, log: Path) -> Path:
    """An ``rmprof-runtime`` in ``folder`` that claims another build (``--build-info``) and otherwise runs the real
    binary ``real``; each call's arguments are appended to ``log``."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / BINARY_NAME
    info = {"schema": "rmprof.build/1", "build_id": OTHER_BUILD, "source_digest": "f" * 16, "features": []}
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        f"with open({str(log)!r}, 'a') as f:\n"
        "    f.write(json.dumps(sys.argv[1:]) + '\\n')\n"
        "if sys.argv[1:] == ['--build-info']:\n"
        f"    print({json.dumps(info)!r})\n"
        "    sys.exit(0)\n"
        f"os.execv({str(real)!r}, [{str(real)!r}, *sys.argv[1:]])\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    return script


def calls(log: Path) -> list[list[str]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


# ---------------------------------------------------------------------------------------------------------
# One build, one identity


def test_extension_and_binary_of_one_build_agree() -> None:
    require_runtime("rust")
    require_runtime("rust-bin")
    from rmprof.runtimes.rust_inprocess import load_native

    ext = load_native().build_info()
    binary_info = binary_build_info(find_binary())
    assert binary_info is not None, "the binary prints no --build-info"
    assert ext["build_id"] == binary_info["build_id"], (ext, binary_info)
    assert ext["source_digest"] == binary_info["source_digest"]
    # The features differ (the extension is built with `python`), the build id does not.
    assert "python" in ext["features"] and "python" not in binary_info["features"]
    assert ext["rustc"].startswith("rustc ") and ext["rmprof_version"]


def test_a_timed_run_of_the_binary_names_its_build(tmp_path: Path) -> None:
    path = own_binary()
    manifest = REPO / "rmprof" / "scenarios" / "simple" / "manifest.json"
    items = tmp_path / "i.json"
    items.write_text("[1, 2, 3]")
    out = subprocess.run(
        [str(path), "--manifest", str(manifest), "--input", str(items), "--no-outputs"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out.stdout)["build"] == binary_build_info(path)


def test_an_old_binary_without_build_info_is_an_unknown_build(tmp_path: Path) -> None:
    old = tmp_path / "old"
    old.write_text("#!/bin/sh\necho 'rmprof-runtime: error: unknown argument' >&2\nexit 2\n")
    old.chmod(0o755)
    assert binary_build_info(old) is None
    builds = {
        "rust": {"kind": "extension", "path": "/x/_native.so", "build_id": OTHER_BUILD, "standalone": "rust-bin"},
        "rust-bin": {"kind": "binary", "path": str(old), "build_id": None, "build": None},
    }
    assert mixed_pairs(builds) == [("rust", "rust-bin")], "a build that cannot tell is not shown to be the same"


# ---------------------------------------------------------------------------------------------------------
# Which binary is used


def test_the_binary_next_to_the_interpreter_comes_before_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    own = own_binary()
    fake = other_build(tmp_path / "bin", own, tmp_path / "calls")
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert find_binary() == own
    assert binary_source(own) == binary.FROM_INTERPRETER
    identity = get_runtime("rust-bin").build_identity()
    assert identity is not None and identity["path"] == str(own) and identity["source"] == "next to interpreter"
    assert identity["build_id"] != OTHER_BUILD


def test_without_a_binary_beside_the_interpreter_path_is_used_and_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = own_binary()
    fake = other_build(tmp_path / "bin", real, tmp_path / "calls")
    monkeypatch.setattr(sys, "executable", str(tmp_path / "elsewhere" / "python"))
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert find_binary() == fake and binary_source(fake) == binary.FROM_PATH
    require_runtime("rust")
    with pytest.raises(RmprofError) as caught:
        check_builds(["python", "rust", "rust-bin"])
    message = caught.value.message
    assert str(fake) in message and OTHER_BUILD in message and "from PATH" in message, message
    assert "--allow-mixed-builds" in message
    check_builds(["python", "rust", "rust-bin"], allow_mixed=True)  # the user said so
    check_builds(["python", "rust-bin"])  # no extension beside it: no boundary to spoil


def test_an_env_var_naming_no_file_is_an_error_not_a_fallback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "missing"))
    with pytest.raises(RuntimeUnavailable, match=ENV_VAR):
        find_binary()


def test_another_build_first_on_path_is_not_measured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fake ``rmprof-runtime`` of another build first on PATH: the bench measures its own build and names it."""
    require_runtime("rust")
    own = own_binary()
    log = tmp_path / "calls"
    fake = other_build(tmp_path / "bin", own, log)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv(ENV_VAR, raising=False)
    proc = run_cli("bench", *QUICK, "--cold-starts", "3", "--json", "-q")
    assert proc.returncode == 0, proc.stderr
    builds = json.loads(proc.stdout)["builds"]
    assert builds["rust-bin"]["path"] == str(own) and builds["rust-bin"]["source"] == "next to interpreter"
    assert builds["rust-bin"]["build_id"] == builds["rust"]["build_id"] != OTHER_BUILD
    assert builds["rust"]["kind"] == "extension" and builds["rust"]["path"].endswith(".so")
    assert "python" not in builds  # the checkout is named by the environment's git_commit
    assert calls(log) == [], "the fake on PATH ran"


# ---------------------------------------------------------------------------------------------------------
# RMPROF_RUNTIME_BIN naming another build: refused before anything is measured, unless the user says otherwise


@pytest.mark.parametrize(
    "command", [["bench", "--cold-starts", "3"], ["profile", "-p", "none"], ["compare", "--paired", "nosuch"]]
)
def test_a_binary_of_another_build_beside_the_extension_is_refused(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_runtime("rust")
    log = tmp_path / "calls"
    fake = other_build(tmp_path / "bin", own_binary(), log)
    monkeypatch.setenv(ENV_VAR, str(fake))
    out = tmp_path / "run"
    proc = run_cli(*command, *QUICK, "-q", *(["--out", str(out)] if command[0] == "profile" else []))
    assert proc.returncode == 2, proc.stderr
    [line] = proc.stderr.splitlines()
    ext = get_runtime("rust").build_identity()
    assert ext is not None
    assert line.startswith("rmprof: error: rust and rust-bin are not one build"), line
    for named in (str(fake), OTHER_BUILD, ext["path"], ext["build_id"], ENV_VAR, "--allow-mixed-builds"):
        assert named in line, (named, line)
    assert calls(log) == [["--build-info"]], "something ran before the refusal"
    assert not out.exists()


@pytest.mark.heavy
def test_mixed_builds_are_measured_when_allowed_and_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require_runtime("rust")
    log = tmp_path / "calls"
    fake = other_build(tmp_path / "bin", own_binary(), log)
    monkeypatch.setenv(ENV_VAR, str(fake))
    out = tmp_path / "run"
    proc = run_cli("profile", "-p", "none", *QUICK, "-q", "--out", str(out), "--allow-mixed-builds")
    assert proc.returncode == 0, proc.stderr
    results = json.loads((out / "results.json").read_text())
    builds = results["bench"]["builds"]
    assert builds["rust-bin"] == {**builds["rust-bin"], "path": str(fake), "source": ENV_VAR, "build_id": OTHER_BUILD}
    assert builds["rust"]["build_id"] != OTHER_BUILD
    assert len(calls(log)) > 1, "the binary named by the environment variable was not the one measured"
    html = (out / "report.html").read_text()
    assert "Builds measured" in html and str(fake) in html and OTHER_BUILD in html
    assert "the boundary between them means nothing" in html


def test_report_rows_escape_what_they_show() -> None:
    from rmprof.report.templates import environment as jinja_environment

    rows = build_rows({"rust-bin": {"kind": "binary", "path": "/tmp/<b>x</b>", "source": "PATH", "build_id": None}})
    assert rows[0]["build_id"] == "unknown" and rows[0]["source"] == "PATH"
    template = jinja_environment().from_string("{% for b in builds %}{{ b.path }}{% endfor %}")
    assert template.render(builds=rows) == "/tmp/&lt;b&gt;x&lt;/b&gt;"


# ---------------------------------------------------------------------------------------------------------
# The Python side: a modified tree is not its clean commit


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        check=True,
        capture_output=True,
    )


def test_git_state_tells_clean_modified_and_differently_modified_trees_apart(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "nodes.py").write_text("def f(x):\n    return x + 1\n")
    git(repo, "add", "nodes.py")
    git(repo, "commit", "-q", "-m", "one")
    clean = environment.git_state(repo)
    assert clean["git_dirty"] is False and clean["git_diff_digest"] is None and "-dirty" not in clean["git_commit"]

    (repo / "nodes.py").write_text("def f(x):\n    return x + 2\n")
    one = environment.git_state(repo)
    assert one["git_dirty"] is True and one["git_commit"] != clean["git_commit"]
    assert one["git_commit"].startswith(clean["git_commit"] + "-dirty-")
    assert environment.git_state(repo) == one, "the same modification, the same name"

    (repo / "nodes.py").write_text("def f(x):\n    return x + 3\n")
    assert environment.git_state(repo)["git_commit"] not in (one["git_commit"], clean["git_commit"])

    (repo / "nodes.py").write_text("def f(x):\n    return x + 1\n")
    assert environment.git_state(repo) == clean
    (repo / "extra.py").write_text("SLOW = True\n")
    untracked = environment.git_state(repo)
    assert untracked["git_dirty"] is True and untracked["git_commit"] != clean["git_commit"]


def test_git_state_outside_a_checkout_is_unknown(tmp_path: Path) -> None:
    assert environment.git_state(tmp_path) == {"git_commit": None, "git_dirty": None, "git_diff_digest": None}


def test_the_environment_records_the_dirty_flag() -> None:
    env = environment.environment()
    assert {"git_commit", "git_dirty", "git_diff_digest"} <= set(env)


# ---------------------------------------------------------------------------------------------------------
# compare: both sides' builds


def side(commit: str | None, builds: dict[str, Any] | None) -> dict[str, Any]:
    return {"environment": {"git_commit": commit}, "builds": builds}


def identity(build: str | None, kind: str = "binary") -> dict[str, Any]:
    extra = {"standalone": "rust-bin"} if kind == "extension" else {}
    return {"kind": kind, "path": f"/p/{build}", "build_id": build, "build": {"build_id": build}, **extra}


def test_compare_builds_says_same_build_only_for_an_a_a_pair() -> None:
    builds = {"rust": identity("aaaa", "extension"), "rust-bin": identity("aaaa")}
    same = compare_builds(side("abc1234", builds), side("abc1234", dict(builds)))
    assert same["same_build"] is True and same["summary"] == "same build" and same["differences"] == []
    assert same["mixed"] == {"before": [], "after": []}

    changed = compare_builds(
        side("abc1234", builds), side("abc1234", {"rust": identity("bbbb", "extension"), "rust-bin": identity("aaaa")})
    )
    assert changed["same_build"] is False
    assert changed["differences"] == [{"what": "rust", "before": "aaaa", "after": "bbbb"}]
    assert changed["summary"] == "different builds: rust aaaa → bbbb"
    assert changed["mixed"] == {"before": [], "after": ["rust/rust-bin"]}

    dirty = compare_builds(side("abc1234", builds), side("abc1234-dirty-0011223344556677", builds))
    assert dirty["same_build"] is False and dirty["differences"][0]["what"] == "checkout"

    old = compare_builds(side("abc1234", None), side("abc1234", builds))
    assert old["same_build"] is False and "before side" in old["summary"]


def test_load_side_carries_the_builds(tmp_path: Path) -> None:
    from rmprof.compare.sides import load_side

    shape = {"created_unix": 1.7e9, "duration_s": 1.0, "runtimes": [], "config": {}, "environment": {}, "targets": []}
    doc = {"schema": "rmprof.bench/1", **shape, "comparison": {}, "summary": {}, "scenarios": []}
    doc["builds"] = {"rust-bin": identity("aaaa")}
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(doc))
    assert load_side(path)["builds"] == doc["builds"]
    del doc["builds"]
    path.write_text(json.dumps(doc))
    assert load_side(path)["builds"] is None


# ---------------------------------------------------------------------------------------------------------
# doctor


@pytest.mark.heavy
def test_doctor_names_the_binary_in_use_where_it_came_from_and_its_build() -> None:
    own_binary()
    proc = run_cli("doctor", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = {r["name"]: r for r in json.loads(proc.stdout)["runtimes"]}
    row = rows["rust-bin"]
    assert row["path"] == str(Path(sys.executable).parent / BINARY_NAME) and row["source"] == "next to interpreter"
    assert row["build"]["build_id"] == binary_build_info(Path(row["path"]))["build_id"]  # type: ignore[index]
    table = run_cli("doctor")
    assert "from next to interpreter; build " + row["build"]["build_id"] in " ".join(table.stdout.split())
