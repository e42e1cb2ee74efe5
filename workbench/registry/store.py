"""`registry.sqlite`: model versions, alias history, promotion requests, decisions and evaluations.

Why a separate file from `audit.sqlite`: the audit log is the hash-chained record owned by the run
engine, with its own migrations; the registry has its own schema and versions it with its own
`PRAGMA user_version`, so neither can break the other. Every registry change is also an audit event,
recorded inside the registry's write transaction (the registry commits only once the event is in the log).

Model versions, alias events, decisions and evaluations are append-only (SQLite triggers refuse
UPDATE and DELETE); a request only moves from `open` to a final state. The current holder of an
alias is the newest alias event, so "who was champion at time T" is one query (`alias_at`).
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from workbench.workspace import Workspace

SCHEMA_VERSION = 1
REQUEST_STATES = ("open", "approved", "rejected", "withdrawn")

_SCHEMA_V1 = """
CREATE TABLE model_versions (
    model TEXT NOT NULL,
    version INTEGER NOT NULL,
    run_id TEXT NOT NULL,
    registered_at TEXT NOT NULL,
    registered_by TEXT NOT NULL,
    description TEXT,
    run_name TEXT,
    run_actor TEXT,
    trained_at TEXT,
    task TEXT NOT NULL,
    target TEXT NOT NULL,
    metric TEXT NOT NULL,
    score REAL,
    estimator TEXT,
    metrics TEXT NOT NULL,          -- JSON: the run's scores for the registered estimator
    spec TEXT NOT NULL,             -- JSON: the run spec as it ran
    spec_sha256 TEXT NOT NULL,
    data_source TEXT NOT NULL,
    data_table TEXT,                -- lake table the model learned from (NULL for a query)
    data_query TEXT,
    data_version INTEGER,           -- table version, or lake snapshot for a query
    fingerprint TEXT NOT NULL,
    row_count INTEGER,
    code TEXT NOT NULL,             -- JSON: workbench version, git commit, library versions
    artifact_path TEXT NOT NULL,
    artifact_sha256 TEXT NOT NULL,
    holdout_path TEXT NOT NULL,
    holdout_sha256 TEXT NOT NULL,
    holdout_rows INTEGER,
    features TEXT NOT NULL,         -- JSON [[column, dtype, kind], ...]: the raw columns the pipeline needs
    reference TEXT NOT NULL,        -- JSON drift reference profile of the training data
    PRIMARY KEY (model, version)
);
CREATE INDEX model_versions_run ON model_versions(run_id);

CREATE TABLE alias_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    model TEXT NOT NULL,
    alias TEXT NOT NULL,
    version INTEGER,                -- NULL: the alias was removed
    previous_version INTEGER,
    set_at TEXT NOT NULL,
    set_by TEXT NOT NULL,
    reason TEXT NOT NULL,
    request_id INTEGER,
    approved_by TEXT                -- JSON list of approvers when set by a promotion request
);
CREATE INDEX alias_events_lookup ON alias_events(model, alias, set_at);

CREATE TABLE promotion_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    model TEXT NOT NULL,
    version INTEGER NOT NULL,
    alias TEXT NOT NULL,
    reason TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    current_version INTEGER,        -- who held the alias when the evidence was computed
    evidence TEXT NOT NULL,         -- JSON
    state TEXT NOT NULL DEFAULT 'open',
    decided_at TEXT
);
CREATE INDEX promotion_requests_state ON promotion_requests(state);

CREATE TABLE decisions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id INTEGER NOT NULL REFERENCES promotion_requests(id),
    actor TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('approve', 'reject')),
    reason TEXT,
    decided_at TEXT NOT NULL,
    UNIQUE (request_id, actor)
);

CREATE TABLE evaluations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    model TEXT NOT NULL,
    evaluated_at TEXT NOT NULL,
    evaluated_by TEXT NOT NULL,
    data_source TEXT NOT NULL,
    data_table TEXT,
    data_version INTEGER,
    fingerprint TEXT NOT NULL,
    row_count INTEGER NOT NULL,
    metric TEXT NOT NULL,
    champion_version INTEGER,
    best_version INTEGER,
    results TEXT NOT NULL           -- JSON [{version, aliases, score}, ...]
);
CREATE INDEX evaluations_model ON evaluations(model, evaluated_at);
"""


def _append_only(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} rows are immutable'); END"
        for op in ("UPDATE", "DELETE")
    ]


_TRIGGERS_V1 = [stmt for t in ("model_versions", "alias_events", "decisions", "evaluations") for stmt in _append_only(t)] + [
    "CREATE TRIGGER promotion_requests_no_delete BEFORE DELETE ON promotion_requests "
    "BEGIN SELECT RAISE(ABORT, 'promotion requests are kept'); END",
    # Only an open request's state and decision time may change, once.
    "CREATE TRIGGER promotion_requests_final BEFORE UPDATE ON promotion_requests "
    "WHEN OLD.state <> 'open' OR NEW.model IS NOT OLD.model OR NEW.version IS NOT OLD.version "
    "OR NEW.alias IS NOT OLD.alias OR NEW.evidence IS NOT OLD.evidence OR NEW.requested_by IS NOT OLD.requested_by "
    "OR NEW.reason IS NOT OLD.reason OR NEW.requested_at IS NOT OLD.requested_at "
    "BEGIN SELECT RAISE(ABORT, 'a decided promotion request cannot change'); END",
]


def registry_path(workspace: Workspace) -> Path:
    return workspace.root / "registry.sqlite"


_JSON_COLUMNS = {"metrics", "spec", "code", "features", "reference", "evidence", "results", "approved_by"}


def _row(cursor: sqlite3.Cursor, values: tuple[Any, ...]) -> dict[str, Any]:
    out = {}
    for (name, *_), value in zip(cursor.description, values):
        out[name] = json.loads(value) if name in _JSON_COLUMNS and isinstance(value, str) else value
    return out


class RegistryStore:
    """One connection to the workspace's registry. Open one per thread; close when done."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self.conn.row_factory = _row
        self.conn.execute("PRAGMA busy_timeout = 30000")
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = NORMAL")
        self.conn.execute("PRAGMA foreign_keys = ON")
        self._migrate()

    @classmethod
    def open(cls, workspace: Workspace) -> "RegistryStore":
        return cls(registry_path(workspace))

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "RegistryStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _migrate(self) -> None:
        if self.conn.execute("PRAGMA user_version").fetchone()["user_version"] >= SCHEMA_VERSION:
            return
        with self.transaction():
            version = self.conn.execute("PRAGMA user_version").fetchone()["user_version"]  # re-check under the lock
            if version < 1:
                statements = [s for s in _SCHEMA_V1.split(";\n") if s.strip()] + _TRIGGERS_V1
                for statement in statements:
                    self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A short write transaction holding the write lock from the start (BEGIN IMMEDIATE)."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def _all(self, sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        return self.conn.execute(sql, args).fetchall()

    def _one(self, sql: str, args: tuple[Any, ...] = ()) -> dict[str, Any] | None:
        return self.conn.execute(sql, args).fetchone()

    # -- inserts (call inside `transaction()`) ---------------------------------------------------
    def insert(self, table: str, row: dict[str, Any]) -> int:
        values = [json.dumps(v, sort_keys=True, default=str) if k in _JSON_COLUMNS and v is not None else v
                  for k, v in row.items()]
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        cur = self.conn.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})", values)
        return int(cur.lastrowid or 0)

    # -- versions --------------------------------------------------------------------------------
    def model_names(self) -> list[str]:
        return [r["model"] for r in self._all("SELECT DISTINCT model FROM model_versions ORDER BY model")]

    def versions(self, model: str) -> list[dict[str, Any]]:
        return self._all("SELECT * FROM model_versions WHERE model = ? ORDER BY version", (model,))

    def get_version(self, model: str, version: int) -> dict[str, Any] | None:
        return self._one("SELECT * FROM model_versions WHERE model = ? AND version = ?", (model, version))

    def versions_of_run(self, run_id: str) -> list[dict[str, Any]]:
        return self._all("SELECT model, version FROM model_versions WHERE run_id = ?", (run_id,))

    def next_version(self, model: str) -> int:
        row = self._one("SELECT coalesce(max(version), 0) + 1 AS v FROM model_versions WHERE model = ?", (model,))
        return int(row["v"]) if row else 1

    # -- aliases ---------------------------------------------------------------------------------
    def alias_at(self, model: str, alias: str, at: str | None = None) -> dict[str, Any] | None:
        """The alias event in force at `at` (ISO UTC; now if None); its `version` is None if removed."""
        if at is None:
            return self._one("SELECT * FROM alias_events WHERE model = ? AND alias = ? ORDER BY seq DESC LIMIT 1",
                             (model, alias))
        return self._one("SELECT * FROM alias_events WHERE model = ? AND alias = ? AND set_at <= ? "
                         "ORDER BY set_at DESC, seq DESC LIMIT 1", (model, alias, at))

    def aliases(self, model: str, at: str | None = None) -> dict[str, dict[str, Any]]:
        """alias -> the event in force (at `at`), for aliases currently held by a version."""
        names = [r["alias"] for r in self._all("SELECT DISTINCT alias FROM alias_events WHERE model = ?", (model,))]
        out = {}
        for name in sorted(names):
            event = self.alias_at(model, name, at)
            if event is not None and event["version"] is not None:
                out[name] = event
        return out

    def alias_history(self, model: str, alias: str | None = None) -> list[dict[str, Any]]:
        if alias is None:
            return self._all("SELECT * FROM alias_events WHERE model = ? ORDER BY seq", (model,))
        return self._all("SELECT * FROM alias_events WHERE model = ? AND alias = ? ORDER BY seq", (model, alias))

    # -- requests and decisions --------------------------------------------------------------------
    def requests(self, model: str | None = None, state: str | None = None) -> list[dict[str, Any]]:
        where, args = [], []
        if model:
            where.append("model = ?")
            args.append(model)
        if state:
            where.append("state = ?")
            args.append(state)
        sql = "SELECT * FROM promotion_requests" + (" WHERE " + " AND ".join(where) if where else "")
        return self._all(sql + " ORDER BY id DESC", tuple(args))

    def get_request(self, request_id: int) -> dict[str, Any] | None:
        return self._one("SELECT * FROM promotion_requests WHERE id = ?", (request_id,))

    def decisions(self, request_id: int) -> list[dict[str, Any]]:
        return self._all("SELECT * FROM decisions WHERE request_id = ? ORDER BY seq", (request_id,))

    def close_request(self, request_id: int, state: str, decided_at: str) -> None:
        assert state in REQUEST_STATES and state != "open"
        self.conn.execute("UPDATE promotion_requests SET state = ?, decided_at = ? WHERE id = ? AND state = 'open'",
                          (state, decided_at, request_id))

    # -- evaluations -----------------------------------------------------------------------------
    def evaluations(self, model: str, limit: int = 50) -> list[dict[str, Any]]:
        return self._all("SELECT * FROM evaluations WHERE model = ? ORDER BY id DESC LIMIT ?", (model, limit))
