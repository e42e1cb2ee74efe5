"""Data files no catalog row references, and empty folders no live table owns: what a killed writer leaves.

A writer killed mid-ingest (`kill -9`, a power cut) has written Parquet files that its transaction never
committed; nothing refers to them and DuckLake never removes them. A file counts as referenced when any
row of `ducklake_data_file`, `ducklake_delete_file` or `ducklake_files_scheduled_for_deletion` names it.
Names are compared, not joined paths: DuckLake names every file by a fresh UUID, so the comparison holds
however the table and schema paths are nested. Only DuckLake's own `ducklake-*.parquet` files are ever
removed. Callers hold the lake write lock, so no writer is between writing a file and committing it.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.errors import LakeError
from workbench.workspace import Workspace

_REFERENCING = ("ducklake_data_file", "ducklake_delete_file", "ducklake_files_scheduled_for_deletion")


@dataclass(frozen=True)
class CleanupResult:
    """Orphaned files and empty folders (relative to the data folder) that were or would be removed."""

    files: list[str] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)
    bytes: int = 0
    dry_run: bool = False

    @property
    def empty(self) -> bool:
        return not self.files and not self.folders

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _referenced(catalog: Path) -> tuple[set[str], set[str]]:
    """(names of every file the catalog references, relative folders of the live schemas and tables)."""
    con = sqlite3.connect(f"file:{catalog}?mode=ro", uri=True, timeout=30)
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        names: set[str] = set()
        for table in _REFERENCING:
            if table in tables:
                names.update(str(r[0]).replace("\\", "/").rsplit("/", 1)[-1] for r in con.execute(f"SELECT path FROM {table}"))
        # A table whose rows are all inlined has an empty folder DuckLake made for it: not debris.
        live = con.execute(
            "SELECT s.path, t.path FROM ducklake_schema s LEFT JOIN ducklake_table t ON t.schema_id = s.schema_id "
            "AND t.end_snapshot IS NULL AND t.path_is_relative WHERE s.end_snapshot IS NULL AND s.path_is_relative"
        ).fetchall() if {"ducklake_schema", "ducklake_table"} <= tables else []
        folders = {str(sp).strip("/") for sp, _ in live} | {f"{str(sp).strip('/')}/{str(tp).strip('/')}" for sp, tp in live if tp}
        return names, folders
    except sqlite3.DatabaseError as exc:
        raise LakeError(f"Cannot read the lake catalog {catalog}: {exc}") from exc
    finally:
        con.close()


def find_orphans(workspace: Workspace) -> CleanupResult:
    """What a clean-up would remove now (local storage only)."""
    if not workspace.storage_is_local:
        raise LakeError("Cleaning up orphaned data files works on local storage only; "
                        "this workspace keeps its lake on another storage back-end.")
    root = workspace.lake_data
    if not root.is_dir():
        return CleanupResult(dry_run=True)
    referenced, live_folders = _referenced(workspace.lake_catalog)
    files, size = [], 0
    for path in sorted(root.rglob("ducklake-*.parquet")):
        if path.is_file() and path.name not in referenced:
            files.append(str(path.relative_to(root)))
            size += path.stat().st_size
    removed = {root / f for f in files}
    folders = []
    for folder in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        rel = folder.relative_to(root).as_posix()
        if rel not in live_folders and all(child in removed for child in folder.iterdir()):
            folders.append(rel)
            removed.add(folder)
    return CleanupResult(files=files, folders=folders, bytes=size, dry_run=True)


def remove_orphans(workspace: Workspace, plan: CleanupResult) -> CleanupResult:
    """Delete what `plan` found (deepest folders last); a file gone meanwhile is not an error."""
    root = workspace.lake_data
    for rel in plan.files:
        try:
            (root / rel).unlink()
        except FileNotFoundError:
            pass
    for rel in plan.folders:  # deepest first, as found
        try:
            os.rmdir(root / rel)
        except (FileNotFoundError, OSError):
            pass
    return CleanupResult(files=plan.files, folders=plan.folders, bytes=plan.bytes, dry_run=False)
