"""Models tab: registered versions and their aliases, open promotion requests with their evidence, and
the governance view. An approver highlights a request, reads its evidence, and presses `a` (or `x`)."""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import ContentSwitcher, DataTable, Static

from workbench.tui.panes.governance import GovernanceView
from workbench.tui.errors import error_text
from workbench.workspace import Workspace


class ModelsPane(Widget):
    BINDINGS = [
        Binding("a", "approve", "Approve request"),
        Binding("x", "reject", "Reject request"),
        Binding("g", "register", "Register run"),
        Binding("v", "toggle_view", "Registry/Governance"),
        Binding("r", "reload", "Reload"),
        Binding("tab", "switch_focus", "Versions/Requests", show=False),
    ]

    class Loaded(Message):
        def __init__(self, overview: Any = None, error: str | None = None) -> None:
            super().__init__()
            self.overview = overview
            self.error = error

    class ActionDone(Message):
        def __init__(self, text: str, ok: bool = True) -> None:
            super().__init__()
            self.text = text
            self.ok = ok

    def __init__(self, workspace: Workspace) -> None:
        super().__init__()
        self.workspace = workspace
        self.overview: Any = None
        self.shown_request: int | None = None  # the request whose evidence is on screen
        self.last_action = ""

    def compose(self) -> ComposeResult:
        yield Static("Loading the model registry…", id="models-status")
        with ContentSwitcher(initial="registry-view", id="models-switcher"):
            with Vertical(id="registry-view"):
                with Horizontal(classes="models-row"):
                    versions = DataTable(id="model-versions", cursor_type="row", zebra_stripes=True)
                    versions.border_title = "Model versions"
                    yield versions
                    with VerticalScroll(id="model-detail-box"):
                        yield Static("Select a version to see its lineage.", id="model-detail")
                with Horizontal(classes="models-row"):
                    requests = DataTable(id="model-requests", cursor_type="row", zebra_stripes=True)
                    requests.border_title = "Open promotion requests"
                    yield requests
                    with VerticalScroll(id="evidence-box"):
                        yield Static("Select a request to see its evidence.", id="evidence")
            yield GovernanceView(self.workspace, id="governance-view")

    def on_mount(self) -> None:
        self.query_one("#model-versions", DataTable).add_columns(
            "model", "version", "aliases", "estimator", "metric", "score", "data", "registered (UTC)", "by")
        self.query_one("#model-requests", DataTable).add_columns("id", "model:version", "to", "requested by", "signed",
                                                                 "verdict")
        self.load()

    def focus_main(self) -> None:
        if self._showing_governance:
            self.query_one(GovernanceView).focus_main()
        else:
            self.query_one("#model-versions", DataTable).focus()

    def refresh_data(self) -> None:
        self.load()
        if self._showing_governance:
            self.query_one(GovernanceView).load()

    @property
    def _showing_governance(self) -> bool:
        return self.query_one(ContentSwitcher).current == "governance-view"

    # -- loading -------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="models")
    def load(self) -> None:
        from workbench.registry.overview import registry_overview

        try:
            self.post_message(self.Loaded(registry_overview(self.workspace)))
        except Exception as exc:  # the TUI reports, never crashes
            self.post_message(self.Loaded(error=error_text(exc)))

    @on(Loaded)
    def _show(self, message: Loaded) -> None:
        status = self.query_one("#models-status", Static)
        if message.error:
            status.update(f"[b red]Error:[/] {message.error}")
            return
        self.overview = ov = message.overview
        status.update(
            f"acting as [b]{self.workspace.actor}[/] · {len(ov.versions)} version(s) · "
            f"{len(ov.open_requests)} open request(s) · {len(ov.registrable_runs)} run(s) to register (g)"
            + (f"\n{self.last_action}" if self.last_action else "")
        )
        versions = self.query_one("#model-versions", DataTable)
        row = versions.cursor_row
        versions.clear()
        for v in ov.versions:
            score = f"{v['score']:.4f}" if v.get("score") is not None else ""
            versions.add_row(v["model"], str(v["version"]), ", ".join(v["aliases"]), v["estimator"] or "", v["metric"],
                             score, v["data_source"], v["registered_at"][:19], v["registered_by"],
                             key=f"{v['model']}:{v['version']}")
        if ov.versions:
            versions.move_cursor(row=min(row, len(ov.versions) - 1))
        else:
            self.query_one("#model-detail", Static).update(
                "No registered models yet: press g to register a finished run, or `workbench models register RUN`.")
        requests = self.query_one("#model-requests", DataTable)
        requests.clear()
        for r in ov.open_requests:
            requests.add_row(str(r["id"]), f"{r['model']}:{r['version']}", r["alias"], r["requested_by"],
                             _signature_mark(r.get("signature")), r["evidence"]["verdict"], key=str(r["id"]))
        if ov.open_requests:
            requests.move_cursor(row=0)
            self._show_evidence(ov.open_requests[0])
        else:
            self.shown_request = None
            self.query_one("#evidence", Static).update("No open promotion requests.")

    @on(DataTable.RowHighlighted, "#model-versions")
    def _version_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if self.overview is None:
            return
        v = next((x for x in self.overview.versions if f"{x['model']}:{x['version']}" == event.row_key.value), None)
        if v is None:
            return
        code = v.get("code") or {}
        lines = [
            f"[b]{v['model']}:{v['version']}[/]  {', '.join(v['aliases']) or 'no alias'}",
            f"run {v['run_id']} by {v['run_actor']}, trained {str(v['trained_at'] or '')[:19]}",
            f"spec sha256 {v['spec_sha256'][:16]}  target {v['target']} ({v['task']})",
            f"data {v['data_source']}  fingerprint {v['fingerprint'][:16]}  rows {v['row_count']}",
            f"code workbench {code.get('workbench_version')}  git {str(code.get('git_commit') or 'n/a')[:12]}",
            f"artifact {v['artifact_path']}  sha256 {v['artifact_sha256'][:16]}",
            f"holdout {v['holdout_rows']} rows  sha256 {v['holdout_sha256'][:16]}",
            "metrics " + "  ".join(f"{k}={val:.4g}" for k, val in sorted(v["metrics"].items())),
            "", "[b]alias history[/]",
        ]
        for e in self.overview.alias_history.get(v["model"], [])[-8:]:
            target = "removed" if e["version"] is None else f"v{e['version']}"
            approved = (f" approved by {', '.join(e['approved_by'])} {_signature_mark(e.get('signature'))}"
                        if e.get("approved_by") else "")
            lines.append(f"{e['set_at'][:19]} {e['alias']} → {target} by {e['set_by']}{approved}: {e['reason']}")
        self.query_one("#model-detail", Static).update("\n".join(lines))

    @on(DataTable.RowHighlighted, "#model-requests")
    def _request_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if self.overview is None:
            return
        r = next((x for x in self.overview.open_requests if str(x["id"]) == event.row_key.value), None)
        if r is not None:
            self._show_evidence(r)

    def _show_evidence(self, request: dict[str, Any]) -> None:
        from rich.markup import escape

        from workbench.registry.evidence import evidence_lines

        approvals = [f"{escape(d['actor'])} {_signature_mark(d.get('signature'))}"
                     for d in request.get("decisions", []) if d["decision"] == "approve"]
        head = [f"[b]Request {request['id']}[/]: {request['model']}:{request['version']} → {request['alias']}",
                f"by {escape(request['requested_by'])} {_signature_mark(request.get('signature'))} at "
                f"{request['requested_at'][:19]}: {escape(request['reason'])}",
                f"approvals so far: {', '.join(approvals) or 'none'}", ""]
        body = [escape(line) for line in evidence_lines(request["evidence"])]
        tail = ["", "[dim]a: approve · x: reject (asks for a reason)[/]"]
        self.query_one("#evidence", Static).update("\n".join(head + body + tail))
        self.shown_request = request["id"]

    # -- actions ---------------------------------------------------------------------------------
    def _selected_request(self) -> int | None:
        table = self.query_one("#model-requests", DataTable)
        if self.overview is None or not self.overview.open_requests or table.row_count == 0:
            self.notify("No open promotion request to decide.", severity="warning")
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        request_id = int(key) if key is not None else None
        if request_id != self.shown_request:
            self.notify("Highlight the request and read its evidence first.", severity="warning")
            return None
        return request_id

    def action_approve(self) -> None:
        request_id = self._selected_request()
        if request_id is not None:
            self.decide(request_id, "approve", None)

    def action_reject(self) -> None:
        from workbench.tui.panes.model_dialogs import ReasonDialog

        request_id = self._selected_request()
        if request_id is None:
            return

        def done(reason: str | None) -> None:
            if reason:
                self.decide(request_id, "reject", reason)

        self.app.push_screen(ReasonDialog(f"Reject promotion request {request_id}: why?"), done)

    def action_register(self) -> None:
        from workbench.tui.panes.model_dialogs import RegisterRunDialog

        runs = self.overview.registrable_runs if self.overview else []
        if not runs:
            self.notify("No succeeded run is waiting to be registered.", severity="warning")
            return

        def done(run_id: str | None) -> None:
            if run_id:
                self.register(run_id)

        self.app.push_screen(RegisterRunDialog(runs), done)

    def action_toggle_view(self) -> None:
        switcher = self.query_one(ContentSwitcher)
        if switcher.current == "registry-view":
            switcher.current = "governance-view"
            self.query_one(GovernanceView).load()
        else:
            switcher.current = "registry-view"
        self.focus_main()

    def action_reload(self) -> None:
        self.refresh_data()

    def action_switch_focus(self) -> None:
        if self._showing_governance:
            return
        versions = self.query_one("#model-versions", DataTable)
        (self.query_one("#model-requests", DataTable) if versions.has_focus else versions).focus()

    @work(thread=True, exclusive=True, group="models-decide")
    def decide(self, request_id: int, decision: str, reason: str | None) -> None:
        from workbench.registry.promotion import approve_request, reject_request

        try:
            if decision == "approve":
                r = approve_request(self.workspace, request_id, reason)
                text = (f"Request {request_id} approved: {r['model']}@{r['alias']} is now v{r['version']}."
                        if r["state"] == "approved" else f"Approval recorded; request {request_id} needs more approvals.")
            else:
                reject_request(self.workspace, request_id, reason)
                text = f"Request {request_id} rejected; nothing changed."
            self.post_message(self.ActionDone(text))
        except Exception as exc:  # the TUI reports, never crashes
            self.post_message(self.ActionDone(error_text(exc), ok=False))

    @work(thread=True, exclusive=True, group="models-register")
    def register(self, run_id: str) -> None:
        from workbench.registry.register import register_run

        try:
            v = register_run(self.workspace, run_id)
            self.post_message(self.ActionDone(f"Registered {v['model']}:{v['version']} from run {run_id}."))
        except Exception as exc:  # the TUI reports, never crashes
            self.post_message(self.ActionDone(error_text(exc), ok=False))

    @on(ActionDone)
    def _action_done(self, message: ActionDone) -> None:
        self.notify(message.text, title="Models", severity="information" if message.ok else "error")
        self.last_action = message.text if message.ok else f"[b red]{message.text}[/]"
        self.load()


_MARKS = {"signed": "✔ signed", "declared": "declared", "bootstrap": "unsigned (init)", "—": ""}


def _signature_mark(status: str | None) -> str:
    """How a governed action's signature reads in the table: a problem is named, never hidden."""
    if status is None:
        return ""
    return _MARKS.get(status, f"✘ {status}")
