"""`workbench lake ...`: tables, show, ingest, versions."""

from __future__ import annotations

from pathlib import Path

import click

from workbench.cli.context import CliState, pass_state
from workbench.cli.output import echo_json, echo_table


@click.group()
def lake() -> None:
    """Browse and load the workspace's versioned data lake."""


@lake.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def tables(state: CliState, as_json: bool) -> None:
    """List the lake's tables with row counts and current versions."""
    from workbench.lake import open_lake
    from workbench.lake.catalog import list_tables

    with open_lake(state.workspace()) as lk:
        infos = list_tables(lk)
    if as_json:
        echo_json([t.as_dict() for t in infos])
        return
    if not infos:
        click.echo("The lake has no tables yet; load some with `workbench lake ingest FILE`.")
        return
    echo_table(["table", "rows", "columns", "version", "updated (UTC)"],
               [[t.name, t.row_count, t.column_count, t.version, t.updated_at] for t in infos])


@lake.command()
@click.argument("table")
@click.option("--limit", "-n", default=20, show_default=True, type=click.IntRange(0, 10_000), help="Rows to show.")
@click.option("--offset", default=0, type=click.IntRange(0), help="Rows to skip.")
@click.option("--version", "version", type=click.IntRange(1), help="Read an older version of the table.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def show(state: CliState, table: str, limit: int, offset: int, version: int | None, as_json: bool) -> None:
    """Show rows of TABLE (a page: --offset / --limit)."""
    from workbench.lake import open_lake
    from workbench.lake.preview import preview_table

    with open_lake(state.workspace()) as lk:
        page = preview_table(lk, table, offset=offset, limit=limit, version=version)
    if as_json:
        echo_json(page.as_dict())
        return
    echo_table(page.columns, page.rows, raw=True)
    click.echo(f"({page.caption})")


@lake.command()
@click.argument("table")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def versions(state: CliState, table: str, as_json: bool) -> None:
    """List the versions of TABLE: who wrote each, from what, and its fingerprint."""
    from workbench.lake import open_lake
    from workbench.lake.catalog import require_table, table_versions

    with open_lake(state.workspace()) as lk:
        require_table(lk, table)
        found = table_versions(lk, table)
    if as_json:
        echo_json([v.as_dict() for v in found])
        return
    echo_table(["version", "created (UTC)", "actor", "rows", "fingerprint", "source"],
               [[v.version, v.created_at, v.actor, v.row_count, (v.fingerprint or "")[:16], v.source] for v in found])


@lake.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--table", "-t", help="Table name (default: derived from each file name). Several files with one --table are read together.")
@click.option("--replace", is_flag=True, help="Write a new version of an existing table.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def ingest(state: CliState, paths: tuple[Path, ...], table: str | None, replace: bool, as_json: bool) -> None:
    """Load CSV or Parquet files into the lake as new table versions (all or nothing)."""
    from workbench.audit import AuditLog
    from workbench.lake import open_lake
    from workbench.lake.ingest import ingest_files

    ws = state.workspace()
    with open_lake(ws) as lk:
        created = ingest_files(lk, list(paths), table=table, replace=replace, actor=ws.actor)
    with AuditLog(ws.audit_path, ws.root) as log:
        for v in created:
            log.record("lake.ingest", actor=ws.actor, subject=v.table, data_version=v.version,
                       fingerprint=v.fingerprint, params={"source": v.source, "rows": v.row_count, "replace": replace})
    if as_json:
        echo_json([v.as_dict() for v in created])
        return
    for v in created:
        click.echo(f"{v.table}: version {v.version}, {v.row_count:,} rows, fingerprint {v.fingerprint[:16]}")
