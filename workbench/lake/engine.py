"""Open the workspace's DuckLake through one DuckDB connection per process.

Why DuckLake with a SQLite catalog: every commit is an immutable snapshot (time travel for free), data
files are plain Parquet that object storage can hold later, and many processes can read while one
writes — a bare `.duckdb` file allows neither. The extensions come from PyPI wheels pinned to DuckDB
1.5.5 and are installed into a workspace-owned directory with auto-install off: nothing is downloaded.

Where the data files live: with `local` storage (the default) in `[lake] data_path` of the workspace,
exactly as before; with another storage back-end (`[storage] backend = "s3"`) under its key `lake/data/`,
read and written by DuckDB through the URL and credentials the back-end provides. The catalog remembers
which back-end holds its files, so switching `[storage] backend` under a lake that already has data files
is refused instead of showing tables whose files are somewhere else.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from workbench.errors import BackendUnavailableError, LakeError, WorkspaceError
from workbench.workspace import Workspace

LAKE_ALIAS = "lake"
LAKE_DATA_KEY = "lake/data"  # storage key of the data files on a non-local storage back-end
_EXTENSIONS = {"ducklake": "duckdb_extension_ducklake", "sqlite_scanner": "duckdb_extension_sqlite_scanner"}
# Workbench's own one-row table in the catalog: the storage back-end that holds the lake's data files.
# No row means `local` (every lake made before storage back-ends existed).
_DATA_HOME_TABLE = "workbench_data_home"
_FILE_TABLES = ("ducklake_data_file", "ducklake_delete_file", "ducklake_files_scheduled_for_deletion")


def _extension_file(name: str, module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None:
        raise BackendUnavailableError(
            f"The DuckDB extension package {module.replace('_', '-')} is not installed; "
            "reinstall Workbench with its dependencies."
        )
    root = importlib.resources.files(module)
    path = Path(str(root)) / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    if not path.exists():
        raise BackendUnavailableError(
            f"{module} has no build of {name!r} for DuckDB {duckdb.__version__}; "
            "Workbench pins duckdb==1.5.5 for this reason."
        )
    return path


def load_extensions(con: duckdb.DuckDBPyConnection) -> None:
    """Load DuckLake and the SQLite scanner straight from their installed packages.

    Loading from the package's file (rather than INSTALLing a copy into the workspace) keeps 68 MB of
    binaries out of every workspace and every copy of one; the version is the one pinned with duckdb."""
    for name, module in _EXTENSIONS.items():
        con.execute(f"LOAD '{_sql_path(_extension_file(name, module))}'")


def prepare_catalog(catalog: Path) -> None:
    """Create the SQLite catalog file in WAL mode before DuckDB attaches it (1 s reader stalls otherwise)."""
    catalog.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(catalog)
    try:
        con.execute("PRAGMA journal_mode=WAL")
    finally:
        con.close()


def lake_storage(workspace: Workspace) -> Any | None:
    """The storage back-end holding the lake's data files, opened once per process; `None` for local
    storage, which needs no import and no set-up."""
    if workspace.storage_is_local:
        return None
    from workbench.backends.session import workspace_storage

    return workspace_storage(workspace)


def _data_home(catalog: Path) -> tuple[str, str, bool]:
    """(back-end, location) recorded in the catalog for its data files, and whether it has any data file."""
    con = sqlite3.connect(catalog, timeout=30)
    try:
        tables = {row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        home = None
        if _DATA_HOME_TABLE in tables:
            home = con.execute(f"SELECT backend, location FROM {_DATA_HOME_TABLE}").fetchone()
        has_files = any(con.execute(f"SELECT EXISTS (SELECT 1 FROM {t})").fetchone()[0] for t in _FILE_TABLES
                        if t in tables)
    except sqlite3.DatabaseError as exc:
        raise LakeError(f"Cannot open the lake at {catalog}: {exc}") from exc
    finally:
        con.close()
    return (home[0], home[1], has_files) if home else ("local", "", has_files)


def _set_data_home(catalog: Path, backend: str, location: str) -> None:
    con = sqlite3.connect(catalog, timeout=30, isolation_level=None)
    try:
        con.execute("BEGIN IMMEDIATE")
        con.execute(f"CREATE TABLE IF NOT EXISTS {_DATA_HOME_TABLE} (backend TEXT NOT NULL, location TEXT NOT NULL)")
        con.execute(f"DELETE FROM {_DATA_HOME_TABLE}")
        if backend != "local":
            con.execute(f"INSERT INTO {_DATA_HOME_TABLE} VALUES (?, ?)", [backend, location])
        con.execute("COMMIT")
    finally:
        con.close()


def _check_data_home(workspace: Workspace, backend: str) -> bool:
    """Refuse a lake whose data files are on another storage back-end; True if the catalog must record `backend`."""
    home, location, has_files = _data_home(workspace.lake_catalog)
    if home == backend:
        return False
    if has_files:
        where = f"{home} storage ({location})" if location else f"the workspace folder ({workspace.lake_data})"
        raise WorkspaceError(
            f"The lake's data files are in {where}, but workbench.toml sets [storage] backend = {backend!r}; "
            f"set it back to {home!r} (Workbench does not move a lake between storage back-ends).")
    return True  # no data file anywhere yet: the lake may move, and its catalog says where to from now on


def connect(workspace: Workspace, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the lake attached as `lake` and selected as the default catalog.

    `read_only` attaches DuckLake READ_ONLY and changes nothing on disk; `open_lake(read_only=True)` then
    seals the connection (`_seal`)."""
    if not workspace.lake_catalog.exists():
        raise LakeError(f"No lake catalog at {workspace.lake_catalog}; run `workbench init` first.")
    storage = lake_storage(workspace)  # first: an unreachable back-end fails before anything is touched
    if storage is not None and not storage.SUPPORTS_DUCKDB:
        raise BackendUnavailableError(f"The storage back-end {storage.name!r} cannot serve files to DuckDB "
                                      "(SUPPORTS_DUCKDB is False), so it cannot hold the lake.")
    backend = storage.name if storage is not None else "local"
    move_home = _check_data_home(workspace, backend) and not read_only
    con = duckdb.connect(
        config={
            # Nothing is installed there: the extensions load from their packages (below). The setting keeps
            # DuckDB from ever reaching for ~/.duckdb.
            "extension_directory": str(workspace.state_dir / "duckdb_extensions"),
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        }
    )
    try:
        load_extensions(con)
        if not read_only:
            prepare_catalog(workspace.lake_catalog)
        if storage is None:
            data_path = _sql_path(workspace.lake_data) + "/"
        else:
            storage.configure_duckdb(con)
            data_path = _sql_path(storage.url(LAKE_DATA_KEY)) + "/"
        con.execute(
            f"ATTACH 'ducklake:sqlite:{_sql_path(workspace.lake_catalog)}' AS {LAKE_ALIAS} "
            # Data files are stored relative to DATA_PATH; overriding it keeps a workspace relocatable
            # (moved, copied, or mounted elsewhere; a bucket copied to another prefix) instead of pinned
            # to the path it was created at. Which back-end holds them is checked above.
            f"(DATA_PATH '{data_path}', OVERRIDE_DATA_PATH TRUE{', READ_ONLY' if read_only else ''})"
        )
        if move_home:
            _set_data_home(workspace.lake_catalog, backend, storage.url(LAKE_DATA_KEY) if storage else "")
        con.execute(f"USE {LAKE_ALIAS}")
        con.execute("SET TimeZone = 'UTC'")
    except duckdb.Error as exc:
        con.close()
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LakeError(f"Cannot open the lake at {workspace.lake_catalog}: {first}") from exc
    except Exception:
        con.close()
        raise
    return con


def _seal(con: duckdb.DuckDBPyConnection, ws: Workspace) -> None:
    """Make a read-only handle unable to write anything, whatever a query calls.

    A READ_ONLY DuckLake attach refuses every catalog write, but some maintenance functions write their
    Parquet file before they fail (`ducklake_flush_inlined_data` left one behind). So the registered sources
    are attached first, and then external access is limited to the files that exist: the lake's data files
    and the sources. No file can be created or deleted in the lake, no folder listed, and the settings are
    locked, so no query can lift this. Non-local storage keeps DuckDB's network access (its files are read
    through it); its catalog is still attached READ_ONLY."""
    from workbench.lake.attach import ensure_sources, source_paths

    ensure_sources(Lake(workspace=ws, con=con, _lock=threading.Lock()))  # attaching is refused once sealed
    if ws.storage_is_local:
        # Only files a snapshot still reads: DuckDB's allowed_paths permits deleting an allowed file too,
        # so a file scheduled for deletion (or an orphan) left allowed would let
        # `ducklake_cleanup_old_files` remove it from a "read-only" query.
        live = _live_file_names(ws.lake_catalog)
        data = [str(p) for p in ws.lake_data.rglob("*") if p.is_file() and p.name in live] \
            if ws.lake_data.exists() else []
        files, folders = source_paths(ws)
        spill = ws.state_dir / "duckdb_tmp"  # big sorts may spill; outside the lake, so harmless to allow
        if ws.settings.shared_group:
            spill.mkdir(parents=True, exist_ok=True)  # made by us under the umask: DuckDB would make it 0755
        con.execute("SET temp_directory = ?", [str(spill)])
        con.execute("SET allowed_paths = ?", [data + files])
        con.execute("SET allowed_directories = ?", [[*folders, str(spill) + "/"]])
        con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


def _live_file_names(catalog: Path) -> set[str]:
    """Names of the data and delete files the catalog references and has not scheduled for deletion."""
    con = sqlite3.connect(f"file:{catalog}?mode=ro", uri=True, timeout=30)
    try:
        tables = {row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        names = set()
        for table in ("ducklake_data_file", "ducklake_delete_file"):
            if table in tables:
                names |= {Path(p).name for (p,) in con.execute(f"SELECT path FROM {table}") if p}
        if "ducklake_files_scheduled_for_deletion" in tables:
            names -= {Path(p).name for (p,) in con.execute("SELECT path FROM ducklake_files_scheduled_for_deletion") if p}
    finally:
        con.close()
    return names


def catalog_head(workspace: Workspace) -> int | None:
    """The newest snapshot id in the catalog, read straight from SQLite (cheap: no DuckDB, no lock)."""
    try:
        con = sqlite3.connect(f"file:{workspace.lake_catalog}?mode=ro", uri=True, timeout=30)
    except sqlite3.Error:
        return None
    try:
        return con.execute("SELECT max(snapshot_id) FROM ducklake_snapshot").fetchone()[0]
    except sqlite3.Error:
        return None
    finally:
        con.close()


def _sql_path(path: Path | str) -> str:
    return str(path).replace("'", "''")


@dataclass
class Lake:
    """The process's handle on the lake. Threads take `cursor()`s; writes go through `lake.operations`.

    A `read_only` handle can only read the data files that existed when it was sealed; when another
    process has committed since, `cursor()` opens a fresh sealed connection (older cursors keep working)."""

    workspace: Workspace
    con: duckdb.DuckDBPyConnection
    _lock: threading.Lock
    read_only: bool = False
    _head: int | None = None
    _retired: list[duckdb.DuckDBPyConnection] = field(default_factory=list)
    # Which names are tables at one snapshot (key None holds that snapshot's id): `catalog.table_exists`.
    tables_at: dict[str | None, int | bool] = field(default_factory=dict)

    def cursor(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            if self.read_only and self.workspace.storage_is_local:
                head = catalog_head(self.workspace)
                if head != self._head:
                    self._retired.append(self.con)
                    self.con, self._head = _sealed_connection(self.workspace), head
            cur = self.con.cursor()
        cur.execute(f"USE {LAKE_ALIAS}")
        return cur

    def close(self) -> None:
        for con in [*self._retired, self.con]:
            con.close()

    def __enter__(self) -> "Lake":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_lake(workspace: Workspace, read_only: bool = False) -> Lake:
    """The lake for this process; `read_only=True` for every path that only reads (it cannot write)."""
    if not read_only:
        return Lake(workspace=workspace, con=connect(workspace), _lock=threading.Lock())
    head = catalog_head(workspace)
    return Lake(workspace=workspace, con=_sealed_connection(workspace), _lock=threading.Lock(), read_only=True,
                _head=head)


def _sealed_connection(workspace: Workspace) -> duckdb.DuckDBPyConnection:
    con = connect(workspace, read_only=True)
    try:
        _seal(con, workspace)
    except duckdb.Error as exc:
        con.close()
        raise LakeError(f"Cannot open the lake read-only: {str(exc).strip().splitlines()[0]}") from exc
    except BaseException:
        con.close()
        raise
    return con


def create_lake(workspace: Workspace) -> None:
    """Create an empty lake (catalog + data folder) for a new workspace."""
    prepare_catalog(workspace.lake_catalog)
    workspace.lake_data.mkdir(parents=True, exist_ok=True)
    open_lake(workspace).close()
