"""Every runtime gives the same outputs, or the same error (same node, same item), for the same manifest and input.

python (asyncio), rust (in-process) and rust-bin (the binary) are compared type-exactly (2 != 2.0) on the seed
scenarios, hand-written edge cases and randomized pipelines and inputs from hypothesis.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from rmprof.scenarios import get_scenario, scenario_names
from rmprof.values import I64_MAX, I64_MIN, first_difference
from tests.conftest import examples, require_runtime
from tests.pipelines import assert_same, pipelines, reference

RUNTIMES = ("python", "rust", "rust-bin")
# Every runtime must give the outcome of the first (the CPython baseline).
same = partial(assert_same, runtimes=RUNTIMES)


@pytest.fixture(scope="module", autouse=True)
def _all_runtimes() -> None:
    for name in RUNTIMES:
        require_runtime(name)


# Scenarios with PythonNode code (which rust-bin has no engine for) are compared in test_python_nodes.py.
@pytest.mark.parametrize("name", [n for n in scenario_names() if not get_scenario(n).manifest.has_code])
def test_seed_scenarios_agree_and_match_expected(name: str) -> None:
    sc = get_scenario(name)
    kind, outputs = same(json.loads(sc.manifest.text), sc.items)
    assert kind == "ok" and first_difference(sc.expected, outputs) is None


def _calc(op: str, operand: Any) -> dict[str, Any]:
    return {
        "version": "v1",
        "metadata": {"name": "edge"},
        "nodes": [
            {"id": "src", "node_type": "DataSourceNode"},
            {"id": "calc", "node_type": "CalculatorNode", "params": {"operation": op, "operand": operand}},
            {"id": "sink", "node_type": "DataSinkNode"},
        ],
        "connections": [{"from": "src", "to": "calc"}, {"from": "calc", "to": "sink"}],
    }


def _text(op: str) -> dict[str, Any]:
    return {
        "version": "v1",
        "metadata": {"name": "edge"},
        "nodes": [{"id": "t", "node_type": "TextTransformNode", "params": {"operation": op}}],
    }


EDGE_CASES = [
    (_calc("add", 1), [I64_MAX - 1, I64_MAX]),
    (_calc("subtract", 1), [I64_MIN]),
    (_calc("multiply", -1), [I64_MIN]),
    (_calc("multiply", 3), [3074457345618258602, 3074457345618258603]),
    (_calc("divide", 3), [1, -1, I64_MAX, I64_MIN, 2**53 + 1]),
    (_calc("divide", -0.0001), [0, 0.0, -0.0]),
    (_calc("add", 0.1), [0.2, I64_MAX, -(2**60)]),
    (_calc("multiply", 1e308), [10, 1.0, -10]),
    (_calc("add", 2), [1, 1.0, True]),
    (_calc("add", 2), [None]),
    (_calc("add", 2), [[1, 2]]),
    (_calc("add", 2), [{"a": 1}]),
    (_calc("subtract", 2.5), [5e-324, 1.7976931348623157e308]),
    (_text("uppercase"), ["straße", "ﬁ", "ŉ", "ǰ", "ΐ", "i̇", "ß" * 3, "😀", ""]),
    (_text("lowercase"), ["ΣΑΣ", "Σ", "AΣ.", "İ", "ΑΣ Σ", "ẞ"]),
    (_text("reverse"), ["añb", "e\u0301", "👨‍👩‍👧", "\u0000x", "a\nb"]),
    (_text("uppercase"), ["ok", 1]),
]


@pytest.mark.parametrize(("doc", "items"), EDGE_CASES, ids=[f"edge{i}" for i in range(len(EDGE_CASES))])
def test_edge_cases_agree(doc: dict[str, Any], items: list[Any]) -> None:
    same(doc, items)


def test_manifest_errors_agree() -> None:
    """The Rust parser rejects what the Python validator rejects, with the same message."""
    from tests.test_manifest import CASES, _mutated

    native = pytest.importorskip("rmprof._native")
    for case_id, change, message in CASES:
        doc = _mutated(change) if callable(change) else change
        text = doc if isinstance(doc, str) else json.dumps(doc)
        with pytest.raises(native.ManifestError) as info:
            native.Pipeline(text)
        if case_id == "invalid JSON":
            assert str(info.value).startswith("invalid JSON at line 1 column")
        else:
            assert str(info.value) == message, case_id


@settings(
    max_examples=examples(1000), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(pipelines())
def test_random_pipelines_agree_across_runtimes(case: tuple[dict[str, Any], list[Any]]) -> None:
    doc, data = case
    kind, value = same(doc, data)
    expected, expected_error = reference(doc, data)
    if kind == "ok":
        assert expected_error is None and first_difference(expected, value) is None
    else:
        assert kind == "error" and expected_error == value[:2]
