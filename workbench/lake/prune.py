"""Explicit pruning of old table versions: expire their DuckLake snapshots, then delete unreferenced files.

A snapshot can hold versions of several tables (one ingest of many files is one commit). A snapshot
is expired only when no version that is kept still needs it; such versions are reported as kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb

from workbench.errors import LakeError
from workbench.lake.catalog import _parse_versions, current_snapshot, require_table
from workbench.lake.engine import LAKE_ALIAS, Lake


@dataclass(frozen=True)
class PruneResult:
    table: str
    pruned_versions: list[int]
    kept_versions: list[int]
    shared_versions: list[int] = field(default_factory=list)  # old, but their snapshot is still needed
    files_deleted: int = 0
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def prune_versions(lake: Lake, table: str, keep: int = 1, dry_run: bool = False) -> PruneResult:
    """Drop all but the newest `keep` versions of `table`, audited; older versions stop being readable."""
    from workbench.lake.operations import prune

    return prune(lake, table, keep=keep, dry_run=dry_run)


def plan_prune(lake: Lake, table: str, keep: int = 1) -> tuple[PruneResult, list[int]]:
    """What pruning would do (as a dry-run result) and the snapshot ids it would expire."""
    if keep < 1:
        raise LakeError("Keep at least one version (--keep 1 or more).")
    require_table(lake, table)
    versions = _parse_versions(lake)
    mine = [v for v in versions if v.table == table]
    old, kept = mine[:-keep] if len(mine) > keep else [], mine[-keep:]
    needed = {v.snapshot_id for v in versions if v not in old} | {current_snapshot(lake)}
    expire = sorted({v.snapshot_id for v in old} - needed)
    pruned = [v.version for v in old if v.snapshot_id in expire]
    shared = [v.version for v in old if v.snapshot_id not in expire]
    return PruneResult(table=table, pruned_versions=pruned, kept_versions=[v.version for v in kept],
                       shared_versions=shared, dry_run=True), expire


def expire_snapshots(cur: duckdb.DuckDBPyConnection, table: str, snapshot_ids: list[int]) -> None:
    """Inside `cur`'s open transaction: expire the snapshots (committed with the transaction)."""
    ids = ", ".join(str(int(s)) for s in snapshot_ids)
    try:
        cur.execute(f"CALL ducklake_expire_snapshots('{LAKE_ALIAS}', versions => [{ids}])")
    except duckdb.Error as exc:
        raise LakeError(f"Cannot prune {table}: {str(exc).strip().splitlines()[0]}") from exc


def delete_expired_files(cur: duckdb.DuckDBPyConnection) -> int:
    """After the expiry committed: delete the data files only expired snapshots used; how many went."""
    return len(cur.execute(f"CALL ducklake_cleanup_old_files('{LAKE_ALIAS}', cleanup_all => true)").fetchall())
