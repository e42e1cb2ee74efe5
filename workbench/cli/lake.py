"""`workbench lake ...`: tables, show, profile, versions, sql, ingest, attach, export, prune, cleanup, check.

Reads open the lake read-only; every write is a core operation (`lake/operations.py`) that records its event."""

from __future__ import annotations

from pathlib import Path

import click

from workbench.cli.context import CliState, pass_state
from workbench.cli.numbers import whole
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

    with open_lake(state.workspace(), read_only=True) as lk:
        infos = list_tables(lk)
    if as_json:
        echo_json([t.as_dict() for t in infos])
        return
    if not infos:
        click.echo("The lake has no tables yet; load some with `workbench lake ingest FILE`.")
        return
    echo_table(["table", "rows", "columns", "version", "updated (UTC)", "size"],
               [[t.name, t.row_count, t.column_count, t.version, t.updated_at, _size(t.size_bytes)] for t in infos])


def _size(size: int | None) -> str:
    if not size:
        return "inlined" if size == 0 else ""
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return ""


@lake.command()
@click.argument("table")
@click.option("--limit", "-n", default=20, show_default=True, type=whole(0, 10_000), help="Rows to show.")
@click.option("--offset", default=0, type=whole(0), help="Rows to skip.")
@click.option("--version", "version", type=whole(1), help="Read an older version of the table (or TABLE@N).")
@click.option("--sort", help="Sort by this column.")
@click.option("--desc", is_flag=True, help="Sort descending.")
@click.option("--where", help="Only rows matching this SQL condition, e.g. \"dep_delay > 60\".")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def show(state: CliState, table: str, limit: int, offset: int, version: int | None, sort: str | None, desc: bool,
         where: str | None, as_json: bool) -> None:
    """Show rows of TABLE (a page: --offset / --limit), optionally sorted and filtered."""
    from workbench.lake import open_lake
    from workbench.lake.preview import preview_table

    table, version = _table_and_version(table, version)
    with open_lake(state.workspace(), read_only=True) as lk:
        page = preview_table(lk, table, offset=offset, limit=limit, version=version, sort=sort, descending=desc,
                             where=where)
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

    with open_lake(state.workspace(), read_only=True) as lk:
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
    from workbench.lake import open_lake
    from workbench.lake import operations

    ws = state.workspace()
    with open_lake(ws) as lk:
        created = operations.ingest(lk, list(paths), table=table, replace=replace, actor=ws.actor)
    if as_json:
        echo_json([v.as_dict() for v in created])
        return
    for v in created:
        click.echo(f"{v.table}: version {v.version}, {v.row_count:,} rows, fingerprint {v.fingerprint[:16]}")


def _table_and_version(spec: str, version: int | None) -> tuple[str, int | None]:
    from workbench.errors import LakeError
    from workbench.lake.catalog import parse_table_spec

    name, at = parse_table_spec(spec)
    if at is not None and version is not None and at != version:
        raise LakeError(f"{spec!r} and --version {version} name different versions.")
    return name, at if at is not None else version


def _fmt_stat(value: object) -> object:
    if isinstance(value, float):
        return float(f"{value:.6g}")
    return value


@lake.command()
@click.argument("table")
@click.option("--target", help="Also show every column against this target column.")
@click.option("--positive", help="With --target: the class whose rate is shown (default: true/1/yes, or the minority class).")
@click.option("--basic", is_flag=True, help="Only the fast statistics (count, nulls, min, max, mean, std).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def profile(state: CliState, table: str, target: str | None, positive: str | None, basic: bool, as_json: bool) -> None:
    """Per-column statistics of TABLE (TABLE@N for an older version), as in the TUI's Profile view."""
    from workbench.lake import open_lake
    from workbench.lake.profile import profile_table
    from workbench.lake.versus_target import versus_target

    name, version = _table_and_version(table, None)
    with open_lake(state.workspace(), read_only=True) as lk:
        prof = profile_table(lk, name, version, basic_only=basic)
        vs = versus_target(lk, name, target, version, positive=positive) if target else None
    if as_json:
        echo_json({"profile": prof.as_dict(), "versus_target": vs.as_dict() if vs else None})
        return
    click.echo(f"{name}{'@' + str(version) if version else ''}: {prof.row_count:,} rows, {len(prof.columns)} columns "
               f"({prof.elapsed_s:.2f} s)")
    echo_table(["column", "type", "null %", "distinct≈", "min", "max", "mean", "std", "q25", "median", "q75", "top value"],
               [[c.name, c.dtype, round(c.null_pct, 2), c.distinct, _fmt_stat(c.min), _fmt_stat(c.max), _fmt_stat(c.mean),
                 _fmt_stat(c.std), _fmt_stat(c.q25), _fmt_stat(c.q50), _fmt_stat(c.q75),
                 f"{c.top_values[0][0]} ({c.top_values[0][1]:,})" if c.top_values else (c.note or "")]
                for c in prof.columns])
    if vs is None:
        return
    what = f"rate of {vs.target} = {vs.positive}" if vs.target_kind == "binary" else f"mean of {vs.target}"
    click.echo(f"\nVersus target {vs.target!r} ({what}; overall {vs.overall:.4g} over {vs.rows:,} rows; "
               f"{vs.elapsed_s:.2f} s). Score: eta², share of the target's variance the buckets explain.")
    width = max(len(f.feature) for f in vs.features) if vs.features else 7
    for f in vs.features:
        score = "     -" if f.score is None else f"{f.score:6.4f}"
        flag = "  LEAKAGE?" if f.leakage_suspect else ""
        click.echo(f"{f.feature:<{width}}  {score}{flag}  " + (f.note or "  ".join(
            f"{b.label}: {b.target_mean:.3g} (n={b.count:,})" for b in f.buckets)))


@lake.command()
@click.argument("statement", required=False)
@click.option("--file", "-f", "sql_file", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Read the statement from a file.")
@click.option("--write", "allow_write", is_flag=True, help="Allow CREATE [OR REPLACE] TABLE … AS SELECT (a new, audited version).")
@click.option("--limit", "-n", default=50, show_default=True, type=whole(0, 10_000), help="Rows to show.")
@click.option("--offset", default=0, type=whole(0), help="Rows to skip.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def sql(state: CliState, statement: str | None, sql_file: Path | None, allow_write: bool, limit: int, offset: int,
        as_json: bool) -> None:
    """Run one SQL statement against the lake (read-only unless --write)."""
    from workbench.errors import LakeError
    from workbench.lake import open_lake
    from workbench.lake import operations
    from workbench.lake.sql import query_page
    from workbench.lake.sql_history import add_history

    if (statement is None) == (sql_file is None):
        raise LakeError("Give one SQL statement, either as an argument or with --file.")
    text = statement if statement is not None else sql_file.read_text(encoding="utf-8")  # type: ignore[union-attr]
    ws = state.workspace()
    try:
        with open_lake(ws, read_only=not allow_write) as lk:
            if allow_write:
                version = operations.sql_write(lk, text, ws.actor)
            else:
                page = query_page(lk, text, offset=offset, limit=limit)
    except LakeError:
        add_history(ws, text, ok=False)
        raise
    add_history(ws, text, ok=True)
    if allow_write:
        if as_json:
            echo_json(version.as_dict())
        else:
            click.echo(f"{version.table}: version {version.version}, {version.row_count:,} rows, "
                       f"fingerprint {(version.fingerprint or '')[:16]}")
        return
    if as_json:
        echo_json(page.as_dict())
        return
    echo_table(page.columns, page.rows, raw=True)
    click.echo(f"({page.caption})")


@lake.command()
@click.argument("path", required=False, type=click.Path(path_type=Path))
@click.option("--as", "name", help="Name to query the source by (default: derived from PATH).")
@click.option("--list", "list_only", is_flag=True, help="List the attached sources.")
@click.option("--remove", help="Detach the source with this name.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def attach(state: CliState, path: Path | None, name: str | None, list_only: bool, remove: str | None, as_json: bool) -> None:
    """Attach a .duckdb/.sqlite file or a folder of Parquet/CSV files read-only, as NAME.table."""
    from workbench.errors import LakeError
    from workbench.lake import open_lake
    from workbench.lake.attach import list_sources, source_tables
    from workbench.lake.names import table_name_from_path
    from workbench.lake import operations

    ws = state.workspace()
    if list_only or (path is None and remove is None):
        with open_lake(ws, read_only=True) as lk:
            found = [(s, [t.name for t in source_tables(lk, s.name)]) for s in list_sources(ws)]
        if as_json:
            echo_json([{**s.as_dict(), "tables": t} for s, t in found])
        elif not found:
            click.echo("No attached sources; attach one with `workbench lake attach PATH --as NAME`.")
        else:
            echo_table(["name", "kind", "path", "tables"], [[s.name, s.kind, s.path, ", ".join(t)] for s, t in found])
        return
    with open_lake(ws) as lk:
        if remove is not None:
            if path is not None:
                raise LakeError("Give either PATH to attach or --remove NAME, not both.")
            source = operations.detach(lk, remove, actor=ws.actor)
            tables: list[str] = []
        else:
            assert path is not None
            source, tables = operations.attach(lk, path, name or table_name_from_path(Path(path)), actor=ws.actor)
    if as_json:
        echo_json({**source.as_dict(), "tables": tables, "attached": remove is None})
    elif remove is not None:
        click.echo(f"Detached {source.name} ({source.path}).")
    else:
        click.echo(f"Attached {source.path} as {source.name} ({source.kind}): {', '.join(tables) or 'no tables'}")


@lake.command()
@click.argument("source")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet", "json"]), help="Default: from PATH's suffix.")
@click.option("--query", is_flag=True, help="SOURCE is a read-only SQL query rather than a table name.")
@click.option("--force", is_flag=True, help="Overwrite PATH if it exists.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def export(state: CliState, source: str, path: Path, fmt: str | None, query: bool, force: bool, as_json: bool) -> None:
    """Export SOURCE (a table, TABLE@N, or with --query a SELECT) to a CSV, Parquet or JSON file."""
    from workbench.lake import open_lake
    from workbench.lake import operations

    ws = state.workspace()
    with open_lake(ws, read_only=True) as lk:
        if query:
            result = operations.export(lk, path, query=source, fmt=fmt, overwrite=force, actor=ws.actor)
        else:
            name, version = _table_and_version(source, None)
            result = operations.export(lk, path, table=name, version=version, fmt=fmt, overwrite=force, actor=ws.actor)
    if as_json:
        echo_json(result.as_dict())
        return
    click.echo(f"Exported {result.row_count:,} rows of {result.source} to {result.path} ({result.format}, "
               f"{_size(result.size_bytes)})")


@lake.command()
@click.argument("table")
@click.option("--keep", default=1, show_default=True, type=whole(1), help="Newest versions to keep.")
@click.option("--dry-run", is_flag=True, help="Say what would be pruned; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def prune(state: CliState, table: str, keep: int, dry_run: bool, as_json: bool) -> None:
    """Delete old versions of TABLE for good (they stop being readable); audited."""
    from workbench.lake import open_lake
    from workbench.lake import operations

    ws = state.workspace()
    with open_lake(ws, read_only=dry_run) as lk:
        result = operations.prune(lk, table, keep=keep, dry_run=dry_run, actor=ws.actor)
    if as_json:
        echo_json(result.as_dict())
        return
    verb = "Would prune" if dry_run else "Pruned"
    pruned = ", ".join(map(str, result.pruned_versions)) or "nothing"
    click.echo(f"{verb} {table} versions: {pruned}; kept {', '.join(map(str, result.kept_versions))}"
               + (f"; {result.files_deleted} data files deleted" if not dry_run else ""))
    if result.shared_versions:
        click.echo(f"Versions {', '.join(map(str, result.shared_versions))} share a snapshot with other tables' kept "
                   "versions and stay readable until those are pruned.")


@lake.command()
@click.option("--dry-run", is_flag=True, help="Say what would be removed; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def cleanup(state: CliState, dry_run: bool, as_json: bool) -> None:
    """Delete data files no table version references (left by a killed writer) and empty folders; audited."""
    from workbench.lake import operations

    ws = state.workspace()
    result = operations.cleanup(ws, dry_run=dry_run, actor=ws.actor)
    if as_json:
        echo_json(result.as_dict())
        return
    if result.empty:
        click.echo("Nothing to clean up: every data file belongs to a table version.")
        return
    verb = "Would remove" if dry_run else "Removed"
    click.echo(f"{verb} {len(result.files)} orphaned data file(s) ({_size(result.bytes) or '0 B'}) "
               f"and {len(result.folders)} empty folder(s).")


@lake.command()
@click.argument("table")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def check(state: CliState, table: str, as_json: bool) -> None:
    """Check TABLE[@V] against expectations/TABLE.toml; certify it if it passes (exit 1 if it fails)."""
    from workbench.checks.run import ChecksFailedError, check_table
    from workbench.cli.output import echo_alert

    name, version = _table_and_version(table, None)
    outcome = check_table(state.workspace(), name, version)
    if as_json:
        echo_json(outcome.as_dict())
    else:
        verdict = "certified" if outcome.certified else f"failed {len(outcome.failures)} check(s)"
        click.echo(f"{outcome.table} version {outcome.version}: {verdict} ({outcome.rows:,} rows, "
                   f"expectations {(outcome.expectations_sha or '')[:12]})")
        for line in outcome.failures:
            click.echo(f"  ✗ {line}")
        for line in outcome.notes:
            click.echo(f"  · {line}")
        echo_alert(outcome.table, outcome.alert)
    if not outcome.passed:
        raise ChecksFailedError(f"{outcome.table} version {outcome.version} failed its checks; it is not certified.")
