"""pprof export: every profile as a gzipped profile.proto that the real `go tool pprof` reads.

The reader is Go's own pprof (shipped with the Go toolchain): `-raw` shows the sample types, every sample's
values and location ids, and every location's function, file and line; `-top -filefunctions` shows self
("flat") weight per function and file, which is how rmprof's report ranks its top frames.
"""

from __future__ import annotations

import gzip
import json
import os
import posixpath
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from rmprof.exporters.pprof import pprof_bytes, read_pprof, sample_types, to_pprof, write_pprof
from rmprof.exporters.speedscope import from_speedscope
from rmprof.profile_model import Frame, Profile
from rmprof.report.markdown import summary_markdown
from tests.conftest import REPO, run_cli

# Real profiler, bench or profile runs: left out of the fast tier (./scripts/test.sh --fast).
pytestmark = pytest.mark.heavy

FIXTURE = REPO / "tests" / "fixtures" / "run_text"
TOP_ROW = re.compile(r"^\s*(-?[\d.]+)([a-zA-Z]*)\s+-?[\d.]+%\s+-?[\d.]+%\s+-?[\d.]+[a-zA-Z]*\s+-?[\d.]+%\s+(.+)$")


@pytest.fixture(scope="module")
def go() -> str:
    """The go command; its `go tool pprof` is the reader these tests hold the files to."""
    found = shutil.which("go")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("CI: go is not installed, so `go tool pprof` cannot check the pprof export")
        pytest.skip("go is not installed: no `go tool pprof` to read the exported files with")
    return found


def pprof(go: str, *args: str | Path) -> str:
    """stdout of `go tool pprof ARGS`; fails the test with pprof's stderr when it cannot read the file."""
    done = subprocess.run([go, "tool", "pprof", *map(str, args)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"go tool pprof {' '.join(map(str, args))}: {done.stderr}"
    return done.stdout


def parse_raw(text: str) -> dict:
    """`-raw` output: sample types, default type, samples [(values, leaf-first location ids)], location lines."""
    lines = text.splitlines()
    start = lines.index("Samples:")
    header = lines[start + 1].split()
    types = [tuple(h.removesuffix("[dflt]").split("/")) for h in header]
    default = next(h.removesuffix("[dflt]").split("/")[0] for h in header if h.endswith("[dflt]"))
    samples, locations, section = [], {}, "samples"
    for line in lines[start + 2 :]:
        if line in ("Locations", "Mappings"):
            section = line
            continue
        if section == "samples" and ":" in line:
            values, _, ids = line.partition(":")
            samples.append(([int(v) for v in values.split()], [int(i) for i in ids.split()]))
        elif section == "Locations" and line.strip():
            lid, _, rest = line.strip().partition(": ")
            locations[int(lid)] = rest
    return {"types": types, "default": default, "samples": samples, "locations": locations}


def parse_top(text: str) -> list[tuple[str, float]]:
    """`-top` rows as (label, flat) in pprof's order; the label is 'name file' under -filefunctions."""
    rows = []
    for line in text.splitlines():
        m = TOP_ROW.match(line)
        if m and not line.lstrip().startswith("flat"):
            rows.append((m.group(3), float(m.group(1))))
    return rows


def top(go: str, path: Path, sample_index: str, unit: str | None = None) -> list[tuple[str, float]]:
    """Every function's flat weight of one sample type, by function and file, nothing dropped."""
    args = ["-top", "-filefunctions", "-nodecount=1000000", "-nodefraction=0", "-edgefraction=0"]
    args += [f"-sample_index={sample_index}"] + ([f"-unit={unit}"] if unit else [])
    return parse_top(pprof(go, *args, path))


def label(name: str, file: str | None) -> str:
    """How pprof -filefunctions names a function (it shows file paths cleaned, as Go's filepath.Clean does)."""
    return f"{name} {posixpath.normpath(file)}" if file else name


def self_by_function(profile: Profile, factor: float = 1.0) -> dict[str, float]:
    """Self weight per (name, file), as rmprof's bottleneck table and pprof's function rows sum it."""
    out: dict[str, float] = {}
    for stack, w in zip(profile.stacks, profile.weights, strict=True):
        if stack:
            f = profile.frames[stack[-1]]
            key = label(f.name, f.file)
            out[key] = out.get(key, 0.0) + round(w * factor)
    return {k: v for k, v in out.items() if v}


def assert_same_top(rows: list[tuple[str, float]], expected: dict[str, float], k: int = 10) -> None:
    """pprof lists exactly the expected self weights, and its first k rows are the k heaviest functions
    (ties may come in either order, so a row must weigh what the k-th heaviest weighs)."""
    assert {name: flat for name, flat in rows if flat} == expected
    heaviest = sorted(expected.values(), reverse=True)[:k]
    assert [flat for _, flat in rows[: len(heaviest)]] == heaviest


def fixture_profiles() -> list[tuple[dict, Profile]]:
    """(summary, Profile) of every profile in the text fixture run, as `rmprof report` loads them."""
    results = json.loads((FIXTURE / "results.json").read_text(encoding="utf-8"))
    out = []
    for s in results["profiles"]:
        doc = json.loads((FIXTURE / s["file"]).read_text(encoding="utf-8"))
        profile = from_speedscope(doc, s["runtime"], s["profiler"], s["kind"])
        profile.rate_hz = s.get("rate_hz")
        out.append((s, profile))
    return out


def fixture_ids() -> list[str]:
    return [s["name"] for s, _ in fixture_profiles()]


# ---------------------------------------------------------------------------
# Without Go: the message itself
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("unit", "kind", "rate", "types", "factors"),
    [
        ("samples", "cpu", 250.0, [("samples", "count"), ("cpu", "nanoseconds")], [1.0, 4e6]),
        ("samples", "cpu", None, [("samples", "count")], [1.0]),
        ("instructions", "cpu", None, [("instructions", "count")], [1.0]),
        ("bytes", "memory", None, [("space", "bytes")], [1.0]),
        ("milliseconds", "cpu", 500.0, [("cpu", "nanoseconds")], [1e6]),
    ],
)
def test_sample_types_follow_the_unit(unit, kind, rate, types, factors) -> None:
    profile = Profile(runtime="r", profiler="p", kind=kind, unit=unit, rate_hz=rate)
    assert sample_types(profile) == (types, factors)


def test_message_holds_the_stacks_frames_and_lines() -> None:
    p = Profile(runtime="python", profiler="py-spy", kind="cpu", unit="samples", rate_hz=100.0, sample_count=6)
    main, work, leaf = Frame("main", "app.py", 3), Frame("work", "app.py", 10), Frame("leaf", "lib.py", 7)
    p.add_stack([main, work, leaf], 2)
    p.add_stack([main, work], 1)
    p.add_stack([main, work, leaf], 3)  # the same stack again: merged into one sample
    msg = read_pprof(pprof_bytes(p))
    strings = list(msg.string_table)
    assert strings[0] == ""
    assert [(strings[t.type], strings[t.unit]) for t in msg.sample_type] == [
        ("samples", "count"),
        ("cpu", "nanoseconds"),
    ]
    assert msg.period == 10_000_000 and strings[msg.period_type.type] == "cpu"
    functions = {f.id: (strings[f.name], strings[f.filename]) for f in msg.function}
    locations = {loc.id: (*functions[loc.line[0].function_id], loc.line[0].line) for loc in msg.location}
    stacks = {tuple(locations[i] for i in reversed(s.location_id)): list(s.value) for s in msg.sample}
    assert stacks == {
        (("main", "app.py", 3), ("work", "app.py", 10), ("leaf", "lib.py", 7)): [5, 50_000_000],
        (("main", "app.py", 3), ("work", "app.py", 10)): [1, 10_000_000],
    }
    # Gzipped with a fixed header: identical profiles give identical files.
    assert pprof_bytes(p)[:2] == b"\x1f\x8b" and pprof_bytes(p) == pprof_bytes(p)
    assert gzip.decompress(pprof_bytes(p)) == to_pprof(p).SerializeToString(deterministic=True)


# ---------------------------------------------------------------------------
# Read by go tool pprof
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("index", range(len(fixture_ids())), ids=fixture_ids())
def test_go_pprof_reads_the_fixture_profiles(index: int, go: str, tmp_path: Path) -> None:
    summary, profile = fixture_profiles()[index]
    path = write_pprof(profile, tmp_path / f"{profile.name}.pb.gz")
    raw = parse_raw(pprof(go, "-raw", path))
    types, factors = sample_types(profile)
    assert raw["types"] == types and raw["default"] == types[-1][0]

    # Every sample is one of the profile's stacks with its weight; every location names its frame.
    got: dict[tuple[int, ...], list[int]] = {}
    for values, ids in raw["samples"]:
        key = tuple(reversed(ids))
        got[key] = [a + b for a, b in zip(got.get(key, [0] * len(values)), values, strict=True)]
    want: dict[tuple[int, ...], list[float]] = {}
    for stack, w in zip(profile.stacks, profile.weights, strict=True):
        key = tuple(j + 1 for j in stack)
        want[key] = [a + round(w * f) for a, f in zip(want.get(key, [0] * len(factors)), factors, strict=True)]
    assert got == want
    for i, f in enumerate(profile.frames):
        assert raw["locations"][i + 1].startswith(f"0x0 M=1 {f.name} {f.file or ''}:{f.line or 0}:0 s=0")

    unit = {"bytes": "B", "samples": None, "instructions": None}[profile.unit]
    rows = top(go, path, types[0][0], unit)
    assert_same_top(rows, self_by_function(profile))
    # The report's bottleneck table of this run lists the same functions with the same self weights.
    report = json.loads((FIXTURE / "results.json").read_text(encoding="utf-8"))["analysis"]["bottlenecks"]
    flat = dict(rows)
    for t in report[summary["name"]]["top_self"][:5]:
        assert flat[label(t["name"], t.get("file"))] == t["self"]


def test_go_pprof_reads_instructions_time_and_odd_names(go: str, tmp_path: Path) -> None:
    """callgrind-, massif- and scalene-like profiles, with names that are markup or separators elsewhere."""
    odd = Frame('<T as core::ops::Fn<(&str,)>>::call | ; "q" é', "src/a b.rs", 12)
    run = Frame("rmprof_runtime::executor::Pipeline::run", "src/executor.rs")
    callgrind = Profile(runtime="rust-bin", profiler="callgrind", kind="cpu", unit="instructions")
    callgrind.add_stack([run, odd], 12_345)
    callgrind.add_stack([run], 678)
    massif = Profile(runtime="rust-bin", profiler="massif", kind="memory", unit="bytes")
    massif.add_stack([run, Frame("alloc")], 4096)
    massif.add_stack([run, odd], 100)
    scalene = Profile(runtime="python", profiler="scalene", kind="cpu", unit="milliseconds", rate_hz=500.0)
    scalene.add_stack([Frame("run", "x.py", 1), Frame("x.py:5 total += 1", "x.py", 5)], 12.25)
    scalene.add_stack([Frame("run", "x.py", 1)], 0.5)
    for profile, index, unit, factor in (
        (callgrind, "instructions", None, 1.0),
        (massif, "space", "B", 1.0),
        (scalene, "cpu", "ns", 1e6),
    ):
        path = write_pprof(profile, tmp_path / f"{profile.name}.pb.gz")
        assert parse_raw(pprof(go, "-raw", path))["types"] == sample_types(profile)[0]
        assert_same_top(top(go, path, index, unit), self_by_function(profile, factor))
    # pprof would "simplify" a name equal to its system name; rmprof's are already demangled and kept whole.
    text = pprof(go, "-top", tmp_path / "rust-bin.callgrind.pb.gz")
    assert odd.name in text and "Type: instructions" in text


@pytest.mark.slow
def test_every_pprof_file_of_a_real_run_reads_like_the_report(go: str, tmp_path: Path) -> None:
    out = tmp_path / "run"
    done = run_cli("profile", "--scenario", "text", "-p", "py-spy", "-p", "perf", "--rounds", "3", "-n", "6",
                   "--out", str(out), "-q")  # fmt: skip
    assert done.returncode == 0, done.stderr
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    names = {p["name"] for p in results["profiles"]}
    assert "python.py-spy" in names, results["gaps"]
    assert (out / "summary.md").read_text(encoding="utf-8") == summary_markdown(results)
    for summary in results["profiles"]:
        path = out / summary["pprof"]
        assert path.is_file() and summary["pprof"] == f"profiles/{summary['name']}.pb.gz"
        text = pprof(go, "-top", path)
        assert "Type: cpu" in text
        raw = parse_raw(pprof(go, "-raw", path))
        assert raw["types"] == [("samples", "count"), ("cpu", "nanoseconds")]
        assert sum(v[0] for v, _ in raw["samples"]) == summary["total"]
        report_top = results["analysis"]["bottlenecks"][summary["name"]]["top_self"][:5]
        flat = dict(top(go, path, "samples"))
        heaviest = sorted(flat.values(), reverse=True)[: len(report_top)]
        assert [t["self"] for t in report_top] == heaviest
        for t in report_top:
            assert flat[label(t["name"], t.get("file"))] == t["self"], t
