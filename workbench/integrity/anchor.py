"""The log's identity, recorded outside the log: a deleted or replaced `audit.sqlite` is a finding.

The anchor (the log's id and the hash of its first event) is written at `workbench init` into two
other databases of the workspace — the lake catalog and the registry — in append-only tables. A
workspace made before anchors existed is anchored the first time its chain verifies (trust on first use).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from workbench.audit.findings import Finding
from workbench.audit.log import AuditLog, utc_now
from workbench.workspace import Workspace

_TABLE = "workbench_log_anchor"
_CREATE = (f"CREATE TABLE IF NOT EXISTS {_TABLE} (log_id TEXT NOT NULL, first_hash TEXT NOT NULL, "
           "anchored_at TEXT NOT NULL)")
_TRIGGERS = [f"CREATE TRIGGER IF NOT EXISTS {_TABLE}_no_{op.lower()} BEFORE {op} ON {_TABLE} "
             f"BEGIN SELECT RAISE(ABORT, 'the log anchor is append-only'); END" for op in ("UPDATE", "DELETE")]


@dataclass(frozen=True)
class Anchor:
    log_id: str
    first_hash: str


def anchor_files(workspace: Workspace) -> list[Path]:
    from workbench.registry.store import registry_path

    return [workspace.lake_catalog, registry_path(workspace)]


def log_anchor(log: AuditLog) -> Anchor | None:
    row = log.conn.execute("SELECT hash FROM events WHERE seq = 1").fetchone()
    first = row[0] if row else None
    if first is None:  # archived: the oldest archive file holds event 1
        from workbench.audit.archive import anchors

        found = anchors(log)
        if found:
            con = sqlite3.connect(f"file:{log.workspace_root / found[0]['file']}?mode=ro", uri=True)
            try:
                row = con.execute("SELECT hash FROM events WHERE seq = 1").fetchone()
            except sqlite3.DatabaseError:
                row = None
            finally:
                con.close()
            first = row[0] if row else None
    return Anchor(log.log_id, first) if first and log.log_id else None


def write_anchor(workspace: Workspace, anchor: Anchor) -> None:
    """Record the anchor in every anchor file (the lake catalog must exist; the registry is created)."""
    for path in anchor_files(workspace):
        if path == workspace.lake_catalog and not path.exists():
            continue
        con = sqlite3.connect(path, timeout=30, isolation_level=None)
        try:
            con.execute("BEGIN IMMEDIATE")
            con.execute(_CREATE)
            for trigger in _TRIGGERS:
                con.execute(trigger)
            if con.execute(f"SELECT count(*) FROM {_TABLE}").fetchone()[0] == 0:
                con.execute(f"INSERT INTO {_TABLE} VALUES (?, ?, ?)", [anchor.log_id, anchor.first_hash, utc_now()])
            con.execute("COMMIT")
        finally:
            con.close()


def read_anchors(workspace: Workspace) -> dict[str, Anchor]:
    """file name -> the anchor it records (files without one are left out)."""
    out = {}
    for path in anchor_files(workspace):
        if not path.exists():
            continue
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            row = con.execute(f"SELECT log_id, first_hash FROM {_TABLE} LIMIT 1").fetchone()
        except sqlite3.DatabaseError:
            row = None
        finally:
            con.close()
        if row:
            out[path.name] = Anchor(row[0], row[1])
    return out


def check_anchor(workspace: Workspace, log: AuditLog, chain_ok: bool) -> list[Finding]:
    """The log is the one this workspace started with; anchors it on first use when none is recorded."""
    recorded = read_anchors(workspace)
    current = log_anchor(log)
    if not recorded:
        if chain_ok and current is not None:
            write_anchor(workspace, current)
        return []
    out = []
    for name, anchor in sorted(recorded.items()):
        if current is None or anchor.log_id != current.log_id or anchor.first_hash != current.first_hash:
            out.append(Finding("audit.log", name, "anchor",
                               f"audit.sqlite is not the log this workspace started with ({name} records log "
                               f"{anchor.log_id[:12]}…, first event {anchor.first_hash[:12]}…): it was replaced."))
    return out
