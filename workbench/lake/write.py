"""Write a Workbench-made frame (predictions, derived tables) into the lake as one new table version.

The same contract as ingest: one DuckLake transaction creates or replaces the table and stamps the
snapshot with `set_commit_message(actor, message, extra_info)` JSON, so the write shows up in the
table's version history with its fingerprint — or, on any error, nothing changes.
"""

from __future__ import annotations

import json
from typing import Any

import duckdb

from workbench.errors import LakeError
from workbench.lake.catalog import TableVersion, table_exists, table_versions
from workbench.lake.engine import LAKE_ALIAS, Lake
from workbench.lake.fingerprint import FINGERPRINT_ALGORITHM, fingerprint_relation
from workbench.lake.names import check_table_name, quote_ident


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
    """Store `frame` (polars DataFrame or Arrow table) as the next version of `table`, atomically.

    `extra` is merged into the table's entry in the commit metadata (e.g. which model produced it).
    """
    check_table_name(table)
    if table_exists(lake, table) and not replace:
        raise LakeError(f"Table {table!r} already exists; pass --replace to write a new version of it.")
    arrow = frame.to_arrow() if hasattr(frame, "to_arrow") else frame
    if arrow.num_rows == 0:
        raise LakeError(f"Nothing to write into {table!r}: no rows.")
    cur = lake.cursor()
    view = "_wb_write_source"
    cur.register(view, arrow)
    cur.execute("BEGIN TRANSACTION")
    try:
        cur.execute(f"CREATE OR REPLACE TABLE {quote_ident(table)} AS SELECT * FROM {view}")
        entry = {**(extra or {}), **version_entry(lake, cur, table, source)}
        cur.execute(
            f"CALL {LAKE_ALIAS}.set_commit_message(?, ?, extra_info => ?)",
            [actor, message, json.dumps({"workbench": 1, "tables": [entry]})],
        )
        cur.execute("COMMIT")
    except BaseException as exc:
        cur.execute("ROLLBACK")
        if isinstance(exc, duckdb.Error):
            raise LakeError(f"Cannot write table {table!r}: {str(exc).splitlines()[0]}") from exc
        raise
    finally:
        cur.unregister(view)
    return table_versions(lake, table)[-1]
