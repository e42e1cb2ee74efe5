"""Events and run summaries in `audit.sqlite` (sqlite-utils), hash-chained so edits are detectable.

Concurrency: WAL mode, a busy timeout and short `BEGIN IMMEDIATE` writes, so several runs, an ingest and
the TUI can share one log. Each event's hash covers its content and the previous event's hash; editing
or deleting any row breaks `verify()` from that row on.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import sqlite_utils

import workbench
from workbench.audit.context import git_state
from workbench.audit.redact import redact
from workbench.identity import current_host

SCHEMA_VERSION = 1
GENESIS = "0" * 64

_EVENT_FIELDS = (
    "id", "ts", "actor", "host", "workbench_version", "git_commit", "git_dirty", "kind", "subject",
    "run_id", "data_version", "fingerprint", "params", "outcome",
)

_RUN_COLUMNS = {
    "run_id": str, "name": str, "state": str, "actor": str, "spec_path": str, "spec": str,
    "task": str, "metric": str, "data_source": str, "data_version": int, "fingerprint": str,
    "row_count": int, "queued_at": str, "started_at": str, "finished_at": str, "best_model": str,
    "best_score": float, "artifact_path": str, "artifact_sha256": str, "leaderboard": str,
    "error": str, "backend": str, "pid": int, "host": str,
}


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + uuid.uuid4().hex[:6]


@dataclass(frozen=True)
class Event:
    seq: int
    ts: str
    actor: str
    kind: str
    subject: str | None
    run_id: str | None
    outcome: str | None
    params: dict[str, Any]
    host: str | None = None
    git_commit: str | None = None
    data_version: int | None = None
    fingerprint: str | None = None
    hash: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _event_hash(prev_hash: str, row: dict[str, Any]) -> str:
    body = json.dumps({k: row.get(k) for k in _EVENT_FIELDS}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


class AuditLog:
    """The workspace's audit log. Open one per process (or thread) and close it when done."""

    def __init__(self, path: Path, workspace_root: Path | None = None) -> None:
        self.path = path
        self.workspace_root = workspace_root or path.parent
        conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        self.db = sqlite_utils.Database(conn)
        self._migrate()

    def close(self) -> None:
        self.db.conn.close()

    def __enter__(self) -> "AuditLog":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema -------------------------------------------------------------------------------
    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version >= SCHEMA_VERSION:
            return
        with self._immediate():
            version = self.db.execute("PRAGMA user_version").fetchone()[0]  # re-check under the lock
            if version < 1:
                self.db["events"].create(
                    {"seq": int, "id": str, "ts": str, "actor": str, "host": str, "workbench_version": str,
                     "git_commit": str, "git_dirty": int, "kind": str, "subject": str, "run_id": str,
                     "data_version": int, "fingerprint": str, "params": str, "outcome": str,
                     "prev_hash": str, "hash": str},
                    pk="seq", if_not_exists=True,
                )
                self.db["events"].create_index(["kind"], if_not_exists=True)
                self.db["events"].create_index(["run_id"], if_not_exists=True)
                self.db["events"].create_index(["ts"], if_not_exists=True)
                self.db["runs"].create(_RUN_COLUMNS, pk="run_id", if_not_exists=True)
                self.db["runs"].create_index(["started_at"], if_not_exists=True)
                self.db["runs"].create_index(["state"], if_not_exists=True)
                self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    class _Tx:
        def __init__(self, conn: sqlite3.Connection) -> None:
            self.conn = conn

        def __enter__(self) -> sqlite3.Connection:
            self.conn.execute("BEGIN IMMEDIATE")
            return self.conn

        def __exit__(self, exc_type: object, *rest: object) -> None:
            self.conn.execute("ROLLBACK" if exc_type else "COMMIT")

    def _immediate(self) -> "AuditLog._Tx":
        return AuditLog._Tx(self.db.conn)

    # -- events -------------------------------------------------------------------------------
    def record(
        self,
        kind: str,
        *,
        actor: str,
        subject: str | None = None,
        run_id: str | None = None,
        params: dict[str, Any] | None = None,
        outcome: str = "ok",
        data_version: int | None = None,
        fingerprint: str | None = None,
    ) -> str:
        """Append one event to the chain; returns its hash."""
        commit, dirty = git_state(self.workspace_root)
        row: dict[str, Any] = {
            "id": uuid.uuid4().hex,
            "ts": utc_now(),
            "actor": actor,
            "host": current_host(),
            "workbench_version": workbench.__version__,
            "git_commit": commit,
            "git_dirty": None if dirty is None else int(dirty),
            "kind": kind,
            "subject": subject,
            "run_id": run_id,
            "data_version": data_version,
            "fingerprint": fingerprint,
            "params": json.dumps(redact(params or {}), sort_keys=True, default=str),
            "outcome": outcome,
        }
        with self._immediate() as conn:
            last = conn.execute("SELECT hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
            prev = last[0] if last else GENESIS
            row["prev_hash"] = prev
            row["hash"] = _event_hash(prev, row)
            self.db["events"].insert(row)
        return row["hash"]

    def events(self, kind: str | None = None, run_id: str | None = None, limit: int = 200) -> list[Event]:
        where, args = [], []
        if kind:
            where.append("kind = ?")
            args.append(kind)
        if run_id:
            where.append("run_id = ?")
            args.append(run_id)
        sql = "SELECT * FROM events" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY seq DESC LIMIT ?"
        args.append(limit)
        return [self._event(r) for r in self.db.query(sql, args)]

    @staticmethod
    def _event(r: dict[str, Any]) -> Event:
        return Event(
            seq=r["seq"], ts=r["ts"], actor=r["actor"], kind=r["kind"], subject=r["subject"],
            run_id=r["run_id"], outcome=r["outcome"], params=json.loads(r["params"] or "{}"),
            host=r["host"], git_commit=r["git_commit"], data_version=r["data_version"],
            fingerprint=r["fingerprint"], hash=r["hash"],
        )

    def verify(self) -> tuple[bool, str]:
        """Walk the chain; (True, summary) if intact, else (False, where it first breaks)."""
        prev = GENESIS
        count = 0
        expected_seq = None
        for r in self.db.query("SELECT * FROM events ORDER BY seq"):
            if expected_seq is not None and r["seq"] != expected_seq:
                return False, f"event #{expected_seq} is missing (deleted?)"
            if r["prev_hash"] != prev or _event_hash(prev, r) != r["hash"]:
                return False, f"event #{r['seq']} ({r['kind']}) does not match its hash (edited?)"
            prev = r["hash"]
            expected_seq = r["seq"] + 1
            count += 1
        return True, f"{count} events verified"

    # -- runs ---------------------------------------------------------------------------------
    def upsert_run(self, run_id: str, **fields: Any) -> None:
        row = {"run_id": run_id, **{k: v for k, v in fields.items() if k in _RUN_COLUMNS}}
        with self._immediate():
            self.db["runs"].upsert(row, pk="run_id", alter=False)

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        rows = list(self.db.query("SELECT * FROM runs WHERE run_id = ? OR run_id LIKE ? ORDER BY run_id", [run_id, run_id + "%"]))
        exact = [r for r in rows if r["run_id"] == run_id]
        if exact:
            return exact[0]
        return rows[0] if len(rows) == 1 else None

    def list_runs(self, limit: int = 100, before: str | None = None) -> list[dict[str, Any]]:
        """Newest first, keyset-paginated on (queued_at, run_id)."""
        if before:
            sql = "SELECT * FROM runs WHERE run_id < ? ORDER BY run_id DESC LIMIT ?"
            return list(self.db.query(sql, [before, limit]))
        return list(self.db.query("SELECT * FROM runs ORDER BY run_id DESC LIMIT ?", [limit]))

    def iter_events(self) -> Iterator[dict[str, Any]]:
        yield from self.db.query("SELECT * FROM events ORDER BY seq")
