"""State shared by every subcommand: which workspace, debug mode."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from workbench.workspace import Workspace


@dataclass
class CliState:
    workspace_arg: Path | None
    debug: bool

    def workspace(self, create_demo: bool = True) -> Workspace:
        from workbench.workspace.locate import locate_workspace

        located = locate_workspace(self.workspace_arg, create_demo=create_demo)
        if located.created:
            click.echo(f"Created the demo workspace with the sample lake at {located.workspace.root}", err=True)
        return located.workspace


pass_state = click.make_pass_decorator(CliState)
