"""Models tab: registered versions and their aliases, open promotion requests with their evidence, and
the governance view. On a version: `p` requests a promotion (its evidence shown before the request opens),
`s` sets an unprotected alias, `o` writes its report; on a request: `a` approves (after a confirmation of
what will move), `x` rejects, `w` withdraws one's own. Each calls the core function the CLI calls."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import ContentSwitcher, DataTable, Static
from textual.worker import Worker, WorkerState

from workbench.tui.errors import error_text
from workbench.tui.panes.governance import GovernanceView
from workbench.workspace import Workspace


class ModelsPane(Widget):
    BINDINGS = [
        Binding("p", "promote", "Promote"),
        Binding("a", "approve", "Approve"),
        Binding("x", "reject", "Reject"),
        Binding("w", "withdraw", "Withdraw"),
        Binding("s", "set_alias", "Alias"),
        Binding("g", "register", "Register"),
        Binding("o", "report", "Report"),
        Binding("k", "card", "Card"),
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
        def __init__(self, text: str, ok: bool = True, request_id: int | None = None) -> None:
            super().__init__()
            self.text = text
            self.ok = ok
            self.request_id = request_id  # a request the action opened, to highlight

    class PromotionPreviewed(Message):
        def __init__(self, ref: str, alias: str, reason: str, evidence: dict[str, Any]) -> None:
            super().__init__()
            self.ref, self.alias, self.reason, self.evidence = ref, alias, reason, evidence

    class ApprovalPreviewed(Message):
        def __init__(self, preview: Any) -> None:
            super().__init__()
            self.preview = preview

    def __init__(self, workspace: Workspace) -> None:
        super().__init__()
        self.workspace = workspace
        self.overview: Any = None
        self.shown_request: int | None = None  # the request whose evidence is on screen
        self.last_action = ""
        self.focus_request: int | None = None  # a request just opened here: highlighted once the list reloads

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
            row = next((i for i, r in enumerate(ov.open_requests) if r["id"] == self.focus_request), 0)
            self.focus_request = None
            requests.move_cursor(row=row)
            self._show_evidence(ov.open_requests[row])
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
        key = f"{v['model']}:{v['version']}"
        lines = [
            f"[b]{v['model']}:{v['version']}[/]  {', '.join(v['aliases']) or 'no alias'}",
            f"run {v['run_id']} by {v['run_actor']}, trained {str(v['trained_at'] or '')[:19]}",
            f"spec sha256 {v['spec_sha256'][:16]}  target {v['target']} ({v['task']})",
            f"data {v['data_source']}  fingerprint {v['fingerprint'][:16]}  rows {v['row_count']}",
            f"code workbench {code.get('workbench_version')}  git {str(code.get('git_commit') or 'n/a')[:12]}",
            f"artifact {v['artifact_path']}  sha256 {v['artifact_sha256'][:16]}",
            f"holdout {v['holdout_rows']} rows  sha256 {v['holdout_sha256'][:16]}",
            "metrics " + "  ".join(f"{k}={val:.4g}" for k, val in sorted(v["metrics"].items())),
            f"serving {escape(self.overview.serving.get(key, 'never served'))}",
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
        tail = ["", "[dim]a: approve (shows what will move) · x: reject (asks for a reason) · w: withdraw your own[/]"]
        self.query_one("#evidence", Static).update("\n".join(head + body + tail))
        self.shown_request = request["id"]

    # -- actions ---------------------------------------------------------------------------------
    # Each key asks what it needs in a dialog, then calls the core function the CLI calls in a worker; the
    # worker posts what happened (`ActionDone`) and `_worker_failed` words any error, e.g. a refused role.
    def _selected_request(self) -> dict[str, Any] | None:
        table = self.query_one("#model-requests", DataTable)
        if self.overview is None or not self.overview.open_requests or table.row_count == 0:
            self.notify("No open promotion request to decide.", severity="warning")
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        request_id = int(key) if key is not None else None
        if request_id != self.shown_request:
            self.notify("Highlight the request and read its evidence first.", severity="warning")
            return None
        return next(r for r in self.overview.open_requests if r["id"] == request_id)

    def _selected_version(self) -> dict[str, Any] | None:
        table = self.query_one("#model-versions", DataTable)
        if self.overview is None or not self.overview.versions or table.row_count == 0:
            self.notify("No registered model version is selected; press g to register a run.", severity="warning")
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((v for v in self.overview.versions if f"{v['model']}:{v['version']}" == key), None)

    def _working(self, text: str) -> None:
        """Say that a slow action has started; `ActionDone` replaces the line when it ends."""
        self.notify(text, title="Models")
        self.query_one("#models-status", Static).update(f"[b]⋯[/] {escape(text)}")

    def action_promote(self) -> None:
        from workbench.tui.panes.model_dialogs import Field, FieldsDialog

        version = self._selected_version()
        if version is None:
            return
        ref = f"{version['model']}:{version['version']}"

        def done(values: dict[str, str] | None) -> None:
            if values:
                self._working(f"Computing the evidence for {ref} → {values['alias']}…")
                self.preview_promotion(ref, values["alias"], values["reason"])

        self.app.push_screen(FieldsDialog(f"Request promotion of {ref}", [
            Field("alias", "alias to move", "champion"), Field("reason", "reason")]), done)

    @work(thread=True, exclusive=True, group="models-action", exit_on_error=False)
    def preview_promotion(self, ref: str, alias: str, reason: str) -> None:
        from workbench.registry.promotion import preview_promotion
        from workbench.registry.refs import parse_ref

        evidence = preview_promotion(self.workspace, parse_ref(ref), alias)
        self.post_message(self.PromotionPreviewed(ref, alias, reason, evidence))

    @on(PromotionPreviewed)
    def _confirm_promotion(self, message: PromotionPreviewed) -> None:
        from workbench.registry.evidence import evidence_lines
        from workbench.tui.panes.model_dialogs import ConfirmDialog

        def done(yes: bool | None) -> None:
            if yes:
                self._working(f"Opening the promotion request for {message.ref} → {message.alias}…")
                self.request(message.ref, message.alias, message.reason)
            else:
                self._action_done(self.ActionDone("Promotion not requested; nothing changed."))

        self.app.push_screen(ConfirmDialog(
            f"Open a request to move {message.alias} to {message.ref}?",
            [f"reason: {message.reason}", "", *evidence_lines(message.evidence)], "open the request"), done)

    @work(thread=True, exclusive=True, group="models-action", exit_on_error=False)
    def request(self, ref: str, alias: str, reason: str) -> None:
        from workbench.registry.promotion import request_promotion
        from workbench.registry.refs import parse_ref

        r = request_promotion(self.workspace, parse_ref(ref), alias, reason)
        self.post_message(self.ActionDone(
            f"Opened promotion request {r['id']}: {r['model']}:{r['version']} → {r['alias']} "
            f"(verdict: {r['evidence']['verdict']}); another approver decides.", request_id=r["id"]))

    def action_approve(self) -> None:
        request = self._selected_request()
        if request is not None:
            self._working(f"Reading what approving request {request['id']} would move…")
            self.preview_approval(request["id"])

    @work(thread=True, exclusive=True, group="models-action", exit_on_error=False)
    def preview_approval(self, request_id: int) -> None:
        from workbench.registry.promotion import preview_approval

        self.post_message(self.ApprovalPreviewed(preview_approval(self.workspace, request_id)))

    @on(ApprovalPreviewed)
    def _confirm_approval(self, message: ApprovalPreviewed) -> None:
        from workbench.tui.panes.model_dialogs import ConfirmDialog

        p = message.preview
        r = p.request
        body = [p.line(),
                f"approvals so far: {len(p.approvals)} / {p.required} required"
                + (f" ({', '.join(p.approvals)})" if p.approvals else ""),
                "your approval moves the alias now." if p.moves_alias
                else f"after yours, {p.required - len(p.approvals) - 1} more approval(s) are needed.",
                f"requested by {r['requested_by']}: {r['reason']}", f"verdict: {r['evidence']['verdict']}"]

        def done(yes: bool | None) -> None:
            if yes:
                self._working(f"Approving request {r['id']}…")
                self.decide(r["id"], "approve", None)
            else:
                self._action_done(self.ActionDone(f"Request {r['id']} not approved; nothing changed."))

        self.app.push_screen(ConfirmDialog(f"Approve promotion request {r['id']}?", body, "approve"), done)

    def action_reject(self) -> None:
        from workbench.tui.panes.model_dialogs import ReasonDialog

        request = self._selected_request()
        if request is None:
            return
        request_id = request["id"]

        def done(reason: str | None) -> None:
            if reason:
                self._working(f"Rejecting request {request_id}…")
                self.decide(request_id, "reject", reason)

        self.app.push_screen(ReasonDialog(f"Reject promotion request {request_id}: why?", _request_summary(request)),
                             done)

    def action_withdraw(self) -> None:
        from workbench.tui.panes.model_dialogs import ConfirmDialog

        request = self._selected_request()
        if request is None:
            return
        request_id = request["id"]

        def done(yes: bool | None) -> None:
            if yes:
                self._working(f"Withdrawing request {request_id}…")
                self.withdraw(request_id)

        self.app.push_screen(ConfirmDialog(f"Withdraw your promotion request {request_id}?",
                                           _request_summary(request), "withdraw it"), done)

    @work(thread=True, exclusive=True, group="models-action", exit_on_error=False)
    def withdraw(self, request_id: int) -> None:
        from workbench.registry.promotion import withdraw_request

        withdraw_request(self.workspace, request_id)
        self.post_message(self.ActionDone(f"Request {request_id} withdrawn; no alias moved."))

    def action_set_alias(self) -> None:
        from workbench.tui.panes.model_dialogs import Field, FieldsDialog

        version = self._selected_version()
        if version is None:
            return
        ref = f"{version['model']}:{version['version']}"

        def done(values: dict[str, str] | None) -> None:
            if values:
                self._working(f"Pointing {version['model']}@{values['alias']} at v{version['version']}…")
                self.set_alias(version["model"], version["version"], values["alias"], values["reason"])

        self.app.push_screen(FieldsDialog(f"Set an unprotected alias on {ref} (protected ones need p)", [
            Field("alias", "alias (e.g. challenger)"), Field("reason", "reason")]), done)

    @work(thread=True, exclusive=True, group="models-action", exit_on_error=False)
    def set_alias(self, model: str, version: int, alias: str, reason: str) -> None:
        from workbench.registry.promotion import set_alias
        from workbench.registry.refs import ModelRef

        event = set_alias(self.workspace, ModelRef(model, version), alias, reason)
        was = f" (was v{event['previous_version']})" if event["previous_version"] else ""
        self.post_message(self.ActionDone(f"{model}@{event['alias']} now on v{event['version']}{was}."))

    def action_register(self) -> None:
        from workbench.tui.panes.model_dialogs import RegisterRunDialog

        runs = self.overview.registrable_runs if self.overview else []
        if not runs:
            self.notify("No succeeded run is waiting to be registered.", severity="warning")
            return

        def done(picked: tuple[str, str | None] | None) -> None:
            if picked:
                run_id, name = picked
                self._working(f"Registering run {run_id}" + (f" as {name}…" if name else "…"))
                self.register(run_id, name)

        self.app.push_screen(RegisterRunDialog(runs), done)

    def action_report(self) -> None:
        version = self._selected_version()
        if version is not None:
            subject = f"{version['model']}:{version['version']}"
            self._working(f"Writing the report on {subject}…")
            self.write_report(subject)

    @work(thread=True, exclusive=True, group="models-action", exit_on_error=False)
    def write_report(self, subject: str) -> None:
        # Imported here, not at start-up: writing a report loads matplotlib.
        from workbench.report import default_report_path, write_report

        result = write_report(self.workspace, subject, default_report_path(self.workspace, subject))
        self.post_message(self.ActionDone(f"Wrote the report on {subject} to {result.path} ({result.plots} plots)."))

    def action_card(self) -> None:
        version = self._selected_version()
        if version is not None:
            from workbench.tui.panes.card_dialogs import CardScreen

            self.app.push_screen(CardScreen(self.workspace, f"{version['model']}:{version['version']}"))

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

    @work(thread=True, exclusive=True, group="models-action", exit_on_error=False)
    def decide(self, request_id: int, decision: str, reason: str | None) -> None:
        from workbench.registry.promotion import approve_request, reject_request

        if decision == "approve":
            r = approve_request(self.workspace, request_id, reason)
            text = (f"Request {request_id} approved: {r['model']}@{r['alias']} is now v{r['version']}."
                    if r["state"] == "approved" else f"Approval recorded; request {request_id} needs more approvals.")
        else:
            reject_request(self.workspace, request_id, reason)
            text = f"Request {request_id} rejected; nothing changed."
        self.post_message(self.ActionDone(text))

    @work(thread=True, exclusive=True, group="models-action", exit_on_error=False)
    def register(self, run_id: str, name: str | None = None) -> None:
        from workbench.registry.register import register_run

        v = register_run(self.workspace, run_id, name=name)
        self.post_message(self.ActionDone(f"Registered {v['model']}:{v['version']} from run {run_id}."))

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        """The one place an action's error is worded (roles and signatures refuse with a sentence)."""
        if event.state == WorkerState.ERROR and event.worker.group == "models-action":
            event.stop()
            self._action_done(self.ActionDone(error_text(event.worker.error), ok=False))

    @on(ActionDone)
    def _action_done(self, message: ActionDone) -> None:
        self.notify(message.text, title="Models", severity="information" if message.ok else "error")
        self.last_action = escape(message.text) if message.ok else f"[b red]{escape(message.text)}[/]"
        if message.request_id is not None:
            self.focus_request = message.request_id
        self.load()


def _request_summary(request: dict[str, Any]) -> list[str]:
    """A request as its confirmation dialogs show it."""
    return [f"{request['model']}:{request['version']} → {request['alias']}",
            f"requested by {request['requested_by']} at {request['requested_at'][:19]}: {request['reason']}",
            f"verdict: {request['evidence']['verdict']}"]


_MARKS = {"signed": "✔ signed", "declared": "declared", "bootstrap": "unsigned (init)", "—": ""}


def _signature_mark(status: str | None) -> str:
    """How a governed action's signature reads in the table: a problem is named, never hidden."""
    if status is None:
        return ""
    return _MARKS.get(status, f"✘ {status}")
