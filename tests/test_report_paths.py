"""Source paths shortened to their package (rmprof/report/paths.py), checked against hand-written expectations,
and where the report shows them: the top-frames tables (full path in a title) and the flame graph trees."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rmprof.profile_model import Frame, Profile
from rmprof.report.flametree import build_tree
from rmprof.report.paths import short_location, short_path
from rmprof.report.render import render_report

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "run_text"
CHECKOUT = "/home/ana/src/rmprof-work"


@pytest.mark.parametrize(
    ("path", "short"),
    [
        # The standard library of a pyenv, a distribution and a venv interpreter.
        ("/root/.pyenv/versions/3.11.7/lib/python3.11/asyncio/queues.py", "asyncio/queues.py"),
        ("/usr/lib/python3.12/selectors.py", "selectors.py"),
        ("/usr/local/lib/python3.13t/json/decoder.py", "json/decoder.py"),
        # Installed packages, also the ones inside the checkout's own venv and a distribution's dist-packages.
        (f"{CHECKOUT}/.venv/lib/python3.11/site-packages/click/core.py", "click/core.py"),
        ("/usr/lib/python3/dist-packages/yaml/reader.py", "yaml/reader.py"),
        # The rmprof checkout, by its root.
        (f"{CHECKOUT}/rmprof/runtimes/python_asyncio.py", "rmprof/runtimes/python_asyncio.py"),
        (f"{CHECKOUT}/rust_runtime/src/executor.rs", "rust_runtime/src/executor.rs"),
        (
            f"{CHECKOUT}/rmprof/_native.cpython-311-x86_64-linux-gnu.so",
            "rmprof/_native.cpython-311-x86_64-linux-gnu.so",
        ),
        # Another checkout of rmprof (profiled elsewhere): by its two source folders' names.
        ("/builds/ci/rmprof/rmprof/nodes.py", "rmprof/nodes.py"),
        ("/opt/rmprof-1/rust_runtime/src/bin/rmprof-runtime.rs", "rust_runtime/src/bin/rmprof-runtime.rs"),
        # The cargo registry and a git dependency.
        (
            "/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/pyo3-0.30.1/src/types/dict.rs",
            "pyo3-0.30.1/src/types/dict.rs",
        ),
        (
            "/home/ana/.cargo/registry/src/github.com-1ecc6299db9ec823/serde_json-1.0.108/src/de.rs",
            "serde_json-1.0.108/src/de.rs",
        ),
        ("/home/ana/.cargo/git/checkouts/hdrhistogram-3f1a2b4c5d6e7f80/9a8b7c6/src/lib.rs", "hdrhistogram/src/lib.rs"),
        # Rust's standard library: from a rustc build's remapped prefix, and from the rust-src component.
        ("/rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/core/src/option.rs", "core/src/option.rs"),
        (
            "/home/ana/.rustup/toolchains/stable-x86_64-unknown-linux-gnu/lib/rustlib/src/rust/library/alloc/src/vec/mod.rs",
            "alloc/src/vec/mod.rs",
        ),
        # Shared objects outside any package: their file name.
        ("/usr/lib/x86_64-linux-gnu/libc.so.6", "libc.so.6"),
        ("/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0", "libpython3.11.so.1.0"),
        # Left alone: relative paths, pseudo-files, a user's own files, an rmprof-named folder's non-source files.
        ("./malloc/./malloc/malloc.c", "./malloc/./malloc/malloc.c"),
        ("[kernel.kallsyms]", "[kernel.kallsyms]"),
        ("/home/ana/pipelines/my_nodes.py", "/home/ana/pipelines/my_nodes.py"),
        (
            "/root/.cache/rmprof/cargo-target/release/rmprof-runtime",
            "/root/.cache/rmprof/cargo-target/release/rmprof-runtime",
        ),
        ("", ""),
    ],
)
def test_short_path(path: str, short: str) -> None:
    assert short_path(path, roots=[CHECKOUT]) == short


def test_short_location_keeps_the_line() -> None:
    assert short_location("/usr/lib/python3.11/asyncio/queues.py:145", roots=()) == "asyncio/queues.py:145"
    assert short_location(f"{CHECKOUT}/rmprof/runtimes/python_asyncio.py:160", roots=[CHECKOUT]) == (
        "rmprof/runtimes/python_asyncio.py:160"
    )
    assert short_location("app.py:12", roots=()) == "app.py:12"
    assert short_location("/usr/lib/x86_64-linux-gnu/libc.so.6", roots=()) == "libc.so.6"


def test_a_root_is_matched_by_whole_folder() -> None:
    """A root is a folder: a sibling whose name starts alike is not inside it."""
    assert short_path(f"{CHECKOUT}-old/tools/x.py", roots=[CHECKOUT]) == f"{CHECKOUT}-old/tools/x.py"
    assert short_path(f"{CHECKOUT}/tools/x.py", roots=[CHECKOUT + "/"]) == "tools/x.py"


def test_flame_tree_carries_short_places_beside_full_files() -> None:
    profile = Profile(runtime="python", profiler="py-spy", kind="cpu", unit="samples")
    queues = "/root/.pyenv/versions/3.11.7/lib/python3.11/asyncio/queues.py"
    profile.add_stack([Frame("main", "app.py", 1), Frame("Queue.get", queues, 158)], 5)
    tree = build_tree(profile)
    i = tree["names"].index("Queue.get")
    assert tree["files"][i] == f"{queues}:158"
    assert tree["places"][i] == "asyncio/queues.py:158"
    assert tree["places"][tree["names"].index("main")] == "app.py:1"


def test_top_frames_show_the_short_path_with_the_full_one_as_title(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(FIXTURE, run_dir, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    doc = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    row = doc["analysis"]["bottlenecks"]["python.py-spy"]["top_self"][0]
    row["file"] = "/root/.pyenv/versions/3.11.7/lib/python3.11/asyncio/queues.py"
    row["line"] = 145
    (run_dir / "results.json").write_text(json.dumps(doc), encoding="utf-8")
    html = render_report(run_dir).read_text(encoding="utf-8")
    assert (
        '<td class="file" title="/root/.pyenv/versions/3.11.7/lib/python3.11/asyncio/queues.py:145">'
        "asyncio/queues.py:145</td>"
    ) in html
