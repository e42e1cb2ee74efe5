"""SQL console: a highlighted editor, results paged like the preview, searchable history, export.

Read-only by default; ctrl+t turns on writes, which accept only `CREATE [OR REPLACE] TABLE … AS
SELECT …` and record a new table version plus an audit event.
"""

from __future__ import annotations

from typing import Callable

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widget import Widget
from textual.widgets import DataTable, Static, TextArea

from workbench.errors import WorkbenchError, WritesOffError
from workbench.lake.preview import Page
from workbench.tui.lake.grid import PageGrid
from workbench.tui.lake.sql_editor import SqlEditor
from workbench.workspace import Workspace

PAGE_SIZE = 200


class SqlConsole(Widget):
    DEFAULT_CSS = """
    SqlConsole { height: 1fr; }
    SqlConsole > #sql-editor { height: 10; border: round $secondary; }
    SqlConsole > #sql-editor:focus { border: round $accent; }
    SqlConsole > #sql-mode { height: 1; padding: 0 1; color: $text-muted; }
    SqlConsole > #sql-mode.writes { color: $warning; text-style: bold; }
    """
    BINDINGS = [
        Binding("ctrl+r,f5", "run", "Run SQL", priority=True),
        Binding("ctrl+o", "history", "History"),
        Binding("ctrl+up", "recall(1)", "Older", show=False),
        Binding("ctrl+down", "recall(-1)", "Newer", show=False),
        Binding("ctrl+t", "toggle_writes", "Writes on/off"),
        Binding("ctrl+s", "export", "Export result"),
        Binding("ctrl+n", "page(1)", "Next page"),
        Binding("ctrl+b", "page(-1)", "Prev page"),
        Binding("escape", "to_results", "Results", show=False),
    ]

    class Finished(Message):
        def __init__(self, sql: str, page: Page | None, written: object | None, error: str | None,
                     seconds: float | None = None) -> None:
            super().__init__()
            self.sql, self.page, self.written, self.error = sql, page, written, error
            self.seconds = seconds  # how long the query (or write) took, shown in the caption

    def __init__(self, workspace: Workspace, get_lake: Callable[[], object], id: str | None = None) -> None:
        super().__init__(id=id)
        self.workspace, self.get_lake = workspace, get_lake
        self.allow_write = False
        self.last_sql: str | None = None  # the query whose result is shown (for paging and export)
        self.row_offset = 0
        self.total: int | None = None
        self._recall = -1

    def compose(self) -> ComposeResult:
        editor = SqlEditor.code_editor("SELECT *\nFROM flights\nWHERE dep_delay > 60", language="sql", id="sql-editor",
                                       show_line_numbers=True, soft_wrap=True)
        editor.border_title = "SQL — ctrl+r runs"
        yield editor
        yield Static("read-only · ctrl+t allows CREATE TABLE … AS SELECT", id="sql-mode")
        yield PageGrid("Results appear here.", id="sql-results")

    def on_mount(self) -> None:
        self.load_vocabulary()

    @work(thread=True, exclusive=True, group="sql-vocabulary")
    def load_vocabulary(self) -> None:
        """Table, column and keyword names for completion, read once here and again after a write."""
        from workbench.lake.completion import load_vocabulary

        try:
            vocabulary = load_vocabulary(self.get_lake())  # type: ignore[arg-type]
        except Exception:  # completion helps; the console works without it, so a failed read is not an error
            return
        self.app.call_from_thread(self.query_one("#sql-editor", SqlEditor).set_vocabulary, vocabulary)

    def focus_main(self) -> None:
        self.query_one("#sql-editor", TextArea).focus()

    @property
    def grid(self) -> PageGrid:
        return self.query_one("#sql-results", PageGrid)

    def set_sql(self, text: str) -> None:
        self.query_one("#sql-editor", TextArea).load_text(text)

    def action_run(self) -> None:
        sql = self.query_one("#sql-editor", TextArea).text.strip()
        if not sql:
            self.notify("Write a query first.", severity="warning")
            return
        self.grid.set_caption("Running…")
        self._run(sql, 0, None, self.allow_write)

    @work(thread=True, exclusive=True, group="lake-sql")
    def _run(self, sql: str, offset: int, total: int | None, allow_write: bool) -> None:
        from workbench.lake import open_lake
        from workbench.lake.operations import sql_write
        from workbench.lake.sql import parse_write, query_page
        from workbench.lake.sql_history import add_history

        import time

        lake = self.get_lake()
        ws = self.workspace
        started = time.perf_counter()
        try:
            if allow_write and offset == 0 and _is_write(sql):
                parse_write(sql)
                with open_lake(ws) as writable:  # the pane's handle only reads; the audited write opens its own
                    version = sql_write(writable, sql, ws.actor)
                result = self.Finished(sql, None, version, None)
            else:
                result = self.Finished(sql, query_page(lake, sql, offset, PAGE_SIZE, total), None, None)  # type: ignore[arg-type]
        except WritesOffError:
            result = self.Finished(sql, None, None, "This statement writes to the lake; writes are off (ctrl+t turns "
                                                    "them on, for CREATE [OR REPLACE] TABLE … AS SELECT).")
        except WorkbenchError as exc:
            result = self.Finished(sql, None, None, exc.message)
        except Exception as exc:
            result = self.Finished(sql, None, None, f"{type(exc).__name__}: {exc}")
        result.seconds = time.perf_counter() - started
        if offset == 0:
            add_history(ws, sql, ok=result.error is None)
        self.post_message(result)

    @on(Finished)
    def _finished(self, message: Finished) -> None:
        if message.error is not None:
            # The previous result goes: it is not this query's, so it can be neither read nor exported as if it were.
            self.last_sql, self.total, self.row_offset = None, None, 0
            self.grid.clear_page(f"[b red]Error:[/] {escape(message.error)}")
            self.notify(message.error, title="SQL", severity="error")
            return
        if message.written is not None:
            v = message.written
            took = f" in {_took(message.seconds)}" if message.seconds is not None else ""
            self.grid.set_caption(f"Wrote {v.table} version {v.version}: {v.row_count:,} rows "  # type: ignore[attr-defined]
                                  f"(fingerprint {(v.fingerprint or '')[:12]}, audited){took}")  # type: ignore[attr-defined]
            self.last_sql, self.total, self.row_offset = None, None, 0
            self.grid.table.clear(columns=True)
            self.grid.page = None
            self.notify(f"{v.table} version {v.version} written.", title="SQL")  # type: ignore[attr-defined]
            self.post_message(self.LakeChanged())
            self.load_vocabulary()
            return
        page = message.page
        assert page is not None
        self.last_sql, self.row_offset, self.total = message.sql, page.offset, page.total_rows
        took = f" · {_took(message.seconds)}" if message.seconds is not None else ""
        self.grid.show_page(page, f"{page.caption} · snapshot {page.snapshot}{took}   ctrl+n/ctrl+b page · ctrl+s export")

    class LakeChanged(Message):
        """A write created a table version: the catalog should reload."""

    def action_page(self, direction: int) -> None:
        if self.last_sql is None or self.total is None:
            return
        offset = self.row_offset + direction * PAGE_SIZE
        if offset < 0 or offset >= max(self.total, 1):
            self.notify("No more rows that way.", timeout=2)
            return
        self._run(self.last_sql, offset, self.total, False)

    def action_toggle_writes(self) -> None:
        self.allow_write = not self.allow_write
        mode = self.query_one("#sql-mode", Static)
        mode.set_class(self.allow_write, "writes")
        mode.update("WRITES ON: CREATE [OR REPLACE] TABLE … AS SELECT makes a new, audited version · ctrl+t to turn off"
                    if self.allow_write else "read-only · ctrl+t allows CREATE TABLE … AS SELECT")

    def action_history(self) -> None:
        from workbench.tui.lake.dialogs import HistoryScreen

        def chosen(sql: str | None) -> None:
            if sql:
                self.set_sql(sql)
                self.focus_main()

        self.app.push_screen(HistoryScreen(self.workspace), chosen)

    def action_recall(self, step: int) -> None:
        from workbench.lake.sql_history import load_history

        entries = load_history(self.workspace)
        if not entries:
            return
        self._recall = max(0, min(self._recall + step, len(entries) - 1))
        self.set_sql(entries[self._recall].sql)

    def action_to_results(self) -> None:
        self.grid.table.focus()

    def action_export(self) -> None:
        if self.last_sql is None:
            self.notify("Run a query first; its result is what gets exported.", severity="warning")
            return
        self.post_message(ExportRequested(query=self.last_sql))

    @on(DataTable.CellSelected)
    def _cell(self, event: DataTable.CellSelected) -> None:
        event.stop()
        cell = self.grid.current_cell()
        if cell is not None:
            from workbench.tui.lake.dialogs import CellViewer

            self.app.push_screen(CellViewer(*cell))


class ExportRequested(Message):
    """Export a table (at a version) or a query's result; the Lake pane asks where and does it."""

    def __init__(self, table: str | None = None, version: int | None = None, query: str | None = None) -> None:
        super().__init__()
        self.table, self.version, self.query = table, version, query


def _took(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _is_write(sql: str) -> bool:
    return sql.lstrip().upper().startswith("CREATE")
