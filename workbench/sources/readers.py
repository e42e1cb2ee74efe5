"""What a declared source reads, as DuckDB `FROM` SQL: files matched now, a query, or objects under a prefix."""

from __future__ import annotations

import glob
from pathlib import Path
from typing import Any

from workbench.lake.names import quote_literal
from workbench.sources.declare import SourceDecl, SourceError
from workbench.workspace import Workspace

_SUFFIX_FORMAT = {".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl",
                  ".ndjson": "jsonl", ".json": "jsonl"}


def _format_of(decl: SourceDecl, names: list[str]) -> str:
    if decl.format:
        return decl.format
    found = {_SUFFIX_FORMAT.get(Path(n).suffix.lower()) for n in names}
    if None in found or len(found) != 1:
        raise SourceError(f"Source {decl.name}: its files must all be CSV, all Parquet or all JSON Lines "
                          "(or set format).")
    return found.pop()  # type: ignore[return-value]


def reader_sql(fmt: str, locations: list[str]) -> str:
    """DuckDB's reader over the files, strict: a malformed CSV is an error, never silently skipped."""
    files = "[" + ", ".join(quote_literal(x) for x in locations) + "]"
    if fmt == "parquet":
        return f"read_parquet({files}, union_by_name = true)"
    if fmt == "jsonl":
        return f"read_json({files}, format = 'newline_delimited', union_by_name = true)"
    return f"read_csv({files}, header = true, union_by_name = true, strict_mode = true, null_padding = false)"


def matched_files(ws: Workspace, decl: SourceDecl) -> list[Path]:
    """The files a `path` source names right now: a folder's files, or a glob's matches (sorted)."""
    base = Path(decl.location).expanduser()
    base = base if base.is_absolute() else ws.root / base
    if base.is_dir():
        files = [p for p in base.iterdir() if p.is_file() and p.suffix.lower() in _SUFFIX_FORMAT]
    else:
        files = [Path(p) for p in glob.glob(str(base), recursive=True) if Path(p).is_file()]
    files = sorted(p.resolve() for p in files if p.stat().st_size > 0)
    if not files:
        raise SourceError(f"Source {decl.name}: no files match {decl.location} (in {ws.root}).")
    return files


def storage_objects(ws: Workspace, decl: SourceDecl) -> tuple[Any, list[str]]:
    """(storage back-end, DuckDB-readable URLs) of the objects under the source's prefix."""
    from workbench.backends.session import open_storage

    storage = open_storage(ws)
    if not getattr(storage, "SUPPORTS_DUCKDB", False):
        raise SourceError(f"Source {decl.name}: the storage back-end {storage.name!r} cannot serve files to DuckDB.")
    keys = sorted(k for k in storage.list(decl.location) if Path(k).suffix.lower() in _SUFFIX_FORMAT or decl.format)
    if not keys:
        raise SourceError(f"Source {decl.name}: no objects under {decl.location!r} in {storage.name} storage.")
    return storage, [storage.url(k) for k in keys]


def source_from_sql(ws: Workspace, lake: Any, decl: SourceDecl) -> tuple[str, str, bool]:
    """(FROM SQL, description for the version's `source`, whether it must run on a read-only handle)."""
    if decl.kind == "query":
        from workbench.lake.sql_guard import check_select

        return f"({check_select(decl.location)})", f"source {decl.name}: query", True
    if decl.kind == "files":
        files = matched_files(ws, decl)
        return reader_sql(_format_of(decl, [f.name for f in files]), [str(f) for f in files]), \
            f"source {decl.name}: {len(files)} file(s) {decl.location}", False
    storage, urls = storage_objects(ws, decl)
    storage.configure_duckdb(lake.con)
    return reader_sql(_format_of(decl, urls), urls), f"source {decl.name}: {len(urls)} object(s) {decl.location}", False
