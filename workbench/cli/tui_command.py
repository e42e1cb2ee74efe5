"""Open the TUI: the only CLI module that imports Textual (lazily)."""

from __future__ import annotations

from workbench.cli.context import CliState


def open_tui(state: CliState) -> None:
    workspace = state.workspace()
    from workbench.tui.app import WorkbenchApp

    WorkbenchApp(workspace).run()
