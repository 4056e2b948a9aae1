"""Call trees of a Profile, encoded compactly for the HTML flame graph viewer (templates/flamegraph.js).

``build_tree`` returns::

    {
      "version": 1,
      "unit": "samples",                  # the profile's unit
      "total": 1234,                      # sum of all weights (== the root's total)
      "names": ["all", "main", ...],      # frame labels; index 0 is the synthetic root "all"
      "files": ["", "app.py:12", ...],    # parallel to names: "file:line", "file" or ""
      "places": ["", "app.py:12", ...],   # parallel to files: each shortened to its package (report/paths.py)
      "tree": [[name, parent, total, self], ...],
      "node_count": 57,                   # len(tree)
      "pruned_nodes": 0,                  # nodes folded into their parent's self (see below)
      "pruned_weight": 0,
    }

``tree`` is flat, in depth-first preorder: node 0 is the root (parent -1) and every node's parent comes
before it. ``name`` indexes ``names``/``files``; ``parent`` indexes ``tree``. Siblings are ordered heaviest
first (ties by label). ``total`` is the node's weight including callees, ``self`` its weight as the leaf, so
``total == self + sum(children's total)`` always holds, also after pruning. Flat rather than nested, so deep
(recursive) stacks never hit recursion limits in ``json`` or ``JSON.parse``. Weights that are whole numbers
are written as ints.

Pruning: when the tree has more than ``max_nodes`` nodes, nodes below ``PRUNE_FRACTION`` of the total are
dropped and, if still too many, the lightest ones, until ``max_nodes`` remain. A dropped subtree's total is
added to its parent's ``self``, so every total stays exact.

``build_diff_tree`` returns the same shape for the AFTER profile with ``"diff": true``, two more entries per
node ``[name, parent, total, self, before_share, after_share]`` (share = node total / profile total, 0..1)
and ``before_total``, ``before_unit``, ``appeared`` / ``disappeared`` (``[{"name", "share"}]``, heaviest
first, frames matched by name) with ``appeared_count`` / ``disappeared_count``. In a diff, frames are merged
by name (not name+file+line) so that moved line numbers still match.

``dumps_for_html`` serializes any of these for a ``<script type="application/json">`` element.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Callable, Hashable
from typing import Any

from markupsafe import Markup

from rmprof.profile_model import Frame, Profile
from rmprof.report.paths import short_location

PRUNE_FRACTION = 0.0005  # 0.05 % of the total
ROOT_LABEL = "all"
FORMAT_VERSION = 1


class _Node:
    """One call-tree node while building: key of its frame, weights, children by key."""

    __slots__ = ("key", "total", "self_w", "children")

    def __init__(self, key: Hashable) -> None:
        self.key = key
        self.total = 0.0
        self.self_w = 0.0
        self.children: dict[Hashable, _Node] = {}


def _merged_stacks(profile: Profile) -> dict[tuple[int, ...], float]:
    """Identical stacks merged, weights summed (order of first appearance)."""
    merged: dict[tuple[int, ...], float] = {}
    for stack, w in zip(profile.stacks, profile.weights, strict=True):
        key = tuple(stack)
        merged[key] = merged.get(key, 0.0) + w
    return merged


def _grow(profile: Profile, key_of: Callable[[int], Hashable]) -> _Node:
    """Merge the profile's stacks into a call tree whose nodes are keyed by ``key_of(frame_index)``."""
    root = _Node(None)
    for stack, w in _merged_stacks(profile).items():
        node = root
        node.total += w
        for idx in stack:
            key = key_of(idx)
            child = node.children.get(key)
            if child is None:
                child = node.children[key] = _Node(key)
            child.total += w
            node = child
        node.self_w += w
    root.total = profile.total  # the exact sum, in the profile's own order
    return root


def _count(root: _Node) -> int:
    """Number of nodes in the tree, root included."""
    n, todo = 0, [root]
    while todo:
        node = todo.pop()
        n += 1
        todo.extend(node.children.values())
    return n


def _prune(root: _Node, max_nodes: int) -> tuple[int, float]:
    """Keep at most ``max_nodes`` heaviest nodes (none below PRUNE_FRACTION); return (dropped, weight)."""
    if max_nodes < 1:
        raise ValueError(f"max_nodes must be at least 1, got {max_nodes}")
    count = _count(root)
    if count <= max_nodes:
        return 0, 0.0
    threshold = abs(root.total) * PRUNE_FRACTION
    kept: set[int] = {id(root)}
    heap: list[tuple[float, int, _Node]] = []
    seq = 0

    def push_children(node: _Node) -> None:
        nonlocal seq
        for child in node.children.values():
            if child.total >= threshold and child.total > 0:
                heapq.heappush(heap, (-child.total, seq, child))
                seq += 1

    push_children(root)
    while heap and len(kept) < max_nodes:
        _, _, node = heapq.heappop(heap)
        kept.add(id(node))
        push_children(node)

    dropped_weight = 0.0
    todo = [root]
    while todo:
        node = todo.pop()
        for key, child in list(node.children.items()):
            if id(child) in kept:
                todo.append(child)
            else:
                node.self_w += child.total
                dropped_weight += child.total
                del node.children[key]
    return count - len(kept), dropped_weight


def _num(value: float) -> int | float:
    """A weight for JSON: whole numbers as int (shorter), others as float."""
    value = float(value)
    if value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _file_label(frame: Frame) -> str:
    """``file:line``, ``file`` or ``""`` for a frame."""
    if not frame.file:
        return ""
    return f"{frame.file}:{frame.line}" if frame.line is not None else frame.file


def _encode(
    root: _Node,
    label_of: Callable[[Hashable], tuple[str, str]],
    extra: Callable[[_Node], list[Any]] | None = None,
) -> tuple[list[str], list[str], list[list[Any]]]:
    """Flatten the tree in preorder into (names, files, rows); ``extra`` appends per-node fields."""
    names, files = [ROOT_LABEL], [""]
    table: dict[tuple[str, str], int] = {}
    rows: list[list[Any]] = []
    # Each entry: node, parent row index, name index; children pushed reversed to pop heaviest first.
    todo: list[tuple[_Node, int, int]] = [(root, -1, 0)]
    while todo:
        node, parent, name_idx = todo.pop()
        row: list[Any] = [name_idx, parent, _num(node.total), _num(node.self_w)]
        if extra is not None:
            row.extend(extra(node))
        me = len(rows)
        rows.append(row)
        kids = []
        for child in node.children.values():
            label = label_of(child.key)
            kids.append((-child.total, label, child))
        kids.sort(key=lambda k: (k[0], k[1]))
        for _, label, child in reversed(kids):
            idx = table.get(label)
            if idx is None:
                idx = table[label] = len(names)
                names.append(label[0])
                files.append(label[1])
            todo.append((child, me, idx))
    return names, files, rows


def build_tree(profile: Profile, max_nodes: int = 5000) -> dict[str, Any]:
    """Merge the profile's stacks into a pruned call tree encoded for the flame graph viewer."""
    frames = profile.frames
    root = _grow(profile, lambda i: i)
    pruned, pruned_weight = _prune(root, max_nodes)

    def label_of(key: Hashable) -> tuple[str, str]:
        frame = frames[key]  # type: ignore[index]
        return frame.name, _file_label(frame)

    names, files, rows = _encode(root, label_of)
    return {
        "version": FORMAT_VERSION,
        "unit": profile.unit,
        "total": _num(root.total),
        "names": names,
        "files": files,
        "places": [short_location(f) for f in files],
        "tree": rows,
        "node_count": len(rows),
        "pruned_nodes": pruned,
        "pruned_weight": _num(pruned_weight),
    }


def _name_totals(profile: Profile) -> dict[str, float]:
    """Weight of each frame name anywhere on a stack (counted once per stack)."""
    out: dict[str, float] = {}
    frames = profile.frames
    for stack, w in _merged_stacks(profile).items():
        for name in {frames[i].name for i in stack}:
            out[name] = out.get(name, 0.0) + w
    return out


def _share(part: float, whole: float) -> float:
    """``part / whole`` rounded for JSON, 0 for an empty profile."""
    return round(part / whole, 9) if whole else 0.0


def build_diff_tree(before: Profile, after: Profile, max_nodes: int = 5000, max_listed: int = 200) -> dict[str, Any]:
    """The AFTER call tree with each node's before/after share of its total, plus appeared/gone frames."""
    a_frames, b_frames = after.frames, before.frames
    after_root = _grow(after, lambda i: a_frames[i].name)
    before_root = _grow(before, lambda i: b_frames[i].name)
    pruned, pruned_weight = _prune(after_root, max_nodes)
    a_total, b_total = after_root.total, before_root.total

    first_file: dict[str, str] = {}
    for frame in a_frames:
        first_file.setdefault(frame.name, _file_label(frame))

    def label_of(key: Hashable) -> tuple[str, str]:
        return str(key), first_file.get(str(key), "")

    # The matching BEFORE node of every AFTER node, found by walking both trees by name path.
    match: dict[int, _Node | None] = {id(after_root): before_root}
    todo = [after_root]
    while todo:
        node = todo.pop()
        other = match[id(node)]
        for key, child in node.children.items():
            match[id(child)] = other.children.get(key) if other is not None else None
            todo.append(child)

    def extra(node: _Node) -> list[Any]:
        other = match[id(node)]
        return [_share(other.total if other else 0.0, b_total), _share(node.total, a_total)]

    names, files, rows = _encode(after_root, label_of, extra)
    a_names, b_names = _name_totals(after), _name_totals(before)
    appeared = sorted(
        ((n, w) for n, w in a_names.items() if w and not b_names.get(n)), key=lambda nw: (-abs(nw[1]), nw[0])
    )
    gone = sorted(((n, w) for n, w in b_names.items() if w and not a_names.get(n)), key=lambda nw: (-abs(nw[1]), nw[0]))
    return {
        "version": FORMAT_VERSION,
        "diff": True,
        "unit": after.unit,
        "total": _num(a_total),
        "before_unit": before.unit,
        "before_total": _num(b_total),
        "names": names,
        "files": files,
        "places": [short_location(f) for f in files],
        "tree": rows,
        "node_count": len(rows),
        "pruned_nodes": pruned,
        "pruned_weight": _num(pruned_weight),
        "appeared": [{"name": n, "share": _share(w, a_total)} for n, w in appeared[:max_listed]],
        "appeared_count": len(appeared),
        "disappeared": [{"name": n, "share": _share(w, b_total)} for n, w in gone[:max_listed]],
        "disappeared_count": len(gone),
    }


_HTML_UNSAFE = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def dumps_for_html(obj: Any) -> Markup:
    """JSON text safe inside ``<script type="application/json">``: ``< > &`` U+2028/9 escaped as \\uXXXX.

    The result is ``Markup`` (a ``str``), so ``{{ data_json }}`` in an autoescaping Jinja template
    inserts it verbatim; HTML escaping would corrupt it, since script text is not entity-decoded.
    """
    text = json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for char, escaped in _HTML_UNSAFE.items():
        text = text.replace(char, escaped)
    return Markup(text)
