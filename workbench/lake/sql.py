"""The SQL console's core: read-only queries paged like a table, and explicit, audited writes.

Read-only is the default, and it is enforced by the handle: a query runs on a sealed read-only lake
(`sql_guard.reading`), so nothing it calls can change the lake. A write is allowed only when asked for
(`allow_write`), and only in one form, `CREATE [OR REPLACE] TABLE name AS SELECT …`, which becomes a new
version of `name` through the audited `operations.sql_write`. INSERT/UPDATE/DELETE/DROP would edit the
lake behind the versioning, so they are refused with a sentence that says what to do instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from workbench.errors import LakeError
from workbench.lake.catalog import TableVersion, current_snapshot
from workbench.lake.engine import Lake
from workbench.lake.names import check_table_name
from workbench.lake.preview import MAX_PAGE, Page
from workbench.lake.sql_guard import (
    check_predicate, check_select, clean_error, ctas_parts, guarded_select, is_write_statement, read_error, reading,
)

__all__ = ["SqlOutcome", "check_predicate", "clean_error", "parse_write", "query_page", "run_checked",
           "run_statement", "write_table"]


def run_checked(cur: duckdb.DuckDBPyConnection, sql: str) -> duckdb.DuckDBPyConnection:
    """Execute `sql`, turning a DuckDB error (bad column, syntax, types) into one LakeError sentence."""
    try:
        return cur.execute(sql)
    except duckdb.Error as exc:
        raise read_error(exc) from exc


@dataclass(frozen=True)
class SqlOutcome:
    """What a console statement did: a page of rows for a query, or the version a write created."""

    page: Page | None = None
    written: TableVersion | None = None
    statement: str = ""


def query_page(lake: Lake, sql: str, offset: int = 0, limit: int = 200, total: int | None = None) -> Page:
    """One page of a read-only query's result, with its honest total row count."""
    check_select(sql)  # bad statements fail before a read-only handle is opened
    limit = max(0, min(int(limit), MAX_PAGE))
    offset = max(0, int(offset))
    with reading(lake) as ro:
        query = guarded_select(ro, sql)
        cur = ro.cursor()
        snapshot = current_snapshot(ro)
        try:
            if total is None:
                total = int(cur.execute(f"SELECT count(*) FROM ({query}\n) AS _wb_q").fetchone()[0])
            rel = cur.execute(f"SELECT * FROM ({query}\n) AS _wb_q LIMIT {limit} OFFSET {offset}")
            rows = rel.fetchall()
        except duckdb.ParserException:
            # Statements that cannot be a subquery (PRAGMA, SHOW …): run as they are and slice.
            rel = run_checked(cur, query)
            everything = rel.fetchmany(MAX_PAGE * 10)
            total = len(everything)
            rows = everything[offset : offset + limit]
        except duckdb.Error as exc:
            raise read_error(exc) from exc
        columns = [d[0] for d in rel.description]
        dtypes = [str(d[1]) for d in rel.description]
    return Page(table="(query)", columns=columns, dtypes=dtypes, rows=rows, offset=offset, total_rows=total,
                snapshot=snapshot)


def parse_write(sql: str) -> tuple[str, bool, str]:
    """(table, replace, select) of a `CREATE [OR REPLACE] TABLE name AS SELECT …` statement."""
    m = ctas_parts(sql)
    if not m:
        try:
            kind = duckdb.extract_statements(sql.strip().rstrip(";"))[0].type.name
        except (duckdb.Error, IndexError):
            kind = "this statement"
        raise LakeError(
            f"Only CREATE [OR REPLACE] TABLE name AS SELECT … can write to the lake (got {kind}); "
            "every write becomes a new table version."
        )
    raw = m.group("name")
    name = raw[1:-1].replace('""', '"') if raw.startswith('"') else raw
    return check_table_name(name), bool(m.group("replace")), check_select(m.group("body"))


def write_table(lake: Lake, sql: str, actor: str | None = None) -> TableVersion:
    """Run a CREATE TABLE … AS SELECT as a new, fingerprinted, audited version of the table (all or nothing)."""
    from workbench.lake.operations import sql_write

    return sql_write(lake, sql, actor=actor)


def run_statement(lake: Lake, sql: str, *, allow_write: bool = False, actor: str | None = None,
                  limit: int = 200) -> SqlOutcome:
    """What the console runs: a query's first page, or (only with `allow_write`) a versioned write."""
    text = sql.strip()
    if allow_write and is_write_statement(text):
        return SqlOutcome(written=write_table(lake, text, actor), statement=text)
    return SqlOutcome(page=query_page(lake, text, 0, limit), statement=text)
