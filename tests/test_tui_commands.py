"""Every tab's keys are in the command palette and in the README's key table, so the three agree."""

from __future__ import annotations

import re
from pathlib import Path

from textual.binding import Binding

from workbench.tui.app import WorkbenchApp
from workbench.tui.commands import TABS, _key_name
from workbench.workspace import Workspace

from tui_support import settle

README = Path(__file__).resolve().parent.parent / "README.md"


def _readme_keys(tab: str) -> set[str]:
    row = next(line for line in README.read_text(encoding="utf-8").splitlines() if line.startswith(f"| {tab} |"))
    return set(re.findall(r"`([^`]+)`", row.split("|")[2]))


async def test_the_palette_holds_every_key_of_every_tab_and_runs_it(empty_workspace: Workspace) -> None:
    app = WorkbenchApp(empty_workspace)
    async with app.run_test(size=(150, 45)) as pilot:
        await settle(app, pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for tab, name in TABS:
            pane = app.query_one(f"#{tab} > *")
            for binding in pane.BINDINGS:
                if isinstance(binding, Binding) and binding.show:
                    assert f"{name}: {binding.description}" in titles
        assert "Lake: profile" in titles
        command = next(c for c in app.get_system_commands(app.screen) if c.title == "Audit: Archives")
        command.callback()
        await settle(app, pilot)
        assert app.query_one("#tabs").active == "audit"
        assert app.query_one("AuditPane").with_archives


def test_the_readme_names_every_key_the_footer_shows() -> None:
    from workbench.tui.panes.audit import AuditPane
    from workbench.tui.panes.models import ModelsPane
    from workbench.tui.panes.plugins import PluginsPane
    from workbench.tui.panes.runs import RunsPane

    for name, pane in (("Runs", RunsPane), ("Audit", AuditPane), ("Models", ModelsPane), ("Plugins", PluginsPane)):
        documented = _readme_keys(name)
        for binding in pane.BINDINGS:
            if isinstance(binding, Binding) and binding.show:
                keys = {_key_name(k.strip()) for k in binding.key.split(",")}
                assert keys & documented, f"{name} tab: key {binding.key} ({binding.description}) is not in the README"
