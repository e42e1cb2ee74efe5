"""Versus target: every feature against a chosen target column, ranked by signal (eta²), with a chart."""

from __future__ import annotations

from typing import Callable

from textual import on, work
from textual.binding import Binding
from textual.widgets import DataTable

from workbench.lake.versus_target import FeatureVsTarget, VersusTarget
from workbench.tui.lake.charted import TableWithChart
from workbench.tui.lake.reporting import Done, LakeFailed, report


def draw_feature_chart(view: TableWithChart, result: VersusTarget, feature: FeatureVsTarget) -> None:
    what = f"rate of {result.target}={result.positive}" if result.target_kind == "binary" else f"mean {result.target}"
    if feature.buckets:
        view.show_bars(f"{what} by {feature.feature} (overall {result.overall:.4g})",
                       [(b.label, b.target_mean) for b in feature.buckets])
    else:
        view.show_bars(f"{feature.feature}: {feature.note or 'no buckets'}", [])


class VersusTargetView(TableWithChart):
    PREFIX = "target"
    PLACEHOLDER = "Choose a table, then press c to pick the target column."
    BINDINGS = [Binding("c", "choose_target", "Target column")]

    def __init__(self, get_lake: Callable[[], object], id: str | None = None) -> None:
        super().__init__(id=id)
        self.get_lake = get_lake
        self.subject: tuple[str, int | None] | None = None
        self.target: str | None = None
        self.result: VersusTarget | None = None

    def on_mount(self) -> None:
        super().on_mount()
        self.table.add_columns("feature", "type", "score (eta²)", "", "buckets")

    def show_table(self, table: str, version: int | None) -> None:
        if self.subject != (table, version):
            self.subject, self.result = (table, version), None
            self.table.clear()
            self.set_caption(f"{table}: press c to pick the target column.")
            if self.target is not None:
                self.compute(self.target)

    def action_choose_target(self) -> None:
        if self.subject is None:
            return
        from workbench.tui.lake.dialogs import PromptScreen

        def chosen(answer: str | None) -> None:
            if answer and answer.strip():
                self.compute(answer.strip())

        self.app.push_screen(PromptScreen(f"Target column of {self.subject[0]}", "a column name, e.g. dep_delay",
                                          self.target or ""), chosen)

    def compute(self, target: str) -> None:
        assert self.subject is not None
        self.target = target
        self.set_caption(f"{self.subject[0]}: every column against {target}…")
        self._run(self.subject[0], self.subject[1], target)

    @work(thread=True, exclusive=True, group="lake-target")
    def _run(self, table: str, version: int | None, target: str) -> None:
        from workbench.lake.versus_target import versus_target

        report(self, lambda: versus_target(self.get_lake(), table, target, version))  # type: ignore[arg-type]

    @on(Done)
    def _computed(self, message: Done) -> None:
        message.stop()
        r: VersusTarget = message.value
        if self.subject != (r.table, r.version):
            return
        self.result = r
        table = self.table
        table.clear()
        for f in r.features:
            score = "" if f.score is None else f"{f.score:.4f}"
            buckets = f.note or "  ".join(f"{b.label}: {b.target_mean:.3g}" for b in f.buckets[:5])
            table.add_row(f.feature, f.dtype.lower(), score, "[b red]leakage?[/]" if f.leakage_suspect else "",
                          buckets, key=f.feature)
        what = f"rate of {r.target} = {r.positive}" if r.target_kind == "binary" else f"mean of {r.target}"
        self.set_caption(
            f"{r.table}: {what} per bucket, overall {r.overall:.4g} over {r.rows:,} rows ({r.elapsed_s:.2f} s) — c: target")
        if r.features:
            table.move_cursor(row=0)
            draw_feature_chart(self, r, r.features[0])

    @on(DataTable.RowHighlighted, "#target-table")
    def _row(self, event: DataTable.RowHighlighted) -> None:
        if self.result is None or event.row_key is None:
            return
        feature = next((f for f in self.result.features if f.feature == event.row_key.value), None)
        if feature is not None:
            draw_feature_chart(self, self.result, feature)

    @on(LakeFailed)
    def _failed(self, message: LakeFailed) -> None:
        message.stop()
        self.set_caption(f"[b red]Error:[/] {message.error}")
        self.notify(message.error, title="Versus target", severity="error")
