"""Validated manifest objects and the graph facts every runtime needs (topological order, leaves)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Node:
    """One node: its id, type and (validated) parameters."""

    id: str
    node_type: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Connection:
    """A directed edge: items flow from ``source`` to ``target``."""

    source: str
    target: str


@dataclass
class Manifest:
    """A validated pipeline: nodes in manifest order, connections, and the derived graph."""

    name: str
    nodes: list[Node]
    connections: list[Connection]
    description: str | None = None
    text: str = ""
    topo_order: list[str] = field(default_factory=list)

    def node(self, node_id: str) -> Node:
        """The node with ``node_id``."""
        return self._by_id[node_id]

    def __post_init__(self) -> None:
        self._by_id = {n.id: n for n in self.nodes}
        self.successors: dict[str, list[str]] = {n.id: [] for n in self.nodes}
        self.predecessor: dict[str, str | None] = {n.id: None for n in self.nodes}
        for c in self.connections:
            self.successors[c.source].append(c.target)
            self.predecessor[c.target] = c.source

    @property
    def has_code(self) -> bool:
        """Whether a node runs code from the manifest (PythonNode): running it runs a program."""
        return any(n.node_type == "PythonNode" for n in self.nodes)

    @property
    def roots(self) -> list[str]:
        """Nodes without an input, in topological order: each receives the whole input."""
        return [n for n in self.topo_order if self.predecessor[n] is None]

    @property
    def sinks(self) -> list[str]:
        """Leaves (nodes without an output), in topological order: their items are the outputs."""
        return [n for n in self.topo_order if not self.successors[n]]
