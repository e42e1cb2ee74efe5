"""The command palette (ctrl+p) holds every action of every tab: each pane's footer keys, by name.

Built from the panes' own `BINDINGS`, so a key added to a tab is in the palette without a second list;
the Lake tab keeps its hand-written entries (`LAKE_COMMANDS`, with longer help)."""

from __future__ import annotations

from typing import Any, Callable, Iterator

# (tab id, the tab's name in titles), in tab order; the pane is the tab's only child.
TABS = (("runs", "Runs"), ("audit", "Audit"), ("models", "Models"), ("plugins", "Plugins"), ("pipelines", "Pipelines"))


def _key_name(key: str) -> str:
    return {"slash": "/", "right_square_bracket": "]", "left_square_bracket": "["}.get(key, key)


def tab_commands(app: Any) -> Iterator[Any]:
    """A palette entry per shown key of every tab: it opens the tab, then does what the key does."""
    from textual.app import SystemCommand
    from textual.binding import Binding

    from workbench.tui.panes.lake import lake_commands

    yield from lake_commands(app)

    def run(tab: str, action: str) -> Callable[[], None]:
        def go() -> None:
            app.action_show_tab(tab)
            pane = app.query_one(f"#{tab} > *")
            pane.call_after_refresh(pane.run_action, action)

        return go

    for tab, name in TABS:
        pane = app.query_one(f"#{tab} > *")
        for binding in pane.BINDINGS:
            if not isinstance(binding, Binding) or not binding.show:
                continue
            keys = " or ".join(_key_name(k.strip()) for k in binding.key.split(","))
            yield SystemCommand(f"{name}: {binding.description}", f"key {keys} on the {name} tab",
                                run(tab, binding.action))
