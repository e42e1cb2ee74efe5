"""Every lake write is one of these operations: the change and its audit event, in an order that proves it.

Order (as in `registry/trail.py`): under the workspace's lake write lock, the change is staged in an open
DuckLake transaction, where its version number and fingerprint are already known; then the audit event
is appended (its params carry a fresh `write_id`, which the snapshot's commit metadata carries too); only
then does the lake COMMIT. If the event cannot be written the transaction rolls back and the lake is as it
was. If the commit fails after the event was written, a `lake.write_failed` event names the write_id, so
`audit verify` (`lake/integrity.py`) knows the event has no snapshot on purpose. Shells (CLI, TUI) call
these and never write lake events themselves.

Each write first removes the files a killed writer left behind (`orphans.py`), audited as `lake.cleanup`.
"""

from __future__ import annotations

import json
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import duckdb

from workbench.errors import LakeError, LakeWriteError, WorkbenchError
from workbench.lake.attach import Source, attach_source, detach_source, source_tables
from workbench.lake.catalog import TableVersion, table_exists
from workbench.lake.engine import LAKE_ALIAS, Lake, open_lake
from workbench.lake.export import ExportResult, export_data
from workbench.lake.orphans import CleanupResult, find_orphans, remove_orphans
from workbench.lake.prune import PruneResult, delete_expired_files, expire_snapshots, plan_prune
from workbench.lake.redaction import redact_sql
from workbench.lake.sql_guard import guarded_select, read_error
from workbench.lake.versioning import Progress, committed_versions, stage_version
from workbench.lake.write_lock import lake_write_lock
from workbench.workspace import Workspace
from workbench.workspace.sharing import share_new_folders

# (entry of one staged table version, write_id) -> the audit event recording it (`AuditLog.record` arguments)
EventFor = Callable[[dict[str, Any]], dict[str, Any]]


def _require(workspace: Workspace, role: str, what: str) -> None:
    """The role check every lake write makes before it touches anything (`access/roles.py`)."""
    from workbench.access.actions import require_role

    require_role(workspace, role, what)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _record(workspace: Workspace, events: list[dict[str, Any]]) -> None:
    from workbench.audit import AuditLog

    with AuditLog(workspace.audit_path, workspace.root) as log:
        log.record_many(events)


def _record_or_refuse(workspace: Workspace, events: list[dict[str, Any]], what: str) -> None:
    """Append the events; if the log refuses, one sentence saying the change was not made."""
    try:
        _record(workspace, events)
    except WorkbenchError as exc:
        raise LakeWriteError(f"The audit log could not record {what}, so nothing was changed: {exc.message}") from exc
    except Exception as exc:
        raise LakeWriteError(f"The audit log could not record {what}, so nothing was changed: {_first_line(exc)}") from exc


def _record_failed(workspace: Workspace, actor: str, write_id: str, kind: str, subject: str, exc: BaseException) -> None:
    """Best effort: say that the write an event announced did not happen."""
    try:
        _record(workspace, [{"kind": "lake.write_failed", "actor": actor, "subject": subject, "outcome": "failed",
                             "params": {"write_id": write_id, "kind": kind,
                                        "error": _first_line(exc)}}])
    except Exception:
        pass


@contextmanager
def writing(lake: Lake) -> Iterator[Lake]:
    """The write lock for the block, after clearing what a killed writer left (audited, if anything)."""
    if lake.read_only:
        raise LakeError("Internal error: a lake write was attempted on a read-only handle.")
    with lake_write_lock(lake.workspace):
        if lake.workspace.storage_is_local:
            _cleanup_locked(lake.workspace, lake.workspace.actor, dry_run=False, automatic=True)
        try:
            yield lake
        finally:  # still under the lock: no teammate writes into a folder DuckDB just made 0750
            share_new_folders(lake.workspace, lake.workspace.lake_data)


def commit_staged(lake: Lake, cur: duckdb.DuckDBPyConnection, entries: list[dict[str, Any]], *, actor: str,
                  message: str, event_for: EventFor) -> list[TableVersion]:
    """Finish a write staged in `cur`'s open transaction: metadata, audit events, COMMIT — or roll back."""
    write_id = uuid.uuid4().hex
    for entry in entries:  # sources and lineage text come from SQL, specs and paths: no secret in the catalog
        entry.update({k: redact_sql(v) for k, v in entry.items() if isinstance(v, str)})
        entry["write_id"] = write_id
    cur.execute(f"CALL {LAKE_ALIAS}.set_commit_message(?, ?, extra_info => ?)",
                [actor, redact_sql(message), json.dumps({"workbench": 1, "tables": entries})])
    events = []
    for entry in entries:
        event = event_for(entry)
        event["params"] = {**event.get("params", {}), "write_id": write_id}
        events.append({"actor": actor, **event})
    names = ", ".join(e["table"] for e in entries)
    _record_or_refuse(lake.workspace, events, f"the write of {names}")
    try:
        cur.execute("COMMIT")
    except BaseException as exc:
        _record_failed(lake.workspace, actor, write_id, events[0]["kind"], names, exc)
        raise LakeWriteError(f"The lake could not commit the write of {names} (audited as failed): "
                             f"{_first_line(exc)}") from exc
    return committed_versions(lake, entries)


def _staged_write(lake: Lake, actor: str, message: str, stage: Callable[[duckdb.DuckDBPyConnection], list[dict[str, Any]]],
                  event_for: EventFor) -> list[TableVersion]:
    cur = lake.cursor()
    cur.execute("BEGIN TRANSACTION")
    committed = False
    try:
        entries = stage(cur)
        versions = commit_staged(lake, cur, entries, actor=actor, message=message, event_for=event_for)
        committed = True
        return versions
    finally:
        if not committed:
            try:
                cur.execute("ROLLBACK")
            except duckdb.Error:
                pass  # the failed COMMIT already ended the transaction


def _version_event(kind: str, params: Callable[[dict[str, Any]], dict[str, Any]]) -> EventFor:
    return lambda e: {"kind": kind, "subject": e["table"], "data_version": e["version"],
                      "fingerprint": e["fingerprint"], "params": params(e)}


def ingest(lake: Lake, paths: Sequence[Path], table: str | None = None, replace: bool = False,
           actor: str | None = None, progress: Progress | None = None) -> list[TableVersion]:
    """Load files as new table versions in one transaction, one `lake.ingest` event per table."""
    from workbench.lake.ingest import check_ingest, stage_ingest

    actor = actor or lake.workspace.actor
    _require(lake.workspace, "contributor", "Ingesting into the lake")
    with writing(lake):
        requests = check_ingest(lake, paths, table, replace)
        return _staged_write(
            lake, actor, "ingest " + ", ".join(r.table for r in requests),
            lambda cur: stage_ingest(lake, cur, requests, progress),
            _version_event("lake.ingest", lambda e: {"source": e["source"], "rows": e["row_count"], "replace": replace}))


def sql_write(lake: Lake, sql: str, actor: str | None = None) -> TableVersion:
    """`CREATE [OR REPLACE] TABLE name AS SELECT …` as a new version; one `lake.sql_write` event.

    The SELECT is a user's SQL, so it runs on a sealed read-only handle and only its rows (Arrow batches)
    reach the writing connection: a maintenance call inside it cannot run with write access."""
    from workbench.lake.sql import parse_write

    actor = actor or lake.workspace.actor
    _require(lake.workspace, "contributor", "Writing a lake table")
    table, replace, select = parse_write(sql)
    statement = redact_sql(sql.strip())
    with writing(lake), open_lake(lake.workspace, read_only=True) as ro:
        if table_exists(lake, table) and not replace:
            raise LakeError(f"Table {table!r} already exists; write CREATE OR REPLACE TABLE to make a new version of it.")
        guarded_select(ro, select)

        def stage(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
            view = "_wb_sql_source"
            try:
                cur.register(view, ro.cursor().execute(select).to_arrow_reader())
                return [stage_version(lake, cur, table, f"SELECT * FROM {view}", f"sql: {select}")]
            except duckdb.Error as exc:
                raise read_error(exc) from exc

        return _staged_write(lake, actor, f"sql write {table}", stage,
                             _version_event("lake.sql_write", lambda e: {"sql": statement, "rows": e["row_count"]}))[0]


def write_frame(lake: Lake, table: str, frame: Any, *, source: str, message: str, replace: bool = False,
                extra: dict[str, Any] | None = None, actor: str | None = None,
                event_for: EventFor | None = None) -> TableVersion:
    """Store a frame (polars or Arrow) as the next version of `table`; `event_for` says what event records
    it (`models predict --into` records its `model.predicted`), by default `lake.write`."""
    from workbench.lake.names import check_table_name, quote_ident
    from workbench.lake.write import version_entry

    actor = actor or lake.workspace.actor
    _require(lake.workspace, "contributor", "Writing a lake table")
    check_table_name(table)
    arrow = frame.to_arrow() if hasattr(frame, "to_arrow") else frame
    if arrow.num_rows == 0:
        raise LakeError(f"Nothing to write into {table!r}: no rows.")
    with writing(lake):
        if table_exists(lake, table) and not replace:
            raise LakeError(f"Table {table!r} already exists; pass --replace to write a new version of it.")

        def stage(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
            view = "_wb_write_source"
            cur.register(view, arrow)
            try:
                cur.execute(f"CREATE OR REPLACE TABLE {quote_ident(table)} AS SELECT * FROM {view}")
                return [{**(extra or {}), **version_entry(lake, cur, table, source)}]
            except duckdb.Error as exc:
                raise LakeError(f"Cannot write table {table!r}: {_first_line(exc)}") from exc

        return _staged_write(lake, actor, message, stage,
                             event_for or _version_event("lake.write", lambda e: {"source": e["source"], "rows": e["row_count"]}))[0]


def prune(lake: Lake, table: str, keep: int = 1, dry_run: bool = False, actor: str | None = None) -> PruneResult:
    """Expire all but the newest `keep` versions of `table` (one `lake.prune` event), then delete their files."""
    actor = actor or lake.workspace.actor
    if dry_run:
        return plan_prune(lake, table, keep)[0]
    _require(lake.workspace, "admin", "Pruning table versions")
    with writing(lake):
        plan, expire = plan_prune(lake, table, keep)
        params = {**plan.as_dict(), "dry_run": False}
        write_id = uuid.uuid4().hex
        event = {"kind": "lake.prune", "actor": actor, "subject": table, "params": {**params, "write_id": write_id}}
        if not expire:
            _record_or_refuse(lake.workspace, [event], f"the prune of {table}")
            return PruneResult(**{**params, "files_deleted": 0})
        cur = lake.cursor()
        cur.execute("BEGIN TRANSACTION")
        try:
            expire_snapshots(cur, table, expire)
            _record_or_refuse(lake.workspace, [event], f"the prune of {table}")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        try:
            cur.execute("COMMIT")
        except duckdb.Error as exc:
            _record_failed(lake.workspace, actor, write_id, "lake.prune", table, exc)
            raise LakeWriteError(f"The lake could not commit the prune of {table} (audited as failed): "
                                 f"{_first_line(exc)}") from exc
        try:
            files = delete_expired_files(cur)
        except duckdb.Error:
            files = 0  # still scheduled for deletion: the next prune deletes them
        return PruneResult(**{**params, "files_deleted": files})


def attach(lake: Lake, path: Path, name: str, actor: str | None = None) -> tuple[Source, list[str]]:
    """Register a read-only source and its `lake.attach` event (the event first: no event, no source)."""
    actor = actor or lake.workspace.actor
    _require(lake.workspace, "contributor", "Attaching a source")
    tables: list[str] = []

    def publish(source: Source) -> None:
        tables.extend(t.name for t in source_tables(lake, source.name))
        _record_or_refuse(lake.workspace, [{"kind": "lake.attach", "actor": actor, "subject": source.name,
                                            "params": {**source.as_dict(), "tables": tables}}], f"attaching {name}")

    with lake_write_lock(lake.workspace):
        source = attach_source(lake, path, name, before_publish=publish)
    return source, tables


def detach(lake: Lake, name: str, actor: str | None = None) -> Source:
    """Forget a source, after its `lake.detach` event is recorded."""
    actor = actor or lake.workspace.actor
    _require(lake.workspace, "contributor", "Detaching a source")

    def publish(source: Source) -> None:
        _record_or_refuse(lake.workspace, [{"kind": "lake.detach", "actor": actor, "subject": source.name,
                                            "params": source.as_dict()}], f"detaching {name}")

    with lake_write_lock(lake.workspace):
        return detach_source(lake, name, before_publish=publish)


def export(lake: Lake, path: Path, *, table: str | None = None, version: int | None = None, query: str | None = None,
           fmt: str | None = None, overwrite: bool = False, actor: str | None = None) -> ExportResult:
    """Export rows to a file; the `lake.export` event is recorded before the file is renamed into place."""
    actor = actor or lake.workspace.actor

    def publish(result: ExportResult) -> None:
        _record_or_refuse(lake.workspace, [{"kind": "lake.export", "actor": actor, "subject": result.source,
                                            "params": result.as_dict()}], f"the export to {path}")

    return export_data(lake, path, table=table, version=version, query=query, fmt=fmt, overwrite=overwrite,
                       before_publish=publish)


def cleanup(workspace: Workspace, dry_run: bool = False, actor: str | None = None) -> CleanupResult:
    """Remove orphaned data files and empty folders under the write lock; a `lake.cleanup` event if any."""
    if not dry_run:
        _require(workspace, "admin", "Removing orphaned data files")
    with lake_write_lock(workspace):
        return _cleanup_locked(workspace, actor or workspace.actor, dry_run=dry_run, automatic=False)


def _cleanup_locked(workspace: Workspace, actor: str, *, dry_run: bool, automatic: bool) -> CleanupResult:
    plan = find_orphans(workspace)
    if dry_run or plan.empty:
        return plan
    params = {**plan.as_dict(), "dry_run": False, "automatic": automatic}
    _record_or_refuse(workspace, [{"kind": "lake.cleanup", "actor": actor, "subject": "lake", "params": params}],
                      "the clean-up of orphaned data files")
    return remove_orphans(workspace, plan)


def ingest_if_changed(lake: Lake, table: str, from_sql: str, *, source: str, read_only_sql: bool,
                      actor: str | None = None, params: dict[str, Any] | None = None) -> TableVersion | None:
    """A new version of `table` from `SELECT * FROM from_sql` only if its content fingerprint differs from
    the current version's (one `lake.ingest` event); None, writing nothing, when it is the same.

    `read_only_sql`: `from_sql` is a user's query, so it is fingerprinted and read on a sealed read-only
    handle (as `sql_write` does); file readers run on the writing connection, as ingest's do."""
    from workbench.lake.catalog import latest_version
    from workbench.lake.fingerprint import FINGERPRINT_ALGORITHM, fingerprint_relation
    from workbench.lake.names import check_table_name

    actor = actor or lake.workspace.actor
    _require(lake.workspace, "contributor", "Refreshing a lake table")
    check_table_name(table)
    with writing(lake), open_lake(lake.workspace, read_only=True) as ro:
        reader = ro.cursor() if read_only_sql else lake.cursor()
        try:
            fingerprint, rows = fingerprint_relation(reader, from_sql)
        except duckdb.Error as exc:
            raise read_error(exc, f"Cannot read {source}") from exc
        current = latest_version(lake, table) if table_exists(lake, table) else None
        if current is not None and current.fingerprint == fingerprint \
                and current.fingerprint_algorithm == FINGERPRINT_ALGORITHM:
            return None
        if rows == 0:
            raise LakeError(f"{source} has no rows; nothing was ingested.")

        def stage(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
            select = f"SELECT * FROM {from_sql}"
            try:
                if read_only_sql:
                    cur.register("_wb_refresh_source", ro.cursor().execute(select).to_arrow_reader())
                    select = "SELECT * FROM _wb_refresh_source"
                return [stage_version(lake, cur, table, select, source)]
            except duckdb.Error as exc:
                raise read_error(exc, f"Cannot read {source}") from exc

        return _staged_write(lake, actor, f"refresh {table}", stage, _version_event(
            "lake.ingest", lambda e: {"source": e["source"], "rows": e["row_count"], "replace": True, **(params or {})}))[0]
