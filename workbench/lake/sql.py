"""The SQL console's core: read-only queries paged like a table, and explicit, audited writes.

Read-only is the default. A write is allowed only when asked for (`allow_write`), and only in one
form, `CREATE [OR REPLACE] TABLE name AS SELECT …`, which becomes a new version of `name` through the
same path as an ingest (fingerprint, metadata, one snapshot). INSERT/UPDATE/DELETE/DROP would edit
the lake behind the versioning, so they are refused with a sentence that says what to do instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import duckdb

from workbench.errors import LakeError
from workbench.lake.catalog import TableVersion, current_snapshot, table_exists
from workbench.lake.engine import Lake
from workbench.lake.names import check_table_name
from workbench.lake.preview import MAX_PAGE, Page
from workbench.lake.versioning import commit_versions, committed_versions, stage_version

# DuckLake maintenance functions change the lake even inside a SELECT; only these ones just read.
_READ_ONLY_DUCKLAKE = {
    "ducklake_snapshots", "ducklake_table_info", "ducklake_list_files", "ducklake_table_changes",
    "ducklake_table_insertions", "ducklake_table_deletions", "ducklake_options", "ducklake_current_snapshot",
}
_CTAS = re.compile(
    r"^\s*CREATE\s+(?P<replace>OR\s+REPLACE\s+)?TABLE\s+(?P<name>\"(?:[^\"]|\"\")+\"|[^\W\d]\w*)\s+AS\s+(?P<body>.+)$",
    re.IGNORECASE | re.DOTALL | re.UNICODE,
)


def clean_error(exc: duckdb.Error, position: bool = False) -> str:
    """DuckDB's message without its error-class prefix, as one line; `position` keeps its "LINE 1: …"
    pointer (only useful when the SQL is the user's own text, not wrapped by us)."""
    text = str(exc).strip()
    text = re.sub(r"^[A-Za-z ]+ Error: ", "", text)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    keep = lines[:1] + ([ln for ln in lines[1:] if ln.startswith("LINE ")][:1] if position else [])
    return " ".join(keep) if keep else type(exc).__name__


def run_checked(cur: duckdb.DuckDBPyConnection, sql: str) -> duckdb.DuckDBPyConnection:
    """Execute `sql`, turning a DuckDB error (bad column, syntax, types) into one LakeError sentence."""
    try:
        return cur.execute(sql)
    except duckdb.Error as exc:
        raise LakeError(f"SQL error: {clean_error(exc)}") from exc


def _tokens(sql: str) -> list[tuple[str, Any]]:
    """(text, type) of each token; comments are not tokens, so a `)` inside one is not counted."""
    try:
        found = duckdb.tokenize(sql)
    except duckdb.Error as exc:
        raise LakeError(f"SQL syntax error: {clean_error(exc, position=True)}") from exc
    out = []
    for i, (pos, kind) in enumerate(found):
        end = found[i + 1][0] if i + 1 < len(found) else len(sql)
        out.append((sql[pos:end].strip(), kind))
    return out


def _check_functions(sql: str) -> None:
    for text, kind in _tokens(sql):
        word = text.strip('"').lower()
        if kind == duckdb.token_type.identifier and word.startswith("ducklake_") and word not in _READ_ONLY_DUCKLAKE:
            raise LakeError(f"{word} changes the lake; use `workbench lake prune` for maintenance.")


def check_predicate(predicate: str) -> str:
    """A filter must be one boolean expression: parentheses stay balanced and it cannot end the WHERE."""
    text = predicate.strip()
    if not text:
        raise LakeError("The filter is empty; write a SQL condition such as: dep_delay > 60.")
    depth = 0
    for token, kind in _tokens(text):
        if kind == duckdb.token_type.operator or token in ("(", ")", ";"):
            if ";" in token:
                raise LakeError("A filter is one SQL condition; ';' is not allowed in it.")
            depth += token.count("(") - token.count(")")
            if depth < 0:
                raise LakeError("The filter has an unmatched ')'.")
    if depth != 0:
        raise LakeError("The filter has an unmatched '('.")
    check_read_only_sql(f"SELECT 1 WHERE ({text}\n)")
    return text


def check_read_only_sql(sql: str) -> str:
    """The single statement in `sql` if it only reads; a clear LakeError otherwise."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise LakeError(f"SQL syntax error: {clean_error(exc, position=True)}") from exc
    if not statements:
        raise LakeError("The query is empty.")
    if len(statements) != 1:
        raise LakeError(f"Run one SQL statement at a time (found {len(statements)}).")
    stmt = statements[0]
    if stmt.type != duckdb.StatementType.SELECT:
        if _CTAS.match(sql.strip().rstrip(";")):
            raise LakeError("This statement writes to the lake; writes are off (turn them on with --write, or ctrl+w in the console).")
        raise LakeError(
            f"Only read-only queries run here (got {stmt.type.name}); the one write allowed is "
            "CREATE [OR REPLACE] TABLE name AS SELECT …, with writes turned on."
        )
    _check_functions(stmt.query)
    return stmt.query


@dataclass(frozen=True)
class SqlOutcome:
    """What a console statement did: a page of rows for a query, or the version a write created."""

    page: Page | None = None
    written: TableVersion | None = None
    statement: str = ""


def query_page(lake: Lake, sql: str, offset: int = 0, limit: int = 200, total: int | None = None) -> Page:
    """One page of a read-only query's result, with its honest total row count."""
    query = check_read_only_sql(sql).strip().rstrip(";")
    limit = max(0, min(int(limit), MAX_PAGE))
    offset = max(0, int(offset))
    cur = lake.cursor()
    from workbench.lake.attach import ensure_sources

    ensure_sources(lake)
    snapshot = current_snapshot(lake)
    # A read transaction that is always rolled back: nothing a query does can stick.
    cur.execute("BEGIN TRANSACTION")
    try:
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
            raise LakeError(f"SQL error: {clean_error(exc)}") from exc
        columns = [d[0] for d in rel.description]
        dtypes = [str(d[1]) for d in rel.description]
    finally:
        cur.execute("ROLLBACK")
    return Page(table="(query)", columns=columns, dtypes=dtypes, rows=rows, offset=offset, total_rows=total,
                snapshot=snapshot)


def parse_write(sql: str) -> tuple[str, bool, str]:
    """(table, replace, select) of a `CREATE [OR REPLACE] TABLE name AS SELECT …` statement."""
    text = sql.strip().rstrip(";").strip()
    m = _CTAS.match(text)
    if not m:
        try:
            kind = duckdb.extract_statements(text)[0].type.name
        except (duckdb.Error, IndexError):
            kind = "this statement"
        raise LakeError(
            f"Only CREATE [OR REPLACE] TABLE name AS SELECT … can write to the lake (got {kind}); "
            "every write becomes a new table version."
        )
    raw = m.group("name")
    name = raw[1:-1].replace('""', '"') if raw.startswith('"') else raw
    return check_table_name(name), bool(m.group("replace")), check_read_only_sql(m.group("body"))


def write_table(lake: Lake, sql: str, actor: str) -> TableVersion:
    """Run a CREATE TABLE … AS SELECT as a new, fingerprinted version of the table (all or nothing)."""
    table, replace, select = parse_write(sql)
    if table_exists(lake, table) and not replace:
        raise LakeError(f"Table {table!r} already exists; write CREATE OR REPLACE TABLE to make a new version of it.")
    from workbench.lake.attach import ensure_sources

    ensure_sources(lake)
    cur = lake.cursor()
    cur.execute("BEGIN TRANSACTION")
    try:
        try:
            entry = stage_version(lake, cur, table, select, f"sql: {select}")
        except duckdb.Error as exc:
            raise LakeError(f"SQL error: {clean_error(exc)}") from exc
        commit_versions(cur, actor, f"sql write {table}", [entry])
    except BaseException:
        cur.execute("ROLLBACK")
        raise
    return committed_versions(lake, [entry])[0]


def run_statement(lake: Lake, sql: str, *, allow_write: bool = False, actor: str = "unknown",
                  limit: int = 200) -> SqlOutcome:
    """What the console runs: a query's first page, or (only with `allow_write`) a versioned write."""
    text = sql.strip()
    if allow_write and _CTAS.match(text.rstrip(";")):
        return SqlOutcome(written=write_table(lake, text, actor), statement=text)
    return SqlOutcome(page=query_page(lake, text, 0, limit), statement=text)
