"""Stage a table version: build the data in the open transaction and fingerprint it (`operations` commits).

Every Workbench write (ingest, SQL `CREATE TABLE … AS`) goes through here, so each version records the
same fields: version number, operation, source, row count, schema and a whole-table fingerprint.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

import duckdb

from workbench.errors import LakeError
from workbench.lake.catalog import TableVersion, table_versions
from workbench.lake.engine import Lake
from workbench.lake.names import quote_ident
from workbench.lake.write import version_entry

Progress = Callable[[float], None]


def check_column_names(names: list[str], source: str) -> None:
    seen: set[str] = set()
    for name in names:
        if not name.strip():
            raise LakeError(f"{source} has an empty column name.")
        if name.lower() in seen:
            raise LakeError(f"{source} has the column {name!r} twice.")
        seen.add(name.lower())


def run_with_progress(cur: duckdb.DuckDBPyConnection, sql: str, progress: Progress | None) -> None:
    """Run one statement; while it runs, report DuckDB's own progress estimate (0–100) every 0.2 s."""
    if progress is None:
        cur.execute(sql)
        return
    done = threading.Event()

    def poll() -> None:
        while not done.wait(0.2):
            try:
                pct = cur.query_progress()
            except duckdb.Error:
                continue
            if pct is not None and pct >= 0:
                progress(float(pct))

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        cur.execute(sql)
    finally:
        done.set()
        poller.join()
    progress(100.0)


def stage_version(
    lake: Lake,
    cur: duckdb.DuckDBPyConnection,
    table: str,
    select_sql: str,
    source: str,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Inside an open transaction: (re)create `table` from `select_sql` and describe the new version."""
    run_with_progress(cur, f"CREATE OR REPLACE TABLE {quote_ident(table)} AS {select_sql}", progress)
    columns = cur.execute(f"DESCRIBE {quote_ident(table)}").fetchall()
    if not columns:
        raise LakeError(f"{source} has no columns.")
    check_column_names([c[0] for c in columns], source)
    return version_entry(lake, cur, table, source)


def committed_versions(lake: Lake, entries: list[dict[str, Any]]) -> list[TableVersion]:
    return [table_versions(lake, e["table"])[-1] for e in entries]
