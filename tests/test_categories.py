"""Frame categories by family, start-up contexts, transparent frames and per-node attribution.

Frame names and files are as the profilers write them (py-spy with and without --native, perf, callgrind,
massif, memray, scalene); each rule family has a case, and synthetic stacks check how a sample's category
follows from its frames.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rmprof.analysis.bottlenecks import analyse_profile, per_node_function, top_self
from rmprof.analysis.categories import category_shares, frame_category, frame_rule, stack_category
from rmprof.exporters.speedscope import from_speedscope
from rmprof.profile_model import Frame, Profile
from rmprof.profilers.scalene import SHARED_NODE_TASK, profile_from_scalene

PY = "/usr/lib/python3.11"
LIBPY = "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0"
RUSTC = "/rustc/59807616e1fa/library"
CHILD = "/x/rmprof/profilers/profiled_loop.py"
NODES = "/x/rmprof/nodes.py"


@pytest.mark.parametrize(
    ("frame", "category"),
    [
        # glibc's malloc family, by name (py-spy, stripped libc) and by source file (perf, callgrind)
        (Frame("malloc_consolidate", "./malloc/./malloc/malloc.c"), "allocation & GC"),
        (Frame("unlink_chunk.constprop.0", "./malloc/./malloc/malloc.c"), "allocation & GC"),
        (Frame("_int_free"), "allocation & GC"),
        (Frame("_int_free_merge_chunk"), "allocation & GC"),
        (Frame("tcache_get"), "allocation & GC"),
        (Frame("sysmalloc"), "allocation & GC"),
        (Frame("some_new_glibc_helper", "./malloc/./malloc/malloc.c"), "allocation & GC"),
        (Frame("__GI___libc_free"), "allocation & GC"),
        # Rust's allocator, the runtime's counting wrapper, growing a Vec
        (Frame("__rustc::__rust_alloc"), "allocation & GC"),
        (Frame("__rust_dealloc"), "allocation & GC"),
        (
            Frame("<rmprof_runtime::alloc_counter::CountingAlloc as core::alloc::global::GlobalAlloc>::alloc"),
            "allocation & GC",
        ),
        (Frame("grow", "/ci/rust_runtime/src/alloc_counter.rs"), "allocation & GC"),
        (Frame("alloc::raw_vec::RawVecInner<A>::finish_grow"), "allocation & GC"),
        (Frame("alloc", f"{RUSTC}/std/src/sys/alloc/unix.rs"), "allocation & GC"),
        # CPython's allocators and its cyclic GC
        (Frame("list_dealloc", LIBPY), "allocation & GC"),
        (Frame("tupledealloc", LIBPY), "allocation & GC"),
        (Frame("visit_decref", LIBPY), "allocation & GC"),
        (Frame("list_traverse", LIBPY), "allocation & GC"),
        (Frame("allocate_from_new_pool", LIBPY), "allocation & GC"),
        # import machinery and module bodies: start-up, never node compute
        (Frame("_compile_bytecode", "<frozen importlib._bootstrap_external>", 729), "startup & I/O"),
        (Frame("_call_with_frames_removed", "<frozen importlib._bootstrap>", 241), "startup & I/O"),
        (Frame("<module>", NODES, 1), "startup & I/O"),
        (Frame("<module>", "<up>", 1), "startup & I/O"),  # a PythonNode's module code runs once, at load
        (Frame("_run_module_as_main", "<frozen runpy>", 198), "startup & I/O"),
        (Frame("dlopen", "/usr/lib/x86_64-linux-gnu/libc.so.6"), "startup & I/O"),
        (Frame("load_manifest", "/x/rmprof/manifest/load.py", 20), "startup & I/O"),
        (Frame("rmprof_runtime::manifest::Manifest::parse"), "startup & I/O"),
        # PythonNode code is compiled under its node id; CPython's pseudo-files are not node code
        (Frame("process", "<up>", 2), "node compute"),
        (Frame("__init__", "<string>", 2), None),
        # the harness: its measured loop, and the preparation around it
        (Frame("_loop", CHILD, 70), "interpreter"),
        (Frame("main", CHILD, 110), "startup & I/O"),
        # libc I/O, but not Rust's `core::ptr::write<T>` that py-spy names `write<T>`
        (Frame("__GI___libc_write", "./io/../sysdeps/unix/sysv/linux/write.c"), "startup & I/O"),
        (Frame("write<rmprof_runtime::value::Value>", f"{RUSTC}/core/src/ptr/mod.rs"), None),
        (Frame("std::rt::lang_start_internal"), "startup & I/O"),
        # kernel entries: their own category only when no caller is recognised
        (Frame("entry_SYSCALL_64_after_hwframe"), "startup & I/O"),
        (Frame("asm_exc_page_fault"), "startup & I/O"),
        (Frame("[k] do_syscall_64"), "startup & I/O"),
        # text codecs
        (Frame("unicode_decode_utf8", LIBPY), "serialization"),
        (Frame("_PyUnicodeWriter_WriteStr", LIBPY), "serialization"),
        (Frame("PyUnicode_DecodeUTF8Stateful", LIBPY), "serialization"),
        # serialization of the Rust runtime's input
        (Frame("rmprof_runtime::input::Parser::value"), "serialization"),
        (Frame("parse_input_bytes", "/ci/rust_runtime/src/input.rs", 17), "serialization"),
        # the executor's chunk plumbing lives in nodes.rs but is not a node's operation
        (Frame("rmprof_runtime::nodes::Chunk::append_to"), "orchestration"),
        (Frame("append_to", "/ci/rust_runtime/src/nodes.rs", 40), "orchestration"),
        # a node's task loop in the Python runtime, whatever the node's id
        (Frame("node upper (TextTransformNode)", "/x/rmprof/runtimes/python_asyncio.py", 80), "orchestration"),
        (Frame("PythonPrepared.node malloc (CalculatorNode)", "/x/rmprof/runtimes/python_asyncio.py"), "orchestration"),
        # scalene's line frames leave the decision to their function frame
        (Frame("nodes.py:68 def text(item: Any) -> str:", NODES, 68), None),
        # CPython internals without a recognised caller: the interpreter's own work
        (Frame("unicodekeys_lookup_unicode", LIBPY), "interpreter"),
    ],
)
def test_frame_category_by_family(frame: Frame, category: str | None) -> None:
    assert frame_category(frame) == category


@pytest.mark.parametrize(
    ("frame", "kind"),
    [
        (Frame("unicode_decode_utf8", LIBPY), "transparent"),
        (Frame("asm_sysvec_apic_timer_interrupt"), "transparent"),
        (Frame("unicode_hash", LIBPY), "transparent"),
        (Frame("_find_and_load", "<frozen importlib._bootstrap>"), "context"),
        (Frame("main", CHILD), "context"),
        (Frame("_loop", CHILD), "loop"),
        (Frame("malloc"), "own"),
    ],
)
def test_rule_kinds(frame: Frame, kind: str) -> None:
    found = frame_rule(frame)
    assert found is not None and found[1] == kind


LIST_OF = Frame("list_of", "/ci/rust_runtime/src/python.rs", 305)
SCANSTRING = Frame("py_scanstring", f"{PY}/json/decoder.py")
UTF8 = Frame("unicode_decode_utf8", LIBPY)
TEXT_FN = Frame("rmprof_runtime::nodes::text_transform_in_place", "/ci/rust_runtime/src/nodes.rs")
MEMCPY = Frame("__memcpy_avx_unaligned_erms", "../sysdeps/x86_64/multiarch/memmove-vec-unaligned-erms.S")
FREE = Frame("__GI___libc_free", "./malloc/./malloc/malloc.c")
SYSCALL = [Frame("entry_SYSCALL_64_after_hwframe"), Frame("do_syscall_64"), Frame("__x64_sys_munmap")]
PAGE_FAULT = [Frame("asm_exc_page_fault"), Frame("exc_page_fault"), Frame("handle_mm_fault")]


@pytest.mark.parametrize(
    ("stack", "category"),
    [
        # a codec takes its caller's category: boundary under the PyO3 conversion, serialization under json
        ([LIST_OF, UTF8], "Python/Rust boundary"),
        ([SCANSTRING, UTF8], "serialization"),
        ([UTF8], "serialization"),
        # libc's memcpy has no rule: the caller decides
        ([TEXT_FN, MEMCPY], "node compute"),
        # the kernel works for its caller: munmap for free, a page fault for the node touching memory
        ([TEXT_FN, FREE, *SYSCALL], "allocation & GC"),
        ([TEXT_FN, *PAGE_FAULT], "node compute"),
        ([Frame("[unknown]"), *SYSCALL[:2], Frame("__x64_sys_write"), Frame("ksys_write")], "startup & I/O"),
        # CPython's C API called by the boundary is the boundary's cost
        ([LIST_OF, Frame("unicode_hash", LIBPY)], "Python/Rust boundary"),
        # py-spy's sample with no Python frame: the interpreter starting or shutting down
        ([], "startup & I/O"),
    ],
)
def test_transparent_frames_take_their_callers_category(stack: list[Frame], category: str) -> None:
    assert stack_category(stack) == category


ROOT = [
    Frame("_run_module_as_main", "<frozen runpy>", 198),
    Frame("_run_code", "<frozen runpy>", 88),
    Frame("<module>", CHILD, 140),
    Frame("main", CHILD, 110),
]
LOOP = Frame("_loop", CHILD, 70)
RUN = Frame("run", "/x/rmprof/runtimes/python_asyncio.py", 38)
TEXT = Frame("text", NODES, 70)
IMPORT = [
    Frame("_find_and_load", "<frozen importlib._bootstrap>", 1176),
    Frame("exec_module", "<frozen importlib._bootstrap_external>", 940),
    Frame("<module>", NODES, 1),
]


@pytest.mark.parametrize(
    ("stack", "category"),
    [
        ([*ROOT, LOOP, RUN, TEXT], "node compute"),  # the measured loop
        ([*ROOT, RUN, TEXT], "startup & I/O"),  # the checked first run, before the loop
        ([*ROOT, *IMPORT, Frame("_text", NODES, 61)], "startup & I/O"),  # nodes.py's body, imported
        ([*ROOT, *IMPORT, Frame("_compile_bytecode", "<frozen importlib._bootstrap_external>")], "startup & I/O"),
        ([*ROOT, LOOP, RUN, *IMPORT, TEXT], "startup & I/O"),  # a lazy import inside the loop is still one
        ([*ROOT, LOOP], "interpreter"),  # the loop's own bytecode
        ([*ROOT], "startup & I/O"),
        # the Rust binary building its pipeline: start-up, whatever the parser calls
        (
            [Frame("main"), Frame("rmprof_runtime::manifest::Manifest::parse"), Frame("serde_json::de::from_str")],
            "startup & I/O",
        ),
    ],
)
def test_startup_contexts(stack: list[Frame], category: str) -> None:
    assert stack_category(stack) == category


def _profile(stacks: list[tuple[list[Frame], float]], kind: str = "cpu", **kw: str) -> Profile:
    p = Profile(
        runtime=kw.get("runtime", "python"),
        profiler=kw.get("profiler", "py-spy"),
        kind=kind,  # type: ignore[arg-type]
        unit="bytes" if kind == "memory" else "samples",
    )
    for frames, weight in stacks:
        p.add_stack(frames, weight)
    return p


def test_memray_like_profile_never_files_startup_under_node_compute() -> None:
    """A whole-process memory profile (as `memray run` recorded it): imports of rmprof/nodes.py and the
    bytecode they compile hold most of the bytes, the loop's node allocations the rest."""
    p = _profile(
        [
            ([*ROOT, *IMPORT, Frame("_compile_bytecode", "<frozen importlib._bootstrap_external>", 729)], 400.0),
            ([*ROOT, *IMPORT], 100.0),  # nodes.py's module dict
            ([*ROOT, *IMPORT, Frame("_create_fn", f"{PY}/dataclasses.py", 433), Frame("<module>", "<string>")], 50.0),
            ([*ROOT, Frame("load_code_function", NODES, 160), Frame("<module>", "<up>", 1)], 30.0),
            ([*ROOT, LOOP, RUN, TEXT, Frame("<lambda>", NODES, 65)], 120.0),
            ([*ROOT, LOOP, RUN, Frame("_put", f"{PY}/asyncio/queues.py", 54)], 300.0),
        ],
        kind="memory",
        profiler="memray",
    )
    shares = category_shares(p)
    assert shares["node compute"] == pytest.approx(120 / 1000)
    assert shares["startup & I/O"] == pytest.approx(580 / 1000)
    assert shares["orchestration"] == pytest.approx(300 / 1000)
    rows = {r["name"]: r["category"] for r in top_self(p)}
    assert rows["_compile_bytecode"] == "startup & I/O"
    assert rows["<lambda>"] == "node compute"
    assert per_node_function(p) == {"TextTransformNode: text": pytest.approx(0.12)}


def test_memory_profiles_see_through_the_allocator() -> None:
    """In a heap profile every stack ends in the allocator: the category says who allocated."""
    stack = [
        Frame("main"),
        Frame("rmprof_runtime::executor::Pipeline::run"),
        Frame("rmprof_runtime::nodes::text_transform"),
        Frame("alloc::raw_vec::RawVecInner<A>::finish_grow"),
        Frame("__rust_alloc"),
        Frame("malloc"),
    ]
    assert category_shares(_profile([(stack, 10.0)], kind="memory"))["node compute"] == 1.0
    assert category_shares(_profile([(stack, 10.0)]))["allocation & GC"] == 1.0
    # nothing but the allocator: still allocation
    assert category_shares(_profile([([Frame("malloc")], 1.0)], kind="memory"))["allocation & GC"] == 1.0


def test_top_self_category_is_the_category_of_the_samples() -> None:
    p = _profile([([TEXT_FN, MEMCPY], 3.0), ([Frame("rmprof_runtime::executor::Pipeline::run"), MEMCPY], 1.0)])
    (row,) = [r for r in top_self(p) if r["name"] == MEMCPY.name]
    assert row["category"] == "node compute"  # memcpy has no category; most of its time is the node's


EXECUTOR = Frame("rmprof_runtime::executor::Pipeline::run")
APPLY = Frame("rmprof_runtime::nodes::Op::apply")


def test_per_node_names_node_types_for_rust_frames() -> None:
    p = _profile(
        [
            ([EXECUTOR, APPLY, Frame("rmprof_runtime::nodes::apply_text"), TEXT_FN], 50.0),
            ([EXECUTOR, APPLY, Frame("rmprof_runtime::nodes::apply_text"), TEXT_FN, Frame("malloc")], 10.0),
            ([EXECUTOR, APPLY, Frame("rmprof_runtime::unicode14::to_uppercase")], 5.0),
            (
                # py-spy --native: a closure, named after the function it is in
                [
                    APPLY,
                    Frame(
                        "{closure#0}<rmprof_runtime::nodes::apply_calc::{closure_env#1}, rmprof_runtime::nodes::x>",
                        "/ci/rust_runtime/src/nodes.rs",
                        200,
                    ),
                ],
                20.0,
            ),
            ([APPLY, Frame("calc_map<F, G>", "/ci/rust_runtime/src/nodes.rs", 190)], 5.0),
            ([EXECUTOR, APPLY], 5.0),  # inlined: no node type to be seen
            ([EXECUTOR, Frame("rmprof_runtime::nodes::Chunk::append_to")], 5.0),  # plumbing, not a node
        ],
        runtime="rust-bin",
        profiler="perf",
    )
    assert per_node_function(p) == {
        "TextTransformNode: text_transform_in_place": pytest.approx(0.6),
        "CalculatorNode: apply_calc": pytest.approx(0.2),
        "TextTransformNode: unicode14::to_uppercase": pytest.approx(0.05),
        "CalculatorNode: calc_map": pytest.approx(0.05),
        "Op::apply": pytest.approx(0.05),
    }


def test_per_node_names_python_node_functions_and_python_node_code() -> None:
    p = _profile(
        [
            ([RUN, Frame("_calculator.<locals>.arithmetic", NODES, 50), Frame("_number", NODES, 27)], 30.0),
            ([RUN, Frame("_python_node.<locals>.call", NODES, 180), Frame("process", "<up>", 2)], 20.0),
            ([RUN, Frame("_identity", NODES, 23)], 10.0),
            ([RUN, Frame("Queue.put", f"{PY}/asyncio/queues.py")], 40.0),
        ]
    )
    assert per_node_function(p) == {
        "CalculatorNode: _number": pytest.approx(0.3),
        "up (PythonNode)": pytest.approx(0.2),
        "_identity": pytest.approx(0.1),
    }


def test_per_node_by_node_id_where_tasks_are_named() -> None:
    """The Python runtime's `node <id> (<NodeType>)` task frames: a sample belongs to its task's node."""
    asyncio_file = "/x/rmprof/runtimes/python_asyncio.py"
    upper = Frame("node upper (TextTransformNode)", asyncio_file, 80)
    reverse = Frame("node reverse (TextTransformNode)", asyncio_file, 80)
    source = Frame("node source (DataSourceNode)", asyncio_file, 80)
    loop = Frame("BaseEventLoop._run_once", f"{PY}/asyncio/base_events.py")
    put = Frame("Queue.put", f"{PY}/asyncio/queues.py")
    p = _profile(
        [
            ([loop, upper, Frame("_text.<locals>.text", NODES, 70)], 30.0),
            ([loop, upper, put], 10.0),
            ([loop, reverse, Frame("_text.<locals>.<lambda>", NODES, 65)], 20.0),
            ([loop, source, put], 15.0),
            ([loop], 25.0),  # the event loop itself belongs to no node
        ]
    )
    assert per_node_function(p) == {
        "upper (TextTransformNode)": pytest.approx(0.4),
        "reverse (TextTransformNode)": pytest.approx(0.2),
        "source (DataSourceNode)": pytest.approx(0.15),
    }
    shares = analyse_profile(p)["categories"]
    assert shares["node compute"] == pytest.approx(0.5)
    assert shares["orchestration"] == pytest.approx(0.5)


FIXTURE = Path(__file__).resolve().parent / "fixtures" / "run_text"


def test_other_is_small_on_real_profiles() -> None:
    """The fixture run's profiles are real (perf of the binary and of CPython running the extension,
    sampled Python stacks): every one of them leaves at most 5 % unrecognised."""
    results = json.loads((FIXTURE / "results.json").read_text(encoding="utf-8"))
    assert results["profiles"]
    for summary in results["profiles"]:
        doc = json.loads((FIXTURE / summary["file"]).read_text(encoding="utf-8"))
        profile = from_speedscope(doc, summary["runtime"], summary["profiler"], summary["kind"])
        assert category_shares(profile)["other"] <= 0.05, summary["name"]


def test_scalene_names_the_shared_node_task_loop_for_no_node() -> None:
    """scalene keys functions by source line, which every node's copy of the task loop shares: the name it
    reports is one arbitrary node's, so it must not be read as that node's cost."""
    asyncio_file = "/x/rmprof/runtimes/python_asyncio.py"
    doc = {
        "elapsed_time_sec": 1.0,
        "files": {
            asyncio_file: {
                "functions": [{"lineno": 80, "line": "node reverse (TextTransformNode)"}],
                "lines": [
                    {
                        "lineno": 86,
                        "start_function_line": 80,
                        "line": "await queue.put(out)",
                        "n_cpu_percent_python": 60,
                    },
                ],
            },
            NODES: {
                "functions": [{"lineno": 68, "line": "text"}],
                "lines": [
                    {"lineno": 71, "start_function_line": 68, "line": "return f(item)", "n_cpu_percent_python": 40}
                ],
            },
        },
    }
    profile = profile_from_scalene(doc, "python", None)
    assert {f.name for f in profile.frames} >= {SHARED_NODE_TASK, "text"}
    assert per_node_function(profile) == {"TextTransformNode: text": pytest.approx(0.4)}
    assert category_shares(profile)["orchestration"] == pytest.approx(0.6)
