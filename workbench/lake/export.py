"""Export a table (at a version) or a query's result to CSV, Parquet or JSON — written atomically."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from workbench.errors import LakeError
from workbench.lake.catalog import table_ref
from workbench.lake.engine import Lake
from workbench.lake.names import quote_literal

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".json": "json", ".jsonl": "json", ".ndjson": "json"}
_COPY_OPTIONS = {"csv": "FORMAT csv, HEADER true", "parquet": "FORMAT parquet", "json": "FORMAT json"}


@dataclass(frozen=True)
class ExportResult:
    path: str
    format: str
    row_count: int
    size_bytes: int
    source: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def export_format(path: Path, fmt: str | None) -> str:
    if fmt is not None:
        if fmt.lower() not in _COPY_OPTIONS:
            raise LakeError(f"Unknown export format {fmt!r}; use csv, parquet or json.")
        return fmt.lower()
    found = FORMATS.get(path.suffix.lower())
    if found is None:
        raise LakeError(f"Cannot tell the format of {path.name}; end it in .csv, .parquet or .json, or pass --format.")
    return found


def export_data(
    lake: Lake,
    path: Path,
    *,
    table: str | None = None,
    version: int | None = None,
    query: str | None = None,
    fmt: str | None = None,
    overwrite: bool = False,
) -> ExportResult:
    """Write a table or a read-only query to `path`; a temp file is renamed into place when complete."""
    if (table is None) == (query is None):
        raise LakeError("Export either a table or a query, not both or neither.")
    path = Path(path).expanduser()
    kind = export_format(path, fmt)
    if path.exists() and not overwrite:
        raise LakeError(f"{path} already exists; pass --force to overwrite it.")
    if not path.parent.is_dir():
        raise LakeError(f"Cannot export to {path}: the folder {path.parent} does not exist.")
    if query is not None:
        from workbench.lake.attach import ensure_sources
        from workbench.lake.sql import check_read_only_sql

        select = check_read_only_sql(query).strip().rstrip(";")
        ensure_sources(lake)
        source = f"sql: {select}"
    else:
        assert table is not None
        select = f"SELECT * FROM {table_ref(lake, table, version)}"
        source = table if version is None else f"{table}@{version}"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    cur = lake.cursor()
    try:
        rows = cur.execute(f"COPY ({select}\n) TO {quote_literal(str(tmp))} ({_COPY_OPTIONS[kind]})").fetchone()
        os.replace(tmp, path)
    except duckdb.Error as exc:
        from workbench.lake.sql import clean_error

        raise LakeError(f"Cannot export to {path}: {clean_error(exc)}") from exc
    finally:
        if tmp.exists():
            tmp.unlink()
    count = int(rows[0]) if rows and rows[0] is not None else 0
    return ExportResult(path=str(path.resolve()), format=kind, row_count=count, size_bytes=path.stat().st_size,
                        source=source)
