"""One instrumented pass, as ``Prepared.run_instrumented`` returns it and a binary's ``--node-timing`` prints it.

Three producers write it: rmprof/runtimes/python_asyncio.py, rust_runtime/src/python/pipeline.rs (in-process)
and rust_runtime/src/timing.rs (the binaries); rmprof/node_timing.schema.json is its schema (tests validate each
producer's). The document has no ``"schema"`` field of its own: the schema's ``$id`` (node-timing-v1) versions it.

Node ns plus edge ns account for (close to) all of ``wall_ns``: each node's share of the run is ``ns / wall_ns``.
Edge kinds: ``queue_hop`` / ``event_loop`` (python), ``input_conversion`` / ``output_conversion`` (in-process
Rust), ``json_parse`` / ``json_serialize`` (the binaries); ``bytes`` is defined by the runtime that measures it.
"""

from typing import Any, Literal, NotRequired, TypedDict

# What one latency sample covers: one item at one node, or one chunk at one node (runtimes that batch items).
Granularity = Literal["item", "chunk"]


class NodeTime(TypedDict):
    """One node of the pass, in topological order."""

    node: str
    node_type: str
    ns: float  # all the time attributable to the node (op, copies, moves)
    items: int  # items handed to the node
    calls: int  # latency samples: items or chunks, per the granularity
    p50_ns: float  # latency per sample
    p95_ns: float
    p99_ns: float


class EdgeTime(TypedDict):
    """One boundary crossing (a queue hop, a conversion, JSON parsing or writing)."""

    edge: str
    kind: str
    ns: float
    items: int
    bytes: NotRequired[int | None]


class NodeTiming(TypedDict):
    """The whole pass; ``outputs`` (as ``run`` returns them) is left out once the bench has checked them."""

    outputs: NotRequired[dict[str, list[Any]]]
    granularity: Granularity
    wall_ns: float  # the whole instrumented pass, boundaries included
    nodes: list[NodeTime]
    edges: NotRequired[list[EdgeTime]]  # none for a runtime without boundaries
