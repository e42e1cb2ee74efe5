"""The Runs tab's compare view: two or more runs side by side, what differs marked (`runs compare` in the CLI)."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label, Static

from workbench.tui.lake.grid import format_number


def _cell(value: Any, differs: bool) -> Text:
    if value is None:
        return Text("—", style="dim", justify="right")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        text = Text(format_number(value), justify="right")
    else:
        text = Text(str(value) if not isinstance(value, (list, dict)) else ", ".join(map(str, value))
                    if isinstance(value, list) else str(value))
    if differs:
        text.stylize("bold yellow")
    return text


class CompareScreen(ModalScreen[None]):
    """Sections: the runs, the spec keys that differ (`a` shows every key), holdout scores, each model
    family's CV score, seconds by stage. Rows whose values differ are marked `*` and highlighted."""

    CSS_PATH = "compare_view.tcss"
    BINDINGS = [Binding("escape,q", "close", "Close"), Binding("a", "toggle_all", "All spec keys")]

    def __init__(self, comparison: Any) -> None:
        super().__init__()
        self.comparison = comparison
        self.all_spec = False

    def compose(self) -> ComposeResult:
        with Vertical(id="compare-dialog"):
            yield Label(f"{len(self.comparison.run_ids)} runs side by side", classes="title")
            yield DataTable(id="compare-table", cursor_type="row", zebra_stripes=False)
            yield Static("* differs · a: every spec key / only differences · Esc closes", classes="hint")

    def on_mount(self) -> None:
        self._fill()
        self.query_one(DataTable).focus()

    def rows(self) -> list[tuple[str, Any]]:
        """(section, row) in the order shown; a row is None for a section's heading."""
        c = self.comparison
        spec = c.spec if self.all_spec else c.spec_differences
        out: list[tuple[str, Any]] = []
        for title, rows in (("run", c.summary), ("spec" if self.all_spec else "spec differences", spec),
                            ("holdout score", c.holdout), ("CV score by model family", c.leaderboard),
                            ("seconds by stage", c.timings)):
            out.append((title, None))
            out.extend((title, r) for r in rows)
        return out

    def _fill(self) -> None:
        table = self.query_one(DataTable)
        table.clear(columns=True)
        table.add_column("", key="key")
        for run_id in self.comparison.run_ids:
            table.add_column(Text(run_id, justify="right"), key=run_id)
        blank = [""] * len(self.comparison.run_ids)
        for i, (title, row) in enumerate(self.rows()):
            if row is None:
                table.add_row(Text(title, style="bold reverse"), *blank, key=f"section-{i}")
            else:
                mark = "* " if row.differs else "  "
                table.add_row(Text(mark + row.key, style="bold" if row.differs else ""),
                              *[_cell(v, row.differs) for v in row.values], key=f"row-{i}")

    def action_toggle_all(self) -> None:
        self.all_spec = not self.all_spec
        self._fill()

    def action_close(self) -> None:
        self.dismiss(None)
