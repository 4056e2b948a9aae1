"""PythonNode: code from the manifest, identical in python (CPython), rust (CPython through PyO3), rustpython
(the RustPython VM in the binary rmprof-runtime-rustpython) and rustpython-inproc (the VM in-process):
outputs, errors (node, item, message), load errors, and the --allow-code refusal. Randomized functions come
from a grammar of safe expressions over ints and strings.
"""

from __future__ import annotations

import json
import os
import subprocess
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rmprof.manifest import parse_manifest
from rmprof.runtimes import get_runtime
from rmprof.runtimes.binary import RUSTPYTHON_BINARY_NAME, find_binary
from rmprof.scenarios import get_scenario
from rmprof.values import I64_MAX, I64_MIN, first_difference
from tests.conftest import examples, run_cli, write_json
from tests.fault_tools import ctrl_c_rmprof
from tests.pipelines import assert_same, outcome

RUNTIMES = ("python", "rust", "rustpython", "rustpython-inproc")
# Every runtime must give the outcome of the first (the CPython baseline).
same = partial(assert_same, runtimes=RUNTIMES)
CODE_SCENARIOS = ("python-nodes", "python-nodes-startup")


@pytest.fixture(scope="module", autouse=True)
def _all_runtimes() -> None:
    for name in RUNTIMES:
        reason = get_runtime(name).unavailable_reason()
        if reason:
            if os.environ.get("CI"):
                pytest.fail(f"{name} must be available in CI: {reason}")
            pytest.skip(reason)


def py_manifest(*codes: str, function: str = "process", chain: bool = False) -> dict[str, Any]:
    """source -> f0, f1, ... (fanned out, each a leaf), or source -> f0 -> f1 -> ... with ``chain``."""
    nodes = [{"id": "source", "node_type": "DataSourceNode"}]
    connections = []
    for i, code in enumerate(codes):
        nodes.append({"id": f"f{i}", "node_type": "PythonNode", "params": {"code": code, "function": function}})
        connections.append({"from": f"f{i - 1}" if chain and i else "source", "to": f"f{i}"})
    return {"version": "v1", "metadata": {"name": "py"}, "nodes": nodes, "connections": connections}


def fn(body: str) -> str:
    """``def process(item):`` with ``body`` (one or more lines) indented under it."""
    return "def process(item):\n" + "".join(f"    {line}\n" for line in body.splitlines())


@pytest.mark.parametrize("name", CODE_SCENARIOS)
def test_code_scenarios_agree_and_match_expected(name: str) -> None:
    sc = get_scenario(name)
    kind, outputs = same(json.loads(sc.manifest.text), sc.items)
    assert kind == "ok" and first_difference(sc.expected, outputs) is None


@pytest.mark.parametrize(
    ("body", "items", "expected"),
    [
        ("return item * 3 + 1", [0, 1, -5], [1, 4, -14]),
        ("return item.upper()[::-1]", ["abc", "straße"], ["CBA", "ESSARTS"]),
        ("return [item, None, 1.5, True, {'k': item}]", [1], [[1, None, 1.5, True, {"k": 1}]]),
        ("return item / 2", [3], [1.5]),
        ("return -0.0 if item else 2 ** 63 - 1", [1, 0], [-0.0, I64_MAX]),
        ("return -(2 ** 63)", [0], [I64_MIN]),
        ("item.append(9)\nreturn item", [[1], []], [[1, 9], [9]]),
    ],
)
def test_values_agree(body: str, items: list[Any], expected: list[Any]) -> None:
    kind, outputs = same(py_manifest(fn(body)), items)
    assert kind == "ok" and first_difference({"f0": expected}, outputs) is None


def test_mutating_the_argument_is_not_seen_by_another_node() -> None:
    doc = py_manifest(fn("item.append(1)\nreturn item"), fn("return len(item)"))
    kind, outputs = same(doc, [[], [0]])
    assert kind == "ok" and outputs == {"f0": [[1], [0, 1]], "f1": [0, 1]}


@pytest.mark.parametrize(
    ("body", "items", "error"),
    [
        (
            "if item == 3:\n    raise ValueError('bad\\nvalue')\nreturn item",
            list(range(5)),
            (3, "ValueError: bad value"),
        ),
        ("raise KeyError", [1], (0, "KeyError")),
        ("return item * 2 ** 62", [0, 1, 2], (2, "returned an invalid item: integer out of 64-bit range")),
        ("return -(2 ** 63) - item", [0, 1], (1, "returned an invalid item: integer out of 64-bit range")),
        ("return {item}", [1], (0, "returned an invalid item: expected a JSON value, got set")),
        ("return (item,)", [1], (0, "returned an invalid item: expected a JSON value, got tuple")),
        ("return {item: 1}", [1], (0, "returned an invalid item: object key must be a string, got int")),
        ("return [1, [float(item) * 1e308 * 10]]", [1], (0, "returned an invalid item: non-finite number")),
        ("return process", [1], (0, "returned an invalid item: expected a JSON value, got function")),
    ],
)
def test_errors_name_node_and_item_in_every_runtime(body: str, items: list[Any], error: tuple[int, str]) -> None:
    kind, value = same(py_manifest(fn(body)), items)
    item, detail = error
    assert (kind, value) == ("error", ("f0", item, f"node 'f0' (PythonNode) at item {item}: {detail}"))


def test_smallest_item_then_topological_order() -> None:
    doc = py_manifest(fn("if item >= 2:\n    raise ValueError(item)\nreturn item"), fn("return 1 // (item - 2)"))
    assert same(doc, [0, 1, 2, 3])[1] == ("f0", 2, "node 'f0' (PythonNode) at item 2: ValueError: 2")


@pytest.mark.parametrize(
    ("code", "function", "message"),
    [
        ("def process(item:\n    return item\n", "process", "nodes[1].params.code: syntax error at line 1"),
        ("x = 1\ndef process(item)\n    return item\n", "process", "nodes[1].params.code: syntax error at line 2"),
        (
            "def other(item):\n    return item\n",
            "process",
            "nodes[1].params.function: 'process' is not defined by the code",
        ),
        ("process = 3\n", "process", "nodes[1].params.function: 'process' is not callable (got int)"),
        ("raise RuntimeError('at load')\n", "process", "nodes[1].params.code: RuntimeError: at load"),
        (
            "def f(item):\n    return item\n",
            "f g",
            "nodes[1].params.function: 'f g' does not match ^[A-Za-z_][A-Za-z0-9_]*$",
        ),
        ("x = '\0'\n", "process", "nodes[1].params.code: code contains a null character"),
    ],
)
def test_load_errors_agree(code: str, function: str, message: str) -> None:
    assert same(py_manifest(code, function=function), [1]) == ("rejected", message)


def test_parameter_rules() -> None:
    doc = py_manifest(fn("return item"))
    doc["nodes"][1]["params"]["code"] = 5
    assert same(doc, [1]) == ("rejected", "nodes[1].params.code: expected a string, got int")
    doc["nodes"][1]["params"] = {"code": "x = 1"}
    assert same(doc, [1]) == ("rejected", "nodes[1].params.function: missing required parameter")


def test_rust_bin_has_no_python_engine() -> None:
    if get_runtime("rust-bin").unavailable_reason():
        pytest.skip("rust-bin not built")
    kind, message = outcome("rust-bin", py_manifest(fn("return item")), [1])
    assert kind == "rejected" and message.startswith("nodes[1].node_type: this runtime cannot run PythonNode")


def test_cli_refuses_code_without_allow_code(tmp_path: Path) -> None:
    for command in (["run", "--runtime", "python"], ["bench", "-n", "3"], ["profile", "--profiler", "none"]):
        proc = run_cli(*command, "--scenario", "python-nodes", cwd=tmp_path)
        assert proc.returncode == 2, (command, proc.stderr)
        assert proc.stderr.strip().splitlines() == [
            "rmprof: error: manifest 'python-nodes' runs Python code (nodes[1] is a PythonNode); "
            "running it runs a program: pass --allow-code to allow it"
        ]
    for runtime in RUNTIMES:
        proc = run_cli("run", "--scenario", "python-nodes", "--runtime", runtime, "--allow-code", "--json")
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["expected"] is True


def test_binary_refuses_code_without_allow_code(tmp_path: Path) -> None:
    manifest = write_json(tmp_path / "m.json", py_manifest(fn("return item")))
    items = write_json(tmp_path / "i.json", [1])
    binary = str(find_binary(RUSTPYTHON_BINARY_NAME))
    proc = subprocess.run([binary, "--manifest", str(manifest), "--input", str(items)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert json.loads(proc.stdout)["error"]["kind"] == "refused"
    assert "pass --allow-code" in proc.stderr
    proc = subprocess.run(
        [binary, "--manifest", str(manifest), "--input", str(items), "--allow-code"], capture_output=True, text=True
    )
    doc = json.loads(proc.stdout)
    assert proc.returncode == 0 and doc["outputs"] == {"f0": [1]} and doc["vm_init_ns"] > 0


# Randomized functions: a grammar of safe expressions (no division by zero, no unicode case-mapping residue;
# str.swapcase is left out: RustPython 0.5 maps "ß".swapcase() to "ß", CPython to "SS").
SMALL = st.integers(-50, 50).map(str)
SAFE_TEXT = st.text(alphabet="abcXYZ 019éüß-_", max_size=12)


def _int_expr(depth: int) -> st.SearchStrategy[str]:
    leaf = st.one_of(st.just("item"), SMALL.map(lambda s: f"({s})"))
    if depth == 0:
        return leaf
    sub = _int_expr(depth - 1)
    nonzero = st.integers(1, 9).map(str) | st.integers(-9, -1).map(lambda k: f"({k})")
    return st.one_of(
        leaf,
        st.tuples(sub, st.sampled_from(["+", "-", "*"]), sub).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(sub, st.sampled_from(["//", "%"]), nonzero).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(st.sampled_from(["abs", "-"]), sub).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(st.sampled_from(["min", "max"]), sub, sub).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
        st.tuples(sub, sub, st.sampled_from(["<", ">", "==", "!="]), sub, sub).map(
            lambda t: f"({t[0]} if {t[1]} {t[2]} {t[3]} else {t[4]})"
        ),
    )


def _str_expr(depth: int) -> st.SearchStrategy[str]:
    literal = SAFE_TEXT.map(repr)
    leaf = st.one_of(st.just("item"), literal)
    if depth == 0:
        return leaf
    sub = _str_expr(depth - 1)
    return st.one_of(
        leaf,
        st.tuples(sub, st.sampled_from(["upper", "lower", "strip", "title"])).map(lambda t: f"{t[0]}.{t[1]}()"),
        sub.map(lambda s: f"{s}[::-1]"),
        st.tuples(sub, sub).map(lambda t: f"({t[0]} + {t[1]})"),
        st.tuples(sub, st.integers(-3, 3), st.integers(-3, 5)).map(lambda t: f"{t[0]}[{t[1]}:{t[2]}]"),
        # A non-empty pattern: RustPython 0.5's str.replace('', x) inserts x between UTF-8 bytes ('ß' -> bad str).
        st.tuples(sub, SAFE_TEXT.filter(bool).map(repr), literal).map(lambda t: f"{t[0]}.replace({t[1]}, {t[2]})"),
        st.tuples(sub, sub).map(lambda t: f"f'{{{t[0]}}}<{{len({t[1]})}}>'"),
        st.tuples(sub, st.integers(0, 3), sub).map(lambda t: f"({t[0]} if len({t[0]}) > {t[1]} else {t[2]})"),
    )


def _int_function() -> st.SearchStrategy[str]:
    body = _int_expr(3).map(lambda e: f"return {e}")
    guarded = st.tuples(_int_expr(1), _int_expr(2), _int_expr(2)).map(
        lambda t: f"if {t[0]} % 2 == 0:\n    return {t[1]}\nreturn {t[2]}"
    )
    return (body | guarded).map(fn)


def _str_function() -> st.SearchStrategy[str]:
    return _str_expr(3).map(lambda e: fn(f"return {e}"))


INTS = st.integers(-1000, 1000) | st.sampled_from([I64_MAX, I64_MIN, I64_MAX // 3, 2**32])
CASES = st.one_of(
    st.tuples(st.lists(_int_function(), min_size=1, max_size=3), st.booleans(), st.lists(INTS, max_size=8)),
    st.tuples(st.lists(_str_function(), min_size=1, max_size=3), st.booleans(), st.lists(SAFE_TEXT, max_size=8)),
)


@settings(
    max_examples=examples(int(os.environ.get("RMPROF_PYNODE_EXAMPLES", "40"))),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(CASES)
def test_random_python_functions_agree(case: tuple[list[str], bool, list[Any]]) -> None:
    codes, chain, items = case
    same(py_manifest(*codes, chain=chain), items)


# ---- Ctrl-C inside PythonNode code is an interrupt, not the node's failure ----------------------------


@pytest.mark.parametrize("runtime", ["python", "rust"])
def test_keyboard_interrupt_in_code_propagates_and_leaves_the_pipeline_usable(runtime: str) -> None:
    doc = py_manifest(fn("if item == 3:\n    raise KeyboardInterrupt\nreturn item"), fn("return item"))
    prepared = get_runtime(runtime).prepare(parse_manifest(json.dumps(doc)))
    try:
        with pytest.raises(KeyboardInterrupt):
            prepared.run(list(range(10)))
        # Nothing of the interrupted run is left behind: the next run of the same pipeline works.
        assert prepared.run([1, 2]) == {"f0": [1, 2], "f1": [1, 2]}
    finally:
        prepared.close()


# Each waits 2 s for the run to be under way before the signal: the whole suite runs it, --fast does not.
@pytest.mark.slow
@pytest.mark.parametrize("runtime", ["python", "rust"])
def test_ctrl_c_during_python_node_code_exits_130(tmp_path: Path, runtime: str) -> None:
    write_json(tmp_path / "m.json", py_manifest("import time\n" + fn("time.sleep(0.2)\nreturn item")))
    write_json(tmp_path / "i.json", list(range(200)))
    args = ["run", "-m", "m.json", "-i", "i.json", "-r", runtime, "--allow-code"]
    proc = ctrl_c_rmprof(args, tmp_path, after=2.5)
    assert (proc.returncode, proc.stderr.strip(), proc.stdout) == (130, "rmprof: interrupted", "")
