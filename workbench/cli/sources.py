"""`workbench sources add|list|refresh`: declared sources of lake tables (core: `workbench/sources/`)."""

from __future__ import annotations

import click

from workbench.cli.context import CliState, pass_state
from workbench.cli.output import echo_alert, echo_json, echo_table


@click.group()
def sources() -> None:
    """Declare where lake tables' new versions come from, and refresh them."""


@sources.command()
@click.argument("name")
@click.option("--table", "-t", required=True, help="The lake table this source feeds.")
@click.option("--path", help="A glob or folder of CSV / Parquet / JSON Lines files (relative to the workspace).")
@click.option("--query", help="A read-only SELECT over the lake and its attached databases.")
@click.option("--prefix", help="A key prefix in the workspace's storage back-end.")
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet", "jsonl"]), help="Default: from file names.")
@click.option("--description", default="", help="Free text.")
@pass_state
def add(state: CliState, name: str, table: str, path: str | None, query: str | None, prefix: str | None,
        fmt: str | None, description: str) -> None:
    """Declare source NAME in sources/NAME.toml (audited)."""
    from workbench.sources.declare import add_source, source_path

    ws = state.workspace()
    decl = add_source(ws, name, table, path=path, query=query, prefix=prefix, fmt=fmt, description=description)
    click.echo(f"Source {decl.name} ({decl.kind}) feeds {decl.table}; declared in {source_path(ws, name)}.")


@sources.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def list_(state: CliState, as_json: bool) -> None:
    """List the declared sources with their table's check status."""
    from workbench.checks.history import table_status
    from workbench.sources.declare import list_sources

    ws = state.workspace()
    rows = [(s, table_status(ws, s.table)) for s in list_sources(ws)]
    if as_json:
        echo_json([{**s.as_dict(), "status": st.as_dict()} for s, st in rows])
        return
    if not rows:
        click.echo("No sources yet; declare one with `workbench sources add NAME --table T --path GLOB`.")
        return
    echo_table(["source", "kind", "table", "version", "checks", "last refresh (UTC)", "location"],
               [[s.name, s.kind, s.table, st.version, st.state, st.last_refresh, s.as_dict()["location"]]
                for s, st in rows])


@sources.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_state
def refresh(state: CliState, name: str, as_json: bool) -> None:
    """Ingest source NAME's content as a new version if it changed, then check it (exit 1 if checks fail)."""
    from workbench.checks.run import ChecksFailedError
    from workbench.sources.refresh import refresh_source

    outcome = refresh_source(state.workspace(), name)
    if as_json:
        echo_json(outcome.as_dict())
    elif not outcome.changed:
        click.echo(f"{outcome.table}: unchanged (version {outcome.version}); nothing was written.")
    else:
        checks = outcome.checks
        verdict = "no expectations" if checks is None else "certified" if checks.certified else "failed its checks"
        click.echo(f"{outcome.table}: version {outcome.version} from source {outcome.source}; {verdict}.")
        for line in (checks.failures if checks else []):
            click.echo(f"  ✗ {line}")
        if checks is not None:
            echo_alert(outcome.table, checks.alert)
    if outcome.checks is not None and not outcome.checks.passed:
        raise ChecksFailedError(f"{outcome.table} version {outcome.version} failed its checks; it is not certified "
                                "and runs will not train on it.")
