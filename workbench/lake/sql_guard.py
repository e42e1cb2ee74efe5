"""The one SQL guard of every path that runs a user's or a spec's SQL against the lake.

Two layers, always together. The statement check (`check_select`, `check_predicate`) gives a clear sentence
for what is not a single SELECT. The defence is the handle: `guarded_select` refuses to run anything on a
handle that could write, and `reading` hands out a sealed read-only one (`open_lake(read_only=True)`), on
which no function a SELECT may call can change the catalog or a file. When a query tries anyway, DuckDB's
refusal becomes one sentence (`read_error`); no list of function names is involved.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Any, Iterator

import duckdb

from workbench.errors import LakeError, WritesOffError
from workbench.lake.engine import Lake, open_lake

_CTAS = re.compile(
    r"^\s*CREATE\s+(?P<replace>OR\s+REPLACE\s+)?TABLE\s+(?P<name>\"(?:[^\"]|\"\")+\"|[^\W\d]\w*)\s+AS\s+(?P<body>.+)$",
    re.IGNORECASE | re.DOTALL | re.UNICODE,
)
# What DuckDB says when a sealed read-only handle stops a write (catalog, settings or file system).
_WRITE_REFUSED = ("read-only mode", "readonly database", "read-only database", "disabled by configuration",
                  "configuration has been locked", "cannot append to a readonly")
MAINTENANCE_REFUSED = "A read never changes the lake; prune old versions with `workbench lake prune`."


def clean_error(exc: duckdb.Error, position: bool = False) -> str:
    """DuckDB's message without its error-class prefix, as one line; `position` keeps its "LINE 1: …"
    pointer (only useful when the SQL is the user's own text, not wrapped by us)."""
    text = str(exc).strip()
    text = re.sub(r"^[A-Za-z ]+ Error: ", "", text)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    keep = lines[:1] + ([ln for ln in lines[1:] if ln.startswith("LINE ")][:1] if position else [])
    return " ".join(keep) if keep else type(exc).__name__


def read_error(exc: duckdb.Error, prefix: str = "SQL error") -> LakeError:
    """One sentence for a failed read: the maintenance refusal when the handle stopped a write."""
    text = str(exc).lower()
    if any(marker in text for marker in _WRITE_REFUSED):
        return LakeError(MAINTENANCE_REFUSED)
    return LakeError(f"{prefix}: {clean_error(exc)}")


def is_write_statement(sql: str) -> bool:
    """True for the one write form Workbench runs: CREATE [OR REPLACE] TABLE name AS SELECT …."""
    return bool(_CTAS.match(sql.strip().rstrip(";")))


def ctas_parts(sql: str) -> re.Match[str] | None:
    return _CTAS.match(sql.strip().rstrip(";").strip())


def check_select(sql: str) -> str:
    """The single statement in `sql` if it is a SELECT (or WITH … SELECT); a clear LakeError otherwise."""
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
        if stmt.type in (duckdb.StatementType.CALL, duckdb.StatementType.SET, duckdb.StatementType.PRAGMA):
            raise LakeError(f"{stmt.type.name} runs maintenance or changes settings, which a read cannot do; "
                            "old versions are removed with the audited `workbench lake prune`.")
        if is_write_statement(sql):
            raise WritesOffError("This statement writes to the lake; writes are off (turn them on with --write).")
        raise LakeError(
            f"Only read-only queries run here (got {stmt.type.name}); the one write allowed is "
            "CREATE [OR REPLACE] TABLE name AS SELECT …, with writes turned on."
        )
    return stmt.query.strip().rstrip(";")


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
    check_select(f"SELECT 1 WHERE ({text}\n)")
    return text


@contextmanager
def reading(lake: Lake) -> Iterator[Lake]:
    """`lake` itself when it is read-only, else a sealed read-only handle on the same workspace for the block."""
    if lake.read_only:
        yield lake
        return
    with open_lake(lake.workspace, read_only=True) as ro:
        yield ro


def guarded_select(lake: Lake, sql: str) -> str:
    """`check_select(sql)`, on a handle that cannot write: the statement check alone is not a defence."""
    if not lake.read_only:
        raise LakeError("Internal error: a read-only query was about to run on a lake handle that can write.")
    return check_select(sql)
