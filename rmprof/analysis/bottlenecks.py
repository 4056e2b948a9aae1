"""Bottlenecks of one profile: top frames by self weight, category shares, cost per node (or node function)."""

from __future__ import annotations

import re
from typing import Any

from rmprof.analysis.categories import (
    STARTUP,
    Kind,
    category_shares,
    frame_category,
    is_memory,
    node_code_id,
    node_task,
    stack_category,
)
from rmprof.profile_model import Frame, Profile

TOP = 15

# The Rust runtime's node functions (rust_runtime/src/nodes.rs and the modules it calls) by the node type
# they serve. py-spy --native names closures `{closure#0}<rmprof_runtime::nodes::apply_calc::...>`, so the
# function is looked for anywhere in the name. Generic ones (Op::apply, map_chunk) serve every node type.
_RUST_NODE_TYPES: list[tuple[str, re.Pattern[str]]] = [
    ("CalculatorNode", re.compile(r"\b(apply_calc|calc_map)\b|nodes::finite\b")),
    ("TextTransformNode", re.compile(r"\b(apply_text|text_transform|text_transform_in_place)\b|unicode14")),
    ("PythonNode", re.compile(r"\bapply_code\b|rmprof_runtime::(code|python::CPythonFunction|rustpython)")),
]
_RUST_NODE_FILE_TYPES: list[tuple[str, re.Pattern[str]]] = [
    ("TextTransformNode", re.compile(r"rust_runtime/src/unicode14\.rs$")),
    ("PythonNode", re.compile(r"rust_runtime/src/code\.rs$")),
]
_RUST_NODE_FRAME = re.compile(r"rmprof_runtime::(nodes|unicode14|code)\b")
_RUST_NODE_FILE = re.compile(r"rust_runtime/src/(nodes|unicode14|code)\.rs$")
# rmprof/nodes.py: the factory (and the closures it returns) of each node type's item function.
_PY_NODE_TYPES: dict[str, str] = {
    "_calculator": "CalculatorNode",
    "arithmetic": "CalculatorNode",
    "divide": "CalculatorNode",
    "_number": "CalculatorNode",
    "_finite": "CalculatorNode",
    "_text": "TextTransformNode",
    "text": "TextTransformNode",
    "_python_node": "PythonNode",
    "call": "PythonNode",
    "_returned": "PythonNode",
    "_fresh": "PythonNode",
    "_string": "PythonNode",
    "_encodes": "PythonNode",
}
_CLOSURE = re.compile(r"^\{+closure")
_GENERIC_ARGS = re.compile(r"<[^<>]*>")


def _merged_by_function(profile: Profile, weights: dict[int, float]) -> dict[tuple[str, str | None], float]:
    """Weights summed per (name, file): py-spy reports one frame per line, a reader thinks in functions."""
    out: dict[tuple[str, str | None], float] = {}
    for idx, w in weights.items():
        frame = profile.frames[idx]
        key = (frame.name, frame.file)
        out[key] = out.get(key, 0.0) + w
    return out


def _function_totals(profile: Profile) -> dict[tuple[str, str | None], float]:
    out: dict[tuple[str, str | None], float] = {}
    for stack, w in zip(profile.stacks, profile.weights, strict=True):
        for key in {(profile.frames[j].name, profile.frames[j].file) for j in stack}:
            out[key] = out.get(key, 0.0) + w
    return out


def _self_categories(profile: Profile) -> dict[tuple[str, str | None], str]:
    """Per function: the category holding most of its self weight. A leaf takes its stack's category
    (`memcpy` under a node is node compute, a scalene line the category of its function)."""
    weights: dict[tuple[str, str | None], dict[str, float]] = {}
    cache: dict[Frame, tuple[str, Kind] | None] = {}
    memory = is_memory(profile)
    for i, (stack, w) in enumerate(zip(profile.stacks, profile.weights, strict=True)):
        if not stack:
            continue
        leaf = profile.frames[stack[-1]]
        category = stack_category(profile.stack_frames(i), cache, memory=memory)
        per = weights.setdefault((leaf.name, leaf.file), {})
        per[category] = per.get(category, 0.0) + w
    return {key: max(per, key=per.__getitem__) for key, per in weights.items()}


def top_self(profile: Profile, limit: int = TOP) -> list[dict[str, Any]]:
    """The frames (merged per function) with the most self weight, with self and total shares."""
    total = profile.total or 1.0
    self_w = _merged_by_function(profile, profile.self_weights())
    total_w = _function_totals(profile)
    categories = _self_categories(profile)
    best_line: dict[tuple[str, str | None], int | None] = {}
    line_weight: dict[tuple[str, str | None], float] = {}
    for idx, w in profile.self_weights().items():
        f = profile.frames[idx]
        key = (f.name, f.file)
        if w > line_weight.get(key, -1.0):
            line_weight[key], best_line[key] = w, f.line
    rows = []
    for (name, file), w in sorted(self_w.items(), key=lambda kv: -kv[1])[:limit]:
        rows.append(
            {
                "name": name,
                "file": file,
                "line": best_line.get((name, file)),
                "self": w,
                "self_share": w / total,
                "total": total_w.get((name, file), w),
                "total_share": total_w.get((name, file), w) / total,
                "category": categories.get((name, file)) or frame_category(Frame(name, file)) or "other",
            }
        )
    return rows


def _rust_node_type(frame: Frame) -> tuple[str, str] | None:
    """(node type, function) for a Rust frame of one node type's code, else None."""
    for node_type, pattern in _RUST_NODE_TYPES:
        match = pattern.search(frame.name)
        if match:
            return node_type, _rust_function(frame.name) or match.group(0)
    for node_type, pattern in _RUST_NODE_FILE_TYPES:
        if frame.file and pattern.search(frame.file):
            return node_type, _rust_function(frame.name) or frame.name
    if frame.file and frame.file.endswith("rust_runtime/src/nodes.rs") and _rust_function(frame.name) == "finite":
        return "CalculatorNode", "finite"
    return None


def _rust_function(name: str) -> str:
    """`rmprof_runtime::nodes::apply_calc::{{closure}}` -> `apply_calc`; `unicode14::to_uppercase` keeps its module."""
    plain = name
    while True:  # innermost generic arguments first, until none is left
        stripped = _GENERIC_ARGS.sub("", plain)
        if stripped == plain:
            break
        plain = stripped
    parts = [p for p in plain.split("::") if p and not _CLOSURE.match(p)]
    if parts[:1] == ["rmprof_runtime"]:
        parts = parts[1:]
    if parts[:1] == ["nodes"]:
        parts = parts[1:]
    return "::".join(parts)


def _node_function(frame: Frame) -> tuple[bool, str] | None:
    """(typed, key) when ``frame`` is a node's own code, else None.

    A typed key names the node type (`TextTransformNode: text_transform_in_place`) or, for PythonNode
    code compiled under its node's id, the node (`up (PythonNode)`). An untyped key is generic node code
    (`Op::apply`, `_identity`): a callee may say more.
    """
    code_id = node_code_id(frame)
    if code_id is not None:
        return True, f"{code_id} (PythonNode)"
    if frame_category(frame) != "node compute":
        return None
    file = frame.file or ""
    if _RUST_NODE_FRAME.search(frame.name) or _RUST_NODE_FILE.search(file):
        typed = _rust_node_type(frame)
        if typed:
            return True, f"{typed[0]}: {typed[1]}"
        return False, _rust_function(frame.name) or frame.name
    if file.endswith("rmprof/nodes.py"):
        for part in reversed(frame.name.split(".")):
            if part in _PY_NODE_TYPES:
                return True, f"{_PY_NODE_TYPES[part]}: {frame.name}"
        return False, frame.name
    return None


def per_node_function(profile: Profile) -> dict[str, float] | None:
    """Share of total weight per pipeline node, else per node function named with its node type.

    Where the stacks show each node's task (the Python runtime names them `node <id> (<NodeType>)`), a
    sample belongs to the node whose task it is under: the key is `<id> (<NodeType>)` and the share is all
    that node's work, its queue hops included. Otherwise (Rust runtimes, older profiles) the key is the
    node function under which the sample ran, with the node type it serves: `TextTransformNode:
    text_transform_in_place`; PythonNode code, compiled under its node's id, gives `<id> (PythonNode)`.
    Start-up samples count for no node.
    """
    total = profile.total
    if not total:
        return None
    # Start-up (imports, loading PythonNode code, the checked first run) is no node's steady-state cost.
    cache: dict[Frame, tuple[str, Kind] | None] = {}
    memory = is_memory(profile)
    steady = [
        (stack, w)
        for i, (stack, w) in enumerate(zip(profile.stacks, profile.weights, strict=True))
        if stack_category(profile.stack_frames(i), cache, memory=memory) != STARTUP
    ]
    tasks = {i: node_task(f) for i, f in enumerate(profile.frames)}
    if any(tasks.values()):
        by_node: dict[str, float] = {}
        for stack, w in steady:
            for j in reversed(stack):
                task = tasks[j]
                if task is not None:
                    key = f"{task[0]} ({task[1]})"
                    by_node[key] = by_node.get(key, 0.0) + w / total
                    break
        return dict(sorted(by_node.items(), key=lambda kv: -kv[1])) or None
    functions = {i: _node_function(f) for i, f in enumerate(profile.frames)}
    shares: dict[str, float] = {}
    for stack, w in steady:
        key: str | None = None
        for j in reversed(stack):
            found = functions[j]
            if found is not None:
                typed, label = found
                key = key or label  # the deepest generic node frame, unless a typed one follows
                if typed:
                    key = label
                    break
        if key is not None:
            shares[key] = shares.get(key, 0.0) + w / total
    return dict(sorted(shares.items(), key=lambda kv: -kv[1])) or None


def analyse_profile(profile: Profile) -> dict[str, Any]:
    """Everything the report's bottleneck section shows for one profile."""
    return {
        "runtime": profile.runtime,
        "profiler": profile.profiler,
        "kind": profile.kind,
        "unit": profile.unit,
        "total": profile.total,
        "top_self": top_self(profile),
        "categories": category_shares(profile),
        "per_node": per_node_function(profile),
    }


def share_of(profile: Profile, predicate: Any) -> float:
    """Share of total weight in stacks where some frame satisfies ``predicate`` (counted once per stack)."""
    total = profile.total
    if not total:
        return 0.0
    hit = 0.0
    for stack, w in zip(profile.stacks, profile.weights, strict=True):
        if any(predicate(profile.frames[j]) for j in stack):
            hit += w
    return hit / total
