"""Export a table (at a version) or a query's result to CSV, Parquet or JSON — written atomically."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import duckdb

from workbench.errors import LakeError
from workbench.lake.catalog import table_ref
from workbench.lake.engine import Lake
from workbench.lake.names import quote_literal
from workbench.lake.redaction import redact_sql
from workbench.lake.sql_guard import check_select, guarded_select, read_error, reading

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
    before_publish: Callable[[ExportResult], None] | None = None,
) -> ExportResult:
    """Write a table or a read-only query to `path`; a temp file is renamed into place when complete.

    The rows are read on a sealed read-only handle and written by a separate in-memory DuckDB that knows
    nothing of the lake, so an export can neither change the lake nor be stopped by the seal.
    `before_publish` (the audit event) runs before the rename: if it raises, no file appears."""
    if (table is None) == (query is None):
        raise LakeError("Export either a table or a query, not both or neither.")
    path = Path(path).expanduser()
    kind = export_format(path, fmt)
    if path.exists() and not overwrite:
        raise LakeError(f"{path} already exists; pass --force to overwrite it.")
    if not path.parent.is_dir():
        raise LakeError(f"Cannot export to {path}: the folder {path.parent} does not exist.")
    if query is not None:
        check_select(query)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    writer = duckdb.connect()
    try:
        with reading(lake) as ro:
            if query is not None:
                select = guarded_select(ro, query)
                source = redact_sql(f"sql: {select}")
            else:
                assert table is not None
                select = f"SELECT * FROM {table_ref(ro, table, version)}"
                source = table if version is None else f"{table}@{version}"
            try:
                rows = ro.cursor().execute(select).to_arrow_reader()
                writer.register("_wb_export", rows)
                counted = writer.execute(
                    f"COPY (SELECT * FROM _wb_export) TO {quote_literal(str(tmp))} ({_COPY_OPTIONS[kind]})").fetchone()
            except duckdb.Error as exc:
                raise read_error(exc, f"Cannot export to {path}") from exc
        count = int(counted[0]) if counted and counted[0] is not None else 0
        result = ExportResult(path=str(path.resolve()), format=kind, row_count=count, size_bytes=tmp.stat().st_size,
                              source=source)
        if before_publish is not None:
            before_publish(result)
        os.replace(tmp, path)
    finally:
        writer.close()
        if tmp.exists():
            tmp.unlink()
    return result
