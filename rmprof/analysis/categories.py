"""Which kind of work a stack sample is: orchestration, node compute, allocation, boundary, ...

A sample takes the category of the deepest frame on its stack that a rule recognises, so that
`core::str::to_uppercase` under a node function counts as node compute while `malloc` under the same
node counts as allocation. Rules match frame names and file paths of Python, CPython's C API, glibc, the
Linux kernel and Rust, by family (glibc's malloc internals by their source file, CPython's codecs by
their prefixes) rather than by the names one profile happened to show. Two kinds of frame bend that rule:

- *Start-up contexts* (an import, loading the manifest, building the pipeline, the profiled child's
  preparation and checked first run): everything under them is "startup & I/O", whatever it computes,
  so that a whole-process profile shows start-up as its own block and never as node compute. The
  child's measured loop (`_loop`) ends the search: what runs under it is the steady state.
- *Transparent* frames do work on behalf of their caller and say nothing about it on their own: a kernel
  entry (a system call, a page fault, a timer interrupt), a text codec, and in a memory profile the
  allocator itself (every allocation ends in it; the question a heap profile answers is who allocated).
  The sample takes the category of the nearest recognised caller, the frame's own only when none is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from rmprof.profile_model import Frame, Profile

CATEGORIES = (
    "orchestration",
    "node compute",
    "allocation & GC",
    "Python/Rust boundary",
    "serialization",
    "interpreter",
    "startup & I/O",
    "other",
)
ALLOCATION = "allocation & GC"
STARTUP = "startup & I/O"

# The Python runtime names each node's task coroutine `node <id> (<NodeType>)` (py-spy may prefix the class).
NODE_TASK = re.compile(r"(?:^|\.)node ([A-Za-z0-9_-]+) \(([A-Za-z_][A-Za-z0-9_]*)\)$")
# scalene's line frames (`nodes.py:68 def text(...)`): their function frame, one level up, says what they are.
_SCALENE_LINE = re.compile(r"^[^\s/:]+\.py:\d+(?: |$)")
# PythonNode code is compiled under `<node id>`; CPython's own pseudo-files are not node code.
# PythonNode code is compiled under the file name `<node ID>` (`<ID>` in runs and runtimes before that).
_NODE_CODE_FILE = re.compile(r"^<(?:node )?([A-Za-z0-9_-]+)>$")
_PSEUDO_FILES = frozenset({"<string>", "<stdin>", "<unknown>", "<module>"})
# The profiled child (rmprof/profilers/profiled_loop.py, or scalene's launcher of it): the harness, not the pipeline.
# child.py is the same file in runs saved before it was renamed.
_HARNESS_FILE = re.compile(r"rmprof/profilers/(child|profiled_loop)\.py$|scalene_launch\.py$")


# How a recognised frame decides its sample's category (see the module docstring).
Kind = Literal["own", "transparent", "context", "loop"]


@dataclass(frozen=True)
class Rule:
    """Frames whose name (or file) matches belong to ``category``; ``both`` needs name and file to match."""

    category: str
    name: re.Pattern[str] | None = None
    file: re.Pattern[str] | None = None
    both: bool = False
    kind: Kind = "own"
    # Frames whose file matches are never this rule's, whatever their name.
    not_file: re.Pattern[str] | None = None

    def matches(self, name: str, file: str | None) -> bool:
        if self.not_file is not None and file is not None and self.not_file.search(file):
            return False
        name_hit = self.name is not None and self.name.search(name) is not None
        file_hit = self.file is not None and file is not None and self.file.search(file) is not None
        return (name_hit and file_hit) if self.both else (name_hit or file_hit)


# Checked before everything else, the PythonNode rule included: `<module>` of rmprof/nodes.py is the import
# of that file, not node compute, and `_compile_bytecode` in `<frozen importlib._bootstrap_external>` is
# not PythonNode code.
_FIRST_RULES: list[Rule] = [
    # Importing a module, and loading a shared library, is start-up wherever it happens (lazy imports too).
    Rule(
        STARTUP,
        re.compile(
            r"_find_and_load|_load_unlocked|exec_module|_compile_bytecode|_call_with_frames_removed|_gcd_import"
            r"|^import_module$|_handle_fromlist|^_?PyImport_|^dlopen|^_dl_|^dl_main$"
        ),
        re.compile(r"^<frozen (importlib|zipimport)|/importlib/|ld-linux|/elf/|/dlfcn/"),
        kind="context",
    ),
    # A module body outside an import is the main script's (the root of every stack): start-up only when
    # nothing deeper is recognised. So is runpy, which runs it, and the interpreter's own start.
    Rule(
        STARTUP,
        re.compile(
            r"^<module>$|_run_module_as_main|^_run_code$|_get_module_details|^Py_(Initialize\w*|BytesMain|RunMain|Main)$|^pymain_"
        ),
        re.compile(r"^<frozen runpy>$|/runpy\.py$"),
    ),
    # The child's measured loop. py-spy hides libpython's frames, so the loop's self time is CPython
    # executing it (calling `run`, freeing the previous run's outputs): interpreter work of the harness.
    Rule("interpreter", re.compile(r"(^|\.)_loop$"), _HARNESS_FILE, both=True, kind="loop"),
    # The rest of the harness prepares the run (manifest, input, runtime, the checked first run) and
    # writes its report: all of it before or after the measured loop.
    Rule(STARTUP, None, _HARNESS_FILE, kind="context"),
    # rmprof loading the manifest, the input and the runtime (scalene, without call stacks, shows them alone).
    Rule(
        STARTUP,
        None,
        re.compile(
            r"rmprof/manifest/(load|node_types|__init__)\.py$|rmprof/scenarios\.py$|rmprof/runtimes/__init__\.py$"
        ),
        kind="context",
    ),
    # The Rust runtime loading a manifest and building its pipeline.
    Rule(
        STARTUP,
        re.compile(
            r"rmprof_runtime::manifest|rmprof_runtime::executor::Pipeline::(new|new_unloaded|with_engine|from_json\w*)$"
        ),
        re.compile(r"rust_runtime/src/manifest(\.rs|/\w+\.rs)$"),
        kind="context",
    ),
    Rule(
        STARTUP,
        re.compile(r"^(new_unloaded|with_engine|from_json|from_json_with)$"),
        re.compile(r"rust_runtime/src/executor\.rs$"),
        both=True,
        kind="context",
    ),
]

# The first matching rule wins per frame, so the more specific rules come first.
_RULES: list[Rule] = [
    # Allocators. glibc's malloc internals by their source file (perf, callgrind) and by name (py-spy,
    # stripped libc); Rust's global allocator and its counting wrapper; CPython's object allocators.
    Rule(
        ALLOCATION,
        re.compile(
            r"(^|[^a-z])(malloc|calloc|realloc|free|cfree|valloc|pvalloc|memalign|aligned_alloc|posix_memalign)\b"
            r"|_int_(malloc|free|realloc|memalign)|malloc_(consolidate|trim|printerr)|unlink_chunk|sysmalloc"
            r"|systrim|heap_trim|tcache_\w+|arena_get|alloc_perturb|checked_request2size|(munmap|mremap)_chunk"
            r"|(^|[^a-z])(mmap|mmap64|munmap|mremap|brk|sbrk)\b|__default_morecore"
            r"|__rust_(alloc|dealloc|realloc|alloc_zeroed|no_alloc_shim)|__rd[lg]_|__rg_|GlobalAlloc|alloc_counter"
            r"|alloc::alloc::|alloc::raw_vec|RawVec|finish_grow|handle_alloc_error|(^|::)with_capacity(_in)?$|try_reserve"
            r"|PyObject_Malloc|PyObject_Calloc|PyObject_Realloc|PyObject_Free|_PyObject_Free|PyMem_|_PyMem_|pymalloc"
            r"|_PyObject_GC_|PyObject_GC_|gc_collect|_Py_Dealloc|_Py_DECREF|dealloc\b|_PyObject_New|PyType_GenericAlloc"
            r"|PyUnicode_New|_PyLong_New|_PyLong_Copy|PyTuple_New|PyList_New|_PyFrame_Clear|drop_in_place"
            r"|allocate_from_new_pool|_PyGC_|collect_generations|visit_decref|visit_reachable|subtract_refs"
            r"|update_refs|move_unreachable|deduce_unreachable|^\w+_traverse$"
        ),
        re.compile(
            r"(^|/)malloc/[^/]*\.c$|/malloc\.c$|/arena\.c$|obmalloc\.c$|gcmodule\.c$"
            r"|library/std/src/sys/alloc/|library/alloc/src/(alloc|raw_vec)|rust_runtime/src/alloc_counter\.rs$"
        ),
    ),
    # Text codecs convert between Python's str and UTF-8 bytes on behalf of their caller: across the PyO3
    # boundary (the rust runtime's list_of/to_value) they are boundary, under json they are serialization.
    Rule(
        "serialization",
        re.compile(
            r"^(unicode|ascii|utf8|latin1|ucs[124]lib)_(decode|encode)\w*|^PyUnicode_(Decode|Encode|AsEncoded)\w*"
            r"|^_PyUnicode_(Decode|Encode|AsUTF8|AsASCII|AsLatin1|FromUCS|JoinArray|Writer)\w*|^_PyUnicodeWriter\w*"
            r"|^PyUnicode_(FromKindAndData|FromFormat\w*|Join|Concat)$|^find_maxchar|^(asciilib|ucs[124]lib)_\w+"
        ),
        re.compile(r"Objects/stringlib/codecs\.h$"),
        kind="transparent",
    ),
    # The Linux kernel: system calls, page faults and interrupts. A `munmap` under `free` is allocation,
    # a page fault under a node is that node's, a timer interrupt belongs to whatever it interrupted.
    Rule(
        STARTUP,
        re.compile(
            r"^\[k\]|\[kernel\.kallsyms\]|^entry_SYSCALL|^do_syscall_64$|^__x64_sys_|^__do_sys_|^ksys_|^asm_exc_"
            r"|^asm_sysvec_|^asm_common_interrupt|^irqentry_|^exc_page_fault$|^ret_from_fork|^syscall_exit_to_user"
        ),
        re.compile(r"^\[kernel"),
        kind="transparent",
    ),
    Rule(
        "Python/Rust boundary",
        re.compile(
            r"pyo3::|rmprof_runtime::python|FromPyObject|IntoPy|extract_bound|PyList_|PyLong_As|PyLong_From"
            r"|PyFloat_From|PyFloat_AsDouble|PyUnicode_AsUTF8|PyUnicode_FromStringAndSize|allow_threads"
            r"|PyEval_SaveThread|PyEval_RestoreThread|take_gil|drop_gil|PyGILState_"
        ),
        # py-spy --native names Rust frames briefly (`run`, `to_value`): their source file tells the crate.
        re.compile(r"rust_inprocess\.py$|rust_runtime/src/python(\.rs|/\w+\.rs)$|/pyo3-[0-9.]+/|/pyo3-ffi-[0-9.]+/"),
    ),
    Rule(
        "serialization",
        re.compile(
            r"serde_json|serde::|json\.|JSONEncoder|JSONDecoder|py_encode_basestring|scanstring|scan_once|_parse_object"
            r"|encoder_listencode|ryu::|itoa::|rmprof_runtime::input|rmprof_runtime::value::Value::to_json"
            r"|core::fmt::float|format_escaped_str"
        ),
        re.compile(r"/json/|_json\.c$|rust_runtime/src/input\.rs$|/serde(_json)?-[0-9.]+/|/ryu-[0-9.]+/"),
    ),
    # Moving chunks between steps lives in nodes.rs but is the executor's plumbing, not a node's operation.
    Rule("orchestration", re.compile(r"rmprof_runtime::nodes::Chunk|(^|::)Chunk::")),
    Rule(
        "orchestration",
        re.compile(r"^(append_to|as_slice|take_or_clone)$"),
        re.compile(r"rust_runtime/src/"),
        both=True,
    ),
    Rule(
        "orchestration",
        re.compile(
            r"rmprof_runtime::executor|tokio::|crossbeam|mpsc|_run_once|run_until_complete|run_forever|_node_task"
            r"|_receive|Queue\.|(^| )(get|put|put_nowait|get_nowait|_wakeup_next|_step|__step|create_task|gather)\b"
            r"|TaskGroup|select|epoll|_run$|Runner\.run|call_soon|task_step|task_wakeup|_asyncio"
        ),
        re.compile(r"/asyncio/|python_asyncio\.py$|selectors\.py$|rust_runtime/src/executor\.rs$|_asynciomodule\.c$"),
    ),
    Rule(
        "node compute",
        re.compile(
            r"rmprof_runtime::nodes|rmprof_runtime::unicode14|rmprof_runtime::code|to_uppercase|to_lowercase"
            r"|conversions::to_upper|conversions::to_lower|checked_(add|sub|mul)|str\.upper|str\.lower"
            r"|unicode_upper|unicode_lower|do_upper|do_lower|ascii_upper_or_lower|_Py_bytes_(upper|lower)"
            r"|_PyUnicode_To(Upper|Lower)|unicode_subscript|unicode_getitem|do_string_format|long_add|long_sub"
            r"|long_mul|float_div|float_add|float_sub|float_mul|long_true_divide|\b(arithmetic|divide|text|_number"
            r"|_finite|composed)\b"
        ),
        re.compile(r"rmprof/nodes\.py$|rust_runtime/src/(nodes|unicode14|code)\.rs$"),
    ),
    # RustPython's VM running PythonNode code: its bytecode loop and object protocol.
    Rule(
        "interpreter",
        re.compile(r"rustpython_vm::|ExecutingFrame|execute_instruction"),
        re.compile(r"/rustpython-[a-z_-]+-[0-9.]+/|rust_runtime/src/rustpython\.rs$"),
    ),
    # Process start (C runtime, Rust's lang_start) and file I/O.
    Rule(
        STARTUP,
        re.compile(
            r"^_start$|__libc_start|^__libc_init|^_init$|std::rt::lang_start|lang_start_internal|^main$"
            r"|rmprof_runtime::main_with|std::fs|read_to_string|std::io|^execve$|^_?IO_\w+|^fwrite$|^fflush$"
        ),
        re.compile(
            r"/csu/|library/std/src/rt\.rs$|library/std/src/(fs|io)/|/libio/|sysdeps/unix/sysv/linux/(read|write)"
        ),
    ),
    # libc's system call wrappers. py-spy names Rust's `core::ptr::write<T>` just `write<T>` (a memory
    # store): a Rust source file is never libc's.
    Rule(
        STARTUP,
        re.compile(
            r"^__GI___libc_(read|write|open|close)\w*|^__(libc_)?(read|write|open|openat|close|fstat|lseek|pread"
            r"|pwrite)(64)?(_nocancel)?$|^(read|write|open|openat|close|fstat|lseek)(64)?$"
        ),
        not_file=re.compile(r"\.rs$"),
    ),
    Rule(
        "interpreter",
        re.compile(
            r"_PyEval_EvalFrame|PyEval_|_PyFunction_Vectorcall|PyObject_Call|_PyObject_Vectorcall|PyObject_Vectorcall"
            r"|slot_tp_|method_vectorcall|cfunction_|_PyEval_Vector|PyObject_GetAttr|_PyType_Lookup|dict_|lookdict"
            r"|_PyObject_MakeTpCall|_Py_CheckFunctionResult|_PyObject_GenericGetAttr|PyObject_RichCompare"
        ),
        re.compile(r"Python/ceval\.c$|Python/generated_cases"),
    ),
    # Any other function of CPython itself: work for the nearest recognised caller (a C-API call from
    # the PyO3 boundary is boundary), else the interpreter's own (perf of a Python process often
    # shows truncated stacks of CPython internals only).
    Rule("interpreter", None, re.compile(r"libpython3\.\d+|/bin/python3(\.\d+)?$"), kind="transparent"),
]


def _without_generics(name: str) -> str:
    """A Rust/C++ name without generic arguments: `try_with<RefCell<alloc::vec::Vec<T>>>` is not an
    allocation, only the path says what the function does. A qualified path `<T as Trait>::f` keeps its
    `<...>` (it names the type), and so do Python names like `<module>`."""
    if "::" not in name:
        return name
    out: list[str] = []
    skipping = 0
    for i, ch in enumerate(name):
        if skipping:
            skipping += {"<": 1, ">": -1}.get(ch, 0)
        elif ch == "<" and i > 0 and (name[i - 1].isalnum() or name[i - 1] == "_"):
            skipping = 1
        else:
            out.append(ch)
    return "".join(out)


def node_task(frame: Frame) -> tuple[str, str] | None:
    """(node id, node type) when ``frame`` is the Python runtime's task of one node, else None."""
    match = NODE_TASK.search(frame.name)
    return (match.group(1), match.group(2)) if match else None


def node_code_id(frame: Frame) -> str | None:
    """The node id when ``frame`` runs a PythonNode's own code (compiled under the file name `<node id>`)."""
    if frame.file is None or frame.file in _PSEUDO_FILES or "::" in frame.name or frame.name == "<module>":
        return None
    match = _NODE_CODE_FILE.match(frame.file)
    return match.group(1) if match else None


def frame_rule(frame: Frame) -> tuple[str, Kind] | None:
    """(category, kind) for this frame, or None when no rule recognises it."""
    if node_task(frame) is not None:
        return ("orchestration", "own")  # a node's task loop: receiving, calling the node, sending on
    if _SCALENE_LINE.match(frame.name):
        return None
    name = _without_generics(frame.name)
    for rule in _FIRST_RULES:
        if rule.matches(name, frame.file):
            return (rule.category, rule.kind)
    if node_code_id(frame) is not None:
        return ("node compute", "own")
    for rule in _RULES:
        if rule.matches(name, frame.file):
            return (rule.category, rule.kind)
    return None


def frame_category(frame: Frame) -> str | None:
    """The category a rule gives this frame on its own, or None when no rule recognises it."""
    found = frame_rule(frame)
    return found[0] if found else None


def stack_category(
    frames: list[Frame], cache: dict[Frame, tuple[str, Kind] | None] | None = None, *, memory: bool = False
) -> str:
    """The category of a root-first stack (see the module docstring for how frames decide it).

    ``memory`` says the weights are bytes held: then the allocator frames are transparent too.
    """
    if not frames:
        # py-spy records a sample with no Python frame while the interpreter starts or shuts down.
        return STARTUP
    own: str | None = None
    fallback: str | None = None
    for frame in reversed(frames):
        if cache is not None:
            if frame not in cache:
                cache[frame] = frame_rule(frame)
            found = cache[frame]
        else:
            found = frame_rule(frame)
        if found is None:
            continue
        category, kind = found
        if kind == "context":
            return category
        if kind == "loop":
            return own or category  # the measured loop: no start-up context above it counts
        if own is None:
            if kind == "transparent" or (memory and category == ALLOCATION):
                fallback = fallback or category
            else:
                own = category
    return own or fallback or "other"


def is_memory(profile: Profile) -> bool:
    """Weights are bytes held (memray, massif): categories then say who allocated, not that it was malloc."""
    return profile.kind == "memory"


def category_shares(profile: Profile) -> dict[str, float]:
    """Share of the profile's total weight in each category (every category listed, summing to 1)."""
    totals = dict.fromkeys(CATEGORIES, 0.0)
    cache: dict[Frame, tuple[str, Kind] | None] = {}
    memory = is_memory(profile)
    for i, weight in enumerate(profile.weights):
        totals[stack_category(profile.stack_frames(i), cache, memory=memory)] += weight
    grand = sum(totals.values())
    return {k: (v / grand if grand else 0.0) for k, v in totals.items()}
