"""Source paths as a reader names them: relative to the package that holds them (``asyncio/queues.py``,
``pyo3-0.30.1/src/types/dict.rs``, ``rmprof/runtimes/python_asyncio.py``), the full path kept for a hover title.

Profilers record absolute paths whose prefix (an interpreter's install folder, the cargo registry's index
folder, the compiler's commit) says where a package happens to live, not what it is. ``short_path`` drops that
prefix by the first rule that matches, in this order:

1. ``site-packages/`` or ``dist-packages/``: the installed package's own path (also inside a checkout's venv);
2. ``lib/pythonX.Y/``: the standard library module's path;
3. the cargo registry (``registry/src/<index>-<hash>/crate-x.y.z/...``): from the crate's folder;
4. a cargo git checkout (``git/checkouts/<name>-<hash>/<rev>/...``): the crate's name, then its path;
5. Rust's standard library (``/rustc/<commit>/library/...`` or ``lib/rustlib/src/rust/library/...``): from the
   crate (``core/src/option.rs``);
6. a *root* given by the caller (the rmprof checkout the report is rendered from): relative to it;
7. rmprof's own two source folders, ``rmprof/`` and ``rust_runtime/``, found by name: from the last one in the
   path, for their source files (``.py``, ``.rs``, ``.so``: a run profiled from another checkout, or by an rmprof
   installed apart from its checkout);
8. any other absolute path to a shared object (``/usr/lib/x86_64-linux-gnu/libc.so.6``): its file name.

Anything else (relative paths, ``[kernel.kallsyms]``, a user's own files) is returned unchanged.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from pathlib import Path

_RULES = (
    re.compile(r"/(?:site|dist)-packages/(?P<rest>.+)$"),
    re.compile(r"/lib/python\d+(?:\.\d+)?t?/(?P<rest>.+)$"),
    re.compile(r"/registry/src/[^/]+-[0-9a-f]{16}/(?P<rest>[^/]+/.+)$"),
    re.compile(r"/git/checkouts/(?P<crate>[^/]+)-[0-9a-f]{16}/[^/]+/(?P<rest>.+)$"),
    re.compile(r"^/rustc/[0-9a-f]{7,40}/library/(?P<rest>.+)$"),
    re.compile(r"/lib/rustlib/src/rust/library/(?P<rest>.+)$"),
)
_OWN_FOLDERS = re.compile(r"^.*/(?P<rest>(?:rmprof|rust_runtime)/.+\.(?:py|rs|so))$")
_SHARED_OBJECT = re.compile(r"^/.*/(?P<rest>[^/]+\.so(?:\.[0-9]+)*)$")
_LINE = re.compile(r"^(?P<path>.*?):(?P<line>[0-9]+)$")


@functools.cache
def checkout_roots() -> tuple[str, ...]:
    """The folder of the rmprof checkout this process runs from (holding ``rmprof/`` and ``rust_runtime/``), when
    it is one; an installed rmprof's files are shortened by the site-packages rule instead."""
    import rmprof

    root = Path(rmprof.__file__).resolve().parent.parent
    return (str(root),) if (root / "rust_runtime").is_dir() else ()


def short_path(path: str, roots: Sequence[str] | None = None) -> str:
    """``path`` relative to its package (see the module's rules), or unchanged when no rule applies; ``roots``
    defaults to ``checkout_roots()``."""
    if not path.startswith("/"):
        return path
    for rule in _RULES:
        m = rule.search(path)
        if m:
            crate = m.groupdict().get("crate")
            return f"{crate}/{m['rest']}" if crate else m["rest"]
    for root in checkout_roots() if roots is None else roots:
        prefix = root.rstrip("/") + "/"
        if path.startswith(prefix) and len(path) > len(prefix):
            return path[len(prefix) :]
    m = _OWN_FOLDERS.match(path) or _SHARED_OBJECT.match(path)
    return m["rest"] if m else path


def short_location(text: str, roots: Sequence[str] | None = None) -> str:
    """``file:line`` (or ``file``) with its file shortened by ``short_path``; the line number kept."""
    m = _LINE.match(text)
    if m and m["path"]:
        return f"{short_path(m['path'], roots)}:{m['line']}"
    return short_path(text, roots)
