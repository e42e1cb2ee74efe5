"""The search index (FTS5 over events) against the events it indexes.

The index is derived data: an attacker who deletes index rows hides events from `audit search`
without touching the chain. FTS5's own `integrity-check` compares an external-content index with its
content table row by row; a cheap count of indexed documents first catches a deletion without it.
"""

from __future__ import annotations

import sqlite3

from workbench.audit.findings import Finding
from workbench.audit.log import AuditLog


def check_search_index(log: AuditLog, *, thorough: bool = False) -> list[Finding]:
    """Findings for an index that no longer matches the live events (`workbench audit reindex` repairs)."""
    conn = log.conn
    events = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    try:
        indexed = conn.execute("SELECT count(*) FROM events_fts_docsize").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        return [Finding("audit.search_index", "events_fts", "index", f"the search index cannot be read ({exc}).")]
    if indexed != events:
        return [Finding("audit.search_index", "events_fts", "count",
                        f"the search index holds {indexed:,} events but the log has {events:,}: events are hidden "
                        "from `audit search`; run `workbench audit reindex`.")]
    if thorough:
        try:
            conn.execute("INSERT INTO events_fts(events_fts, rank) VALUES ('integrity-check', 1)")
        except sqlite3.DatabaseError as exc:
            return [Finding("audit.search_index", "events_fts", "content",
                            f"the search index does not match the events ({exc}); run `workbench audit reindex`.")]
    return []


def rebuild_search_index(log: AuditLog, *, actor: str) -> int:
    """Rebuild the index from the events and record that it was done; returns the events indexed."""
    with log.transaction() as conn:
        conn.execute("INSERT INTO events_fts(events_fts) VALUES ('rebuild')")
        count = conn.execute("SELECT count(*) FROM events").fetchone()[0]
        log.append(conn, [log.event_values("audit.reindexed", actor, "events_fts", None, {"events": count},
                                           "ok", None, None)])
    return count
