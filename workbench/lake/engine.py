"""Open the workspace's DuckLake through one DuckDB connection per process.

Why DuckLake with a SQLite catalog: every commit is an immutable snapshot (time travel for free), data
files are plain Parquet that object storage can hold later, and many processes can read while one
writes — a bare `.duckdb` file allows neither. The extensions come from PyPI wheels pinned to DuckDB
1.5.5 and are installed into a workspace-owned directory with auto-install off: nothing is downloaded.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

import duckdb

from workbench.errors import BackendUnavailableError, LakeError
from workbench.workspace import Workspace

LAKE_ALIAS = "lake"
_EXTENSIONS = {"ducklake": "duckdb_extension_ducklake", "sqlite_scanner": "duckdb_extension_sqlite_scanner"}


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


def prepare_catalog(catalog: Path) -> None:
    """Create the SQLite catalog file in WAL mode before DuckDB attaches it (1 s reader stalls otherwise)."""
    catalog.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(catalog)
    try:
        con.execute("PRAGMA journal_mode=WAL")
    finally:
        con.close()


def connect(workspace: Workspace) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the lake attached as `lake` and selected as the default catalog."""
    ext_dir = workspace.state_dir / "duckdb_extensions"
    ext_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(
        config={
            "extension_directory": str(ext_dir),
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        }
    )
    try:
        for name, module in _EXTENSIONS.items():
            try:
                con.execute(f"LOAD {name}")
            except duckdb.Error:
                con.execute(f"INSTALL '{_extension_file(name, module)}'")
                con.execute(f"LOAD {name}")
        if not workspace.lake_catalog.exists():
            raise LakeError(f"No lake catalog at {workspace.lake_catalog}; run `workbench init` first.")
        prepare_catalog(workspace.lake_catalog)
        data_path = str(workspace.lake_data) + "/"
        con.execute(
            f"ATTACH 'ducklake:sqlite:{_sql_path(workspace.lake_catalog)}' AS {LAKE_ALIAS} "
            # Data files are stored relative to DATA_PATH; overriding it keeps a workspace relocatable
            # (moved, copied, or mounted elsewhere) instead of pinned to the path it was created at.
            f"(DATA_PATH '{_sql_path(Path(data_path))}/', OVERRIDE_DATA_PATH TRUE)"
        )
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


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


@dataclass
class Lake:
    """The process's handle on the lake. Threads take `cursor()`s; writes go through `lake.ingest` etc."""

    workspace: Workspace
    con: duckdb.DuckDBPyConnection
    _lock: threading.Lock

    def cursor(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            cur = self.con.cursor()
        cur.execute(f"USE {LAKE_ALIAS}")
        return cur

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> "Lake":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_lake(workspace: Workspace) -> Lake:
    return Lake(workspace=workspace, con=connect(workspace), _lock=threading.Lock())


def create_lake(workspace: Workspace) -> None:
    """Create an empty lake (catalog + data folder) for a new workspace."""
    prepare_catalog(workspace.lake_catalog)
    workspace.lake_data.mkdir(parents=True, exist_ok=True)
    open_lake(workspace).close()
