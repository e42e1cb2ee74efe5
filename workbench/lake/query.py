"""Read-only SQL over the lake: the statement must be a single SELECT (or WITH … SELECT)."""

from __future__ import annotations

import duckdb

from workbench.errors import LakeError


def check_read_only(sql: str) -> str:
    """Return the single statement in `sql` if it only reads; raise a clear LakeError otherwise."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise LakeError(f"SQL syntax error: {str(exc).splitlines()[0]}") from exc
    if len(statements) != 1:
        raise LakeError(f"Expected one SQL statement, found {len(statements)}.")
    stmt = statements[0]
    if stmt.type != duckdb.StatementType.SELECT:
        raise LakeError(f"Only read-only SELECT queries are allowed here (got {stmt.type.name}).")
    return stmt.query
