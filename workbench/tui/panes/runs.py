"""Runs tab: runs from the audit log (refreshed while shown) and the selected run's leaderboard."""

from __future__ import annotations

import json
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widget import Widget
from textual.widgets import DataTable, Static

from workbench.workspace import Workspace


class RunsPane(Widget):
    BINDINGS = [Binding("r", "reload", "Reload")]

    class RunsLoaded(Message):
        def __init__(self, runs: list[dict[str, Any]]) -> None:
            super().__init__()
            self.runs = runs

    def __init__(self, workspace: Workspace) -> None:
        super().__init__()
        self.workspace = workspace
        self.runs: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        table = DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        table.border_title = "Runs"
        yield table
        yield Static("Select a run to see its leaderboard.", id="run-detail")

    def on_mount(self) -> None:
        self.query_one("#runs-table", DataTable).add_columns(
            "run", "name", "state", "actor", "started (UTC)", "rows", "metric", "best", "score")
        self.load_runs()
        self.set_interval(2.0, self._poll)

    def _poll(self) -> None:
        if self.display and self.is_on_screen:
            self.load_runs()

    def focus_main(self) -> None:
        self.query_one("#runs-table", DataTable).focus()

    def refresh_data(self) -> None:
        self.load_runs()

    def action_reload(self) -> None:
        self.load_runs()

    @work(thread=True, exclusive=True, group="runs")
    def load_runs(self) -> None:
        from workbench.audit import AuditLog

        with AuditLog(self.workspace.audit_path, self.workspace.root) as log:
            self.post_message(self.RunsLoaded(log.list_runs(limit=200)))

    @on(RunsLoaded)
    def _show_runs(self, message: RunsLoaded) -> None:
        if message.runs == self.runs:
            return
        self.runs = message.runs
        table = self.query_one("#runs-table", DataTable)
        row = table.cursor_row
        table.clear()
        for r in self.runs:
            score = f"{r['best_score']:.4f}" if r.get("best_score") is not None else ""
            table.add_row(r["run_id"], r["name"], r["state"], r["actor"], (r["started_at"] or "")[:19],
                          f"{r['row_count']:,}" if r.get("row_count") else "", r.get("metric") or "",
                          r.get("best_model") or "", score, key=r["run_id"])
        if self.runs:
            table.move_cursor(row=min(row, len(self.runs) - 1))
        else:
            self.query_one("#run-detail", Static).update("No runs yet: start one with `workbench batch SPEC.toml`.")

    @on(DataTable.RowHighlighted, "#runs-table")
    def _run_highlighted(self, event: DataTable.RowHighlighted) -> None:
        run = next((r for r in self.runs if r["run_id"] == event.row_key.value), None)
        if run is None:
            return
        lines = [f"[b]{run['run_id']}[/]  {run['name']}  [b]{run['state']}[/]  data: {run.get('data_source') or ''}"
                 f"  fingerprint {str(run.get('fingerprint') or '')[:12]}"]
        if run.get("error"):
            lines.append(f"[red]{run['error']}[/]")
        board = json.loads(run["leaderboard"]) if run.get("leaderboard") else []
        for i, entry in enumerate(board, 1):
            metrics = "  ".join(f"{k}={v:.4g}" for k, v in entry.items() if k != "model" and isinstance(v, (int, float)))
            lines.append(f"{i}. {entry['model']:<10} {metrics}")
        if run.get("artifact_path"):
            lines.append(f"model: {run['artifact_path']}  sha256 {str(run.get('artifact_sha256'))[:12]}")
        self.query_one("#run-detail", Static).update("\n".join(lines))
