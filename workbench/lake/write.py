"""Write a Workbench-made frame (predictions, derived tables) into the lake as one new table version.

The same contract as ingest (`operations.write_frame`): one DuckLake transaction creates or replaces the
table and stamps the snapshot with `set_commit_message(actor, message, extra_info)` JSON, so the write
shows up in the table's version history with its fingerprint and its audit event — or nothing changes.
"""

from __future__ import annotations

from typing import Any

import duckdb

from workbench.lake.catalog import TableVersion, table_versions
from workbench.lake.engine import Lake
from workbench.lake.fingerprint import FINGERPRINT_ALGORITHM, fingerprint_relation
from workbench.lake.names import quote_ident


def version_entry(lake: Lake, cur: duckdb.DuckDBPyConnection, table: str, source: str) -> dict[str, Any]:
    """The commit-metadata entry for the table version being written in `cur`'s open transaction:
    next version number, schema, row count and content fingerprint (what `catalog.table_versions` reads)."""
    columns = cur.execute(f"DESCRIBE {quote_ident(table)}").fetchall()
    fingerprint, rows = fingerprint_relation(cur, quote_ident(table))
    previous = table_versions(lake, table)
    return {
        "table": table,
        "version": (previous[-1].version + 1) if previous else 1,
        "operation": "replace" if previous else "create",
        "source": source,
        "row_count": rows,
        "schema": [[c[0], c[1]] for c in columns],
        "fingerprint": fingerprint,
        "fingerprint_algorithm": FINGERPRINT_ALGORITHM,
    }


def write_table_version(
    lake: Lake,
    table: str,
    frame: Any,
    *,
    actor: str,
    source: str,
    message: str,
    replace: bool = False,
    extra: dict[str, Any] | None = None,
) -> TableVersion:
    """Store `frame` (polars DataFrame or Arrow table) as the next version of `table`, atomically and audited.

    `extra` is merged into the table's entry in the commit metadata (e.g. which model produced it).
    """
    from workbench.lake.operations import write_frame

    return write_frame(lake, table, frame, source=source, message=message, replace=replace, extra=extra, actor=actor)
