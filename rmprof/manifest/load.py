"""Parse manifest v1 JSON and check every rule of SEMANTICS.md, naming the place of the first violation."""

from __future__ import annotations

import heapq
import json
import re
from pathlib import Path
from typing import Any

from rmprof.errors import ManifestError, parse_file
from rmprof.manifest.model import Connection, Manifest, Node
from rmprof.manifest.node_types import NODE_TYPES, check_params, syntax_problem
from rmprof.values import check_value, decode_json, has_surrogate, too_deep, type_name

SCHEMA_PATH = Path(__file__).with_name("manifest.schema.json")
ID_PATTERN = re.compile(r"[a-zA-Z0-9_-]+")
HOST_PATTERN = re.compile(r"[^\s:]+:([0-9]{1,5})")  # ASCII digits: int() also reads "٨٠", the Rust reader not
TOP_FIELDS = ("version", "metadata", "nodes", "connections")
METADATA_FIELDS = ("name", "description", "created_at")
NODE_FIELDS = ("id", "node_type", "params", "capabilities", "host")
CONNECTION_FIELDS = ("from", "to")
# The deepest nesting of arrays and objects the Rust runtimes' reader accepts (serde_json refuses a 128th level).
MAX_DEPTH = 127


def load_manifest(path: str | Path) -> Manifest:
    """Read and validate a manifest file; errors are prefixed with the file name."""
    return parse_file(path, parse_manifest, ManifestError)


def parse_manifest(text: str) -> Manifest:
    """Validate manifest JSON text and return the Manifest (with its topological order)."""
    deep_at = too_deep(text, MAX_DEPTH)
    if deep_at is not None:  # before decoding: json.loads recurses once per level
        line, column = _line_column(text, deep_at)
        raise ManifestError(f"invalid JSON at line {line} column {column}: nesting deeper than {MAX_DEPTH} levels")
    try:
        doc = decode_json(text)
    except json.JSONDecodeError as exc:
        raise ManifestError(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    _check_values("", doc)
    top = _object("manifest", doc)
    _no_unknown("manifest", top, TOP_FIELDS)
    version = _string("version", _required("version", top, "version"))
    if version != "v1":
        raise ManifestError(f'version: must be "v1", got {json.dumps(version)}')
    metadata = _object("metadata", _required("metadata", top, "metadata"))
    _no_unknown("metadata", metadata, METADATA_FIELDS)
    name = _string("metadata.name", _required("metadata.name", metadata, "name"))
    if not 1 <= len(name) <= 255:
        raise ManifestError(f"metadata.name: must be 1 to 255 characters, got {len(name)}")
    description = None
    if "description" in metadata:
        description = _string("metadata.description", metadata["description"])
    if "created_at" in metadata:
        _string("metadata.created_at", metadata["created_at"])

    raw_nodes = _array("nodes", _required("nodes", top, "nodes"))
    if not raw_nodes:
        raise ManifestError("nodes: must contain at least one node")
    nodes = []
    first_at: dict[str, int] = {}
    for i, raw in enumerate(raw_nodes):
        node = _node(f"nodes[{i}]", raw)
        if node.id in first_at:
            raise ManifestError(f"nodes[{i}].id: duplicate id '{node.id}' (first at nodes[{first_at[node.id]}])")
        first_at[node.id] = i
        nodes.append(node)

    types = {n.id: n.node_type for n in nodes}
    connections = _connections(_array("connections", top.get("connections", [])), types)
    order = _topological_order(nodes, connections)
    # The last rule: PythonNode code must compile (compiled only, never run, here).
    for i, node in enumerate(nodes):
        if node.node_type == "PythonNode":
            why = syntax_problem(node.id, node.params["code"])
            if why:
                raise ManifestError(f"nodes[{i}].params.code: {why}")
    return Manifest(
        name=name, nodes=nodes, connections=connections, description=description, text=text, topo_order=order
    )


def _line_column(text: str, at: int) -> tuple[int, int]:
    """The 1-based line and column (in characters) of offset ``at``, as json's errors count them."""
    line_start = text.rfind("\n", 0, at) + 1
    return text.count("\n", 0, at) + 1, at - line_start + 1


def _check_values(where: str, value: Any) -> None:
    """Reject, naming the place, what a JSON reader of another runtime refuses (the Rust runtimes read the
    manifest text again): a string or key with a lone surrogate escape, NaN, Infinity or a float overflowing
    to one (1e400). Checked in document order, keys before values."""
    if isinstance(value, str | float):  # the item rules for a string and a double (values.check_value)
        why = check_value(value)
        if why:
            raise ManifestError(f"{where or 'manifest'}: {why}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_values(f"{where}[{i}]", v)
    elif isinstance(value, dict):
        for k, v in value.items():
            if has_surrogate(k):
                raise ManifestError(f"{where or 'manifest'}: a key contains a lone surrogate")
            _check_values(f"{where}.{k}" if where else k, v)


def _node(where: str, raw: Any) -> Node:
    obj = _object(where, raw)
    _no_unknown(where, obj, NODE_FIELDS)
    node_id = _string(f"{where}.id", _required(f"{where}.id", obj, "id"))
    if not ID_PATTERN.fullmatch(node_id):
        raise ManifestError(f"{where}.id: '{node_id}' does not match ^[a-zA-Z0-9_-]+$")
    node_type = _string(f"{where}.node_type", _required(f"{where}.node_type", obj, "node_type"))
    if node_type not in NODE_TYPES:
        known = ", ".join(sorted(NODE_TYPES))
        raise ManifestError(f"{where}.node_type: unknown node type '{node_type}' (known: {known})")
    params = _object(f"{where}.params", obj.get("params", {}))
    checked = check_params(f"{where}.params", node_type, params)
    if "capabilities" in obj:
        _object(f"{where}.capabilities", obj["capabilities"])
    if "host" in obj:
        host = _string(f"{where}.host", obj["host"])
        match = HOST_PATTERN.fullmatch(host)
        if not match or not 1 <= int(match.group(1)) <= 65535:
            raise ManifestError(f"{where}.host: expected \"host:port\", got '{host}'")
    return Node(id=node_id, node_type=node_type, params=checked)


def _connections(raw_list: list[Any], types: dict[str, str]) -> list[Connection]:
    seen: set[tuple[str, str]] = set()
    input_from: dict[str, str] = {}
    out = []
    for i, raw in enumerate(raw_list):
        where = f"connections[{i}]"
        obj = _object(where, raw)
        _no_unknown(where, obj, CONNECTION_FIELDS)
        source = _string(f"{where}.from", _required(f"{where}.from", obj, "from"))
        target = _string(f"{where}.to", _required(f"{where}.to", obj, "to"))
        for end, node_id in (("from", source), ("to", target)):
            if node_id not in types:
                raise ManifestError(f"{where}.{end}: unknown node '{node_id}'")
        if types[source] == "DataSinkNode":
            raise ManifestError(f"{where}.from: '{source}' is a DataSinkNode and cannot have outputs")
        if types[target] == "DataSourceNode":
            raise ManifestError(f"{where}.to: '{target}' is a DataSourceNode and cannot have inputs")
        if (source, target) in seen:
            raise ManifestError(f"{where}: duplicate connection '{source}' -> '{target}'")
        if target in input_from:
            raise ManifestError(
                f"{where}.to: '{target}' already has an input from '{input_from[target]}' (fan-in is not supported)"
            )
        seen.add((source, target))
        input_from[target] = source
        out.append(Connection(source, target))
    return out


def _topological_order(nodes: list[Node], connections: list[Connection]) -> list[str]:
    """Kahn's algorithm, always taking the ready node listed first in ``nodes``."""
    position = {n.id: i for i, n in enumerate(nodes)}
    successors: dict[str, list[str]] = {n.id: [] for n in nodes}
    indegree = {n.id: 0 for n in nodes}
    for c in connections:
        successors[c.source].append(c.target)
        indegree[c.target] += 1
    ready = [position[n] for n, d in indegree.items() if d == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        node_id = nodes[heapq.heappop(ready)].id
        order.append(node_id)
        for nxt in successors[node_id]:
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                heapq.heappush(ready, position[nxt])
    if len(order) < len(nodes):
        raise ManifestError(f"connections: cycle {_describe_cycle(nodes, connections, set(order))}")
    return order


def _describe_cycle(nodes: list[Node], connections: list[Connection], acyclic: set[str]) -> str:
    # Without fan-in every node has at most one predecessor, so walking predecessors from any node left
    # over by Kahn's algorithm ends on a cycle; it is then printed forwards from its earliest-listed node.
    predecessor = {c.target: c.source for c in connections}
    position = {n.id: i for i, n in enumerate(nodes)}
    node_id = next(n.id for n in nodes if n.id not in acyclic)
    visited: list[str] = []
    while node_id not in visited:
        visited.append(node_id)
        node_id = predecessor[node_id]
    ring = visited[visited.index(node_id) :]
    ring.reverse()
    start = min(range(len(ring)), key=lambda k: position[ring[k]])
    ring = ring[start:] + ring[:start]
    return " -> ".join(f"'{n}'" for n in [*ring, ring[0]])


def _required(where: str, obj: dict[str, Any], key: str) -> Any:
    if key not in obj:
        raise ManifestError(f"{where}: missing required field")
    return obj[key]


def _no_unknown(where: str, obj: dict[str, Any], allowed: tuple[str, ...]) -> None:
    for key in obj:
        if key not in allowed:
            raise ManifestError(f"{where}: unknown field '{key}'")


def _object(where: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ManifestError(f"{where}: expected an object, got {type_name(value)}")
    return value


def _array(where: str, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise ManifestError(f"{where}: expected an array, got {type_name(value)}")
    return value


def _string(where: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ManifestError(f"{where}: expected a string, got {type_name(value)}")
    return value
