"""Shared fixtures: manifest builders and a CLI runner that runs rmprof as a user would."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
# profile, bench and merge record into the user's history by default: tests record only where they say so.
os.environ["RMPROF_HISTORY"] = "off"


def examples(full: int) -> int:
    """Hypothesis examples for a property test: ``full``, or at most $RMPROF_HYPOTHESIS_EXAMPLES (the fast tier,
    ``./scripts/test.sh --fast``, sets it) — fewer examples, the same properties."""
    cap = os.environ.get("RMPROF_HYPOTHESIS_EXAMPLES")
    return min(full, int(cap)) if cap else full


def chain_manifest(*nodes: tuple[str, str, dict[str, Any]], name: str = "t") -> dict[str, Any]:
    """A manifest v1 document whose nodes are connected in the given order."""
    return {
        "version": "v1",
        "metadata": {"name": name},
        "nodes": [{"id": i, "node_type": t, "params": p} for i, t, p in nodes],
        "connections": [{"from": a[0], "to": b[0]} for a, b in zip(nodes, nodes[1:], strict=False)],
    }


SIMPLE = chain_manifest(
    ("source", "DataSourceNode", {}),
    ("calc", "CalculatorNode", {"operation": "add", "operand": 5}),
    ("sink", "DataSinkNode", {}),
)


@pytest.fixture
def simple_manifest() -> dict[str, Any]:
    """A fresh copy of the simple pipeline's manifest document."""
    return copy.deepcopy(SIMPLE)


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m rmprof ARGS`` in a child process, capturing output; the checkout's rmprof is the one
    tested, from whatever folder (``cwd``) the command runs in."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    return subprocess.run(
        [sys.executable, "-m", "rmprof", *args], capture_output=True, text=True, cwd=cwd, timeout=600, env=env
    )


def write_json(path: Path, doc: Any) -> Path:
    """Write ``doc`` as JSON to ``path`` and return the path."""
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def require_runtime(name: str) -> None:
    """Skip when runtime ``name`` cannot run here; in CI ($CI set) fail instead, since every runtime must be built."""
    from rmprof.runtimes import get_runtime

    reason = get_runtime(name).unavailable_reason()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"{name} must be available in CI: {reason}")
        pytest.skip(reason)
