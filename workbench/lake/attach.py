"""External read-only sources next to the lake: other DuckDB (or SQLite) files and folders of Parquet/CSV.

The registry is `sources.json` beside the lake catalog (written atomically), so every process of the
workspace sees the same sources. Each process attaches them lazily, when something asks for them:
opening the lake stays cheap for batch runs. A DuckDB file is attached READ_ONLY, which makes DuckDB
hold a shared lock on it while attached — another program cannot write that file meanwhile.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import duckdb

from workbench.errors import LakeError
from workbench.lake.engine import LAKE_ALIAS, Lake
from workbench.lake.names import check_table_name, quote_ident, quote_literal, table_name_from_path
from workbench.workspace import Workspace

REGISTRY_FILE = "sources.json"
_DATABASE_SUFFIXES = {".duckdb": "duckdb", ".ddb": "duckdb", ".db": "duckdb", ".sqlite": "sqlite", ".sqlite3": "sqlite"}
CSV_SNIFF_ROWS = 20_480  # DuckDB's CSV sniffer samples this many rows by default
_FILE_READERS = {".parquet": "read_parquet", ".pq": "read_parquet", ".csv": "read_csv", ".tsv": "read_csv"}
_RESERVED = {LAKE_ALIAS, "memory", "system", "temp", "main"}


@dataclass(frozen=True)
class Source:
    name: str
    path: str
    kind: str  # "duckdb", "sqlite" or "folder"

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _registry_path(ws: Workspace) -> Path:
    return ws.lake_catalog.parent / REGISTRY_FILE


def list_sources(ws: Workspace) -> list[Source]:
    path = _registry_path(ws)
    if not path.exists():
        return []
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return [Source(**entry) for entry in raw.get("sources", [])]
    except (ValueError, TypeError) as exc:
        raise LakeError(f"{path} is not a valid source registry ({exc}); fix or delete it.") from exc


def _write_registry(ws: Workspace, sources: list[Source]) -> None:
    path = _registry_path(ws)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"sources": [s.as_dict() for s in sources]}, indent=2), encoding="utf-8")
    os.replace(tmp, path)  # atomic: readers see the old registry or the new one, never half of it


def _kind_of(path: Path) -> str:
    if path.is_dir():
        return "folder"
    kind = _DATABASE_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise LakeError(
            f"Cannot attach {path}: expected a folder of Parquet/CSV files or a .duckdb/.sqlite database file "
            "(to load a single file into the lake, use `workbench lake ingest`)."
        )
    return kind


def attach_source(lake: Lake, path: Path, name: str,
                  before_publish: Callable[[Source], None] | None = None) -> Source:
    """Register `path` as a read-only source called `name`, after checking it really opens.

    `before_publish` (the audit event) runs before the registry is written: if it raises, nothing changes."""
    name = check_table_name(name)
    if name.lower() in _RESERVED:
        raise LakeError(f"{name!r} is a reserved database name; choose another with --as.")
    p = Path(path).expanduser()
    if not p.exists():
        raise LakeError(f"No such file or folder: {p}.")
    p = p.resolve()
    existing = list_sources(lake.workspace)
    if any(s.name.lower() == name.lower() for s in existing):
        raise LakeError(f"A source named {name!r} is already attached; detach it first or choose another name.")
    source = Source(name=name, path=str(p), kind=_kind_of(p))
    _attach(lake, source)  # fails with a clear message if the file is not what it claims to be
    if before_publish is not None:
        try:
            before_publish(source)
        except BaseException:
            lake.cursor().execute(f"DETACH {quote_ident(name)}")
            raise
    _write_registry(lake.workspace, [*existing, source])
    return source


def detach_source(lake: Lake, name: str, before_publish: Callable[[Source], None] | None = None) -> Source:
    existing = list_sources(lake.workspace)
    found = next((s for s in existing if s.name == name), None)
    if found is None:
        known = ", ".join(s.name for s in existing) or "none"
        raise LakeError(f"No attached source named {name!r} (sources: {known}).")
    if before_publish is not None:
        before_publish(found)
    if name in _attached_names(lake):
        lake.cursor().execute(f"DETACH {quote_ident(name)}")
    _write_registry(lake.workspace, [s for s in existing if s.name != name])
    return found


def source_paths(ws: Workspace) -> tuple[list[str], list[str]]:
    """(files, folders) the registered sources read: what a sealed read-only connection may still open."""
    files, folders = [], []
    for source in list_sources(ws):
        if source.kind == "folder":
            folders.append(str(Path(source.path)) + "/")
        else:
            files += [source.path, source.path + ".wal"]
    return files, folders


def _attached_names(lake: Lake) -> set[str]:
    return {r[0] for r in lake.cursor().execute("SELECT database_name FROM duckdb_databases()").fetchall()}


def _attach(lake: Lake, source: Source) -> None:
    cur = lake.cursor()
    path = Path(source.path)
    try:
        if source.kind == "folder":
            views = _folder_views(path, cur)
            if not views:
                raise LakeError(f"{path} has no .parquet or .csv files to attach.")
            cur.execute(f"ATTACH ':memory:' AS {quote_ident(source.name)}")
            try:
                for view, reader in views.items():
                    cur.execute(f"CREATE VIEW {quote_ident(source.name)}.{quote_ident(view)} AS SELECT * FROM {reader}")
                    cur.execute(f"DESCRIBE {quote_ident(source.name)}.{quote_ident(view)}")  # reads the schema now
            except BaseException:
                cur.execute(f"DETACH {quote_ident(source.name)}")
                raise
        else:
            type_clause = "TYPE sqlite, " if source.kind == "sqlite" else ""
            cur.execute(f"ATTACH {quote_literal(str(path))} AS {quote_ident(source.name)} ({type_clause}READ_ONLY)")
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0]
        raise LakeError(f"Cannot attach {path} as {source.name!r}: {first}") from exc


def _folder_views(folder: Path, cur: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """One view per Parquet/CSV file in the folder, and one per sub-folder of Parquet files (a dataset)."""
    views: dict[str, str] = {}
    for entry in sorted(folder.iterdir()):
        name = table_name_from_path(entry)
        if entry.is_file() and entry.suffix.lower() in _FILE_READERS:
            reader = _FILE_READERS[entry.suffix.lower()]
            views.setdefault(name, _csv_view(cur, entry) if reader == "read_csv" else
                             f"{reader}({quote_literal(str(entry))})")
        elif entry.is_dir() and any(entry.rglob("*.parquet")):
            glob = quote_literal(str(entry / "**" / "*.parquet"))
            views.setdefault(name, f"read_parquet({glob}, hive_partitioning = true, union_by_name = true)")
    return views


def _csv_view(cur: duckdb.DuckDBPyConnection, path: Path) -> str:
    """An attached CSV as DuckDB sniffs it, except that yes/no-style words stay text, as `lake ingest` keeps them."""
    from workbench.lake.ingest import worded_boolean_columns

    plain = f"read_csv({quote_literal(str(path))})"
    try:
        words = worded_boolean_columns(cur, plain, f"read_csv({quote_literal(str(path))}, header = true, "
                                                    "all_varchar = true)", sample_rows=CSV_SNIFF_ROWS)
    except duckdb.Error:  # e.g. a file without a header: keep the sniffer's types
        return plain
    if not words:
        return plain
    types = ", ".join(f"{quote_literal(c)}: 'VARCHAR'" for c in words)
    return f"read_csv({quote_literal(str(path))}, types = {{{types}}})"


def ensure_sources(lake: Lake) -> list[str]:
    """Attach every registered source not yet attached in this process; returns one warning per failure."""
    attached = _attached_names(lake)
    warnings = []
    for source in list_sources(lake.workspace):
        if source.name in attached:
            continue
        try:
            _attach(lake, source)
        except LakeError as exc:
            warnings.append(exc.message)
    return warnings


@dataclass(frozen=True)
class SourceTable:
    source: str
    name: str
    column_count: int

    @property
    def qualified(self) -> str:
        return f"{self.source}.{self.name}"


def source_tables(lake: Lake, source: str) -> list[SourceTable]:
    ensure_sources(lake)
    rows = lake.cursor().execute(
        "SELECT table_name, column_count FROM duckdb_tables() WHERE database_name = ? "
        "UNION ALL SELECT view_name, column_count FROM duckdb_views() WHERE database_name = ? AND NOT internal "
        "ORDER BY 1",
        [source, source],
    ).fetchall()
    return [SourceTable(source, n, int(c)) for n, c in rows]


def source_table_ref(lake: Lake, qualified: str) -> str:
    """`source.table` as quoted SQL, after checking both exist."""
    source, _, table = qualified.partition(".")
    names = {s.name for s in list_sources(lake.workspace)}
    if source not in names:
        raise LakeError(f"No table named {qualified!r} in the lake, and no attached source named {source!r}.")
    tables = {t.name for t in source_tables(lake, source)}
    if table not in tables:
        known = ", ".join(sorted(tables)) or "none"
        raise LakeError(f"Source {source!r} has no table {table!r} (tables: {known}).")
    return f"{quote_ident(source)}.{quote_ident(table)}"
