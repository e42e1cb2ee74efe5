"""Modal dialogs of the Lake tab: a one-line prompt, the cell viewer, ingest, export, SQL history and a
column's frequencies."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Button, Checkbox, Input, Label, OptionList, ProgressBar, Static, TextArea
from textual.widgets.option_list import Option

from workbench.errors import WorkbenchError
from workbench.tui.lake.reporting import Done, LakeFailed, report
from workbench.workspace import Workspace


class PathSuggester(Suggester):
    """Completes file-system paths as you type (→ accepts): the first entry that starts with the text."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        if not value:
            return None
        typed = Path(os.path.expanduser(value))
        folder, prefix = (typed, "") if value.endswith(os.sep) else (typed.parent, typed.name)
        try:
            names = sorted(e for e in os.listdir(folder) if e.startswith(prefix) and not e.startswith("."))
        except OSError:
            return None
        if not names:
            return None
        completed = value + names[0][len(prefix):]
        return completed + (os.sep if (folder / names[0]).is_dir() else "")


class PromptScreen(ModalScreen[str | None]):
    """Ask for one line of text (row number, filter, target…); Enter answers, Escape cancels."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, placeholder: str = "", value: str = "", hint: str = "") -> None:
        super().__init__()
        self.title_text, self.placeholder, self.value, self.hint = title, placeholder, value, hint

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="title")
            yield Input(value=self.value, placeholder=self.placeholder, id="prompt-input")
            if self.hint:
                yield Static(self.hint, classes="hint")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class CellViewer(ModalScreen[None]):
    """The full value of one cell (long text, JSON, lists), read-only and scrollable."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = [Binding("escape,q,enter", "close", "Close")]

    def __init__(self, column: str, dtype: str, value: object) -> None:
        super().__init__()
        self.column, self.dtype, self.value = column, dtype, value

    def compose(self) -> ComposeResult:
        text = "NULL" if self.value is None else str(self.value)
        with Vertical(classes="dialog"):
            yield Label(f"{self.column}  ({self.dtype}, {len(text):,} characters)", classes="title")
            yield TextArea(text, read_only=True, soft_wrap=True, id="cell-text")
            yield Static("Esc closes.", classes="hint")

    def action_close(self) -> None:
        self.dismiss(None)


class IngestScreen(ModalScreen[list | None]):
    """Load a CSV/Parquet file (or a folder of them) as a new table or a new version, with progress."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    class Progressed(Message):
        def __init__(self, percent: float) -> None:
            super().__init__()
            self.percent = percent

    class Finished(Message):
        def __init__(self, versions: list | None, error: str | None) -> None:
            super().__init__()
            self.versions, self.error = versions, error

    def __init__(self, workspace: Workspace, get_lake: Callable[[], object]) -> None:
        super().__init__()
        self.workspace, self.get_lake = workspace, get_lake

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Ingest a file into the lake", classes="title")
            yield Input(placeholder="path/to/file.csv, .parquet, or a folder (→ completes)", id="ingest-path",
                        suggester=PathSuggester())
            yield Input(placeholder="table name (default: from the file name)", id="ingest-table")
            yield Checkbox("Replace: write a new version if the table exists", id="ingest-replace")
            with Horizontal():
                yield Button("Ingest", variant="primary", id="ingest-go")
            yield ProgressBar(total=100, show_eta=False, id="ingest-progress")
            yield Static("", id="ingest-status", classes="hint")

    @on(Input.Submitted)
    @on(Button.Pressed, "#ingest-go")
    def _start(self) -> None:
        path = self.query_one("#ingest-path", Input).value.strip()
        if not path:
            self.query_one("#ingest-status", Static).update("[b red]Name a file to ingest.[/]")
            return
        table = self.query_one("#ingest-table", Input).value.strip() or None
        replace = self.query_one("#ingest-replace", Checkbox).value
        self.query_one("#ingest-go", Button).disabled = True
        self.query_one("#ingest-status", Static).update(f"Reading {path}…")
        self._ingest(Path(os.path.expanduser(path)), table, replace)

    @work(thread=True, exclusive=True, group="lake-ingest")
    def _ingest(self, path: Path, table: str | None, replace: bool) -> None:
        from workbench.lake import open_lake
        from workbench.lake.operations import ingest

        ws = self.workspace
        try:
            with open_lake(ws) as lake:  # the pane's handle only reads; the audited write opens its own
                versions = ingest(lake, [path], table=table, replace=replace, actor=ws.actor,
                                  progress=lambda pct: self.post_message(self.Progressed(pct)))
            self.post_message(self.Finished(versions, None))
        except WorkbenchError as exc:
            self.post_message(self.Finished(None, exc.message))
        except Exception as exc:  # reported in the dialog, never a crash
            self.post_message(self.Finished(None, f"{type(exc).__name__}: {exc}"))

    @on(Progressed)
    def _progressed(self, message: Progressed) -> None:
        self.query_one("#ingest-progress", ProgressBar).update(progress=message.percent)

    @on(Finished)
    def _finished(self, message: Finished) -> None:
        if message.error is not None:
            self.query_one("#ingest-status", Static).update(f"[b red]{message.error}[/]")
            self.query_one("#ingest-go", Button).disabled = False
            self.query_one("#ingest-progress", ProgressBar).update(progress=0)
            return
        self.dismiss(message.versions)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ExportScreen(ModalScreen[str | None]):
    """Ask where to export (the format follows the suffix: .csv, .parquet, .json)."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, what: str, default_path: str) -> None:
        super().__init__()
        self.what, self.default_path = what, default_path

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"Export {self.what}", classes="title")
            yield Input(value=self.default_path, id="export-path", suggester=PathSuggester())
            yield Checkbox("Overwrite if the file exists", id="export-force")
            yield Static("The format follows the suffix: .csv, .parquet or .json. Enter exports, Esc cancels.",
                         classes="hint")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        force = self.query_one("#export-force", Checkbox).value
        self.dismiss(("!" if force else "") + event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)


class HistoryScreen(ModalScreen[str | None]):
    """Search the SQL history (newest first); Enter puts the statement back in the editor."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("down", "to_list", show=False)]

    def __init__(self, workspace: Workspace) -> None:
        super().__init__()
        self.workspace = workspace

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("SQL history", classes="title")
            yield Input(placeholder="search…", id="history-search")
            yield OptionList(id="history-list")
            yield Static("Type to search, ↓ to the list, Enter to use, Esc to cancel.", classes="hint")

    def on_mount(self) -> None:
        self._fill("")

    def _fill(self, search: str) -> None:
        from workbench.lake.sql_history import load_history

        options = self.query_one("#history-list", OptionList)
        options.clear_options()
        self._entries = load_history(self.workspace, search)
        for i, entry in enumerate(self._entries):
            mark = "" if entry.ok else "[red]✗[/] "
            options.add_option(Option(f"{mark}[dim]{entry.ts}[/]  {' '.join(entry.sql.split())[:200]}", id=str(i)))
        if self._entries:
            options.highlighted = 0

    @on(Input.Changed, "#history-search")
    def _search(self, event: Input.Changed) -> None:
        self._fill(event.value)

    @on(Input.Submitted, "#history-search")
    def _take_first(self) -> None:
        self.dismiss(self._entries[0].sql if self._entries else None)

    @on(OptionList.OptionSelected, "#history-list")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self._entries[int(event.option.id or 0)].sql)

    def action_to_list(self) -> None:
        self.query_one("#history-list", OptionList).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)


class FrequencyScreen(ModalScreen[None]):
    """The frequency sheet of one column (Shift+F): each value, its count, its share and a bar, most frequent
    first, counted by DuckDB over the whole table under the preview's filter."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = [Binding("escape,q", "close", "Close")]

    def __init__(self, get_lake: Callable[[], object], query: object, column: str) -> None:
        super().__init__()
        self.get_lake, self.page_query, self.column = get_lake, query, column
        self.frequencies: object | None = None

    def compose(self) -> ComposeResult:
        from textual.widgets import DataTable

        with Vertical(classes="dialog"):
            yield Label(f"Frequencies of {self.column}", classes="title")
            yield Static("Counting…", id="freq-caption")
            yield DataTable(id="freq-table", cursor_type="row", zebra_stripes=True)
            yield Static("Esc closes.", classes="hint")

    def on_mount(self) -> None:
        from textual.widgets import DataTable

        table = self.query_one(DataTable)
        table.add_column(self.column, key="value")
        for key in ("count", "share", ""):
            table.add_column(key, key=key or "bar")
        table.focus()
        self._count()

    @work(thread=True, exclusive=True, group="lake-frequencies")
    def _count(self) -> None:
        from workbench.lake.frequency import value_frequencies

        report(self, lambda: value_frequencies(self.get_lake(), self.page_query, self.column))  # type: ignore[arg-type]

    @on(Done)
    def _counted(self, message: Done) -> None:
        from rich.text import Text
        from textual.widgets import DataTable

        from workbench.tui.lake.grid import cell_text

        message.stop()
        f = message.value
        self.frequencies = f
        table = self.query_one(DataTable)
        top = max((n for _, n in f.values), default=1)
        for value, n in f.values:
            share = n / f.rows if f.rows else 0.0
            table.add_row(Text("NULL", style="dim italic") if value is None else cell_text(value),
                          Text(f"{n:,}", justify="right"), Text(f"{share:.1%}", justify="right"),
                          "█" * max(1, round(20 * n / top)))
        where = f" matching {f.where}" if f.where else ""
        more = f"; the {len(f.values):,} most frequent shown" if f.distinct > len(f.values) else ""
        self.query_one("#freq-caption", Static).update(
            f"{f.distinct:,} distinct values in {f.rows:,} rows{where}{more}")

    @on(LakeFailed)
    def _failed(self, message: LakeFailed) -> None:
        message.stop()
        self.query_one("#freq-caption", Static).update(f"[b red]Error:[/] {escape(message.error)}")

    def action_close(self) -> None:
        self.dismiss(None)
