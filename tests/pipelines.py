"""Hypothesis strategies for random pipelines and inputs, and an independent sequential reference."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import strategies as st

I64_MAX = 2**63 - 1
I64_MIN = -(2**63)

ints = st.one_of(
    st.integers(-1000, 1000),
    st.integers(I64_MIN, I64_MAX),
    st.sampled_from([I64_MAX, I64_MIN, I64_MAX - 1, I64_MIN + 1, 2**53 + 1, -(2**53) - 1]),
)
floats = st.floats(allow_nan=False, allow_infinity=False)
texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
numbers = st.one_of(ints, floats)
items = st.one_of(numbers, numbers, numbers, texts, texts, st.booleans(), st.none())

CALC_OPS = ["add", "subtract", "multiply", "divide"]
TEXT_OPS = ["uppercase", "lowercase", "reverse"]


@st.composite
def node_specs(draw: Any, kind: str) -> tuple[str, dict[str, Any]]:
    """A random node type with valid params; ``kind`` is 'number', 'text' or 'any'."""
    choices = ["PassThroughNode"]
    if kind in ("number", "any"):
        choices += ["CalculatorNode"] * 3
    if kind in ("text", "any"):
        choices += ["TextTransformNode"] * 2
    node_type = draw(st.sampled_from(choices))
    if node_type == "CalculatorNode":
        op = draw(st.sampled_from(CALC_OPS))
        operand = draw(numbers.filter(lambda v: not (op == "divide" and v == 0)))
        return node_type, {"operation": op, "operand": operand}
    if node_type == "TextTransformNode":
        return node_type, {"operation": draw(st.sampled_from(TEXT_OPS))}
    return node_type, {}


@st.composite
def pipelines(draw: Any) -> tuple[dict[str, Any], list[Any]]:
    """A random valid manifest (chains and fan-out trees, shuffled node order) and a random input."""
    kind = draw(st.sampled_from(["number", "text", "any"]))
    n = draw(st.integers(1, 8))
    nodes = [{"id": "n0", "node_type": "DataSourceNode" if draw(st.booleans()) else "PassThroughNode"}]
    connections = []
    for i in range(1, n):
        parent = draw(st.integers(max(0, i - 3), i - 1))
        if nodes[parent]["node_type"] == "DataSinkNode":
            parent = 0
        node_type, params = draw(node_specs(kind))
        nodes.append({"id": f"n{i}", "node_type": node_type, "params": params})
        connections.append({"from": f"n{parent}", "to": f"n{i}"})
    # Sometimes end leaves with sinks, and sometimes add a second independent root.
    leaves = [nd["id"] for nd in nodes if not any(c["from"] == nd["id"] for c in connections)]
    for leaf in leaves:
        if draw(st.booleans()):
            sink = f"{leaf}_sink"
            nodes.append({"id": sink, "node_type": "DataSinkNode"})
            connections.append({"from": leaf, "to": sink})
    if draw(st.booleans()):
        node_type, params = draw(node_specs(kind))
        nodes.append({"id": "root2", "node_type": node_type, "params": params})
    order = draw(st.permutations(range(len(nodes))))
    doc = {
        "version": "v1",
        "metadata": {"name": "generated"},
        "nodes": [nodes[i] for i in order],
        "connections": connections,
    }
    if kind == "number":
        source = st.one_of(ints, ints, floats)
    elif kind == "text":
        source = texts
    else:
        source = items
    data = draw(st.lists(source, max_size=20))
    if kind != "any" and data and draw(st.integers(0, 9)) == 0:
        data[draw(st.integers(0, len(data) - 1))] = draw(items)  # a stray value of the wrong type
    return doc, data


# ---- an independent reference: one item at a time, depth-first, no queues --------------------------


class RefError(Exception):
    """The reference's (item, topological position, node id) of a failure."""


def _apply(node: dict[str, Any], x: Any) -> Any:
    t, p = node["node_type"], node.get("params", {})
    if t == "CalculatorNode":
        if type(x) not in (int, float):
            raise RefError("number")
        a, b, op = x, p["operand"], p["operation"]
        if op == "divide":
            r = float(a) / float(b)
        elif type(a) is int and type(b) is int:
            r = {"add": a + b, "subtract": a - b, "multiply": a * b}[op]
            if not I64_MIN <= r <= I64_MAX:
                raise RefError("overflow")
            return r
        else:
            r = {"add": float(a) + float(b), "subtract": float(a) - float(b), "multiply": float(a) * float(b)}[op]
        if not math.isfinite(r):
            raise RefError("finite")
        return r
    if t == "TextTransformNode":
        if type(x) is not str:
            raise RefError("string")
        return {"uppercase": x.upper(), "lowercase": x.lower(), "reverse": x[::-1]}[p["operation"]]
    return x


def reference(doc: dict[str, Any], data: list[Any]) -> tuple[dict[str, list[Any]] | None, tuple[str, int] | None]:
    """(outputs, None) or (None, (node id, item index)) by the rules of SEMANTICS.md."""
    nodes = doc["nodes"]
    ids = [nd["id"] for nd in nodes]
    by_id = {nd["id"]: nd for nd in nodes}
    succ = {i: [c["to"] for c in doc["connections"] if c["from"] == i] for i in ids}
    has_input = {c["to"] for c in doc["connections"]}
    # topological order: repeatedly take the first listed node whose predecessor is placed
    order: list[str] = []
    while len(order) < len(ids):
        for i in ids:
            if i not in order and all(c["from"] in order for c in doc["connections"] if c["to"] == i):
                order.append(i)
                break
    position = {i: k for k, i in enumerate(order)}
    outputs = {i: [] for i in order if not succ[i]}
    failures = []
    for index, item in enumerate(data):
        stack = [(r, item) for r in ids if r not in has_input]
        while stack:
            node_id, value = stack.pop()
            try:
                out = _apply(by_id[node_id], value)
            except RefError:
                failures.append((index, position[node_id], node_id))
                continue
            if node_id in outputs:
                outputs[node_id].append(out)
            stack.extend((s, out) for s in succ[node_id])
        if failures:
            break  # every failure of the smallest failing item is now known
    if failures:
        index, _, node_id = min(failures)
        return None, (node_id, index)
    return outputs, None


# ---- running one manifest on several runtimes ------------------------------------------------------


def outcome(runtime: str, doc: dict[str, Any] | str, items: list[Any]) -> tuple[str, Any]:
    """("ok", outputs), ("error", (node, item, message)) or ("rejected", message) on one runtime."""
    from rmprof.errors import InputError, ManifestError, PipelineError
    from rmprof.manifest import parse_manifest
    from rmprof.runtimes import get_runtime

    text = doc if isinstance(doc, str) else json.dumps(doc)
    try:
        with get_runtime(runtime).prepare(parse_manifest(text)) as prepared:
            return "ok", prepared.run(items)
    except PipelineError as exc:
        return "error", (exc.node, exc.item, exc.message)
    except (ManifestError, InputError) as exc:
        return "rejected", exc.message


def assert_same(doc: dict[str, Any] | str, items: list[Any], runtimes: tuple[str, ...]) -> tuple[str, Any]:
    """Every runtime gives the first one's outcome, type-exactly; returns that outcome."""
    from rmprof.values import first_difference

    results = {rt: outcome(rt, doc, items) for rt in runtimes}
    kind, value = results[runtimes[0]]
    for rt in runtimes[1:]:
        other_kind, other = results[rt]
        assert other_kind == kind, f"{rt}: {results[rt]} vs {runtimes[0]}: {results[runtimes[0]]}"
        if kind == "ok":
            assert list(other) == list(value), f"{rt} sinks {list(other)} vs {list(value)}"
            diff = first_difference(value, other)
            assert diff is None, f"{rt} differs from {runtimes[0]}: {diff}"
        else:
            assert other == value, f"{rt}: {other} vs {runtimes[0]}: {value}"
    return kind, value
