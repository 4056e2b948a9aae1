"""NDJSON streaming (SEMANTICS.md, "NDJSON"): every runtime writes the same bytes, with the content of the JSON
output path, reports input errors with the same line-numbered messages, and streams in bounded memory.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rmprof.errors import InputError, PipelineError
from rmprof.manifest import parse_manifest
from rmprof.ndjson import deep_values, format_value, read_outputs
from rmprof.runtimes import get_runtime
from rmprof.streaming import run_ndjson_input
from rmprof.values import first_difference
from tests.conftest import REPO, SIMPLE, chain_manifest, examples, require_runtime, run_cli, write_json
from tests.fault_tools import ctrl_c_rmprof
from tests.pipelines import items as item_values
from tests.pipelines import outcome, pipelines

RUNTIMES = ("python", "rust", "rust-bin", "rustpython", "rustpython-inproc")


@pytest.fixture(scope="module", autouse=True)
def _all_runtimes() -> None:
    for name in RUNTIMES:
        require_runtime(name)


def _ndjson(path: Path, values: list[Any], blank_every: int = 0) -> Path:
    lines = []
    for i, v in enumerate(values):
        if blank_every and i % blank_every == 0:
            lines.append("  ")
        lines.append(json.dumps(v, ensure_ascii=bool(i % 2)))
    path.write_text("\n".join(lines) + ("\n" if values else ""), encoding="utf-8")
    return path


def _stream(runtime: str, doc: dict[str, Any], input_path: Path, out: Path) -> tuple[str, Any]:
    """("ok", (bytes written, summary)), ("error", (node, item, message)) or ("rejected", message)."""
    manifest = parse_manifest(json.dumps(doc))
    try:
        with get_runtime(runtime).prepare(manifest) as prepared:
            summary, _ = run_ndjson_input(prepared, input_path, list(manifest.sinks), out)
    except PipelineError as exc:
        return "error", (exc.node, exc.item, exc.message)
    except InputError as exc:
        return "rejected", exc.message
    return "ok", (out.read_bytes(), summary)


def _assert_streams_agree(doc: dict[str, Any], values: list[Any], tmp: Path, blank_every: int = 0) -> Path:
    """Every runtime streams the same bytes (or the same error) as python, with the in-memory run's content."""
    tmp = Path(tempfile.mkdtemp(dir=tmp))  # hypothesis reuses one tmp_path for all its examples
    input_path = _ndjson(tmp / "items.ndjson", values, blank_every)
    results = {rt: _stream(rt, doc, input_path, tmp / f"{rt}.out.ndjson") for rt in RUNTIMES}
    kind, first = results["python"]
    for rt, result in results.items():
        assert result == (kind, first), f"{rt}: {result} vs python: {(kind, first)}"
    memory_kind, memory = outcome("python", doc, values)
    assert memory_kind == kind, f"streamed {kind} {first}, in memory {memory_kind} {memory}"
    if kind == "ok":
        streamed = read_outputs(tmp / "python.out.ndjson", list(memory))
        assert first_difference(memory, streamed) is None
        assert first[1] == {"items": len(values), "sinks": {s: len(v) for s, v in memory.items()}}
    else:
        assert first == memory
        assert not (tmp / "python.out.ndjson").exists(), "a failing run leaves no output"
    return tmp


FAN_OUT = {
    "version": "v1",
    "metadata": {"name": "fan"},
    "nodes": [
        {"id": "s1", "node_type": "DataSinkNode"},
        {"id": "a", "node_type": "DataSourceNode"},
        {"id": "up", "node_type": "TextTransformNode", "params": {"operation": "uppercase"}},
        {"id": "rev", "node_type": "TextTransformNode", "params": {"operation": "reverse"}},
        {"id": "s2", "node_type": "DataSinkNode"},
        {"id": "b", "node_type": "PassThroughNode"},
    ],
    "connections": [
        {"from": "a", "to": "up"},
        {"from": "a", "to": "rev"},
        {"from": "up", "to": "s1"},
        {"from": "rev", "to": "s2"},
    ],
}


def test_item_major_order_across_sinks(tmp_path: Path) -> None:
    values = [f"straße {i} é" for i in range(3000)]  # more than two chunks, several queue lengths
    folder = _assert_streams_agree(FAN_OUT, values, tmp_path, blank_every=7)
    lines = (folder / "rust.out.ndjson").read_text(encoding="utf-8").splitlines()
    assert lines[:3] == [
        '{"sink":"s1","item":"STRASSE 0 É"}',
        '{"sink":"s2","item":"é 0 eßarts"}',
        '{"sink":"b","item":"straße 0 é"}',
    ]
    assert len(lines) == 9000


def test_float_layouts_and_escapes_are_byte_identical(tmp_path: Path) -> None:
    floats = [
        1e-5,
        1.5e-5,
        -9.99e-5,
        1e-6,
        -1e-7,
        3.2e-9,
        1e-10,
        1e16,
        1e15,
        0.1,
        -0.0,
        5e-324,
        1.7976931348623157e308,
        1e22,
        100.0,
        123456.789,
    ]
    values: list[Any] = [*floats, '\x00\x1f\x7f"\\/\u2028😀', [1, {"k": [None, True, 2.5e-7]}], {"é": {}}, []]
    _assert_streams_agree(chain_manifest(("p", "PassThroughNode", {})), values, tmp_path)
    # serde_json's layouts (measured from the binary), where they differ from Python's repr.
    assert [format_value(f) for f in (1.5e-5, -1e-5, 1e-7, 3.2e-9, 1e-10, 1e16, 0.0001)] == [
        "0.000015",
        "-0.00001",
        "1e-7",
        "3.2e-9",
        "1e-10",
        "1e+16",
        "0.0001",
    ]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_crlf_blank_lines_and_no_final_newline(tmp_path: Path, runtime: str) -> None:
    write_json(tmp_path / "m.json", SIMPLE)
    (tmp_path / "items.ndjson").write_bytes(b"1\r\n\r\n \t\n  2.5  \r\n-3")
    proc = run_cli("run", "-m", "m.json", "-i", "items.ndjson", "-r", runtime, "-o", "o.ndjson", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "o.ndjson").read_bytes() == (
        b'{"sink":"sink","item":6}\n{"sink":"sink","item":7.5}\n{"sink":"sink","item":2}\n'
    )


def test_python_code_streams_alike_on_the_runtimes_that_run_it(tmp_path: Path) -> None:
    """PythonNode through NDJSON: CPython (python, rust through PyO3) and RustPython (binary, in-process)."""
    from rmprof.scenarios import get_scenario

    sc = get_scenario("python-nodes")
    (tmp_path / "items.ndjson").write_text("".join(json.dumps(v) + "\n" for v in sc.items), encoding="utf-8")
    written = {}
    for runtime in ("python", "rust", "rustpython", "rustpython-inproc"):
        args = ["-s", "python-nodes", "-r", runtime, "--allow-code"]
        proc = run_cli("run", *args, "-o", f"{runtime}.ndjson", cwd=tmp_path)
        assert proc.returncode == 0 and "outputs match the expected outputs" in proc.stdout, proc.stderr
        streamed = run_cli("run", *args[2:], "-m", str(sc.manifest_path), "-i", "items.ndjson", "-o", "s.ndjson",
                           cwd=tmp_path)  # fmt: skip
        assert streamed.returncode == 0, streamed.stderr
        written[runtime] = (tmp_path / "s.ndjson").read_bytes()
        assert written[runtime] == (tmp_path / f"{runtime}.ndjson").read_bytes()
    assert len(set(written.values())) == 1
    assert read_outputs(tmp_path / "s.ndjson", list(sc.expected or {})) == sc.expected


def test_values_nested_1000_levels_deep_stream_alike(tmp_path: Path) -> None:
    deep: Any = "[[{"  # brackets inside strings do not count
    for _ in range(999):
        deep = [deep]
    with deep_values():  # this test's own json.dumps and in-memory run recurse as deep
        _assert_streams_agree(chain_manifest(("p", "PassThroughNode", {})), [deep, {"k": deep}], tmp_path)


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=pipelines())
def test_random_pipelines_stream_alike_on_every_runtime(case: tuple[dict[str, Any], list[Any]], tmp_path: Path) -> None:
    doc, values = case
    _assert_streams_agree(doc, values, tmp_path)


@settings(max_examples=examples(30), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    values=st.lists(
        st.recursive(
            item_values,
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
            max_leaves=8,
        ),
        max_size=12,
    )
)
def test_random_nested_values_are_written_alike(values: list[Any], tmp_path: Path) -> None:
    _assert_streams_agree(chain_manifest(("p", "PassThroughNode", {})), values, tmp_path)


# ---- errors: the same one line on every runtime, naming the line ----------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('1\n\n2\n{"a": \n', "items.ndjson:4: invalid JSON at column 7: Expecting value"),
        ("1\n2 3\n", "items.ndjson:2: invalid JSON at column 3: Extra data"),
        ("1\n  \n99999999999999999999\n", "items.ndjson:3: integer out of 64-bit range"),
        ("NaN\n", "items.ndjson:1: non-finite number"),
        ("1\n1e400\n", "items.ndjson:2: non-finite number"),
        ('"\\ud800"\n', "items.ndjson:1: string contains a lone surrogate"),
        (b'1\n"\xff"\n', "items.ndjson:2: invalid UTF-8 at byte 1"),
        ("1\n" + "[" * 1001 + "]" * 1001 + "\n", "items.ndjson:2: nesting deeper than 1000 levels"),
        ('{"a": "[[[[", "b": ' + "[" * 1001 + "]" * 1001 + "}\n", "items.ndjson:1: nesting deeper than 1000 levels"),
        # An input error after a runtime error wins, as when a JSON array is checked before the run.
        ('1\n"x"\n2\n[1,\n', "items.ndjson:4: invalid JSON at column 4: Expecting value"),
    ],
)
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_input_errors_name_the_line(tmp_path: Path, runtime: str, text: str | bytes, message: str) -> None:
    data = text if isinstance(text, bytes) else text.encode("utf-8")
    (tmp_path / "items.ndjson").write_bytes(data)
    write_json(tmp_path / "m.json", SIMPLE)
    out = tmp_path / "out.ndjson"
    out.write_text("earlier\n", encoding="utf-8")
    proc = run_cli("run", "-m", "m.json", "-i", "items.ndjson", "-r", runtime, "-o", "out.ndjson", cwd=tmp_path)
    assert (proc.returncode, proc.stderr) == (2, f"rmprof: error: {message}\n")
    assert out.read_text(encoding="utf-8") == "earlier\n", "a failed run leaves an earlier output alone"
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_file_errors_name_the_file(tmp_path: Path, runtime: str) -> None:
    write_json(tmp_path / "m.json", SIMPLE)
    (tmp_path / "items.ndjson").write_text("1\n", encoding="utf-8")
    missing = run_cli("run", "-m", "m.json", "-i", "gone.ndjson", "-r", runtime, "-o", "o.ndjson", cwd=tmp_path)
    no_dir = run_cli("run", "-m", "m.json", "-i", "items.ndjson", "-r", runtime, "-o", "no/o.ndjson", cwd=tmp_path)
    assert (missing.returncode, missing.stderr) == (2, "rmprof: error: gone.ndjson: no such file\n")
    assert (no_dir.returncode, no_dir.stderr) == (2, "rmprof: error: no/o.ndjson: No such file or directory\n")


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_full_disk_fails_the_output_and_leaves_nothing(tmp_path: Path, runtime: str) -> None:
    """RLIMIT_FSIZE stands in for a full disk: the write that crosses it fails, in Python or in Rust."""
    import resource

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))

    write_json(tmp_path / "m.json", SIMPLE)
    _ndjson(tmp_path / "items.ndjson", list(range(20_000)))  # about 500 KB of output
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    args = ["run", "-m", "m.json", "-i", "items.ndjson", "-r", runtime, "-o", "out.ndjson"]
    proc = subprocess.run([sys.executable, "-m", "rmprof", *args], cwd=tmp_path, env=env, capture_output=True,
                          text=True, preexec_fn=limit, timeout=120)  # fmt: skip
    assert (proc.returncode, proc.stderr) == (2, "rmprof: error: out.ndjson: File too large\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["items.ndjson", "m.json"]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_runtime_error_is_the_json_paths(tmp_path: Path, runtime: str) -> None:
    write_json(tmp_path / "m.json", SIMPLE)
    write_json(tmp_path / "items.json", [1, 2, "x", 4])
    (tmp_path / "items.ndjson").write_text('1\n\n2\n"x"\n4\n', encoding="utf-8")
    expected = run_cli("run", "-m", "m.json", "-i", "items.json", "-r", runtime, cwd=tmp_path)
    streamed = run_cli("run", "-m", "m.json", "-i", "items.ndjson", "-r", runtime, "-o", "o.ndjson", cwd=tmp_path)
    assert expected.returncode == streamed.returncode == 2
    assert (
        streamed.stderr
        == expected.stderr
        == ("rmprof: error: node 'calc' (CalculatorNode) at item 2: expected a number, got string\n")
    )
    assert not (tmp_path / "o.ndjson").exists()


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_cli_streams_and_matches_the_json_output(tmp_path: Path, runtime: str) -> None:
    write_json(tmp_path / "m.json", FAN_OUT)
    values = [f"v{i}" for i in range(50)]
    write_json(tmp_path / "items.json", values)
    _ndjson(tmp_path / "items.jsonl", values)
    as_json = run_cli("run", "-m", "m.json", "-i", "items.json", "-r", runtime, "--json", cwd=tmp_path)
    from_array = run_cli("run", "-m", "m.json", "-i", "items.json", "-r", runtime, "-o", "a.ndjson", cwd=tmp_path)
    streamed = run_cli(
        "run", "-m", "m.json", "-i", "items.jsonl", "-r", runtime, "-o", "s.ndjson", "--json", cwd=tmp_path
    )
    in_memory = run_cli("run", "-m", "m.json", "-i", "items.jsonl", "-r", runtime, "--json", cwd=tmp_path)
    for proc in (as_json, from_array, streamed, in_memory):
        assert proc.returncode == 0, proc.stderr
    outputs = json.loads(as_json.stdout)["outputs"]
    assert (tmp_path / "a.ndjson").read_bytes() == (tmp_path / "s.ndjson").read_bytes()
    assert read_outputs(tmp_path / "s.ndjson", list(outputs)) == outputs
    assert json.loads(in_memory.stdout)["outputs"] == outputs
    doc = json.loads(streamed.stdout)
    assert (doc["items"], doc["sinks"], doc["output"]) == (50, {"s1": 50, "s2": 50, "b": 50}, "s.ndjson")


def test_scenario_expected_outputs_are_checked_on_ndjson_output(tmp_path: Path) -> None:
    proc = run_cli("run", "-s", "text", "-r", "rust", "-o", "out.ndjson", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "outputs match the expected outputs" in proc.stdout


# ---- bounded memory: 2,000,000 items on every runtime (10,000,000: scripts/perf/ndjson_stream.py) ------

MEMORY_ITEMS = 2_000_000
MEMORY_LIMIT_MB = 200


@pytest.fixture(scope="module")
def big_input(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("big")
    path = folder / "items.ndjson"
    with path.open("w", encoding="ascii") as fh:
        step = 100_000
        for start in range(0, MEMORY_ITEMS, step):
            fh.write("\n".join(map(str, range(start, start + step))) + "\n")
    write_json(folder / "m.json", SIMPLE)
    return path


# Linux carries a process's peak RSS across fork and exec (the copied address space counts), so a command
# forked from this pytest process (hundreds of MB late in the suite) would report pytest's peak as its own. A
# fresh, small interpreter starts the command and reports its wait4 ru_maxrss (the command and its children).
_MEASURE = """import os, subprocess, sys
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
_, status, usage = os.wait4(proc.pid, 0)
sys.stderr.write(proc.stderr.read().decode(errors="replace"))
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
"""


def peak_rss_mb(args: list[str], cwd: Path) -> float:
    """Run ``python -m rmprof ARGS`` and return the peak RSS of it and its children (wait4's ru_maxrss), in MB."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-c", _MEASURE, sys.executable, "-m", "rmprof", *args]
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    code, maxrss_kb = (int(v) for v in proc.stdout.split())
    assert code == 0, proc.stderr
    return maxrss_kb / 1024


@pytest.mark.heavy
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_two_million_items_stream_in_bounded_memory(big_input: Path, runtime: str) -> None:
    out = big_input.parent / f"{runtime}.ndjson"
    mb = peak_rss_mb(["run", "-m", "m.json", "-i", big_input.name, "-r", runtime, "-o", out.name], big_input.parent)
    assert mb <= MEMORY_LIMIT_MB, f"{runtime}: peak RSS {mb:.0f} MB for {MEMORY_ITEMS:,} items"
    with out.open("rb") as fh:
        first = fh.readline()
        fh.seek(-64, os.SEEK_END)
        last = fh.read().splitlines()[-1]
    assert first == b'{"sink":"sink","item":5}\n'
    assert last == f'{{"sink":"sink","item":{MEMORY_ITEMS + 4}}}'.encode()
    assert out.stat().st_size == sum(len(f'{{"sink":"sink","item":{i + 5}}}\n') for i in range(MEMORY_ITEMS))
    out.unlink()


# ---- interrupted: exit 130, no output, no partial file --------------------------------------------


def _feed_forever(fifo: Path, stop: threading.Event) -> None:
    """Write items into the named pipe ``fifo`` until ``stop`` is set or the reader goes away."""
    block = b"1\n" * 10_000
    with contextlib.suppress(BrokenPipeError, OSError), fifo.open("wb") as fh:
        while not stop.is_set():
            fh.write(block)


# Each waits 2 s for the run to be under way before the signal: the whole suite runs it, --fast does not.
@pytest.mark.slow
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_ctrl_c_while_streaming_leaves_no_output(tmp_path: Path, runtime: str) -> None:
    """An endless input (a named pipe): SIGINT ends the run, in-process Rust loops included (they look at
    Python's signals every 64 chunks), with exit 130 and no output or partial file left."""
    write_json(tmp_path / "m.json", SIMPLE)
    fifo = tmp_path / "items.ndjson"
    os.mkfifo(fifo)
    stop = threading.Event()
    feeder = threading.Thread(target=_feed_forever, args=(fifo, stop), daemon=True)
    feeder.start()
    args = ["run", "-m", "m.json", "-i", "items.ndjson", "-r", runtime, "-o", "out.ndjson"]
    try:
        proc = ctrl_c_rmprof(args, tmp_path, after=2.0)
    finally:
        stop.set()
    assert (proc.returncode, proc.stderr.strip()) == (130, "rmprof: interrupted")  # click adds a newline first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["items.ndjson", "m.json"]


@pytest.mark.parametrize("runtime", ["python", "rust", "rust-bin"])
def test_json_array_items_nest_to_the_same_limit(tmp_path: Path, runtime: str) -> None:
    """A JSON-array input follows the NDJSON rule: items nesting 999 levels run alike on every runtime (they used
    to end in an internal RecursionError), deeper ones are a one-line input error."""
    write_json(tmp_path / "m.json", chain_manifest(("p", "PassThroughNode", {})))
    (tmp_path / "ok.json").write_text("[" + "[" * 999 + '"x"' + "]" * 999 + ", 1]", encoding="utf-8")
    (tmp_path / "bad.json").write_text("[1, " + "[" * 1001 + "]" * 1001 + "]", encoding="utf-8")
    ok = run_cli("run", "-m", "m.json", "-i", "ok.json", "-r", runtime, "-o", "out.ndjson", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    lines = (tmp_path / "out.ndjson").read_bytes().splitlines()
    assert len(lines) == 2 and lines[0].count(b"[") == 999 and lines[1].endswith(b'"item":1}')
    bad = run_cli("run", "-m", "m.json", "-i", "bad.json", "-r", runtime, cwd=tmp_path)
    assert bad.returncode == 2
    assert bad.stderr.strip() == "rmprof: error: bad.json: input: an item nests deeper than 1000 levels"
