"""Runs tab: every run with its state, duration and best score; the selected run's live progress (stage,
step i/n, best so far, elapsed/remaining) and, once done, its leaderboard and diagnostics charts. `n`
starts a run from a spec file on a chosen back-end in a detached worker (it outlives the TUI), `c`
cancels the selected run, `[` / `]` step through the charts, `space` marks runs and `v` shows the marked
runs side by side (the same comparison as `workbench runs compare`), `o` writes the selected run's HTML
report (as `workbench report RUN`) to `<workspace>/reports/RUN.html`, `p` reproduces the selected run in a
detached worker (`runs.reproduce.start_reproduction`; the worker records the verdict).

Runs are read from the log every second; runs whose worker died are marked interrupted on the way. The
detail area (leaderboard, charts) is rebuilt only when the selected run or its state changes, and its
diagnostics are read from disk in a worker.
"""

from __future__ import annotations

import json
from typing import Any

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import DataTable, ProgressBar, Static
from textual.worker import Worker, WorkerState

from workbench.workspace import Workspace

POLL_S = 1.0


def _duration(run: dict[str, Any]) -> str:
    from workbench.runs.progress import duration_s

    seconds = duration_s(run)
    if seconds is None:
        return ""
    return f"{seconds:.0f}s" if seconds < 120 else f"{seconds / 60:.1f}m"


RUN_COLUMNS = ("run", "name", "state", "duration", "best", "score", "metric", "actor", "started (UTC)", "rows")


def _run_cells(r: dict[str, Any], marked: bool = False) -> tuple[str, ...]:
    score = f"{r['best_score']:.4f}" if r.get("best_score") is not None else ""
    return (("● " if marked else "") + r["run_id"], r["name"], r["state"], _duration(r), r.get("best_model") or "", score, r.get("metric") or "",
            r["actor"], (r["started_at"] or "")[5:16].replace("T", " "), f"{r['row_count']:,}" if r.get("row_count") else "")


class RunsPane(Widget):
    BINDINGS = [
        Binding("n", "new_run", "New run"),
        Binding("c", "cancel_run", "Cancel run"),
        Binding("r", "reload", "Reload"),
        Binding("]", "next_chart", "Next chart"),
        Binding("[", "previous_chart", "Prev chart"),
        Binding("space", "mark", "Mark"),
        Binding("v", "compare", "Compare"),
        Binding("o", "report", "Report"),
        Binding("p", "reproduce", "Reproduce"),
    ]

    class RunsLoaded(Message):
        def __init__(self, runs: list[dict[str, Any]]) -> None:
            super().__init__()
            self.runs = runs

    class Notice(Message):
        def __init__(self, text: str, error: bool = False) -> None:
            super().__init__()
            self.text, self.error = text, error

    class Compared(Message):
        def __init__(self, comparison: Any) -> None:
            super().__init__()
            self.comparison = comparison

    class ResultsLoaded(Message):
        def __init__(self, run_id: str, results: Any) -> None:
            super().__init__()
            self.run_id, self.results = run_id, results

    def __init__(self, workspace: Workspace) -> None:
        super().__init__()
        self.workspace = workspace
        self._detail_text = ""
        self.runs: list[dict[str, Any]] = []
        self.cells: dict[str, tuple[str, ...]] = {}  # what the runs table shows, by run
        self.selected: str | None = None
        self.detail_key: tuple[str, str] | None = None  # (run, state) the detail area shows
        self.marked: list[str] = []  # runs picked for the compare view, in the order picked

    def compose(self) -> ComposeResult:
        table = DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        table.border_title = "Runs — n new · c cancel"
        yield table
        yield Static("", id="run-progress")
        yield ProgressBar(id="run-progress-bar", show_eta=False)
        with VerticalScroll(id="run-detail-scroll") as detail:
            detail.border_title = "Run detail"
            yield Static("Select a run to see its progress and leaderboard.", id="run-detail")
            yield DataTable(id="leaderboard", cursor_type="row", zebra_stripes=True)
            with Vertical(id="run-diagnostics") as diagnostics:
                diagnostics.border_title = "Diagnostics — [ / ] chart"
                yield Static("", id="diag-note")

    def on_mount(self) -> None:
        self.query_one("#runs-table", DataTable).add_columns(*RUN_COLUMNS)
        self.query_one("#run-progress-bar", ProgressBar).display = False
        self.query_one("#leaderboard", DataTable).display = False
        self.query_one("#run-diagnostics", Vertical).display = False
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
        self.detail_key = None  # also re-read the selected run's leaderboard and diagnostics
        self.load_runs()

    @work(thread=True, exclusive=True, group="runs")
    def load_runs(self) -> None:
        from workbench.audit import AuditLog
        from workbench.runs.engine import reap_orphans
        from workbench.runs.records import RunRecords

        with AuditLog(self.workspace.audit_path, self.workspace.root) as log:
            reap_orphans(self.workspace, log)
            self.post_message(self.RunsLoaded(RunRecords(log).list_runs(limit=200)))

    @on(RunsLoaded)
    def _show_runs(self, message: RunsLoaded) -> None:
        self.runs = message.runs
        table = self.query_one("#runs-table", DataTable)
        cells = {r["run_id"]: _run_cells(r, r["run_id"] in self.marked) for r in self.runs}
        if list(cells) == list(self.cells):
            # Same runs (the usual poll): update only the cells that changed, keeping cursor and scroll.
            columns = list(table.columns)
            for run_id, row_cells in cells.items():
                for column, shown, now in zip(columns, self.cells[run_id], row_cells):
                    if shown != now:
                        table.update_cell(run_id, column, now, update_width=True)
        else:
            row = table.cursor_row
            table.clear()
            for run_id, row_cells in cells.items():
                table.add_row(*row_cells, key=run_id)
            if self.runs:
                table.move_cursor(row=min(row, len(self.runs) - 1))
        self.cells = cells
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
            if self.detail_key is not None:
                self.detail_key = None
                self._show_detail(None)
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
            progress.update(f"[b]{run['state']}[/] in {_duration(run)}" + (f" — last step: {escape(snap.line(final=True))}" if snap else ""))
        key = (run["run_id"], run["state"])
        if key != self.detail_key:  # a poll of the same run in the same state leaves the detail area alone
            self.detail_key = key
            self._show_detail(run)

    def _show_detail(self, run: dict[str, Any] | None) -> None:
        """Summary, leaderboard and diagnostics of `run`; the diagnostics file is read in a worker."""
        from workbench.tui.runs.results import no_diagnostics_note

        detail = self.query_one("#run-detail", Static)
        board_table = self.query_one("#leaderboard", DataTable)
        diagnostics = self.query_one("#run-diagnostics", Vertical)
        if run is None:
            detail.update("Select a run to see its progress and leaderboard.")
            board_table.display = diagnostics.display = False
            return
        lines = [f"[b]{run['run_id']}[/]  {escape(run['name'] or '')}  data: {escape(run.get('data_source') or '')}"
                 f"  fingerprint {str(run.get('fingerprint') or '')[:12]}  back-end: {escape(run.get('backend') or '')}"]
        if run.get("error"):
            lines.append(f"[red]{escape(run['error'])}[/]")
        if run.get("best_model"):
            score = f" = {run['best_score']:.4f}" if run.get("best_score") is not None else ""
            lines.append(f"best: [b]{escape(run['best_model'])}[/] (CV {escape(run.get('metric') or '')}{score})")
        if run.get("artifact_path"):
            lines.append(f"model: {run['artifact_path']}  sha256 {str(run.get('artifact_sha256'))[:12]}")
        self._detail_text = "\n".join(lines)
        detail.update(self._detail_text)
        self._fill_leaderboard(run, {})
        diagnostics.display = True
        note = no_diagnostics_note(run["state"])
        self._show_diagnostics(None, note or "Loading diagnostics…")
        if note is None:
            self.load_results(run)

    def _fill_leaderboard(self, run: dict[str, Any], holdout_scores: dict[str, float]) -> None:
        from workbench.tui.runs.results import leaderboard_columns, leaderboard_rows

        table = self.query_one("#leaderboard", DataTable)
        board = json.loads(run["leaderboard"]) if run.get("leaderboard") else []
        table.display = bool(board)
        table.clear(columns=True)
        if not board:
            return
        metric = run.get("metric") or ""
        table.add_columns(*leaderboard_columns(metric))
        for row in leaderboard_rows(board, metric, run.get("best_model"), holdout_scores):
            table.add_row(*row)
        table.border_title = f"Leaderboard — {len(board)} model families, ranked by CV {metric}"

    @work(thread=True, exclusive=True, group="run-results")
    def load_results(self, run: dict[str, Any]) -> None:
        from workbench.tui.runs.results import load_run_results

        self.post_message(self.ResultsLoaded(run["run_id"], load_run_results(self.workspace, run)))

    @on(ResultsLoaded)
    async def _results_loaded(self, message: ResultsLoaded) -> None:
        if self.detail_key is None or message.run_id != self.detail_key[0]:
            return  # another run was selected meanwhile
        run = next((r for r in self.runs if r["run_id"] == message.run_id), None)
        if run is not None and message.results.holdout_scores:
            self._fill_leaderboard(run, message.results.holdout_scores)
        if message.results.choice:
            extra = "\n".join(escape(line) for line in message.results.choice)
            self.query_one("#run-detail", Static).update(f"{self._detail_text}\n{extra}")
        if message.results.diagnostics is not None:
            from workbench.tui.widgets.diagnostics import DiagnosticsView

            view = next(iter(self.query(DiagnosticsView)), None)
            if view is None:  # mounted on first use: plotext stays out of the TUI's start-up
                view = DiagnosticsView(id="run-charts")
                await self.query_one("#run-diagnostics", Vertical).mount(view)
            if not view.is_mounted:
                return  # the app is closing (results arrived during shutdown)
            view.show(message.results.diagnostics)
        self._show_diagnostics(message.results.diagnostics, message.results.note)

    def _show_diagnostics(self, diagnostics: dict[str, Any] | None, note: str) -> None:
        """Charts when there are diagnostics, else one line saying why there are none."""
        from textual.css.query import NoMatches

        line = self.query_one("#diag-note", Static)
        line.update(escape(note))
        line.display = diagnostics is None
        try:
            self.query_one("#run-charts").display = diagnostics is not None
        except NoMatches:
            pass

    def action_next_chart(self) -> None:
        self._step_chart(1)

    def action_previous_chart(self) -> None:
        self._step_chart(-1)

    def _step_chart(self, step: int) -> None:
        from textual.css.query import NoMatches

        try:
            view = self.query_one("#run-charts")
        except NoMatches:
            return
        if not view.display:
            return
        if step > 0:
            view.action_next_chart()  # type: ignore[attr-defined]
        else:
            view.action_previous_chart()  # type: ignore[attr-defined]

    # -- actions ------------------------------------------------------------------------------
    def action_new_run(self) -> None:
        from workbench.tui.runs.launcher import SpecPicker, find_specs
        from workbench.tui.runs.new_run import LaunchRequest, NewRunForm

        def confirmed(request: LaunchRequest | None) -> None:
            if request is not None:
                self.notify(f"Starting {request.spec_path} on {request.backend}…", title="New run")
                self.launch(request)

        def chosen(path: str | None) -> None:
            if path:
                self.app.push_screen(NewRunForm(self.workspace, path), confirmed)

        self.app.push_screen(SpecPicker(find_specs(self.workspace)), chosen)

    @work(thread=True, group="runs-launch")
    def launch(self, request: Any) -> None:
        from workbench.tui.runs.launcher import launch_detached

        ok, text = launch_detached(self.workspace, request.spec_path, request.backend, request.options)
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

    def action_mark(self) -> None:
        """Mark (or unmark) the highlighted run for the compare view."""
        run = next((r for r in self.runs if r["run_id"] == self.selected), None)
        if run is None:
            return
        run_id = run["run_id"]
        if run_id in self.marked:
            self.marked.remove(run_id)
        else:
            self.marked.append(run_id)
        cells = _run_cells(run, run_id in self.marked)
        table = self.query_one("#runs-table", DataTable)
        table.update_cell(run_id, next(iter(table.columns)), cells[0], update_width=True)
        self.cells[run_id] = cells
        table.border_title = (f"Runs — {len(self.marked)} marked · v compares" if self.marked
                              else "Runs — n new · c cancel")

    def action_compare(self) -> None:
        """The marked runs side by side (with one marked, it and the highlighted run)."""
        picked = list(self.marked)
        if len(picked) == 1 and self.selected and self.selected not in picked:
            picked.append(self.selected)
        if len(picked) < 2:
            self.notify("Mark two runs or more with space (or one, then highlight another), then press v.",
                        severity="warning", title="Compare")
            return
        self.compare(picked)

    @work(thread=True, exclusive=True, group="runs-compare")
    def compare(self, run_ids: list[str]) -> None:
        from workbench.errors import WorkbenchError
        from workbench.runs.compare import compare_runs

        try:
            self.post_message(self.Compared(compare_runs(self.workspace, run_ids)))
        except WorkbenchError as exc:
            self.post_message(self.Notice(exc.message, error=True))

    @on(Compared)
    def _compared(self, message: Compared) -> None:
        from workbench.tui.runs.compare_view import CompareScreen

        self.app.push_screen(CompareScreen(message.comparison))

    def action_report(self) -> None:
        """Write the selected run's HTML report (as `workbench report RUN`) to the workspace's reports/ folder."""
        run = next((r for r in self.runs if r["run_id"] == self.selected), None)
        if run is None:
            self.notify("Select a run to report on.", severity="warning", title="Report")
            return
        self.notify(f"Writing the report on run {run['run_id']}…", title="Report")
        self.write_report(run["run_id"])

    @work(thread=True, exclusive=True, group="runs-report", exit_on_error=False)
    def write_report(self, run_id: str) -> None:
        # Imported here, not at start-up: writing a report loads matplotlib.
        from workbench.report import default_report_path, write_report

        result = write_report(self.workspace, run_id, default_report_path(self.workspace, run_id))
        self.post_message(self.Notice(f"Wrote the report on run {run_id} to {result.path} ({result.plots} plots)."))

    def action_reproduce(self) -> None:
        """Re-run the selected run in a detached worker (as `workbench runs reproduce`, but not in this process)."""
        run = next((r for r in self.runs if r["run_id"] == self.selected), None)
        if run is None:
            self.notify("Select a succeeded run to reproduce.", severity="warning", title="Reproduce")
            return
        self.notify(f"Starting a reproduction of run {run['run_id']}…", title="Reproduce")
        self.reproduce(run["run_id"])

    @work(thread=True, group="runs-reproduce", exit_on_error=False)
    def reproduce(self, run_id: str) -> None:
        from workbench.runs.reproduce import start_reproduction

        new_id = start_reproduction(self.workspace, run_id)
        self.post_message(self.Notice(f"Run {new_id} reproduces {run_id} in the background; its verdict is "
                                      "recorded in the audit log (run.reproduced) when it finishes."))
        self.load_runs()

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        """A report or reproduction that cannot start says why in one sentence (other workers report their own)."""
        titles = {"runs-report": "Report", "runs-reproduce": "Reproduce"}
        if event.state == WorkerState.ERROR and event.worker.group in titles:
            from workbench.tui.errors import error_text

            event.stop()
            self.notify(error_text(event.worker.error), severity="error", title=titles[event.worker.group])

    @on(Notice)
    def _notice(self, message: Notice) -> None:
        self.notify(message.text, severity="error" if message.error else "information", title="Runs")
