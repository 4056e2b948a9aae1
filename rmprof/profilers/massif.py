"""valgrind massif on the Rust binary: the heap at its peak, as allocation call trees in bytes.

Massif writes snapshots; the peak one (``heap_tree=peak``) carries a tree whose root is the allocation
functions and whose children are their callers, outermost (main) at the leaves. A stack here is the path
from a leaf back to the root, reversed so that it is root first (main ... allocating function); its
weight is the leaf's bytes. Leaves' bytes sum to the peak's ``mem_heap_B``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from rmprof.child_failure import last_line
from rmprof.profile_model import Frame, Profile
from rmprof.profilers.base import ProfileJob, ProfilerGap, malformed_output
from rmprof.profilers.binary_tools import (
    bash,
    binary_result,
    check_outputs,
    pipeline_args,
    run_logged,
    rust_name,
)
from rmprof.profilers.callgrind import ValgrindProfiler

TOP_SITES = 15


@dataclass
class HeapNode:
    """One node of a massif heap tree: bytes, the function (file, line) and its callers as children."""

    bytes: int
    name: str
    file: str | None = None
    line: int | None = None
    children: list[HeapNode] = field(default_factory=list)


@dataclass
class Snapshot:
    """One massif snapshot: its index, time, heap bytes, and its tree when detailed."""

    index: int
    time: int = 0
    heap_b: int = 0
    heap_extra_b: int = 0
    stacks_b: int = 0
    tree_kind: str = "empty"
    tree: HeapNode | None = None


_NODE = re.compile(r"^(?P<indent> *)n(?P<n>\d+): (?P<bytes>\d+) (?P<rest>.*)$")
_SITE = re.compile(r"^0x[0-9A-Fa-f]+: (?P<fn>.*?)(?: \((?P<loc>[^()]*)\))?$")
_BELOW = re.compile(r"^in (?P<places>\d+) places?, (?:all )?below massif's threshold")


def parse_massif(text: str) -> list[Snapshot]:
    """Parse massif.out: snapshot headers and the heap trees of detailed and peak snapshots."""
    snapshots: list[Snapshot] = []
    current: Snapshot | None = None
    stack: list[tuple[int, HeapNode]] = []  # (depth, node) of the open path while reading a tree
    with_tree_line: set[int] = set()  # snapshots whose heap_tree= line was read
    declared: list[tuple[Snapshot, HeapNode, int]] = []  # each node with the child count its line declares
    for raw in text.splitlines():
        if raw.startswith("snapshot="):
            current = Snapshot(index=int(raw.split("=", 1)[1]))
            snapshots.append(current)
            stack = []
            continue
        if current is None:
            continue
        key, sep, value = raw.partition("=")
        if sep and key in ("time", "mem_heap_B", "mem_heap_extra_B", "mem_stacks_B"):
            setattr(
                current,
                {
                    "time": "time",
                    "mem_heap_B": "heap_b",
                    "mem_heap_extra_B": "heap_extra_b",
                    "mem_stacks_B": "stacks_b",
                }[key],
                int(value),
            )
            continue
        if sep and key == "heap_tree":
            current.tree_kind = value.strip()
            with_tree_line.add(current.index)
            continue
        m = _NODE.match(raw)
        if not m:
            continue
        depth = len(m["indent"])
        node = _heap_node(int(m["bytes"]), m["rest"])
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if stack:
            stack[-1][1].children.append(node)
        else:
            current.tree = node
        stack.append((depth, node))
        declared.append((current, node, int(m["n"])))
    _check_complete(text, snapshots, with_tree_line, declared)
    return snapshots


def _check_complete(
    text: str, snapshots: list[Snapshot], with_tree_line: set[int], declared: list[tuple[Snapshot, HeapNode, int]]
) -> None:
    """ValueError unless every snapshot was read whole: its heap_tree= line, and every tree node with the
    children its ``nN:`` announces. A cut file must not pass as a smaller heap."""
    if not text.strip():
        return
    if not snapshots:
        raise ValueError("no 'snapshot=' line in it: not a massif output file")
    if not text.endswith("\n"):
        raise ValueError(f"it ends in the middle of a line after snapshot {snapshots[-1].index}: the file is truncated")
    if any(s.heap_b for s in snapshots) and not any(s.tree_kind == "peak" for s in snapshots):
        # Massif always writes the peak (exactly, with --peak-inaccuracy=0.0 as scripts/perf/massif.sh asks).
        raise ValueError(f"no peak snapshot among {len(snapshots)}: the file is truncated")
    for snap in snapshots:
        if snap.index not in with_tree_line or (snap.tree_kind != "empty" and snap.tree is None):
            raise ValueError(f"snapshot {snap.index} is incomplete: the file is truncated")
    for snap, node, children in declared:
        if len(node.children) != children:
            raise ValueError(
                f"the heap tree of snapshot {snap.index} is cut short at {node.name!r} "
                f"({len(node.children)} of {children} callers): the file is truncated"
            )


def _heap_node(size: int, rest: str) -> HeapNode:
    """A tree node from the text after its byte count."""
    below = _BELOW.match(rest)
    if below:
        places = int(below["places"])
        return HeapNode(size, f"[{places} site{'s' if places != 1 else ''} below massif's threshold]")
    site = _SITE.match(rest)
    if not site:
        # The root: "(heap allocation functions) malloc/new/new[], --alloc-fns, etc."
        return HeapNode(size, rest.strip())
    name, file, line = rust_name(site["fn"].strip()), None, None
    loc = site["loc"] or ""
    if loc.startswith("in "):
        file = loc[3:]
    elif ":" in loc:
        file, _, line_text = loc.rpartition(":")
        line = int(line_text) if line_text.isdigit() else None
    return HeapNode(size, name, file, line)


def peak_snapshot(snapshots: list[Snapshot]) -> Snapshot | None:
    """The snapshot massif marked as the peak (else the detailed one with the most heap)."""
    for snap in snapshots:
        if snap.tree_kind == "peak":
            return snap
    detailed = [s for s in snapshots if s.tree is not None]
    return max(detailed, key=lambda s: s.heap_b) if detailed else None


def tree_to_profile(snap: Snapshot, runtime: str, **kwargs: Any) -> tuple[Profile, list[dict[str, Any]]]:
    """Root-first stacks to every leaf of the peak tree (bytes), and the heaviest allocation sites."""
    profile = Profile(runtime=runtime, profiler="massif", kind="memory", unit="bytes", **kwargs)
    sites: dict[tuple[str, str | None, int | None], int] = defaultdict(int)
    if snap.tree is None:
        return profile, []

    def walk(node: HeapNode, path: list[HeapNode]) -> None:
        if not node.children:
            # Lines stay out of the frames (one box per function); they are kept in top_sites.
            frames = [Frame(n.name, files.get(n.name)) for n in reversed(path)] or [Frame(node.name)]
            if node.bytes:
                profile.add_stack(frames, node.bytes)
                site = _site_of(path) if path else node
                sites[(site.name, site.file, site.line)] += node.bytes
            return
        for child in node.children:
            walk(child, [*path, child])

    # Massif abbreviates a file it has already shown ("library/alloc/src/alloc.rs", later "alloc.rs"):
    # one file per function, the longest seen, keeps each function one flame graph box.
    files: dict[str, str] = {}

    def collect(node: HeapNode) -> None:
        if node.file and len(node.file) > len(files.get(node.name, "")):
            files[node.name] = node.file
        for child in node.children:
            collect(child)

    collect(snap.tree)
    walk(snap.tree, [])
    top = sorted(sites.items(), key=lambda kv: (-kv[1], kv[0][0]))[:TOP_SITES]
    return profile, [{"name": n, "file": f, "line": ln, "bytes": b} for (n, f, ln), b in top]


_ALLOCATOR = re.compile(r"GlobalAlloc>::|^__rust_|^__rdl_|^(malloc|calloc|realloc|free)$")
_LIBRARY_ROOTS = (
    "core::",
    "alloc::",
    "std::",
    "hashbrown::",
    "<core::",
    "<alloc::",
    "<std::",
    "<str>",
    "<[",
    "<u8>",
    "<char>",
    "<&",
)


def _site_of(path: list[HeapNode]) -> HeapNode:
    """The allocation site of a path (allocator end first): the innermost qualified non-library frame.

    Inlined frames carry short names (``with_capacity<u8>``) that cannot be told apart from library code,
    so a site is the first fully qualified (``a::b``) frame outside core/alloc/std and the allocator;
    when there is none, the direct caller of the allocation function.
    """
    for node in path:
        head = node.name.split("<", 1)[0] if not node.name.startswith("<") else node.name
        qualified = "::" in head
        if qualified and not _ALLOCATOR.search(node.name) and not node.name.startswith(_LIBRARY_ROOTS):
            return node
    return path[0]


class Massif(ValgrindProfiler):
    """valgrind --tool=massif on rmprof-runtime for a few iterations of the scenario's input."""

    name = "massif"
    kind = "memory"
    slowdown = 30.0  # massif tracks each heap block: slower than a plain run, faster than callgrind

    def profile(self, job: ProfileJob) -> list[Profile]:
        """Run massif, check the child's outputs, and turn the peak snapshot into a bytes profile."""
        binary, wrapper, version = self.tools(job)
        job.raw_dir.mkdir(parents=True, exist_ok=True)
        job, choice = self.choose(job)
        iterations = choice.iterations
        out_file = job.raw_dir / f"{job.runtime}.massif.out"
        out_file.unlink(missing_ok=True)
        job.progress(f"massif: {iterations} iterations of {job.scenario_name}")
        cmd = [bash(), str(wrapper), "-o", str(out_file), "--", str(binary), *pipeline_args(job, iterations)]
        proc, _ = run_logged(cmd, job.raw_dir, f"{job.runtime}.massif", job.timeout_s, "massif")
        doc = binary_result(binary, proc, "massif")
        if not out_file.is_file():
            raise ProfilerGap(f"massif wrote no output file: {last_line(proc.stderr)}", None)
        outputs_check = check_outputs(doc, job.expected_path, "massif")
        with malformed_output("massif", out_file):
            snapshots = parse_massif(out_file.read_text(encoding="utf-8", errors="replace"))
        peak = peak_snapshot(snapshots)
        if peak is None or peak.tree is None:
            raise ProfilerGap(f"massif recorded no detailed heap snapshot ({out_file})", None)
        profile, top_sites = tree_to_profile(peak, runtime=job.runtime, tool_version=version)
        profile.sample_count = len(snapshots)
        profile.meta = {
            "peak_heap_bytes": peak.heap_b,
            "peak_heap_extra_bytes": peak.heap_extra_b,
            "peak_snapshot": peak.index,
            "peak_time_instructions": peak.time,
            "snapshots": len(snapshots),
            "top_sites": top_sites,
            "iterations": iterations,
            "budget": choice.to_json(),
            "outputs_check": outputs_check,
            "binary": str(binary),
            "raw": [str(out_file)],
        }
        return [profile]
