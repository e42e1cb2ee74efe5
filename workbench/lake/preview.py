"""Paged reads of lake tables: one page from DuckDB at a time, never the whole table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workbench.lake.catalog import table_ref
from workbench.lake.engine import Lake

MAX_PAGE = 10_000


@dataclass(frozen=True)
class Page:
    table: str
    columns: list[str]
    dtypes: list[str]
    rows: list[tuple[Any, ...]]
    offset: int
    total_rows: int

    @property
    def caption(self) -> str:
        if not self.rows:
            return f"no rows (table has {self.total_rows:,})"
        return f"rows {self.offset + 1:,}–{self.offset + len(self.rows):,} of {self.total_rows:,}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "columns": self.columns,
            "dtypes": self.dtypes,
            "offset": self.offset,
            "total_rows": self.total_rows,
            "rows": [dict(zip(self.columns, r)) for r in self.rows],
        }


def preview_table(lake: Lake, table: str, offset: int = 0, limit: int = 200, version: int | None = None) -> Page:
    """Rows `offset..offset+limit` of a table. Order is the table's storage order within one snapshot,
    which DuckLake keeps stable for a given version (writes create new versions, never edit files)."""
    limit = max(0, min(int(limit), MAX_PAGE))
    offset = max(0, int(offset))
    ref = table_ref(lake, table, version)
    cur = lake.cursor()
    total = cur.execute(f"SELECT count(*) FROM {ref}").fetchone()[0]
    rel = cur.execute(f"SELECT * FROM {ref} LIMIT {limit} OFFSET {offset}")
    columns = [d[0] for d in rel.description]
    dtypes = [str(d[1]) for d in rel.description]
    rows = rel.fetchall()
    return Page(table=table, columns=columns, dtypes=dtypes, rows=rows, offset=offset, total_rows=int(total))
