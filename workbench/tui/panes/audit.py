"""Audit tab: a live, filterable, searchable page of events (keyset paging, never all rows), the
highlighted event's details and its own chain link, and whether the whole chain verifies. `a` extends
the list and the search into the archive files (`workbench audit archive`), as `audit search --archives` does."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import DataTable, Input, Static

from workbench.workspace import Workspace

if TYPE_CHECKING:
    from workbench.audit.log import Event

PAGE = 100


class AuditPane(Widget):
    BINDINGS = [
        Binding("slash", "focus_search", "Search"),
        Binding("right_square_bracket", "older", "Older"),
        Binding("left_square_bracket", "newer", "Newer"),
        Binding("a", "toggle_archives", "Archives"),
        Binding("v", "verify", "Verify"),
        Binding("e", "export", "Export"),
        Binding("r", "reload", "Reload"),
    ]

    class PageLoaded(Message):
        def __init__(self, events: list[Event], total: int, cursor: list[int], error: str | None = None) -> None:
            super().__init__()
            self.events, self.total, self.cursor, self.error = events, total, cursor, error

    class Verified(Message):
        def __init__(self, ok: bool | None, summary: str, chain_ok: bool | None = None) -> None:
            super().__init__()
            self.ok, self.summary = ok, summary  # ok None: the check itself could not run
            self.chain_ok = ok if chain_ok is None else chain_ok

    class Exported(Message):
        def __init__(self, text: str, error: bool) -> None:
            super().__init__()
            self.text, self.error = text, error

    class Detail(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, workspace: Workspace) -> None:
        super().__init__()
        self.workspace = workspace
        self.filters: dict[str, Any] = {}
        self.with_archives = False
        self.events: list[Event] = []
        # Keyset cursor: the `before_seq` of each page shown so far (None = newest).
        self.pages: list[int | None] = [None]
        self._verify_started = False

    def compose(self) -> ComposeResult:
        yield Input(placeholder="search: words (FTS5) and actor:NAME kind:KIND run:ID since:DATE until:DATE — Enter applies",
                    id="audit-search")
        yield Static("Audit chain not checked yet.", id="chain-status")
        with Horizontal(id="audit-body"):
            with Vertical(id="audit-list"):
                table = DataTable(id="events", cursor_type="row", zebra_stripes=True)
                table.border_title = "Events (newest first)"
                yield table
                yield Static("", id="audit-caption")
            detail = Static("Highlight an event to see its details.", id="event-detail")
            # Focusable, so tab reaches it and the arrow keys scroll a long event; the pane's keys work from it too.
            detail.can_focus = True
            yield detail

    def on_mount(self) -> None:
        # The run id before the subject: a long subject may run off the right edge, the run id must not (its
        # first part is a date that every run of the day shares). The time drops its year (the detail has it),
        # so that whole run ids fit from 120 columns up.
        self.query_one("#events", DataTable).add_columns("#", "time (UTC)", "actor", "event", "run", "outcome", "subject")
        self.load_page()  # cheap (one indexed page): ready before the tab is first opened
        self.set_interval(2.0, self._poll)

    def focus_main(self) -> None:
        self.query_one("#events", DataTable).focus()

    def refresh_data(self) -> None:
        """The tab was opened: the newest page now, the chain check (seconds on a big log) once, after it."""
        self.load_page()
        if not self._verify_started:
            self._verify_started = True
            self._say_verifying()
            self.set_timer(0.5, self.verify_chain)  # after the page is on screen: paint first, then check

    def action_reload(self) -> None:
        self.load_page()

    def action_focus_search(self) -> None:
        self.query_one("#audit-search", Input).focus()

    def action_toggle_archives(self) -> None:
        self.with_archives = not self.with_archives
        self.pages = [None]
        self.query_one("#events", DataTable).border_title = (
            "Events (newest first, archives included)" if self.with_archives else "Events (newest first)")
        self.load_page()

    def action_verify(self) -> None:
        self._verify_started = True
        self._say_verifying()
        self.verify_chain()

    def action_export(self) -> None:
        """The e-discovery bundle `workbench audit export` writes; the search's since:/until: narrow it."""
        from datetime import datetime, timezone
        from pathlib import Path

        from workbench.tui.panes.audit_dialogs import AuditExportScreen

        since, until = self.filters.get("since"), self.filters.get("until")
        scope = ("every event" if not (since or until) else
                 " ".join(part for part in (f"since {since}" if since else "", f"until {until}" if until else "") if part))
        default = Path.cwd() / f"audit-export-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}"

        def chosen(answer: tuple[str, str] | None) -> None:
            if answer and answer[0]:
                self.notify(f"Exporting the audit log to {answer[0]}…", title="Audit export")
                self._export(Path(answer[0]).expanduser(), answer[1], since, until)

        self.app.push_screen(AuditExportScreen(str(default), scope), chosen)

    @work(thread=True, exclusive=True, group="audit-export")
    def _export(self, out: Any, fmt: str, since: str | None, until: str | None) -> None:
        from workbench.audit import AuditLog
        from workbench.audit.export import export_bundle
        from workbench.errors import WorkbenchError

        try:
            with AuditLog(self.workspace.audit_path, self.workspace.root) as log:
                manifest = export_bundle(log, out, fmt, actor=self.workspace.actor, since=since, until=until)
        except WorkbenchError as exc:
            self.post_message(self.Exported(exc.message, True))
            return
        except Exception as exc:  # a full disk, a permission: say so, the bundle's partial folder is removed
            self.post_message(self.Exported(f"{type(exc).__name__}: {exc}", True))
            return
        chain = "chain verified" if manifest["chain_ok"] else "CHAIN BROKEN (see verify.json)"
        self.post_message(self.Exported(f"Exported {manifest['events']:,} events to {out} ({fmt}; {chain}).",
                                        not manifest["chain_ok"]))

    @on(Exported)
    def _show_exported(self, message: Exported) -> None:
        self.notify(message.text, title="Audit export", severity="error" if message.error else "information",
                    timeout=10)

    def _say_verifying(self) -> None:
        self.query_one("#chain-status", Static).update("Verifying the audit chain (in a background process)…")

    def action_older(self) -> None:
        if len(self.events) == PAGE:
            self.pages.append(self.events[-1].seq)
            self.load_page()

    def action_newer(self) -> None:
        if len(self.pages) > 1:
            self.pages.pop()
            self.load_page()

    def _poll(self) -> None:
        # Live on the newest page only: older pages stay put while you read them.
        if self.display and self.is_on_screen and self.pages == [None]:
            self.load_page()

    @on(Input.Submitted, "#audit-search")
    def _search(self, event: Input.Submitted) -> None:
        from workbench.errors import WorkbenchError
        from workbench.audit.search import parse_filter_text

        try:
            self.filters = parse_filter_text(event.value)
        except WorkbenchError as exc:
            self.notify(exc.message, severity="error", title="Search")
            return
        self.pages = [None]
        self.load_page()
        self.focus_main()

    @work(thread=True, exclusive=True, group="audit-page")
    def load_page(self) -> None:
        from workbench.audit import AuditLog

        cursor = list(self.pages)
        with AuditLog(self.workspace.audit_path, self.workspace.root) as log:
            try:
                if self.with_archives:
                    from workbench.audit.archive import search_with_archives

                    filters = dict(self.filters)
                    query = filters.pop("query", None)
                    events = search_with_archives(log, query, **filters, before_seq=cursor[-1], limit=PAGE)
                else:
                    events = log.search(**self.filters, before_seq=cursor[-1], limit=PAGE)
                error = None
            except Exception as exc:  # a malformed FTS5 query or a missing archive: say so, keep the table
                events, error = [], f"Search failed: {getattr(exc, 'message', exc)}"
            live_total = not self.filters and not self.with_archives
            # The chain keeps seq contiguous (Verify says so if it is not): two index lookups, not a count(*)
            # over every row, which took 30 ms at 1M events and is repeated by each live refresh.
            total = log.conn.execute("SELECT coalesce((SELECT max(seq) FROM events) - (SELECT min(seq) FROM events) + 1, 0)"
                                     ).fetchone()[0] if live_total else -1
        self.post_message(self.PageLoaded(events, total, cursor, error))

    @work(thread=True, exclusive=True, group="audit-verify")
    def verify_chain(self) -> None:
        from workbench.integrity.background import verify_workspace_in_child

        try:  # the whole workspace, as `workbench audit verify` checks it, not only the chain
            result = verify_workspace_in_child(self.workspace.root)
        except Exception as exc:  # the check itself could not run: say so, never claim the chain is fine
            self.post_message(self.Verified(None, str(exc)))
            return
        self.post_message(self.Verified(result["ok"], result["summary"], result["chain_ok"]))

    @on(Verified)
    def _show_verified(self, message: Verified) -> None:
        status = self.query_one("#chain-status", Static)
        if message.ok is None:
            status.update(f"[b yellow]? audit chain not checked:[/] {escape(message.summary)} — v to try again")
        else:
            status.update(f"[green]✔ audit chain intact, workspace verified[/] — {escape(message.summary)}"
                          if message.ok else
                          f"[b red]✘ audit chain broken:[/] {escape(message.summary)}" if not message.chain_ok else
                          f"[b red]✘ workspace does not verify:[/] {escape(message.summary)}")

    @on(PageLoaded)
    def _show_page(self, message: PageLoaded) -> None:
        if message.cursor != self.pages:
            return  # a stale page from before the user moved on
        if message.error:
            self.notify(message.error, severity="error", title="Search")
        same = [e.seq for e in message.events] == [e.seq for e in self.events]
        self.events = message.events
        caption = self.query_one("#audit-caption", Static)
        if message.events:
            first, last = message.events[0].seq, message.events[-1].seq
            of = f" of {message.total:,} events" if message.total >= 0 else " matching events"
            where = " · archives included" if self.with_archives else ""
            caption.update(f"page {len(self.pages)}: #{first}–#{last}{of}{where} · ] older · [ newer · / search · a archives")
        else:
            caption.update("No matching events." if self.filters else "The audit log is empty.")
        if same:
            return
        table = self.query_one("#events", DataTable)
        row = table.cursor_row
        table.clear()
        for e in message.events:
            table.add_row(str(e.seq), e.ts[5:19].replace("T", " "), e.actor, e.kind, e.run_id or "", e.outcome or "",
                          e.subject or "", key=str(e.seq))
        if message.events:
            table.move_cursor(row=min(row, len(message.events) - 1))

    @on(DataTable.RowHighlighted, "#events")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key is not None and event.row_key.value is not None:
            self.load_detail(int(event.row_key.value))

    @work(thread=True, exclusive=True, group="audit-detail")
    def load_detail(self, seq: int) -> None:
        from workbench.audit import AuditLog
        from workbench.audit.chain import CHAIN_FIELDS, event_hash

        with AuditLog(self.workspace.audit_path, self.workspace.root) as log:
            e = log.get_event(seq)
            if e is not None:
                row = log.conn.execute(f"SELECT {', '.join(CHAIN_FIELDS)} FROM events WHERE seq = ?", [seq]).fetchone()
                prev = log.conn.execute("SELECT hash FROM events WHERE seq = ?", [seq - 1]).fetchone()
                v2 = seq >= int(log.meta("chain_v2_from") or 1)
        if e is None:  # an archived event: its file is read-only and Verify walks it with the rest
            e = next((ev for ev in self.events if ev.seq == seq), None)
            if e is None:
                return
            link = "[cyan]archived event[/] (its file's chain is checked by Verify)"
        else:
            own = event_hash(list(row)) == e.hash if v2 else None
            linked = prev is None or prev[0] == e.prev_hash
            link = ("[green]✔ content matches its hash[/]" if own else "[yellow]schema-1 event (checked by Verify)[/]"
                    if own is None else "[b red]✘ content does not match its hash[/]")
            link += ", " + ("[green]✔ links to the previous event[/]" if linked
                            else "[b red]✘ does not link to the previous event[/]")
        lines = [f"[b]#{e.seq}[/] {e.kind}  [dim]{e.ts}[/]", link, ""]
        for key in ("actor", "host", "subject", "run_id", "outcome", "data_version", "fingerprint", "git_commit",
                    "git_dirty", "workbench_version"):
            value = getattr(e, key)
            if value is not None:
                lines.append(f"[b]{key}[/]: {escape(str(value))}")
        lines.append(f"[b]hash[/]: {e.hash}")
        lines.append(f"[b]prev[/]: {e.prev_hash}")
        lines.append("[b]params[/]:")
        lines.append(escape(json.dumps(e.params, indent=2, default=str, ensure_ascii=False)))
        self.post_message(self.Detail("\n".join(lines)))

    @on(Detail)
    def _show_detail(self, message: Detail) -> None:
        self.query_one("#event-detail", Static).update(message.text)
