"""The structure the code promises: layers (nothing below the CLI imports the commands) and runtime names
read from the registry, not written out across the package."""

from __future__ import annotations

import ast
from pathlib import Path

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
