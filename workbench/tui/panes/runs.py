"""Runs tab: every run with its state, duration and best score; the selected run's live progress (stage,
step i/n, best so far, elapsed/remaining) and, once done, its leaderboard. `n` starts a run from a spec
file in a detached worker (it outlives the TUI), `c` cancels the selected run.

Runs are read from the log every second; runs whose worker died are marked interrupted on the way.
"""

from __future__ import annotations

import json
from typing import Any

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widget import Widget
from textual.widgets import DataTable, ProgressBar, Static

from workbench.workspace import Workspace

POLL_S = 1.0


def _duration(run: dict[str, Any]) -> str:
    from workbench.runs.progress import duration_s

    seconds = duration_s(run)
    if seconds is None:
        return ""
    return f"{seconds:.0f}s" if seconds < 120 else f"{seconds / 60:.1f}m"


class RunsPane(Widget):
    BINDINGS = [
        Binding("n", "new_run", "New run"),
        Binding("c", "cancel_run", "Cancel run"),
        Binding("r", "reload", "Reload"),
    ]

    class RunsLoaded(Message):
        def __init__(self, runs: list[dict[str, Any]]) -> None:
            super().__init__()
            self.runs = runs

    class Notice(Message):
        def __init__(self, text: str, error: bool = False) -> None:
            super().__init__()
            self.text, self.error = text, error

    def __init__(self, workspace: Workspace) -> None:
        super().__init__()
        self.workspace = workspace
        self.runs: list[dict[str, Any]] = []
        self.selected: str | None = None

    def compose(self) -> ComposeResult:
        table = DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        table.border_title = "Runs — n new · c cancel"
        yield table
        yield Static("", id="run-progress")
        yield ProgressBar(id="run-progress-bar", show_eta=False)
        yield Static("Select a run to see its progress and leaderboard.", id="run-detail")

    def on_mount(self) -> None:
        self.query_one("#runs-table", DataTable).add_columns(
            "run", "name", "state", "duration", "best", "score", "metric", "actor", "started (UTC)", "rows")
        self.query_one("#run-progress-bar", ProgressBar).display = False
        self.load_runs()
        self.set_interval(POLL_S, self._poll)

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
        from workbench.runs.engine import reap_orphans

        with AuditLog(self.workspace.audit_path, self.workspace.root) as log:
            reap_orphans(self.workspace, log)
            self.post_message(self.RunsLoaded(log.list_runs(limit=200)))

    @on(RunsLoaded)
    def _show_runs(self, message: RunsLoaded) -> None:
        changed = message.runs != self.runs
        self.runs = message.runs
        table = self.query_one("#runs-table", DataTable)
        if changed:
            row = table.cursor_row
            table.clear()
            for r in self.runs:
                score = f"{r['best_score']:.4f}" if r.get("best_score") is not None else ""
                table.add_row(r["run_id"], r["name"], r["state"], _duration(r), r.get("best_model") or "", score,
                              r.get("metric") or "", r["actor"], (r["started_at"] or "")[:19],
                              f"{r['row_count']:,}" if r.get("row_count") else "", key=r["run_id"])
            if self.runs:
                table.move_cursor(row=min(row, len(self.runs) - 1))
        if not self.runs:
            self.query_one("#run-detail", Static).update("No runs yet: press n to start one, or run `workbench batch SPEC.toml`.")
        self._show_selected()

    @on(DataTable.RowHighlighted, "#runs-table")
    def _run_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.selected = event.row_key.value if event.row_key is not None else None
        self._show_selected()

    def _show_selected(self) -> None:
        from workbench.runs.progress import ProgressSnapshot

        run = next((r for r in self.runs if r["run_id"] == self.selected), None)
        progress = self.query_one("#run-progress", Static)
        bar = self.query_one("#run-progress-bar", ProgressBar)
        if run is None:
            progress.update("")
            bar.display = False
            return
        snap = ProgressSnapshot.from_json(run.get("progress"))
        active = run["state"] in ("queued", "running")
        if active:
            progress.update(f"[b]{run['state']}[/] " + (escape(snap.line()) if snap else "waiting for the worker…"))
            bar.display = bool(snap and snap.steps)
            if snap and snap.steps:
                bar.update(total=snap.steps, progress=max(0, (snap.step or 1) - 1 + (1 if snap.stage == "scored" else 0)))
        else:
            bar.display = False
            progress.update(f"[b]{run['state']}[/] in {_duration(run)}" + (f" — {escape(snap.line())}" if snap else ""))
        lines = [f"[b]{run['run_id']}[/]  {escape(run['name'] or '')}  data: {escape(run.get('data_source') or '')}"
                 f"  fingerprint {str(run.get('fingerprint') or '')[:12]}"]
        if run.get("error"):
            lines.append(f"[red]{escape(run['error'])}[/]")
        board = json.loads(run["leaderboard"]) if run.get("leaderboard") else []
        for i, entry in enumerate(board, 1):
            metrics = "  ".join(f"{k}={v:.4g}" for k, v in entry.items() if k != "model" and isinstance(v, (int, float)))
            lines.append(f"{i}. {entry.get('model', '?'):<10} {metrics}")
        if run.get("artifact_path"):
            lines.append(f"model: {run['artifact_path']}  sha256 {str(run.get('artifact_sha256'))[:12]}")
        self.query_one("#run-detail", Static).update("\n".join(lines))

    # -- actions ------------------------------------------------------------------------------
    def action_new_run(self) -> None:
        from workbench.tui.runs.launcher import SpecPicker, find_specs

        def chosen(path: str | None) -> None:
            if path:
                self.notify(f"Starting {path}…", title="New run")
                self.launch(path)

        self.app.push_screen(SpecPicker(find_specs(self.workspace)), chosen)

    @work(thread=True, group="runs-launch")
    def launch(self, spec_path: str) -> None:
        from workbench.tui.runs.launcher import launch_detached

        ok, text = launch_detached(self.workspace, spec_path)
        self.post_message(self.Notice(text, error=not ok))
        self.load_runs()

    def action_cancel_run(self) -> None:
        run = next((r for r in self.runs if r["run_id"] == self.selected), None)
        if run is None or run["state"] not in ("queued", "running"):
            self.notify("Select a queued or running run to cancel.", severity="warning")
            return
        self.notify(f"Cancelling {run['run_id']}…", title="Cancel")
        self.cancel(run["run_id"])

    @work(thread=True, group="runs-cancel")
    def cancel(self, run_id: str) -> None:
        from workbench.errors import WorkbenchError
        from workbench.runs.engine import cancel_run

        try:
            outcome = cancel_run(self.workspace, run_id)
            self.post_message(self.Notice(outcome.message))
        except WorkbenchError as exc:
            self.post_message(self.Notice(exc.message, error=True))
        self.load_runs()

    @on(Notice)
    def _notice(self, message: Notice) -> None:
        self.notify(message.text, severity="error" if message.error else "information", title="Runs")
