"""Move old events into read-only archive files while the chain stays verifiable across the boundary.

An archive is a SQLite file holding events #a–#b exactly as they were (same table, same hashes) plus
the log's `meta`. The live log keeps an anchor row per archive (range, head hash, file SHA-256) in the
append-only `archives` table, and its first remaining event still links to the archive's head hash, so
`verify` walks archive files and live log as one chain.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.audit.chain import CHAIN_FIELDS, GENESIS, ChainProblem, walk
from workbench.audit.log import (AuditLog, Event, VerifyResult, _dicts, _EVENT_COLUMNS, create_append_only_tables,
                                 create_fts, utc_now)
from workbench.errors import BadInputError
from workbench.hashing import sha256_file

ARCHIVE_DIR = "audit-archive"
_SELECT_CHAIN = f"SELECT {', '.join(CHAIN_FIELDS)}, hash FROM events"


@dataclass(frozen=True)
class ArchiveResult:
    path: Path
    seq_from: int
    seq_to: int
    head_hash: str
    sha256: str

    @property
    def count(self) -> int:
        return self.seq_to - self.seq_from + 1

    def as_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "seq_from": self.seq_from, "seq_to": self.seq_to, "count": self.count,
                "head_hash": self.head_hash, "sha256": self.sha256}


def anchors(log: AuditLog) -> list[dict[str, Any]]:
    return list(_dicts(log.conn.execute("SELECT * FROM archives ORDER BY seq_to")))


def _open_ro(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)


def archive_events(log: AuditLog, *, actor: str, before: str | None = None, keep: int | None = None) -> ArchiveResult:
    """Archive events older than `before` (a `ts`), or all but the newest `keep`; the newest event always stays."""
    if (before is None) == (keep is None):
        raise BadInputError("Say which events to archive: --before TIME or --keep N.")
    first = log.conn.execute("SELECT min(seq) FROM events").fetchone()[0]
    head_seq, _ = log.head()
    if first is None:
        raise BadInputError("The audit log has no events to archive.")
    if before is not None:
        seq_to = log.conn.execute("SELECT max(seq) FROM events WHERE ts < ?", [before]).fetchone()[0] or 0
    else:
        seq_to = head_seq - max(int(keep or 0), 0)
    seq_to = min(seq_to, head_seq - 1)
    if seq_to < first:
        raise BadInputError("No events are old enough to archive (the newest event always stays in the live log).")
    checked = log.verify_chain(include_archives=False)
    if not checked.ok:
        raise BadInputError(f"The audit chain does not verify ({checked.summary}); archiving refused so the break stays visible.")
    head_hash = log.conn.execute("SELECT hash FROM events WHERE seq = ?", [seq_to]).fetchone()[0]

    folder = log.workspace_root / ARCHIVE_DIR
    folder.mkdir(exist_ok=True)
    final = folder / f"audit-{first:010d}-{seq_to:010d}.sqlite"
    tmp = folder / f".{final.name}.tmp"
    tmp.unlink(missing_ok=True)
    _write_archive(log, tmp, first, seq_to)
    digest = sha256_file(tmp)
    os.chmod(tmp, stat.S_IRUSR | stat.S_IRGRP)  # read-only; the workspace group reads it, others never
    os.replace(tmp, final)

    event = log.event_values("audit.archived", actor, str(final.relative_to(log.workspace_root)), None,
                              {"seq_from": first, "seq_to": seq_to, "head_hash": head_hash, "sha256": digest},
                              "ok", None, None)
    cols = ", ".join(("kind", "subject", "actor", "run_id", "outcome", "params"))
    with log.transaction() as conn:
        if conn.execute("SELECT min(seq) FROM events").fetchone()[0] != first:
            raise BadInputError("Another process archived events at the same time; try again.")
        conn.execute("INSERT INTO archives (seq_from, seq_to, head_hash, file, sha256, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                     [first, seq_to, head_hash, str(final.relative_to(log.workspace_root)), digest, utc_now()])
        conn.execute(f"INSERT INTO events_fts(events_fts, rowid, {cols}) SELECT 'delete', seq, {cols} FROM events WHERE seq <= ?",
                     [seq_to])
        # The one sanctioned delete: the rows now live, byte for byte, in the archive file anchored above.
        conn.execute("DROP TRIGGER events_no_delete")
        conn.execute("DELETE FROM events WHERE seq <= ?", [seq_to])
        create_append_only_tables(conn)
        log.append(conn, [event])
    return ArchiveResult(final, first, seq_to, head_hash, digest)


def _write_archive(log: AuditLog, path: Path, seq_from: int, seq_to: int) -> None:
    import sqlite_utils

    conn = sqlite3.connect(path, isolation_level=None)
    try:
        db = sqlite_utils.Database(conn)
        db["events"].create(_EVENT_COLUMNS, pk="seq")
        conn.execute("BEGIN")
        create_append_only_tables(conn)
        create_fts(conn)  # an archive stays searchable on its own (`audit search --archives`)
        conn.execute("ATTACH DATABASE ? AS live", [f"file:{log.path}?mode=ro"])
        conn.execute("INSERT INTO events SELECT * FROM live.events WHERE seq BETWEEN ? AND ?", [seq_from, seq_to])
        conn.execute("INSERT INTO meta SELECT * FROM live.meta")
        conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)",
                         [("archive_seq_from", str(seq_from)), ("archive_seq_to", str(seq_to)), ("archived_at", utc_now())])
        conn.execute("COMMIT")
        conn.execute("DETACH DATABASE live")
    finally:
        conn.close()


def verify_archives(log: AuditLog, found: list[dict[str, Any]]) -> VerifyResult:
    """Walk every archive file in order, checking each against its anchor in the live log."""
    prev, count, v2_from = GENESIS, 0, int(log.meta("chain_v2_from") or 1)
    expected = 1
    for anchor in found:
        path = log.workspace_root / anchor["file"]

        def fail(kind: str, message: str) -> VerifyResult:
            return VerifyResult(False, count, expected - 1, prev, ChainProblem(anchor["seq_from"], kind, message), len(found))

        if anchor["seq_from"] != expected:
            return fail("deleted", f"archives skip events #{expected}–#{anchor['seq_from'] - 1}")
        if not path.exists():
            return fail("deleted", f"archive {anchor['file']} (events #{anchor['seq_from']}–#{anchor['seq_to']}) is missing")
        if sha256_file(path) != anchor["sha256"]:
            return fail("edited", f"archive {anchor['file']} was modified (its SHA-256 differs from the anchor)")
        conn = _open_ro(path)
        try:
            result = walk(conn.execute(_SELECT_CHAIN + " ORDER BY seq"), start_seq=anchor["seq_from"], start_prev=prev,
                          v2_from=v2_from, label=lambda s: f"#{s} (archived)")
        finally:
            conn.close()
        if result.problem is not None:
            return VerifyResult(False, count + result.count, result.head_seq, result.head_hash, result.problem, len(found))
        if result.head_seq != anchor["seq_to"] or result.head_hash != anchor["head_hash"]:
            return fail("deleted", f"archive {anchor['file']} ends at #{result.head_seq}, not at its anchor #{anchor['seq_to']}")
        count += result.count
        prev, expected = result.head_hash, result.head_seq + 1
    return VerifyResult(True, count, expected - 1, prev, None, len(found))


def archived_hash(log: AuditLog, seq: int) -> str | None:
    """The hash of archived event `seq`, or None if no archive holds it."""
    for anchor in anchors(log):
        if anchor["seq_from"] <= seq <= anchor["seq_to"]:
            conn = _open_ro(log.workspace_root / anchor["file"])
            try:
                row = conn.execute("SELECT hash FROM events WHERE seq = ?", [seq]).fetchone()
            finally:
                conn.close()
            return row[0] if row else None
    return None


def _searchable(path: Path) -> sqlite3.Connection:
    """A read-only connection to an archive with its FTS index; archives written before archives carried
    one are indexed in memory (the file itself is never touched: its SHA-256 is anchored)."""
    conn = _open_ro(path)
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'events_fts'").fetchone():
        return conn
    conn.close()
    mem = sqlite3.connect(":memory:")
    mem.execute("ATTACH DATABASE ? AS arc", [f"file:{path}?mode=ro&immutable=1"])
    mem.execute("CREATE TABLE events AS SELECT * FROM arc.events")
    mem.execute("DETACH DATABASE arc")
    create_fts(mem, rebuild=True)
    return mem


def search_with_archives(log: AuditLog, query: str | None = None, *, limit: int = 50, rank: bool = False,
                         **filters: Any) -> list[Event]:
    """`AuditLog.search` over the live log and every archive file as one record (e-discovery does not stop
    at the archive boundary): newest first, or by relevance with `rank`."""
    from workbench.audit.search import run_search

    rows = run_search(log.conn, query, limit=limit, rank=rank, **filters)
    for anchor in anchors(log):
        path = log.workspace_root / anchor["file"]
        if not path.exists():
            raise BadInputError(f"The audit archive {anchor['file']} (events #{anchor['seq_from']}–#{anchor['seq_to']}) "
                                "is missing; `workbench audit verify` reports it.")
        conn = _searchable(path)
        try:
            rows += run_search(conn, query, limit=limit, rank=rank, **filters)
        finally:
            conn.close()
    ranked = bool(rank and query and query.strip())
    rows.sort(key=(lambda r: (r["fts_rank"], -r["seq"])) if ranked else (lambda r: -r["seq"]))
    return [AuditLog._event(r) for r in rows[:limit]]
