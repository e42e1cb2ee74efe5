"""How often each value of one column occurs (VisiData's frequency sheet, Shift+F): one GROUP BY in DuckDB
over the table at its version and snapshot, under the preview's filter, most frequent first."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb

from workbench.errors import LakeError
from workbench.lake.catalog import table_columns, table_ref
from workbench.lake.engine import Lake
from workbench.lake.names import quote_ident
from workbench.lake.preview import PageQuery, pin

TOP = 100


@dataclass(frozen=True)
class Frequencies:
    table: str
    column: str
    rows: int  # rows the counts are over (after the filter)
    distinct: int  # distinct values, NULL counted as one
    values: list[tuple[Any, int]] = field(default_factory=list)  # (value, count), most frequent first, at most TOP
    where: str | None = None

    @property
    def shown_rows(self) -> int:
        return sum(n for _, n in self.values)


def value_frequencies(lake: Lake, query: PageQuery, column: str, top: int = TOP) -> Frequencies:
    """Counts of the `top` most frequent values of `column` in the table `query` names (its version, snapshot
    and filter; its sort does not matter). A filter is a user's SQL: it is read on a sealed read-only handle."""
    from workbench.lake.sql_guard import check_predicate, read_error, reading

    where = f" WHERE ({check_predicate(query.where)}\n)" if query.where else ""
    if where and not lake.read_only:
        with reading(lake) as ro:
            return value_frequencies(ro, query, column, top)
    query = pin(lake, query)
    if column not in [c.name for c in table_columns(lake, query.table, query.version)]:
        raise LakeError(f"{query.table} has no column {column!r}.")
    ref = table_ref(lake, query.table, query.version, query.snapshot)
    q = quote_ident(column)
    cur = lake.cursor()
    try:
        # One pass: the counts per value; the totals come from the same grouped rows.
        rows = cur.execute(
            f"WITH counts AS (SELECT {q} AS value, count(*) AS n FROM {ref}{where} GROUP BY ALL) "
            f"SELECT value, n, sum(n) OVER () AS total, count(*) OVER () AS distinct_values FROM counts "
            f"ORDER BY n DESC, value NULLS LAST LIMIT {int(top)}").fetchall()
    except duckdb.Error as exc:
        raise read_error(exc) from exc
    total = int(rows[0][2]) if rows else 0
    distinct = int(rows[0][3]) if rows else 0
    return Frequencies(query.table, column, total, distinct, [(r[0], int(r[1])) for r in rows], query.where)
