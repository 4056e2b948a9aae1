"""The baseline: idiomatic asyncio, one task per node and a bounded queue per edge.

Two code paths run the same graph. ``run`` is the headline: the node loop reads no clock. ``run_instrumented``
is a separate pass with a twin of the node loop that times each node's running stretches (see
``_timed_node_task``). In both, each node's task coroutine is a copy of the loop whose code object is named
``node <id> (<type>)``, so that sampling profilers (py-spy, scalene, memray) show which node a stack is in.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import struct
import types
from collections import Counter
from collections.abc import Callable, Coroutine, Iterable, Iterator
from time import perf_counter_ns
from typing import TYPE_CHECKING, Any

from rmprof.errors import PipelineError
from rmprof.manifest.model import Manifest, Node
from rmprof.nodes import ItemFn, NodeFailure, failure_message, item_function
from rmprof.runtimes.base import Outputs, Prepared, Runtime

if TYPE_CHECKING:
    from rmprof.model.node_timing import NodeTiming
    from rmprof.ndjson import OutputWriter

# Backpressure bound per edge: a long input never piles up between two nodes.
QUEUE_SIZE = 1024
_END = object()
# A queue hop stores one object reference in the queue's deque and copies nothing else.
REFERENCE_BYTES = struct.calcsize("P")


class _Failure:
    """The first error of one node: (item index, topological position) orders failures."""

    def __init__(self, index: int, position: int, message: str, node: str) -> None:
        self.key = (index, position)
        self.error = PipelineError(message, node=node, item=index)


class _NodeTimes:
    """What one node's timed task measured, in running ns, and its own time per item."""

    __slots__ = ("get_ns", "own_ns", "put_ns", "latencies", "received")

    def __init__(self, outboxes: int) -> None:
        self.get_ns = 0  # taking items from the inbox, the end marker included (part of the inbound hop)
        self.own_ns = 0  # the node function, collecting a leaf's output, the loop, creating and starting the task
        self.put_ns = [0] * outboxes  # handing items and the end marker to each successor (its outbound hops)
        self.latencies: list[int] = []  # own ns per item: the function call (and a leaf's collecting)
        self.received = 0


class _Timeline:
    """Clock readings shared by the tasks of one timed run.

    Only one task runs at a time, so the event loop's work between two tasks' stretches (waking a task,
    finishing one) lies between one task's last reading (``stopped``) and the next one's first: the task
    that resumes counts that gap, as the cost of switching to it.
    """

    __slots__ = ("stopped", "setup")

    def __init__(self) -> None:
        self.stopped = 0
        self.setup = 0  # when the run began creating tasks (what came before is the event loop's)

    def begin(self) -> None:
        """The run starts creating its tasks: what came before is the event loop's."""
        self.setup = self.stopped = perf_counter_ns()

    def charge(self, times: _NodeTimes) -> None:
        """Count the time since the last reading (creating its task) as the node's own."""
        now = perf_counter_ns()
        times.own_ns += now - self.stopped
        self.stopped = now


def node_label(node: Node) -> str:
    """The name a node's task frame carries in profiles: ``node upper (TextTransformNode)``."""
    return f"node {node.id} ({node.node_type})"


def _renamed(function: Callable[..., Any], name: str) -> Callable[..., Any]:
    """A copy of ``function`` whose code object (what profilers read for a frame's name) is called ``name``.

    Made once per node when a pipeline is prepared, so naming costs nothing per run or per item.
    """
    code = function.__code__.replace(co_name=name, co_qualname=name)
    return types.FunctionType(code, function.__globals__, name, function.__defaults__, function.__closure__)


class PythonPrepared(Prepared):
    """A manifest's node functions plus a reusable event loop."""

    def __init__(self, manifest: Manifest) -> None:
        self.manifest = manifest
        self.functions: dict[str, ItemFn] = {n.id: item_function(n, i) for i, n in enumerate(manifest.nodes)}
        labels = {n.id: node_label(n) for n in manifest.nodes}
        # Unbound copies of the node loops, one per node, called with ``self`` first.
        self.node_tasks: dict[str, Callable[..., Coroutine[Any, Any, None]]] = {
            i: _renamed(PythonPrepared._node_task, label) for i, label in labels.items()
        }
        self.timed_node_tasks: dict[str, Callable[..., Coroutine[Any, Any, None]]] = {
            i: _renamed(PythonPrepared._timed_node_task, label) for i, label in labels.items()
        }
        # One loop for every run: asyncio.Runner.run would re-install signal handlers on each call (~12 %
        # of a 100-item run in py-spy), a cost no long-lived asyncio service pays per request.
        self._loop = asyncio.new_event_loop()

    def run(self, items: list[Any]) -> Outputs:
        """Run the pipeline once in the prepared event loop."""
        return self._complete(self.run_async(items))

    def _complete(self, run: Coroutine[Any, Any, Any]) -> Any:
        """Run ``run`` to its end in the prepared loop. When Ctrl-C (or SIGTERM's exception) interrupts it, the
        run is cancelled and its node tasks wound up before the exception goes on, as ``asyncio.run`` does:
        no task is left pending for the interpreter to complain about at exit."""
        task = self._loop.create_task(run)
        try:
            return self._loop.run_until_complete(task)
        except BaseException:
            if not task.done():
                task.cancel()
                with contextlib.suppress(BaseException):
                    self._loop.run_until_complete(task)
            if task.done() and not task.cancelled():
                task.exception()  # retrieved: the exception raised here is the one reported
            raise

    async def run_async(self, items: list[Any]) -> Outputs:
        """Run the pipeline once: a task per node, queues between them."""
        return await self._run_graph(items)

    async def _run_graph(
        self,
        items: Iterable[Any],
        *,
        writer: OutputWriter | None = None,
        timed: tuple[dict[str, _NodeTimes], _Timeline] | None = None,
    ) -> Outputs:
        """The wiring of every run: a bounded queue per edge, a task per node in one task group, the roots
        reading ``items``, each sink collecting its outputs (returned); the first failure is raised.

        With a ``writer`` the input is a stream, read once (several roots get it through a feeder task), and
        the sinks hand their items to the writer instead (the outputs returned are then empty). With ``timed``
        (the nodes' times and the run's timeline) each node runs its timed loop, and creating its task counts
        as the node's own time.
        """
        m = self.manifest
        inbox: dict[str, asyncio.Queue[Any]] = {c.target: asyncio.Queue(maxsize=QUEUE_SIZE) for c in m.connections}
        # A stream is read once: when several roots need its items, a feeder task hands each to all of them.
        roots = m.roots if writer is not None else []
        fed = roots if len(roots) > 1 else []
        inbox.update({r: asyncio.Queue(maxsize=QUEUE_SIZE) for r in fed})
        outputs: Outputs = {sink: [] for sink in m.sinks} if writer is None else {}
        collect: dict[str, Any] = outputs
        to_writer: dict[str, asyncio.Queue[Any]] = {}
        if writer is not None and len(m.sinks) == 1:  # one sink writes as it goes (its order is the item order)
            collect = {m.sinks[0]: writer.sink_writer(m.sinks[0])}
        elif writer is not None:  # several go through the writer task, which interleaves them item-major
            to_writer = {sink: asyncio.Queue(maxsize=QUEUE_SIZE) for sink in m.sinks}
        failures: list[_Failure] = []
        try:
            async with asyncio.TaskGroup() as group:
                if fed:
                    group.create_task(_feed(items, [inbox[r] for r in fed]))
                if timed:
                    timed[1].begin()
                for position, node_id in enumerate(m.topo_order):
                    outboxes = [inbox[s] for s in m.successors[node_id]]
                    if node_id in to_writer:
                        outboxes.append(to_writer[node_id])
                    args = (self, m.node(node_id), position, inbox.get(node_id), outboxes, collect.get(node_id))
                    if timed:
                        times, timeline = timed[0][node_id], timed[1]
                        group.create_task(self.timed_node_tasks[node_id](*args, items, failures, times, timeline))
                        timeline.charge(times)
                    else:
                        group.create_task(self.node_tasks[node_id](*args, items, failures))
                if to_writer:
                    group.create_task(_write_item_major(list(to_writer.items()), writer))
        except BaseExceptionGroup as group_error:
            raise _first_leaf(group_error) from None
        if failures:
            raise min(failures, key=lambda f: f.key).error
        if writer is not None:
            for sink_writer in collect.values():
                sink_writer.flush()
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
        received = _receive(inbox, items)
        try:
            async for item in received:
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
        except BaseException:
            # Closed here, in the task: an interrupt (Ctrl-C in a node's code) would otherwise leave the generator
            # for the loop to finalize later, and the interpreter would complain at exit of a task left pending.
            # (An `async with aclosing(...)` does the same on every run, at a cost of 2-4 % of a small one.)
            await received.aclose()
            raise
        for queue in outboxes:
            await queue.put(_END)

    def run_ndjson(self, input_path: str, label: str, output_path: str) -> dict[str, Any]:
        """Stream the NDJSON file ``input_path`` through the pipeline into the NDJSON file ``output_path``.

        The reading root (or a feeder task, when several roots share the input) takes one line at a time,
        every edge is a bounded queue, and each sink hands its items to a writer task through one more
        bounded queue: the writer takes them item-major (every sink's item 0, then item 1, ...), so memory
        stays bounded and the lines come in the order every runtime writes. Returns ``{"items", "sinks"}``;
        raises InputError (``LABEL:LINE: why``) or PipelineError; the file then holds partial output.
        """
        from rmprof import ndjson

        with open(output_path, "w", encoding="utf-8", newline="") as fh:
            writer = ndjson.OutputWriter(fh, list(self.manifest.sinks))
            items = _Counted(ndjson.read_items(input_path, label))
            self._complete(self._run_graph(items, writer=writer))
            writer.flush()
        return {"items": items.count, "sinks": writer.counts}

    def run_instrumented(self, items: list[Any]) -> NodeTiming:
        """Run once with per-node timing: where the time of a run went, by node and by queue hop.

        Outputs and errors are those of ``run``. The clock is read between get, function and puts of each
        item and around each suspension. One task runs at a time and each reading ends one stretch and
        begins the next, so the stretches tile ``wall_ns`` (the whole pass, from entering the event loop to
        leaving it): every nanosecond is counted once, in one of

        - a node's ``ns``: its own work (function calls, a leaf's collecting of outputs, its loop), creating
          its task, and the event loop's work to start it;
        - a ``queue_hop`` edge (one per connection, manifest order): the upstream task's puts into the
          queue, the downstream task's gets from it, and the loop's switching to a task that waited on it.
          Hops are not inside node ``ns``: node ns plus edge ns make up ``wall_ns``. ``bytes``: a hop
          stores one object reference in the queue and copies nothing, so it is ``items`` × the pointer
          size (8 on 64-bit builds), whatever the item's size;
        - the ``event_loop`` edge ("event loop (run start and end)"): entering the loop, the queues, the
          task group, and leaving; ``items`` is the input's length, ``bytes`` None (nothing is moved).

        ``p50_ns``/``p95_ns``/``p99_ns``: percentiles of the node's own ns per item from an HDR histogram
        (3 significant digits). ``items`` counts the items the node received, ``calls`` its function calls.
        The clock reads (about 50 ns each; per item and node two, plus one per successor) fall inside the
        stretches they end, adding to nodes and hops alike: compare ``wall_ns`` with a plain ``run``.
        """
        m = self.manifest
        times = {node_id: _NodeTimes(len(m.successors[node_id])) for node_id in m.topo_order}
        timeline = _Timeline()
        start = perf_counter_ns()
        outputs = self._loop.run_until_complete(self._run_graph(items, timed=(times, timeline)))
        end = perf_counter_ns()
        loop_ns = (timeline.setup - start) + (end - timeline.stopped)
        return _timing_result(m, outputs, end - start, loop_ns, len(items), times)

    async def _timed_node_task(
        self,
        node: Node,
        position: int,
        inbox: asyncio.Queue[Any] | None,
        outboxes: list[asyncio.Queue[Any]],
        collected: list[Any] | None,
        items: list[Any],
        failures: list[_Failure],
        times: _NodeTimes,
        timeline: _Timeline,
    ) -> None:
        """``_node_task`` reading the clock between get, function and puts, and around suspensions.

        The loop suspends only when its inbox is empty or an outbox full: the non-blocking get/put is tried
        first (all that ``Queue.get``/``put`` do when they need not wait), and only a real wait stops this
        task's clock, so another task's work is never counted here.
        """
        clock = perf_counter_ns
        fn = self.functions[node.id]
        # A root takes items from the run's input as a non-root takes them from its inbox, end marker last.
        get_nowait = itertools.chain(items, (_END,)).__next__ if inbox is None else inbox.get_nowait
        latencies = times.latencies
        put_ns = times.put_ns
        get_ns = received = 0
        index = 0
        failed = False
        mark = clock()
        own_ns = mark - timeline.stopped
        while True:
            try:
                item = get_nowait()
            except asyncio.QueueEmpty:
                paused = timeline.stopped = clock()
                get_ns += paused - mark
                item = await inbox.get()  # type: ignore[union-attr] - only a queue can be empty
                mark = clock()
                get_ns += mark - timeline.stopped
            now = clock()
            get_ns += now - mark
            mark = now
            if item is _END:
                break
            received += 1
            if failed:
                continue  # keep draining so that upstream never blocks on a full queue
            try:
                out = fn(item)
            except NodeFailure as exc:
                failures.append(_Failure(index, position, failure_message(node, index, str(exc)), node.id))
                failed = True
                continue
            if collected is not None:
                collected.append(out)
            now = clock()
            latencies.append(now - mark)
            own_ns += now - mark
            mark = now
            for k, queue in enumerate(outboxes):
                try:
                    queue.put_nowait(out)
                except asyncio.QueueFull:
                    mark = await _timed_put(queue, out, mark, timeline, put_ns, k)
                now = clock()
                put_ns[k] += now - mark
                mark = now
            index += 1
        for k, queue in enumerate(outboxes):
            try:
                queue.put_nowait(_END)
            except asyncio.QueueFull:
                mark = await _timed_put(queue, _END, mark, timeline, put_ns, k)
            now = clock()
            put_ns[k] += now - mark
            mark = now
        timeline.stopped = mark
        times.get_ns, times.received = get_ns, received
        times.own_ns += own_ns

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


class _Counted:
    """An iterator that counts the items taken from it."""

    def __init__(self, items: Iterator[Any]) -> None:
        self._items = items
        self.count = 0

    def __iter__(self) -> Iterator[Any]:
        for item in self._items:
            self.count += 1
            yield item


async def _feed(items: Iterable[Any], queues: list[asyncio.Queue[Any]]) -> None:
    """Hand every item, then the end marker, to each of several roots' queues."""
    for item in items:
        for queue in queues:
            await queue.put(item)
    for queue in queues:
        await queue.put(_END)


async def _write_item_major(sinks: list[tuple[str, asyncio.Queue[Any]]], writer: Any) -> None:
    """Write sink items item-major: every sink's item 0, then every sink's item 1, ...

    Each sink's queue is bounded, so a sink running ahead waits for the others (back-pressure). A sink that
    ends early failed: the rest is drained, unwritten, so that no task blocks; the run then raises.
    """
    while True:
        for sink, queue in sinks:
            item = await queue.get()
            if item is _END:
                for _, other in sinks:
                    if other is not queue:
                        while await other.get() is not _END:
                            pass
                return
            writer.write(sink, item)


def _first_leaf(error: BaseException) -> BaseException:
    """The first exception inside (nested) exception groups: what ended a task group."""
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return error


async def _timed_put(
    queue: asyncio.Queue[Any], item: Any, mark: int, timeline: _Timeline, put_ns: list[int], k: int
) -> int:
    """Wait until ``queue`` takes ``item``; the running time around the wait counts as the hop's (outbox
    ``k``), the wait itself does not. Returns the new stretch start."""
    paused = timeline.stopped = perf_counter_ns()
    put_ns[k] += paused - mark
    await queue.put(item)
    resumed = perf_counter_ns()
    put_ns[k] += resumed - timeline.stopped
    return resumed


def _percentiles(latencies: list[int]) -> dict[str, int]:
    """p50/p95/p99 of per-item latencies from an HDR histogram (0 for a node that saw no item)."""
    if not latencies:
        return {"p50_ns": 0, "p95_ns": 0, "p99_ns": 0}
    from hdrh.histogram import HdrHistogram  # imported here: only an instrumented run needs it

    # The range ends at the largest sample, so that no value falls outside it and the histogram stays small.
    histogram = HdrHistogram(1, max(2, max(latencies)), 3)
    for value, count in Counter(latencies).items():
        histogram.record_value(value, count)
    at = histogram.get_percentile_to_value_dict([50, 95, 99])
    return {"p50_ns": int(at[50]), "p95_ns": int(at[95]), "p99_ns": int(at[99])}


def _timing_result(
    m: Manifest, outputs: Outputs, wall_ns: int, loop_ns: int, input_items: int, times: dict[str, _NodeTimes]
) -> NodeTiming:
    """The ``run_instrumented`` dictionary from what the timed tasks measured."""
    nodes = [
        {
            "node": node_id,
            "node_type": m.node(node_id).node_type,
            # A root's gets read the run's input: no queue, so its own work.
            "ns": times[node_id].own_ns + (times[node_id].get_ns if m.predecessor[node_id] is None else 0),
            "items": times[node_id].received,
            "calls": len(times[node_id].latencies),
            **_percentiles(times[node_id].latencies),
        }
        for node_id in m.topo_order
    ]
    edges = []
    for c in m.connections:
        downstream = times[c.target]
        put_ns = times[c.source].put_ns[m.successors[c.source].index(c.target)]
        edges.append(
            {
                "edge": f"{c.source} → {c.target}",
                "kind": "queue_hop",
                "ns": put_ns + downstream.get_ns,
                "items": downstream.received,
                "bytes": downstream.received * REFERENCE_BYTES,
            }
        )
    edges.append(
        {
            "edge": "event loop (run start and end)",
            "kind": "event_loop",
            "ns": loop_ns,
            "items": input_items,
            "bytes": None,
        }
    )
    return {"outputs": outputs, "granularity": "item", "wall_ns": wall_ns, "nodes": nodes, "edges": edges}


class PythonRuntime(Runtime):
    """The asyncio baseline runtime."""

    name = "python"
    label = "python (asyncio baseline)"
    description = "Python asyncio executor (baseline): a task per node, a queue per edge"
    order = 10
    profilers = ("py-spy", "scalene", "memray", "perf")
    fix = "reinstall rmprof (./scripts/setup.sh or pip install .)"
    machine_reference = "python"  # its time is interpreted Python's: judged against the Python reference

    def location(self) -> dict[str, Any]:
        """The interpreter running rmprof."""
        import platform
        import sys

        return {"path": sys.executable, "version": platform.python_version()}

    def prepare(self, manifest: Manifest) -> Prepared:
        """Build node functions and an event loop for ``manifest``."""
        return PythonPrepared(manifest)
