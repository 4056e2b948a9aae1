"""The structure the code promises: layers (nothing below the CLI imports the commands) and runtime names
read from the registry, not written out across the package."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from rmprof.runtimes import RUNTIMES

PACKAGE = Path(__file__).resolve().parents[1] / "rmprof"
# Where runtime names may be written out: the registry and the runtimes themselves, and the plan's own output
# (its comparison table and targets name the runtimes they are about).
NAMES_ALLOWED = {"runtimes", "bench/comparison.py"}


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _imports(tree: ast.AST) -> list[str]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.append(node.module)
    return out


def test_nothing_below_the_cli_imports_the_commands() -> None:
    offenders = []
    for path in _modules():
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] == "commands" or rel.name in ("cli.py", "__main__.py"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        offenders += [
            f"{rel}: {m}" for m in _imports(tree) if m == "rmprof.commands" or m.startswith("rmprof.commands.")
        ]
    assert not offenders, offenders


def test_runtime_names_are_read_from_the_registry() -> None:
    names = set(RUNTIMES) - {"python"}  # "python" is also the language (environment fields, file names)
    offenders = []
    for path in _modules():
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] in NAMES_ALLOWED or str(rel) in NAMES_ALLOWED:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names:
                offenders.append(f"{rel}:{node.lineno}: {node.value!r}")
    assert not offenders, offenders


# --- No import cycles ------------------------------------------------------------------------------------------
#
# The graph: one node per module of the rmprof package; an edge A -> B when A's source imports B anywhere — at the
# top or inside a function (a lazy import is still a dependency: it runs whenever that function does). Not counted:
# - imports under ``if TYPE_CHECKING:`` (they never run; annotations are strings under ``from __future__ import
#   annotations``), so a type-only reference back is how a module names a type without depending on its module;
# - the parent packages a module implicitly imports (every module would otherwise depend on its package's
#   ``__init__``, which imports its children).
# ``from pkg import name`` is an edge to the submodule ``pkg.name`` when there is one, else to ``pkg``.

# Cycles that need edits in files being changed elsewhere right now: each is named by the edge that has to go, and
# its test is expected to fail (strict: once the cycle is gone the xfail fails too, and its entry must be removed).
# The other cycles are checked with these edges left out, so a new cycle anywhere else still fails.
BLOCKED_EDGES: dict[tuple[str, str], str] = {}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(tree: ast.AST, module: str, is_package: bool, known: set[str]) -> set[str]:
    """The rmprof modules ``module`` imports when it runs (see the rules above)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    visit_one(other)
                continue
            visit_one(child)

    def visit_one(node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the package holding this module, up level - 1 packages
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                found.add(sub if sub in known else source)
        else:
            visit(node)

    visit(tree)
    edges = set()
    for name in found:
        while name and name not in known:  # `import rmprof.bench.stats as s` names a module; a.b.func its module
            name = name.rpartition(".")[0]
        if name and name != module:
            edges.add(name)
    return edges


def import_graph(sources: dict[str, tuple[str, bool]]) -> dict[str, set[str]]:
    """Module -> the modules it imports, from ``{module: (source text, is a package)}``."""
    known = set(sources)
    return {
        module: _runtime_imports(ast.parse(text), module, is_package, known)
        for module, (text, is_package) in sources.items()
    }


def package_graph() -> dict[str, set[str]]:
    """The import graph of the rmprof package as it is on disk."""
    return import_graph({_module_name(p): (p.read_text(encoding="utf-8"), p.name == "__init__.py") for p in _modules()})


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            advanced = False
            for succ in successors:
                if succ not in graph:
                    continue
                if succ not in index:
                    index[succ] = low[succ] = len(index)
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(sorted(graph[succ]))))
                    advanced = True
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return sorted(found)


def _describe(graph: dict[str, set[str]], component: list[str]) -> str:
    members = set(component)
    return "; ".join(f"{m} -> {', '.join(sorted(graph[m] & members))}" for m in component)


def test_the_cycle_finder_sees_lazy_imports_and_skips_type_checking_ones() -> None:
    """The rules above on a made-up package: a lazy import closes a cycle, a TYPE_CHECKING import does not."""
    sources = {
        "p": ("", True),
        "p.a": ("import p.b\n", False),
        "p.b": ("def f():\n    from p.c import g\n    return g\n", False),
        "p.c": ("from . import a\n", False),  # relative: p.a
        "p.d": ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from p.e import E\n", False),
        "p.e": ("from p.d import x\n", False),
    }
    graph = import_graph(sources)
    assert graph["p.c"] == {"p.a"} and graph["p.d"] == set()
    assert cycles(graph) == [["p.a", "p.b", "p.c"]]
    sources["p.b"] = ("def f():\n    return 1\n", False)
    assert cycles(import_graph(sources)) == []


def test_no_import_cycles_among_rmprof_modules() -> None:
    """No two rmprof modules depend on each other, directly or around a loop (lazy imports included)."""
    graph = package_graph()
    for source, target in BLOCKED_EDGES:
        graph.get(source, set()).discard(target)
    found = cycles(graph)
    assert not found, "import cycles: " + " | ".join(_describe(graph, c) for c in found)


@pytest.mark.parametrize(
    "edge",
    [
        pytest.param(edge, marks=pytest.mark.xfail(strict=True, reason=why), id=f"{edge[0]}->{edge[1]}")
        for edge, why in BLOCKED_EDGES.items()
    ],
)
def test_no_cycle_through_a_blocked_edge(edge: tuple[str, str]) -> None:
    """Each blocked edge closes a cycle today (expected to fail, strictly: a fixed one must leave BLOCKED_EDGES)."""
    source, target = edge
    graph = package_graph()
    through = [c for c in cycles(graph) if source in c and target in c and target in graph[source]]
    assert not through, "import cycle: " + _describe(graph, through[0])
