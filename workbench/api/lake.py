"""The lake from Python: tables as polars or Arrow, and read-only SQL, all on the sealed read-only lake."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workbench.workspace import Workspace

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa

    from workbench.lake.catalog import TableInfo, TableVersion


class LakeApi:
    """Reads only: every method opens the lake with `open_lake(ws, read_only=True)`, so nothing here can write."""

    def __init__(self, workspace: Workspace) -> None:
        self._ws = workspace

    def _open(self) -> Any:
        from workbench.lake.engine import open_lake

        return open_lake(self._ws, read_only=True)

    def tables(self) -> list[TableInfo]:
        """Every lake table with its row count and current version."""
        from workbench.lake.catalog import list_tables

        with self._open() as lake:
            return list_tables(lake)

    def versions(self, table: str) -> list[TableVersion]:
        """Every version of `table`: when, who, source, rows and fingerprint."""
        from workbench.lake.catalog import require_table, table_versions

        with self._open() as lake:
            require_table(lake, table)
            return table_versions(lake, table)

    def table(self, name: str, version: int | None = None) -> pl.DataFrame:
        """A table (its latest version, or `version`) as a polars DataFrame."""
        from workbench.pipeline.data import load_data
        from workbench.pipeline.spec import DataSource

        with self._open() as lake:
            return load_data(lake, DataSource(table=name, version=version)).frame

    def arrow(self, name: str, version: int | None = None) -> pa.Table:
        """A table as an Arrow table (zero-copy from the polars frame)."""
        return self.table(name, version).to_arrow()

    def sql(self, query: str) -> pl.DataFrame:
        """The rows of one read-only SELECT, through the same guard as `workbench lake sql` (writes are refused)."""
        from workbench.lake.sql import run_checked
        from workbench.lake.sql_guard import check_select, guarded_select, reading

        check_select(query)
        with self._open() as lake, reading(lake) as ro:
            return run_checked(ro.cursor(), guarded_select(ro, query)).pl()
