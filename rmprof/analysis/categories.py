"""Which kind of work a stack sample is: orchestration, node compute, allocation, boundary, ...

A sample takes the category of the deepest frame on its stack that a rule recognises, so that
`core::str::to_uppercase` under a node function counts as node compute while `malloc` under the same
node counts as allocation. Rules match frame names and file paths of Python, CPython's C API and Rust.
"""

from __future__ import annotations

import re

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

# (category, regex on the frame name, regex on the file path); the first matching rule wins per frame.
_RULES: list[tuple[str, re.Pattern[str] | None, re.Pattern[str] | None]] = [
    (
        "allocation & GC",
        re.compile(
            r"(^|[^a-z])(malloc|calloc|realloc|free|cfree|_int_malloc|_int_free|mmap|munmap|brk|sbrk)\b"
            r"|__rust_(alloc|dealloc|realloc)|alloc::(alloc|raw_vec|vec::Vec<.*>::with_capacity)|RawVec"
            r"|PyObject_Malloc|PyObject_Free|PyMem_|_PyObject_GC_|gc_collect|_Py_Dealloc|pymalloc|unicode_dealloc"
            r"|PyUnicode_New|list_dealloc|drop_in_place"
        ),
        None,
    ),
    (
        "Python/Rust boundary",
        re.compile(
            r"pyo3::|rmprof_runtime::python|FromPyObject|IntoPy|extract_bound|PyList_|PyLong_As|PyLong_From"
            r"|PyFloat_From|PyUnicode_AsUTF8|PyUnicode_FromStringAndSize|allow_threads|PyEval_SaveThread"
            r"|PyEval_RestoreThread|take_gil|drop_gil"
        ),
        # py-spy --native names Rust frames briefly (`run`, `to_value`): their source file tells the crate.
        re.compile(r"rust_inprocess\.py$|rust_runtime/src/python\.rs$|/pyo3-[0-9.]+/"),
    ),
    (
        "serialization",
        re.compile(r"serde_json|serde::|json\.|JSONEncoder|JSONDecoder|py_encode_basestring|scanstring|ryu::|itoa::"),
        re.compile(r"/json/"),
    ),
    (
        "orchestration",
        re.compile(
            r"rmprof_runtime::executor|tokio::|crossbeam|mpsc|_run_once|run_until_complete|run_forever|_node_task"
            r"|_receive|Queue\.|(^| )(get|put|put_nowait|get_nowait|_wakeup_next|_step|__step|create_task|gather)\b"
            r"|TaskGroup|select|epoll|_run$|Runner\.run|call_soon"
        ),
        re.compile(r"/asyncio/|python_asyncio\.py$|selectors\.py$|rust_runtime/src/executor\.rs$"),
    ),
    (
        "node compute",
        re.compile(
            r"rmprof_runtime::nodes|to_uppercase|to_lowercase|conversions::to_upper|conversions::to_lower|"
            r"checked_(add|sub|mul)|str\.upper|str\.lower|unicode_upper|unicode_lower|do_upper|do_lower|"
            r"unicode_subscript|do_string_format|long_add|long_sub|long_mul|float_div|float_add|float_mul|"
            r"\b(arithmetic|divide|text|_number|_finite|composed)\b"
        ),
        re.compile(r"rmprof/nodes\.py$|rust_runtime/src/(nodes|unicode14|code)\.rs$"),
    ),
    # RustPython's VM running PythonNode code: its bytecode loop and object protocol.
    (
        "interpreter",
        re.compile(r"rustpython_vm::|ExecutingFrame|execute_instruction"),
        re.compile(r"/rustpython-[a-z_-]+-[0-9.]+/|rust_runtime/src/rustpython\.rs$"),
    ),
    (
        "startup & I/O",
        re.compile(
            r"_find_and_load|_load_unlocked|exec_module|importlib|<module>|_start$|__libc_start|ld-linux|_dl_"
            r"|std::fs|read_to_string|std::io|\bread\b|\bwrite\b|open64|execve"
        ),
        re.compile(r"importlib|<frozen"),
    ),
    (
        "interpreter",
        re.compile(
            r"_PyEval_EvalFrame|PyEval_|_PyFunction_Vectorcall|PyObject_Call|_PyObject_Vectorcall|PyObject_Vectorcall"
            r"|slot_tp_|method_vectorcall|cfunction_|_PyEval_Vector|PyObject_GetAttr|_PyType_Lookup|dict_|lookdict"
        ),
        None,
    ),
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


def frame_category(frame: Frame) -> str | None:
    """The category a rule gives this frame, or None when no rule recognises it."""
    name = _without_generics(frame.name)
    if frame.file and frame.file.startswith("<") and frame.file.endswith(">") and "::" not in frame.name:
        return "node compute"  # PythonNode user code, compiled under the node's id as its file name
    for category, name_re, file_re in _RULES:
        if name_re is not None and name_re.search(name):
            return category
        if file_re is not None and frame.file and file_re.search(frame.file):
            return category
    return None


def stack_category(frames: list[Frame], cache: dict[Frame, str | None] | None = None) -> str:
    """The category of a root-first stack: its deepest recognised frame's category."""
    for frame in reversed(frames):
        if cache is not None:
            if frame not in cache:
                cache[frame] = frame_category(frame)
            category = cache[frame]
        else:
            category = frame_category(frame)
        if category is not None:
            return category
    return "other"


def category_shares(profile: Profile) -> dict[str, float]:
    """Share of the profile's total weight in each category (every category listed, summing to 1)."""
    totals = dict.fromkeys(CATEGORIES, 0.0)
    cache: dict[Frame, str | None] = {}
    for i, weight in enumerate(profile.weights):
        totals[stack_category(profile.stack_frames(i), cache)] += weight
    grand = sum(totals.values())
    return {k: (v / grand if grand else 0.0) for k, v in totals.items()}
