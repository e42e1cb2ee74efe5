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

from workbench.errors import IntegrityError
from workbench.workspace import Workspace

SCHEMA_VERSION = 3
_BOUND_TABLES = ("model_versions", "alias_events", "promotion_requests", "decisions", "evaluations")
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


# Rows made by governed actions: believed only while their event's signature counts (access/ledger.py).
_GOVERNED_TABLES = {"alias_events", "promotion_requests", "decisions"}
_JSON_COLUMNS = {"metrics", "spec", "code", "features", "reference", "evidence", "results", "approved_by", "training"}


def _row(cursor: sqlite3.Cursor, values: tuple[Any, ...]) -> dict[str, Any]:
    out = {}
    for (name, *_), value in zip(cursor.description, values):
        out[name] = json.loads(value) if name in _JSON_COLUMNS and isinstance(value, str) else value
    return out


class RegistryStore:
    """One connection to the workspace's registry. Open one per thread; close when done."""

    def __init__(self, path: Path, workspace: Workspace | None = None) -> None:
        self.path = path
        self.workspace = workspace  # with a workspace, rows are checked against its audit log when read
        self._audit: Any = None
        self._ledger: Any = None
        self.conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self.conn.row_factory = _row
        self.conn.execute("PRAGMA busy_timeout = 30000")
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = NORMAL")
        self.conn.execute("PRAGMA foreign_keys = ON")
        self._migrate()

    @classmethod
    def open(cls, workspace: Workspace) -> "RegistryStore":
        return cls(registry_path(workspace), workspace)

    def close(self) -> None:
        self.conn.close()
        if self._audit is not None:
            self._audit.close()

    @property
    def ledger(self) -> Any:
        """Signatures and roles of governed events (`access/ledger.py`), replayed once per store."""
        if self._ledger is None:
            from workbench.access.ledger import Ledger

            self._ledger = Ledger.load(self.audit)
        return self._ledger

    @property
    def audit(self) -> Any:
        """The workspace's audit log, opened on first use (rows are checked against it)."""
        if self._audit is None and self.workspace is not None:
            from workbench.audit import AuditLog

            self._audit = AuditLog(self.workspace.audit_path, self.workspace.root)
        return self._audit

    def checked(self, table: str, row: dict[str, Any] | None) -> dict[str, Any] | None:
        """`row` if it agrees with the audit event bound to it; IntegrityError naming it otherwise."""
        if row is None or self.workspace is None:
            return row
        from workbench.registry.binding import BINDINGS, closing_problem, row_problem

        problem = row_problem(self.audit, table, row)
        if problem is None and table == "promotion_requests":
            problem = closing_problem(self.audit, row)
        if problem is None and table in _GOVERNED_TABLES and row.get("event_seq") is not None:
            status = self.ledger.status(int(row["event_seq"]))
            if status is not None and not status.counts:
                problem = f"its governed event #{status.seq} does not count: {status.detail}"
        if problem:
            raise IntegrityError(f"{table} row {BINDINGS[table].key(row)} disagrees with the audit log "
                                 f"({problem}); it is not used. Run `workbench audit verify` for details.")
        return row

    def _checked_all(self, table: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [self.checked(table, r) for r in rows]  # type: ignore[misc]

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
            if version < 2:  # every row carries the audit event it came from (`registry/binding.py`)
                for table in _BOUND_TABLES:
                    self.conn.execute(f"ALTER TABLE {table} ADD COLUMN event_seq INTEGER")
                    self.conn.execute(f"ALTER TABLE {table} ADD COLUMN event_hash TEXT")
                self.conn.execute("ALTER TABLE promotion_requests ADD COLUMN closed_event_seq INTEGER")
                self.conn.execute("ALTER TABLE promotion_requests ADD COLUMN closed_event_hash TEXT")
            if version < 3:  # which rows the artifact saw, and the model of the training rows the holdout scored
                self.conn.execute("ALTER TABLE model_versions ADD COLUMN training TEXT")
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
    def insert(self, table: str, row: dict[str, Any], event: Any = None) -> int:
        """Insert `row`, bound to `event` (an `EventRef` from the audit log) when given."""
        if event is not None:
            row = {**row, "event_seq": event.seq, "event_hash": event.hash}
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
        return self._checked_all("model_versions",
                                 self._all("SELECT * FROM model_versions WHERE model = ? ORDER BY version", (model,)))

    def get_version(self, model: str, version: int) -> dict[str, Any] | None:
        return self.checked("model_versions",
                            self._one("SELECT * FROM model_versions WHERE model = ? AND version = ?", (model, version)))

    def versions_of_run(self, run_id: str) -> list[dict[str, Any]]:
        return self._all("SELECT model, version FROM model_versions WHERE run_id = ?", (run_id,))

    def next_version(self, model: str) -> int:
        row = self._one("SELECT coalesce(max(version), 0) + 1 AS v FROM model_versions WHERE model = ?", (model,))
        return int(row["v"]) if row else 1

    # -- aliases ---------------------------------------------------------------------------------
    def alias_at(self, model: str, alias: str, at: str | None = None) -> dict[str, Any] | None:
        """The alias event in force at `at` (ISO UTC; now if None); its `version` is None if removed."""
        if at is None:
            row = self.checked("alias_events", self._one(
                "SELECT * FROM alias_events WHERE model = ? AND alias = ? ORDER BY seq DESC LIMIT 1", (model, alias)))
            self._check_newest_alias(model, alias, row)
            return row
        return self.checked("alias_events", self._one(
            "SELECT * FROM alias_events WHERE model = ? AND alias = ? AND set_at <= ? "
            "ORDER BY set_at DESC, seq DESC LIMIT 1", (model, alias, at)))

    def _check_newest_alias(self, model: str, alias: str, row: dict[str, Any] | None) -> None:
        """Who holds an alias now is what the chain's newest alias event says, not the newest row."""
        if self.workspace is None:
            return
        from workbench.registry.binding import newest_alias_seq

        newest = newest_alias_seq(self.audit, model, alias)
        if (row["event_seq"] if row else None) != newest:
            raise IntegrityError(f"The alias table says {model}@{alias} is "
                                 f"{'version ' + str(row['version']) if row else 'unset'}, but the audit log's newest "
                                 f"alias event for it is #{newest}; the alias is not used. Run `workbench audit verify`.")

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
        return self._checked_all("promotion_requests", self._all(sql + " ORDER BY id DESC", tuple(args)))

    def get_request(self, request_id: int) -> dict[str, Any] | None:
        return self.checked("promotion_requests",
                            self._one("SELECT * FROM promotion_requests WHERE id = ?", (request_id,)))

    def next_id(self, table: str) -> int:
        """The id the next row of `table` (promotion_requests, evaluations) gets; call inside `transaction()`,
        so the row's event can name it before the row exists."""
        row = self._one(f"SELECT coalesce(max(id), 0) + 1 AS id FROM {table}")
        return int(row["id"]) if row else 1

    def raw_decisions(self, request_id: int) -> list[dict[str, Any]]:
        """Unchecked: the caller checks each row (promotion counts only decisions whose signatures count)."""
        return self._all("SELECT * FROM decisions WHERE request_id = ? ORDER BY seq", (request_id,))

    def decisions(self, request_id: int) -> list[dict[str, Any]]:
        return self._checked_all("decisions",
                                 self._all("SELECT * FROM decisions WHERE request_id = ? ORDER BY seq", (request_id,)))

    def close_request(self, request_id: int, state: str, decided_at: str, event: Any = None) -> None:
        """Close an open request, bound to the event (`EventRef`) that closed it."""
        assert state in REQUEST_STATES and state != "open"
        self.conn.execute("UPDATE promotion_requests SET state = ?, decided_at = ?, closed_event_seq = ?, "
                          "closed_event_hash = ? WHERE id = ? AND state = 'open'",
                          (state, decided_at, getattr(event, "seq", None), getattr(event, "hash", None), request_id))

    # -- evaluations -----------------------------------------------------------------------------
    def evaluations(self, model: str, limit: int = 50) -> list[dict[str, Any]]:
        return self._checked_all("evaluations", self._all(
            "SELECT * FROM evaluations WHERE model = ? ORDER BY id DESC LIMIT ?", (model, limit)))
