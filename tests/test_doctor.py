"""`rmprof doctor`: every runtime and profiler with found/version/permitted/fix, exit 0 even with gaps."""

from __future__ import annotations

import json

from rmprof.profilers import PROFILERS
from rmprof.runtimes import BINARY, RUNTIMES, get_runtime
from tests.conftest import run_cli

FIELDS = {"name", "found", "version", "path", "permitted", "problem", "fix"}


def test_doctor_json_lists_every_runtime_and_profiler() -> None:
    proc = run_cli("doctor", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert [r["name"] for r in doc["runtimes"]] == list(RUNTIMES)
    assert [p["name"] for p in doc["profilers"]] == list(PROFILERS)
    for row in doc["runtimes"] + doc["profilers"]:
        assert set(row) >= FIELDS, row
        assert isinstance(row["found"], bool) and isinstance(row["permitted"], bool)
        if not (row["found"] and row["permitted"]):
            # Whatever is missing or denied says why and how to fix it.
            assert row["problem"] and row["fix"], row
    python = doc["runtimes"][0]
    assert python["found"] and python["version"]
    for row in doc["runtimes"]:
        if get_runtime(row["name"]).kind != BINARY:
            continue
        assert row["looked"], f"{row['name']} must say where it looked for its binary"
        if row["found"]:
            assert row["version"], row
    for row in doc["profilers"]:
        if row["found"]:
            assert row["version"], row


def test_doctor_table_and_bad_usage() -> None:
    proc = run_cli("doctor")
    assert proc.returncode == 0, proc.stderr
    first_words = [line.split()[0] for line in proc.stdout.splitlines() if line.strip()]
    for name in [*RUNTIMES, *PROFILERS]:
        assert name in first_words, proc.stdout  # one row each, the name first (see test_terminal for alignment)
    bad = run_cli("doctor", "--no-such-option")
    assert bad.returncode == 2
    assert "rmprof: error:" in bad.stderr
