"""The baseline: idiomatic asyncio, one task per node and a bounded queue per edge."""

from __future__ import annotations

import asyncio
from typing import Any

from rmprof.errors import PipelineError
from rmprof.manifest.model import Manifest, Node
from rmprof.nodes import ItemFn, NodeFailure, failure_message, item_function
from rmprof.runtimes.base import Outputs, Prepared, Runtime

# Backpressure bound per edge: a long input never piles up between two nodes.
QUEUE_SIZE = 1024
_END = object()


class _Failure:
    """The first error of one node: (item index, topological position) orders failures."""

    def __init__(self, index: int, position: int, message: str, node: str) -> None:
        self.key = (index, position)
        self.error = PipelineError(message, node=node, item=index)


class PythonPrepared(Prepared):
    """A manifest's node functions plus a reusable event loop."""

    def __init__(self, manifest: Manifest) -> None:
        self.manifest = manifest
        self.functions: dict[str, ItemFn] = {n.id: item_function(n, i) for i, n in enumerate(manifest.nodes)}
        # One loop for every run: asyncio.Runner.run would re-install signal handlers on each call (~12 %
        # of a 100-item run in py-spy), a cost no long-lived asyncio service pays per request.
        self._loop = asyncio.new_event_loop()

    def run(self, items: list[Any]) -> Outputs:
        """Run the pipeline once in the prepared event loop."""
        return self._loop.run_until_complete(self.run_async(items))

    async def run_async(self, items: list[Any]) -> Outputs:
        """Run the pipeline once: a task per node, queues between them."""
        m = self.manifest
        inbox: dict[str, asyncio.Queue[Any]] = {c.target: asyncio.Queue(maxsize=QUEUE_SIZE) for c in m.connections}
        outputs: Outputs = {sink: [] for sink in m.sinks}
        failures: list[_Failure] = []
        async with asyncio.TaskGroup() as group:
            for position, node_id in enumerate(m.topo_order):
                group.create_task(
                    self._node_task(
                        m.node(node_id),
                        position,
                        inbox.get(node_id),
                        [inbox[s] for s in m.successors[node_id]],
                        outputs.get(node_id),
                        items,
                        failures,
                    )
                )
        if failures:
            raise min(failures, key=lambda f: f.key).error
        return outputs

    async def _node_task(
        self,
        node: Node,
        position: int,
        inbox: asyncio.Queue[Any] | None,
        outboxes: list[asyncio.Queue[Any]],
        collected: list[Any] | None,
        items: list[Any],
        failures: list[_Failure],
    ) -> None:
        fn = self.functions[node.id]
        index = 0
        failed = False
        async for item in _receive(inbox, items):
            if failed:
                continue  # keep draining so that upstream never blocks on a full queue
            try:
                out = fn(item)
            except NodeFailure as exc:
                failures.append(_Failure(index, position, failure_message(node, index, str(exc)), node.id))
                failed = True
                continue
            for queue in outboxes:
                await queue.put(out)
            if collected is not None:
                collected.append(out)
            index += 1
        for queue in outboxes:
            await queue.put(_END)

    def close(self) -> None:
        self._loop.close()


async def _receive(inbox: asyncio.Queue[Any] | None, items: list[Any]) -> Any:
    """Items from the node's input queue until the end marker; a root reads the run's input instead."""
    if inbox is None:
        for item in items:
            yield item
        return
    while (item := await inbox.get()) is not _END:
        yield item


class PythonRuntime(Runtime):
    """The asyncio baseline runtime."""

    name = "python"
    description = "Python asyncio executor (baseline): a task per node, a queue per edge"

    def location(self) -> dict[str, Any]:
        """The interpreter running rmprof."""
        import platform
        import sys

        return {"path": sys.executable, "version": platform.python_version()}

    def prepare(self, manifest: Manifest) -> Prepared:
        """Build node functions and an event loop for ``manifest``."""
        return PythonPrepared(manifest)
