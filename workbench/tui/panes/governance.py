"""Governance view: the governance report per model, with its violations, refreshed on demand."""

from __future__ import annotations

from rich.markup import escape

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.message import Message
from textual.widget import Widget
from textual.widgets import DataTable, Static

from workbench.tui.errors import error_text
from workbench.workspace import Workspace


def _days(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


class GovernanceView(Widget):
    class ReportLoaded(Message):
        def __init__(self, report: Any = None, error: str | None = None) -> None:
            super().__init__()
            self.report = report
            self.error = error

    def __init__(self, workspace: Workspace, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.workspace = workspace

    def compose(self) -> ComposeResult:
        yield Static("Loading the governance report…", id="governance-status")
        table = DataTable(id="governance-table", cursor_type="row", zebra_stripes=True)
        table.border_title = "Governance (per model)"
        yield table
        yield Static("", id="governance-violations")

    def on_mount(self) -> None:
        self.query_one("#governance-table", DataTable).add_columns(
            "model", "champion", "trained (days)", "stale data", "evaluated (days)", "last result",
            "promoted (days)", "requested by", "approved by", "open requests")

    def focus_main(self) -> None:
        self.query_one("#governance-table", DataTable).focus()

    @work(thread=True, exclusive=True, group="governance")
    def load(self) -> None:
        from workbench.governance.report import governance_report

        try:
            self.post_message(self.ReportLoaded(governance_report(self.workspace)))
        except Exception as exc:  # the TUI reports, never crashes
            self.post_message(self.ReportLoaded(error=error_text(exc)))

    @on(ReportLoaded)
    def _show(self, message: ReportLoaded) -> None:
        status = self.query_one("#governance-status", Static)
        if message.error:
            status.update(f"[b red]Error:[/] {message.error}")
            return
        report = message.report
        audit = "[green]audit log verified[/]" if report.audit_verified else "[b red]audit log BROKEN[/]"
        verdict = "[green]✔ no policy violations[/]" if report.ok else f"[b red]✘ {len(report.all_violations)} violation(s)[/]"
        ident = ("identity: OS accounts, signed" if report.identity == "os"
                 else "[b yellow]identity: DECLARED names (single-user mode)[/]")
        status.update(f"{verdict} · runs in flight: {report.runs_in_flight} · {audit} ({report.audit_summary})\n{ident}")
        table = self.query_one("#governance-table", DataTable)
        table.clear()
        for m in report.models:
            last = m.last_evaluation
            result = "never" if not last else ("champion best" if last["best_version"] == last["champion_version"]
                                               else f"v{last['best_version']} beat champion")
            table.add_row(m.model, f"v{m.champion_version}" if m.champion_version else "none",
                          _days(m.days_since_training), {True: "[b red]yes[/]", False: "no", None: ""}[m.stale_data],
                          _days(m.days_since_evaluation), result, _days(m.days_since_promotion),
                          _signed(m.requested_by, m.request_signature),
                          ", ".join(_signed(a["actor"], a["signature"]) for a in m.approvals if a["decision"] == "approve")
                          or ", ".join(m.approved_by), str(m.open_requests))
        lines = [f"[red]VIOLATION[/] {escape(v)}" for v in report.all_violations]
        for m in report.models:  # pipeline facts: who retrained last, and requests waiting for an approver
            if m.last_retrain:
                r = m.last_retrain
                lines.append(f"{escape(m.model)}: last retrain v{r['version']} {str(r['at'])[:16].replace('T', ' ')} "
                             f"by {escape(str(r['by']))} ({escape(str(r['via']))})")
            for t in m.training_tables:
                certified = (f"v{t['last_certified_version']} {str(t['last_certified'])[:16].replace('T', ' ')}"
                             if t.get("last_certified") else "never")
                lines.append(f"{escape(m.model)}: data {escape(str(t['table']))} v{t['version']} {escape(str(t['state']))}"
                             f", last certified {certified}")
            if m.last_evaluation:
                e = m.last_evaluation
                outcome = (f"v{e['best_version']} beat the champion" if e["champion_beaten"] else "the champion held")
                lines.append(f"{escape(m.model)}: last evaluation {str(e['at'])[:16].replace('T', ' ')} on "
                             f"{e['rows']} rows: {outcome}")
            if m.serving and m.champion_version is not None:
                lines.append(f"{escape(m.model)} v{m.champion_version} serving: {escape(m.serving['summary'])}")
            lines += [f"{escape(m.model)}: request {q['id']} v{q['version']} → {escape(q['alias'])} by "
                      f"{escape(q['requested_by'])} ({escape(q['via'])}) awaits an approver"
                      for q in m.open_request_list]
        lines += [f"[yellow]FLAG[/] {escape(f)}" for f in report.flags[:10]]
        if len(report.flags) > 10:
            lines.append(f"[yellow]FLAG[/] … and {len(report.flags) - 10} more (`workbench governance report --json`)")
        self.query_one("#governance-violations", Static).update("\n".join(lines))


def _signed(who: str | None, signature: str | None) -> str:
    """`bob ✔` when the governed action is signed, `bob (declared)` or `bob ✘ invalid` otherwise."""
    if not who:
        return ""
    mark = {"signed": "✔", None: ""}.get(signature, f"({signature})" if signature in ("declared", "bootstrap")
                                        else f"✘ {signature}")
    return f"{who} {mark}".strip()
