"""Audit tab: the newest events and whether the hash chain verifies."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widget import Widget
from textual.widgets import DataTable, Static

from typing import TYPE_CHECKING

from workbench.workspace import Workspace

if TYPE_CHECKING:
    from workbench.audit.log import Event


class AuditPane(Widget):
    BINDINGS = [Binding("r", "reload", "Reload")]

    class EventsLoaded(Message):
        def __init__(self, events: list[Event], verified: tuple[bool, str]) -> None:
            super().__init__()
            self.events = events
            self.verified = verified

    def __init__(self, workspace: Workspace) -> None:
        super().__init__()
        self.workspace = workspace

    def compose(self) -> ComposeResult:
        yield Static("Checking the audit chain…", id="chain-status")
        table = DataTable(id="events", cursor_type="row", zebra_stripes=True)
        table.border_title = "Events (newest first)"
        yield table

    def on_mount(self) -> None:
        self.query_one("#events", DataTable).add_columns("#", "time (UTC)", "actor", "event", "subject", "run", "outcome")
        self.load_events()

    def focus_main(self) -> None:
        self.query_one("#events", DataTable).focus()

    def refresh_data(self) -> None:
        self.load_events()

    def action_reload(self) -> None:
        self.load_events()

    @work(thread=True, exclusive=True, group="audit")
    def load_events(self) -> None:
        from workbench.audit import AuditLog

        with AuditLog(self.workspace.audit_path, self.workspace.root) as log:
            self.post_message(self.EventsLoaded(log.events(limit=500), log.verify()))

    @on(EventsLoaded)
    def _show(self, message: EventsLoaded) -> None:
        ok, summary = message.verified
        status = self.query_one("#chain-status", Static)
        status.update(f"[green]✔ audit chain intact[/] — {summary}" if ok else f"[b red]✘ audit chain broken:[/] {summary}")
        table = self.query_one("#events", DataTable)
        table.clear()
        for e in message.events:
            table.add_row(str(e.seq), e.ts[:19], e.actor, e.kind, e.subject or "", e.run_id or "", e.outcome or "")
