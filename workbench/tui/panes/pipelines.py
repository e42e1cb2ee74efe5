"""Pipelines tab: every pipeline file with its trigger, next cron slot, last run and outcome; the selected
pipeline's recent runs and steps below. `g` runs the highlighted pipeline now, after a confirmation that
lists its steps, through the same `run_pipeline` as `workbench pipelines run` (so the same lock refuses a
second run, and the same events are recorded). The data comes from the same core calls as `pipelines list`
and `history`."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widget import Widget
from textual.widgets import DataTable, Static

from workbench.workspace import Workspace

_OUTCOME = {"succeeded": "[green]succeeded[/]", "failed": "[b red]failed[/]", "interrupted": "[yellow]interrupted[/]",
            "running": "[cyan]running[/]"}


class PipelinesPane(Widget):
    BINDINGS = [Binding("r", "reload", "Reload"), Binding("g", "run_now", "Run now")]

    class Loaded(Message):
        def __init__(self, rows: list[dict[str, Any]], error: str | None) -> None:
            super().__init__()
            self.rows = rows
            self.error = error

    class RunFinished(Message):
        def __init__(self, name: str, outcome: Any, error: str | None) -> None:
            super().__init__()
            self.name = name
            self.outcome = outcome
            self.error = error

    class HistoryLoaded(Message):
        def __init__(self, name: str, runs: list[Any]) -> None:
            super().__init__()
            self.name = name
            self.runs = runs

    def __init__(self, workspace: Workspace) -> None:
        super().__init__()
        self.workspace = workspace
        self.loaded = False

    def compose(self) -> ComposeResult:
        table = DataTable(id="pipelines-table", cursor_type="row", zebra_stripes=True)
        table.border_title = "Pipelines"
        yield table
        yield Static("Loading pipelines…", id="pipeline-detail")

    def on_mount(self) -> None:
        table = self.query_one("#pipelines-table", DataTable)
        for column in ("pipeline", "trigger", "next run (UTC)", "last run (UTC)", "outcome"):
            table.add_column(column, key=column)

    def focus_main(self) -> None:
        self.query_one("#pipelines-table", DataTable).focus()

    def refresh_data(self) -> None:
        if not self.loaded:
            self.load()

    def action_reload(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="pipelines")
    def load(self) -> None:
        from datetime import datetime, timezone

        from workbench.errors import WorkbenchError
        from workbench.scheduler.service import schedule_overview

        try:
            self.post_message(self.Loaded(schedule_overview(self.workspace, datetime.now(timezone.utc)), None))
        except WorkbenchError as exc:  # a broken pipeline file: said on the tab, as the CLI says it
            self.post_message(self.Loaded([], exc.message))

    @on(Loaded)
    def _show(self, message: Loaded) -> None:
        self.loaded = True
        table = self.query_one("#pipelines-table", DataTable)
        table.clear()
        for r in message.rows:
            table.add_row(r["name"], r["trigger"], (r["next_run"] or "—")[:16].replace("T", " "),
                          (r["last_run"] or "never")[:16].replace("T", " "),
                          _OUTCOME.get(r["last_outcome"] or "", r["last_outcome"] or ""), key=r["name"])
        detail = self.query_one("#pipeline-detail", Static)
        if message.error:
            detail.update(f"[b red]Pipeline files not loaded:[/] {escape(message.error)}")
        elif not message.rows:
            detail.update("No pipelines yet: add pipelines/NAME.toml to the workspace (see `workbench pipelines`).")
        else:
            detail.update(f"{len(message.rows)} pipeline(s). Select one for its recent runs; g runs it now; "
                          "`workbench scheduler` runs them on their triggers.")

    def _selected(self) -> str | None:
        table = self.query_one("#pipelines-table", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return str(key.value) if key is not None and key.value is not None else None

    def action_run_now(self) -> None:
        from workbench.errors import WorkbenchError
        from workbench.pipelines.spec import load_pipeline
        from workbench.tui.panes.model_dialogs import ConfirmDialog

        name = self._selected()
        if name is None:
            self.notify("No pipeline to run: add pipelines/NAME.toml first.", severity="warning")
            return
        try:
            pipeline = load_pipeline(self.workspace, name)
        except WorkbenchError as exc:
            self.notify(exc.message, title="Pipeline not run", severity="error")
            return
        body = [f"Trigger: {pipeline.trigger.describe()} (this run is recorded as started by hand)", "Steps:"]
        body += [f"  {i}. {step.describe()}" for i, step in enumerate(pipeline.steps, 1)]
        body += ["", "A failing step stops the pipeline; every step is an audit event."]

        def done(yes: bool | None) -> None:
            if yes:
                self.query_one("#pipeline-detail", Static).update(f"[b]{escape(name)}[/]: running…")
                self.notify(f"Running pipeline {name}…", title="Pipelines")
                self.run_in_background(name)

        self.app.push_screen(ConfirmDialog(f"Run pipeline {name} now?", body, "run it"), done)

    @work(thread=True, group="pipeline-run")
    def run_in_background(self, name: str) -> None:
        from workbench.errors import WorkbenchError
        from workbench.pipelines.run import run_pipeline
        from workbench.pipelines.spec import load_pipeline

        try:
            outcome = run_pipeline(self.workspace, load_pipeline(self.workspace, name), {"kind": "manual", "via": "tui"})
        except WorkbenchError as exc:  # the role, a run already going, a pipeline file changed meanwhile
            self.post_message(self.RunFinished(name, None, exc.message))
            return
        self.post_message(self.RunFinished(name, outcome, None))

    @on(RunFinished)
    def _run_finished(self, message: RunFinished) -> None:
        if message.error:
            self.notify(message.error, title=f"Pipeline {message.name} not run", severity="error")
        elif message.outcome.ok:
            self.notify(f"{len(message.outcome.steps)} step(s) succeeded.", title=f"Pipeline {message.name}")
        else:
            self.notify(f"step {message.outcome.failed_step} failed: {message.outcome.error}",
                        title=f"Pipeline {message.name} failed", severity="error")
        self.load()
        self.load_history(message.name)

    @on(DataTable.RowHighlighted, "#pipelines-table")
    def _highlight(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key and event.row_key.value:
            self.load_history(event.row_key.value)

    @work(thread=True, exclusive=True, group="pipeline-history")
    def load_history(self, name: str) -> None:
        from workbench.pipelines.history import pipeline_runs

        self.post_message(self.HistoryLoaded(name, pipeline_runs(self.workspace, name, limit=5, with_steps=True)))

    @on(HistoryLoaded)
    def _show_history(self, message: HistoryLoaded) -> None:
        if not message.runs:
            self.query_one("#pipeline-detail", Static).update(f"[b]{escape(message.name)}[/]: no runs yet.")
            return
        lines = [f"[b]{escape(message.name)}[/]: the last {len(message.runs)} run(s)"]
        for r in message.runs:
            steps = " · ".join(f"{s['index']} {s['kind']} {'✓' if s['outcome'] == 'succeeded' else '✗'}"
                               for s in r.steps)
            lines.append(f"{r.started_at[:16].replace('T', ' ')}  {r.trigger.get('kind', '')}  "
                         f"{_OUTCOME.get(r.outcome, r.outcome)}  {escape(steps)}"
                         + (f"  — {escape(r.error)}" if r.error else ""))
        self.query_one("#pipeline-detail", Static).update("\n".join(lines))
