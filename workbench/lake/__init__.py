"""The versioned data lake: DuckLake (Parquet files + a SQLite catalog in WAL mode), driven by DuckDB."""

from workbench.lake.engine import Lake, open_lake

__all__ = ["Lake", "open_lake"]
