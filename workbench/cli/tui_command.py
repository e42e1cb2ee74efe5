"""Open the TUI: the only CLI module that imports Textual (lazily)."""

from __future__ import annotations

import sys

from workbench.cli.context import CliState


def open_tui(state: CliState) -> None:
    from workbench.workspace.locate import locate_workspace

    located = locate_workspace(state.workspace_arg)
    notice = None
    if located.created:
        notice = f"Created the demo workspace with the sample lake at {located.workspace.root}"
        print(notice, file=sys.stderr)
    from workbench.tui.app import WorkbenchApp

    app = WorkbenchApp(located.workspace, notice=notice)
    app.run()
    if app.return_code:  # e.g. 129: the terminal went away
        sys.exit(app.return_code)
