"""The history store: one SQLite file holding every recorded run's figures.

Tables (schema version 1)::

    runs(id, key UNIQUE, created_unix, recorded_unix, scenario, commit_id, branch, machine_id, machine, source,
         rmprof_version, build_id)
    cells(run_id -> runs.id, runtime, metric, unit, value, lo, hi, n)   PRIMARY KEY (run_id, runtime, metric)

One row of ``runs`` is one scenario measured once on one machine. ``key`` (start time, scenario, machine)
makes recording idempotent: the shards recorded on their runners and the merged folder recorded again add
each measurement once. ``machine_id`` hashes the fingerprint without the commit (CPU, cores, architecture,
OS, Python, rustc): figures of different machines never share a series. ``build_id`` (added later, NULL in older
rows; ``rmprof.history.record.build_key``) names the build measured, so that runs of one build are known to be
identical (A/A) pairs: the between-run drift of a machine is estimated from them (``rmprof.bench.drift``).

The path: ``--history PATH``, else ``$RMPROF_HISTORY``, else ``$XDG_DATA_HOME/rmprof/history.sqlite``
(``~/.local/share/rmprof/history.sqlite``). ``--no-history``, or ``RMPROF_HISTORY`` set to ``off``, ``0``,
``no``, ``none`` or empty, records nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rmprof.errors import RmprofError
from rmprof.history.cells import Cell

ENV_VAR = "RMPROF_HISTORY"
OFF = {"", "0", "off", "no", "none", "false"}
SCHEMA_VERSION = "1"
SERIES_FIELDS = ("cpu", "cores", "machine", "os", "python", "rustc")

_DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    created_unix REAL NOT NULL,
    recorded_unix REAL NOT NULL,
    scenario TEXT NOT NULL,
    commit_id TEXT,
    branch TEXT,
    machine_id TEXT NOT NULL,
    machine TEXT NOT NULL,
    source TEXT,
    rmprof_version TEXT,
    build_id TEXT
);
CREATE TABLE IF NOT EXISTS cells (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    runtime TEXT NOT NULL,
    metric TEXT NOT NULL,
    unit TEXT NOT NULL,
    value REAL NOT NULL,
    lo REAL,
    hi REAL,
    n INTEGER,
    PRIMARY KEY (run_id, runtime, metric)
);
CREATE INDEX IF NOT EXISTS runs_series ON runs (machine_id, scenario, created_unix);
"""


def default_path() -> Path:
    """``$XDG_DATA_HOME/rmprof/history.sqlite`` (``~/.local/share`` when XDG_DATA_HOME is unset)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "rmprof" / "history.sqlite"


def resolve_path(flag: Path | None, disabled: bool = False) -> Path | None:
    """Where to record: the flag, else $RMPROF_HISTORY, else the default; None when recording is off."""
    if disabled:
        return None
    if flag is not None:
        return Path(flag)
    env = os.environ.get(ENV_VAR)
    if env is not None:
        return None if env.strip().lower() in OFF else Path(env)
    return default_path()


def machine_id(fingerprint: dict[str, Any]) -> str:
    """A short stable id of a machine fingerprint (without the commit): one series per machine."""
    canonical = json.dumps({k: fingerprint.get(k) for k in SERIES_FIELDS}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class RunRecord:
    """One scenario measured once: when, what code, which machine, and its figures."""

    created_unix: float
    scenario: str
    commit: str | None
    branch: str | None
    fingerprint: dict[str, Any]
    cells: tuple[Cell, ...]
    source: str | None = None
    rmprof_version: str | None = None
    build: str | None = None

    @property
    def key(self) -> str:
        """What makes two records the same measurement."""
        return f"{self.created_unix!r}|{self.scenario}|{machine_id(self.fingerprint)}"


@contextmanager
def open_store(path: Path, create: bool = True) -> Iterator[sqlite3.Connection]:
    """A connection to the history at ``path`` (created when ``create``); errors are one-line RmprofErrors."""
    path = Path(path)
    if not create and not path.is_file():
        raise RmprofError(f"{path}: no history here (record some with rmprof profile/bench --history {path})")
    try:
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), timeout=30)
    except (OSError, sqlite3.Error) as exc:
        raise RmprofError(f"{path}: cannot open the history: {exc}") from None
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        _check_schema(conn, path, create)
        yield conn
        conn.commit()
    except sqlite3.DatabaseError as exc:
        conn.rollback()
        raise RmprofError(f"{path}: not a usable rmprof history: {exc}") from None
    finally:
        conn.close()


def _check_schema(conn: sqlite3.Connection, path: Path, create: bool) -> None:
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "meta" not in tables:
        if tables:
            raise RmprofError(f"{path}: an SQLite file but not an rmprof history")
        if not create:
            raise RmprofError(f"{path}: an empty history")
        conn.executescript(_DDL)
        conn.execute("INSERT INTO meta (key, value) VALUES ('schema', ?)", (SCHEMA_VERSION,))
        return
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    if not row or row[0] != SCHEMA_VERSION:
        raise RmprofError(f"{path}: history schema {row[0] if row else '?'} (this rmprof reads {SCHEMA_VERSION})")


def _has_build_column(conn: sqlite3.Connection) -> bool:
    return any(r[1] == "build_id" for r in conn.execute("PRAGMA table_info(runs)"))


def _add_build_column(conn: sqlite3.Connection) -> None:
    # An additive column keeps the schema version: an older rmprof names its columns and never sees it.
    if not _has_build_column(conn):
        conn.execute("ALTER TABLE runs ADD COLUMN build_id TEXT")


def record(path: Path, records: list[RunRecord]) -> int:
    """Add ``records`` to the history at ``path`` in one transaction; how many were new."""
    added = 0
    with open_store(path) as conn:
        _add_build_column(conn)
        for r in records:
            cur = conn.execute(
                "INSERT OR IGNORE INTO runs (key, created_unix, recorded_unix, scenario, commit_id, branch, "
                "machine_id, machine, source, rmprof_version, build_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    r.key,
                    r.created_unix,
                    time.time(),
                    r.scenario,
                    r.commit,
                    r.branch,
                    machine_id(r.fingerprint),
                    json.dumps(r.fingerprint, sort_keys=True),
                    r.source,
                    r.rmprof_version,
                    r.build,
                ),
            )
            if cur.rowcount == 0:
                continue  # recorded before (a shard's run, recorded again from the merged folder)
            added += 1
            conn.executemany(
                "INSERT OR REPLACE INTO cells (run_id, runtime, metric, unit, value, lo, hi, n) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(cur.lastrowid, c.runtime, c.metric, c.unit, c.value, c.lo, c.hi, c.n) for c in r.cells],
            )
    return added


@dataclass(frozen=True)
class Filters:
    """Which rows to read; empty means any."""

    scenarios: tuple[str, ...] = ()
    runtimes: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    machine: str | None = None
    branch: str | None = None
    commit: str | None = None


def query(path: Path, filters: Filters = Filters()) -> list[dict[str, Any]]:
    """Every matching figure, oldest first: run fields (``build`` None where it was not recorded) + cell fields,
    one dict per figure."""
    where: list[str] = []
    args: list[Any] = []
    for column, values in (("r.scenario", filters.scenarios), ("c.runtime", filters.runtimes)):
        if values:
            where.append(f"{column} IN ({', '.join('?' * len(values))})")
            args.extend(values)
    if filters.metrics:
        # A metric filter matches the name or a family: "memory" matches memory.run_alloc_peak_bytes.
        where.append("(" + " OR ".join("c.metric = ? OR substr(c.metric, 1, ?) = ?" for _ in filters.metrics) + ")")
        for m in filters.metrics:
            args.extend([m, len(m) + 1, m + "."])
    for column, prefix in (("r.machine_id", filters.machine), ("r.commit_id", filters.commit)):
        if prefix:  # ids are matched by prefix, as git matches an abbreviated commit
            where.append(f"substr({column}, 1, ?) = ?")
            args.extend([len(prefix), prefix])
    if filters.branch:
        where.append("r.branch = ?")
        args.append(filters.branch)
    with open_store(path, create=False) as conn:
        build = "r.build_id" if _has_build_column(conn) else "NULL"  # a history written before builds were named
        sql = (
            "SELECT r.id, r.created_unix, r.scenario, r.commit_id, r.branch, r.machine_id, r.machine, r.source, "
            f"{build}, c.runtime, c.metric, c.unit, c.value, c.lo, c.hi, c.n "
            "FROM runs r JOIN cells c ON c.run_id = r.id"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY r.created_unix, r.id, c.runtime, c.metric"
        )
        rows = conn.execute(sql, args).fetchall()
    keys = ("run", "created_unix", "scenario", "commit", "branch", "machine_id", "machine", "source", "build")
    keys += ("runtime", "metric", "unit", "value", "lo", "hi", "n")
    out = []
    for row in rows:
        d = dict(zip(keys, row, strict=True))
        d["machine"] = json.loads(d["machine"])
        out.append(d)
    return out
