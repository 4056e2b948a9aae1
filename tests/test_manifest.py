"""Every manifest v1 rule, one test each, asserting the exact message of SEMANTICS.md."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from rmprof.errors import ManifestError
from rmprof.manifest import load_manifest, parse_manifest
from tests.conftest import SIMPLE, chain_manifest


def _error(doc: Any) -> str:
    with pytest.raises(ManifestError) as info:
        parse_manifest(doc if isinstance(doc, str) else json.dumps(doc))
    return info.value.message


def _mutated(change) -> dict[str, Any]:
    doc = copy.deepcopy(SIMPLE)
    change(doc)
    return doc


def test_valid_simple_manifest_gives_topological_order_roots_and_sinks() -> None:
    m = parse_manifest(json.dumps(SIMPLE))
    assert m.name == "t"
    assert m.topo_order == ["source", "calc", "sink"]
    assert m.roots == ["source"] and m.sinks == ["sink"]


def test_nodes_in_any_order_follow_connections() -> None:
    doc = copy.deepcopy(SIMPLE)
    doc["nodes"].reverse()
    assert parse_manifest(json.dumps(doc)).topo_order == ["source", "calc", "sink"]


def test_topological_ties_follow_manifest_order() -> None:
    doc = chain_manifest(("a", "PassThroughNode", {}), ("b", "PassThroughNode", {}))
    doc["nodes"].insert(0, {"id": "z", "node_type": "PassThroughNode"})
    doc["nodes"].append({"id": "c", "node_type": "PassThroughNode"})
    doc["connections"].append({"from": "a", "to": "c"})
    assert parse_manifest(json.dumps(doc)).topo_order == ["z", "a", "b", "c"]


def test_optional_fields_are_accepted() -> None:
    doc = copy.deepcopy(SIMPLE)
    doc["metadata"].update(description="d", created_at="2026-01-01T00:00:00Z")
    doc["nodes"][1].update(capabilities={"gpu": False}, host="localhost:8080")
    del doc["nodes"][0]["params"]
    assert parse_manifest(json.dumps(doc)).node("calc").params == {"operation": "add", "operand": 5}


def test_connections_are_optional_for_a_single_node() -> None:
    doc = {"version": "v1", "metadata": {"name": "one"}, "nodes": [{"id": "p", "node_type": "PassThroughNode"}]}
    assert parse_manifest(json.dumps(doc)).sinks == ["p"]


CASES = [
    (
        "invalid JSON",
        '{"version": "v1",',
        "invalid JSON at line 1 column 18: Expecting property name enclosed in double quotes",
    ),
    ("top level array", [], "manifest: expected an object, got array"),
    ("unknown top field", lambda d: d.update(extra=1), "manifest: unknown field 'extra'"),
    ("missing version", lambda d: d.pop("version"), "version: missing required field"),
    ("wrong version", lambda d: d.update(version="v2"), 'version: must be "v1", got "v2"'),
    ("version not a string", lambda d: d.update(version=1), "version: expected a string, got int"),
    ("missing metadata", lambda d: d.pop("metadata"), "metadata: missing required field"),
    ("metadata not object", lambda d: d.update(metadata="x"), "metadata: expected an object, got string"),
    ("unknown metadata field", lambda d: d["metadata"].update(owner="x"), "metadata: unknown field 'owner'"),
    ("missing name", lambda d: d["metadata"].pop("name"), "metadata.name: missing required field"),
    ("name not string", lambda d: d["metadata"].update(name=3), "metadata.name: expected a string, got int"),
    ("empty name", lambda d: d["metadata"].update(name=""), "metadata.name: must be 1 to 255 characters, got 0"),
    (
        "long name",
        lambda d: d["metadata"].update(name="n" * 256),
        "metadata.name: must be 1 to 255 characters, got 256",
    ),
    (
        "description type",
        lambda d: d["metadata"].update(description=1),
        "metadata.description: expected a string, got int",
    ),
    (
        "created_at type",
        lambda d: d["metadata"].update(created_at=[]),
        "metadata.created_at: expected a string, got array",
    ),
    ("missing nodes", lambda d: d.pop("nodes"), "nodes: missing required field"),
    ("nodes not array", lambda d: d.update(nodes={}), "nodes: expected an array, got object"),
    ("no nodes", lambda d: d.update(nodes=[], connections=[]), "nodes: must contain at least one node"),
    ("node not object", lambda d: d["nodes"].__setitem__(1, "calc"), "nodes[1]: expected an object, got string"),
    ("unknown node field", lambda d: d["nodes"][1].update(param={}), "nodes[1]: unknown field 'param'"),
    ("missing id", lambda d: d["nodes"][1].pop("id"), "nodes[1].id: missing required field"),
    ("id not string", lambda d: d["nodes"][1].update(id=7), "nodes[1].id: expected a string, got int"),
    ("id pattern", lambda d: d["nodes"][1].update(id="a b"), "nodes[1].id: 'a b' does not match ^[a-zA-Z0-9_-]+$"),
    (
        "duplicate id",
        lambda d: d["nodes"][2].update(id="source"),
        "nodes[2].id: duplicate id 'source' (first at nodes[0])",
    ),
    ("missing node_type", lambda d: d["nodes"][1].pop("node_type"), "nodes[1].node_type: missing required field"),
    (
        "node_type not string",
        lambda d: d["nodes"][1].update(node_type=None),
        "nodes[1].node_type: expected a string, got null",
    ),
    (
        "unknown node type",
        lambda d: d["nodes"][1].update(node_type="FooNode"),
        "nodes[1].node_type: unknown node type 'FooNode' (known: CalculatorNode, DataSinkNode, DataSourceNode, "
        "PassThroughNode, PythonNode, TextTransformNode)",
    ),
    ("params not object", lambda d: d["nodes"][1].update(params=[]), "nodes[1].params: expected an object, got array"),
    ("unknown param", lambda d: d["nodes"][1]["params"].update(scale=2), "nodes[1].params: unknown parameter 'scale'"),
    ("param on passthrough", lambda d: d["nodes"][0]["params"].update(x=1), "nodes[0].params: unknown parameter 'x'"),
    (
        "missing operation",
        lambda d: d["nodes"][1]["params"].pop("operation"),
        "nodes[1].params.operation: missing required parameter",
    ),
    (
        "missing operand",
        lambda d: d["nodes"][1]["params"].pop("operand"),
        "nodes[1].params.operand: missing required parameter",
    ),
    (
        "operation type",
        lambda d: d["nodes"][1]["params"].update(operation=1),
        "nodes[1].params.operation: expected a string, got int",
    ),
    (
        "bad operation",
        lambda d: d["nodes"][1]["params"].update(operation="pow"),
        "nodes[1].params.operation: must be one of add, subtract, multiply, divide, got 'pow'",
    ),
    (
        "operand string",
        lambda d: d["nodes"][1]["params"].update(operand="5"),
        "nodes[1].params.operand: expected a number, got string",
    ),
    (
        "operand bool",
        lambda d: d["nodes"][1]["params"].update(operand=True),
        "nodes[1].params.operand: expected a number, got bool",
    ),
    (
        "operand range",
        lambda d: d["nodes"][1]["params"].update(operand=2**63),
        "nodes[1].params.operand: integer out of 64-bit range",
    ),
    (
        "zero divide",
        lambda d: d["nodes"][1]["params"].update(operation="divide", operand=0),
        "nodes[1].params.operand: divide by zero",
    ),
    (
        "zero float divide",
        lambda d: d["nodes"][1]["params"].update(operation="divide", operand=-0.0),
        "nodes[1].params.operand: divide by zero",
    ),
    (
        "bad text op",
        lambda d: d["nodes"][1].update(node_type="TextTransformNode", params={"operation": "title"}),
        "nodes[1].params.operation: must be one of uppercase, lowercase, reverse, got 'title'",
    ),
    (
        "capabilities type",
        lambda d: d["nodes"][1].update(capabilities=[]),
        "nodes[1].capabilities: expected an object, got array",
    ),
    ("host format", lambda d: d["nodes"][1].update(host="abc"), "nodes[1].host: expected \"host:port\", got 'abc'"),
    (
        "host port range",
        lambda d: d["nodes"][1].update(host="h:70000"),
        "nodes[1].host: expected \"host:port\", got 'h:70000'",
    ),
    ("connections type", lambda d: d.update(connections={}), "connections: expected an array, got object"),
    ("connection type", lambda d: d["connections"].append(1), "connections[2]: expected an object, got int"),
    (
        "unknown connection field",
        lambda d: d["connections"][0].update(weight=1),
        "connections[0]: unknown field 'weight'",
    ),
    ("missing from", lambda d: d["connections"][0].pop("from"), "connections[0].from: missing required field"),
    ("missing to", lambda d: d["connections"][1].pop("to"), "connections[1].to: missing required field"),
    ("to not string", lambda d: d["connections"][1].update(to=5), "connections[1].to: expected a string, got int"),
    ("unknown to", lambda d: d["connections"][1].update(to="ghost"), "connections[1].to: unknown node 'ghost'"),
    (
        "unknown from",
        lambda d: d["connections"][0].update(**{"from": "ghost"}),
        "connections[0].from: unknown node 'ghost'",
    ),
    (
        "into source",
        lambda d: d["connections"].append({"from": "calc", "to": "source"}),
        "connections[2].to: 'source' is a DataSourceNode and cannot have inputs",
    ),
    (
        "out of sink",
        lambda d: d["connections"].append({"from": "sink", "to": "calc"}),
        "connections[2].from: 'sink' is a DataSinkNode and cannot have outputs",
    ),
    (
        "duplicate connection",
        lambda d: d["connections"].append({"from": "calc", "to": "sink"}),
        "connections[2]: duplicate connection 'calc' -> 'sink'",
    ),
    (
        "fan-in",
        lambda d: d["connections"].append({"from": "source", "to": "sink"}),
        "connections[2].to: 'sink' already has an input from 'calc' (fan-in is not supported)",
    ),
]


@pytest.mark.parametrize(("doc_or_change", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rule_message(doc_or_change: Any, message: str) -> None:
    doc = _mutated(doc_or_change) if callable(doc_or_change) else doc_or_change
    assert _error(doc) == message


def test_cycle_is_named_from_its_first_listed_node() -> None:
    doc = {
        "version": "v1",
        "metadata": {"name": "c"},
        "nodes": [{"id": i, "node_type": "PassThroughNode"} for i in ("x", "c", "a", "b")],
        "connections": [
            {"from": "a", "to": "b"},
            {"from": "b", "to": "c"},
            {"from": "c", "to": "a"},
            {"from": "c", "to": "x"},
        ],
    }
    assert _error(doc) == "connections: cycle 'c' -> 'a' -> 'b' -> 'c'"


def test_self_loop_is_a_cycle() -> None:
    doc = {
        "version": "v1",
        "metadata": {"name": "c"},
        "nodes": [{"id": "p", "node_type": "PassThroughNode"}],
        "connections": [{"from": "p", "to": "p"}],
    }
    assert _error(doc) == "connections: cycle 'p' -> 'p'"


def test_load_manifest_prefixes_the_file(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text('{"version": "v2"}')
    with pytest.raises(ManifestError, match=r"m\.json: version: must be \"v1\", got \"v2\""):
        load_manifest(path)
    with pytest.raises(ManifestError, match="no such file"):
        load_manifest(tmp_path / "missing.json")


def test_shipped_json_schema_agrees_with_the_validator() -> None:
    """The JSON Schema accepts every valid manifest and rejects each structural violation above."""
    jsonschema = pytest.importorskip("jsonschema")
    from rmprof.manifest.load import SCHEMA_PATH

    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    assert not list(validator.iter_errors(SIMPLE))
    semantic = {
        "duplicate id",
        "zero divide",
        "zero float divide",
        "unknown to",
        "unknown from",
        "into source",
        "out of sink",
        "duplicate connection",
        "fan-in",
        "invalid JSON",
        "host port range",
        "operand range",
    }
    for case_id, change, _ in CASES:
        if case_id in semantic:
            continue
        doc = _mutated(change) if callable(change) else change
        assert list(validator.iter_errors(doc)), f"schema accepts the invalid case {case_id!r}"


def _simple_with(insert: str) -> str:
    """The simple manifest's JSON text with ``insert`` (raw JSON text) placed as node 1's ``host``/``capabilities``."""
    text = json.dumps(SIMPLE)
    marker = '"id": "calc", '
    assert marker in text
    return text.replace(marker, marker + insert, 1)


JSON_LAYER_CASES = [
    # What the Rust runtimes' JSON reader refuses, the Python validator (which runs first, for every runtime)
    # refuses too: it accepted these, and `rmprof run -r python` ran what `-r rust` rejected.
    ("lone surrogate", '"host": "\\ud800:80", ', "nodes[1].host: string contains a lone surrogate"),
    (
        "lone surrogate key",
        '"capabilities": {"\\udc00": 1}, ',
        "nodes[1].capabilities: a key contains a lone surrogate",
    ),
    ("NaN literal", '"capabilities": {"x": [NaN]}, ', "nodes[1].capabilities.x[0]: non-finite number"),
    ("1e400", '"capabilities": {"x": -1e400}, ', "nodes[1].capabilities.x: non-finite number"),
    ("port in other digits", '"host": "h:\\u0668\\u0660", ', "nodes[1].host: expected \"host:port\", got 'h:٨٠'"),
    (
        "128 levels",
        '"capabilities": {"a": ' + "[" * 124 + "]" * 124 + "}, ",
        "invalid JSON at line 1 column 279: nesting deeper than 127 levels",
    ),
]


@pytest.mark.parametrize(("insert", "message"), [c[1:] for c in JSON_LAYER_CASES], ids=[c[0] for c in JSON_LAYER_CASES])
def test_what_another_runtime_cannot_read_is_rejected(insert: str, message: str) -> None:
    assert _error(_simple_with(insert)) == message


def test_a_lone_surrogate_in_code_is_named_not_an_internal_error() -> None:
    doc = chain_manifest(("f", "PythonNode", {"code": "def f(x):\n    return '\ud800'\n", "function": "f"}))
    assert _error(doc) == "nodes[0].params.code: string contains a lone surrogate"


def test_huge_json_does_not_crash_the_validator() -> None:
    # json.loads raised RecursionError (100,000 levels) and ValueError (an int of 5,000 digits): exit 1 with
    # "internal error" instead of the one-line manifest error.
    deep = '{"version": "v1", "metadata": {"name": "t"}, "nodes": ' + "[" * 100_000 + "]" * 100_000 + "}"
    assert _error(deep) == "invalid JSON at line 1 column 181: nesting deeper than 127 levels"
    huge = json.dumps(SIMPLE).replace('"operand": 5', '"operand": -' + "9" * 5000)
    assert _error(huge) == "nodes[1].params.operand: integer out of 64-bit range"
    big_capability = _simple_with('"capabilities": {"n": ' + "1" * 5000 + "}, ")
    assert parse_manifest(big_capability).node("calc").params["operand"] == 5  # as the Rust reader accepts it


def test_the_deepest_manifest_accepted_is_one_the_rust_runtime_reads() -> None:
    from tests.conftest import require_runtime

    require_runtime("rust")
    from rmprof.runtimes import get_runtime

    manifest = parse_manifest(_simple_with('"capabilities": {"a": ' + "[" * 123 + "]" * 123 + "}, "))  # 127 levels
    with get_runtime("rust").prepare(manifest) as prepared:
        assert prepared.run([1]) == {"sink": [6]}
