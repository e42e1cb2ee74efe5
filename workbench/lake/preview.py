"""Paged reads of lake tables: one page from DuckDB at a time, never the whole table.

Order: without a sort, rows come in storage order, which is stable for one snapshot (DuckDB preserves
insertion order when scanning, and a DuckLake snapshot's files never change). Each page therefore
pins the snapshot it read, and the next page reads the same snapshot even while other processes
write new versions. A sort adds `rowid` as a tie-breaker so that equal keys keep one order too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb

from workbench.errors import LakeError
from workbench.lake.catalog import table_columns, table_exists, table_ref, table_snapshot
from workbench.lake.engine import Lake
from workbench.lake.names import quote_ident

MAX_PAGE = 10_000


@dataclass(frozen=True)
class PageQuery:
    """What to show: a table (at a version), an optional sort and SQL filter. Pages differ only by offset."""

    table: str
    version: int | None = None
    sort: str | None = None
    descending: bool = False
    where: str | None = None
    snapshot: int | None = None  # lake snapshot the pages are pinned to (None: the latest, then pinned)


@dataclass(frozen=True)
class Page:
    table: str
    columns: list[str]
    dtypes: list[str]
    rows: list[tuple[Any, ...]]
    offset: int
    total_rows: int
    snapshot: int | None = None
    query: PageQuery | None = field(default=None, compare=False)

    @property
    def caption(self) -> str:
        matching = " matching the filter" if self.query is not None and self.query.where else ""
        if not self.rows:
            return f"no rows{matching} (of {self.total_rows:,})" if matching else f"no rows (table has {self.total_rows:,})"
        text = f"rows {self.offset + 1:,}–{self.offset + len(self.rows):,} of {self.total_rows:,}{matching}"
        if self.query is not None and self.query.sort:
            text += f", sorted by {self.query.sort} {'desc' if self.query.descending else 'asc'}"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "columns": self.columns,
            "dtypes": self.dtypes,
            "offset": self.offset,
            "total_rows": self.total_rows,
            "snapshot": self.snapshot,
            "sort": self.query.sort if self.query else None,
            "descending": self.query.descending if self.query else False,
            "where": self.query.where if self.query else None,
            "rows": [dict(zip(self.columns, r)) for r in self.rows],
        }


def pin(lake: Lake, query: PageQuery) -> PageQuery:
    """The same query, pinned to the lake's current snapshot (views and attached sources have none)."""
    if query.snapshot is not None or query.version is not None:
        return query
    snapshot = table_snapshot(lake, query.table)
    if snapshot is None:
        return query
    return PageQuery(query.table, query.version, query.sort, query.descending, query.where, snapshot)


def read_page(lake: Lake, query: PageQuery, offset: int = 0, limit: int = 200, total: int | None = None) -> Page:
    """Rows `offset..offset+limit` of `query`; pass `total` from the previous page to skip the count.

    A filter is a user's SQL, so the page is read on a sealed read-only handle (`sql_guard.reading`)."""
    from workbench.lake.sql_guard import check_predicate, reading

    where = f" WHERE ({check_predicate(query.where)}\n)" if query.where else ""
    if where and not lake.read_only:
        with reading(lake) as ro:
            return read_page(ro, query, offset, limit, total)
    limit = max(0, min(int(limit), MAX_PAGE))
    offset = max(0, int(offset))
    query = pin(lake, query)
    ref = table_ref(lake, query.table, query.version, query.snapshot)
    order = ""
    if query.sort is not None:
        names = [c.name for c in table_columns(lake, query.table, query.version)]
        if query.sort not in names:
            raise LakeError(f"Cannot sort by {query.sort!r}: {query.table} has no such column.")
        direction = "DESC NULLS LAST" if query.descending else "ASC NULLS LAST"
        tiebreak = ", rowid" if table_exists(lake, query.table) else ""
        order = f" ORDER BY {quote_ident(query.sort)} {direction}{tiebreak}"
    cur = lake.cursor()
    from workbench.lake.sql_guard import read_error

    try:
        if total is None:
            total = int(cur.execute(f"SELECT count(*) FROM {ref}{where}").fetchone()[0])
        rel = cur.execute(f"SELECT * FROM {ref}{where}{order} LIMIT {limit} OFFSET {offset}")
        rows = rel.fetchall()
    except duckdb.Error as exc:
        raise read_error(exc) from exc
    columns = [d[0] for d in rel.description]
    dtypes = [str(d[1]) for d in rel.description]
    return Page(table=query.table, columns=columns, dtypes=dtypes, rows=rows, offset=offset, total_rows=total,
                snapshot=query.snapshot, query=query)


def preview_table(
    lake: Lake,
    table: str,
    offset: int = 0,
    limit: int = 200,
    version: int | None = None,
    sort: str | None = None,
    descending: bool = False,
    where: str | None = None,
) -> Page:
    """Rows `offset..offset+limit` of a table (optionally sorted and filtered), from one snapshot."""
    return read_page(lake, PageQuery(table, version, sort, descending, where), offset, limit)


def jump_offset(row_number: int, total_rows: int) -> int:
    """The page offset that shows 1-based `row_number` (clamped into the table) at its top."""
    if total_rows <= 0:
        return 0
    return max(0, min(int(row_number), total_rows) - 1)
