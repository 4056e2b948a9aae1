"""The asyncio runtime: every node and operation, edge cases, fan-out, the error rule, and the scenarios."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rmprof.errors import PipelineError
from rmprof.manifest import parse_manifest
from rmprof.runtimes import get_runtime
from rmprof.scenarios import get_scenario, scenario_names
from rmprof.values import I64_MAX, I64_MIN, same_values
from tests.conftest import chain_manifest


def run_python(doc: dict[str, Any], items: list[Any]) -> dict[str, list[Any]]:
    with get_runtime("python").prepare(parse_manifest(json.dumps(doc))) as prepared:
        return prepared.run(items)


def calc(op: str, operand: Any) -> dict[str, Any]:
    return chain_manifest(
        ("source", "DataSourceNode", {}),
        ("calc", "CalculatorNode", {"operation": op, "operand": operand}),
        ("sink", "DataSinkNode", {}),
    )


def text(op: str) -> dict[str, Any]:
    return chain_manifest(("t", "TextTransformNode", {"operation": op}))


@pytest.mark.parametrize("name", scenario_names())
def test_seed_scenarios_give_their_expected_output(name: str) -> None:
    sc = get_scenario(name)
    with get_runtime("python").prepare(sc.manifest) as prepared:
        assert same_values(prepared.run(sc.items), sc.expected)


@pytest.mark.parametrize(
    ("op", "operand", "items", "expected"),
    [
        ("add", 5, [1, -1, 2.5], [6, 4, 7.5]),
        ("subtract", 2, [1, 2.0], [-1, 0.0]),
        ("multiply", 3, [2, 0.5], [6, 1.5]),
        ("multiply", 1.0, [2], [2.0]),
        ("divide", 2, [4, 1, -3], [2.0, 0.5, -1.5]),
        ("divide", 3, [1], [1 / 3]),
        ("add", 1, [I64_MAX - 1], [I64_MAX]),
        ("subtract", 1, [I64_MIN + 1], [I64_MIN]),
        ("add", 0.5, [I64_MAX], [float(I64_MAX) + 0.5]),
        ("divide", 1, [2**53 + 1], [float(2**53 + 1)]),
    ],
)
def test_calculator(op: str, operand: Any, items: list[Any], expected: list[Any]) -> None:
    assert same_values(run_python(calc(op, operand), items), {"sink": expected})


def test_int_and_float_results_are_distinguished() -> None:
    out = run_python(calc("add", 0), [2])["sink"]
    assert out == [2] and type(out[0]) is int
    out = run_python(calc("divide", 1), [2])["sink"]
    assert type(out[0]) is float


@pytest.mark.parametrize(
    ("op", "operand", "items", "message"),
    [
        ("add", 1, [0, I64_MAX], "node 'calc' (CalculatorNode) at item 1: integer overflow in add"),
        ("subtract", 1, [I64_MIN], "node 'calc' (CalculatorNode) at item 0: integer overflow in subtract"),
        ("multiply", 2, [1, 2, 2**62], "node 'calc' (CalculatorNode) at item 2: integer overflow in multiply"),
        ("multiply", 1e300, [1e10], "node 'calc' (CalculatorNode) at item 0: result of multiply is not finite"),
        ("divide", 1e-300, [1e300], "node 'calc' (CalculatorNode) at item 0: result of divide is not finite"),
        ("add", 1, [1, "2"], "node 'calc' (CalculatorNode) at item 1: expected a number, got string"),
        ("add", 1, [True], "node 'calc' (CalculatorNode) at item 0: expected a number, got bool"),
        ("add", 1, [None], "node 'calc' (CalculatorNode) at item 0: expected a number, got null"),
        ("add", 1, [[1]], "node 'calc' (CalculatorNode) at item 0: expected a number, got array"),
    ],
)
def test_calculator_errors_name_node_and_item(op: str, operand: Any, items: list[Any], message: str) -> None:
    with pytest.raises(PipelineError) as info:
        run_python(calc(op, operand), items)
    assert info.value.message == message
    assert info.value.node == "calc"


@pytest.mark.parametrize(
    ("op", "item", "expected"),
    [
        ("uppercase", "straße ﬁ", "STRASSE FI"),
        ("lowercase", "ΟΔΟΣ ΑΣ", "οδος ας"),
        ("lowercase", "İ", "i̇"),
        ("reverse", "añb😀", "😀bña"),
        ("reverse", "e\u0301", "\u0301e"),
        ("uppercase", "", ""),
    ],
)
def test_text_transform_uses_unicode_code_points(op: str, item: str, expected: str) -> None:
    assert run_python(text(op), [item]) == {"t": [expected]}


def test_text_transform_rejects_non_strings() -> None:
    with pytest.raises(PipelineError, match=r"^node 't' \(TextTransformNode\) at item 1: expected a string, got int$"):
        run_python(text("uppercase"), ["a", 1])


def test_passthrough_keeps_any_json_value() -> None:
    items = [None, True, 1, 1.5, "s", [1, {"a": 2}], {"k": [None]}]
    assert run_python(chain_manifest(("p", "PassThroughNode", {})), items) == {"p": items}


def test_fan_out_feeds_every_branch_and_collects_each_leaf() -> None:
    doc = chain_manifest(("src", "DataSourceNode", {}), ("up", "TextTransformNode", {"operation": "uppercase"}))
    doc["nodes"].append({"id": "rev", "node_type": "TextTransformNode", "params": {"operation": "reverse"}})
    doc["nodes"].append({"id": "keep", "node_type": "DataSinkNode"})
    doc["connections"] += [{"from": "src", "to": "rev"}, {"from": "rev", "to": "keep"}]
    assert run_python(doc, ["ab", "cd"]) == {"up": ["AB", "CD"], "keep": ["ba", "dc"]}


def test_several_roots_each_receive_the_whole_input() -> None:
    doc = {
        "version": "v1",
        "metadata": {"name": "two"},
        "nodes": [
            {"id": "a", "node_type": "PassThroughNode"},
            {"id": "b", "node_type": "CalculatorNode", "params": {"operation": "add", "operand": 1}},
        ],
    }
    assert run_python(doc, [1, 2]) == {"a": [1, 2], "b": [2, 3]}


def test_error_with_smallest_item_wins_over_an_earlier_node() -> None:
    # 'first' fails at item 3, 'second' (downstream) at item 1: item 1 is reported.
    doc = chain_manifest(
        ("first", "CalculatorNode", {"operation": "add", "operand": 1}),
        ("second", "TextTransformNode", {"operation": "uppercase"}),
    )
    with pytest.raises(PipelineError) as info:
        run_python(doc, [1, 2, 3, "x"])
    assert (info.value.node, info.value.item) == ("second", 0)
    doc = chain_manifest(
        ("first", "CalculatorNode", {"operation": "add", "operand": I64_MAX}),
        ("second", "CalculatorNode", {"operation": "add", "operand": 10}),
    )
    with pytest.raises(PipelineError) as info:
        run_python(doc, [-I64_MAX, -5, 1])
    assert (info.value.node, info.value.item) == ("second", 1)


def test_same_item_failing_on_two_branches_reports_the_first_in_topological_order() -> None:
    doc = {
        "version": "v1",
        "metadata": {"name": "b"},
        "nodes": [
            {"id": "src", "node_type": "DataSourceNode"},
            {"id": "t2", "node_type": "TextTransformNode", "params": {"operation": "reverse"}},
            {"id": "t1", "node_type": "TextTransformNode", "params": {"operation": "uppercase"}},
        ],
        "connections": [{"from": "src", "to": "t1"}, {"from": "src", "to": "t2"}],
    }
    with pytest.raises(PipelineError) as info:
        run_python(doc, ["a", 5])
    assert (info.value.node, info.value.item) == ("t2", 1)


def test_long_input_flows_through_bounded_queues() -> None:
    items = list(range(20_000))
    out = run_python(calc("add", 1), items)
    assert out["sink"][-1] == 20_000 and len(out["sink"]) == 20_000


def test_a_prepared_pipeline_runs_many_times() -> None:
    with get_runtime("python").prepare(parse_manifest(json.dumps(calc("add", 2)))) as prepared:
        assert [prepared.run([i])["sink"] for i in range(3)] == [[2], [3], [4]]
