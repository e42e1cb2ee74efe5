"""A run's stored diagnostics (artifacts/<run>/diagnostics.json) drawn with plotext, one chart at a time.

Self-contained: give it the diagnostics dict (or `load_diagnostics(path)`); `[` and `]` step through the
charts the data has. It only draws what the engine stored; it computes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.reactive import reactive
from textual.widgets import Static
from textual_plotext import PlotextPlot

from workbench.tui.widgets.bars import BarList, MatrixTable


@dataclass(frozen=True)
class Chart:
    """One chart: a plotext drawing (`draw(plt)`), horizontal bars, or a confusion matrix."""

    title: str
    draw: Callable[[Any], None] | None = None
    bars: list[tuple[str, float]] | None = None
    matrix: tuple[list[str], list[list[int]]] | None = None


class _Recorder:
    """Passes drawing calls to plotext and keeps each series drawn, so a test reads back what is on screen."""

    def __init__(self, plt: Any) -> None:
        self._plt = plt
        self.series: list[dict[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._plt, name)

    def plot(self, xs: list[Any], ys: list[Any], label: str = "", **kw: Any) -> None:
        self.series.append({"kind": "line", "label": label, "x": list(xs), "y": list(ys)})
        self._plt.plot(xs, ys, label=label, **kw)

    def scatter(self, xs: list[Any], ys: list[Any], label: str = "", **kw: Any) -> None:
        self.series.append({"kind": "scatter", "label": label, "x": list(xs), "y": list(ys)})
        self._plt.scatter(xs, ys, label=label, **kw)


def load_diagnostics(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _present(xs: list[Any], ys: list[Any]) -> tuple[list[Any], list[Any]]:
    """The points that have a value: plotext stops a line at the first missing one."""
    pts = [(x, y) for x, y in zip(xs, ys) if x is not None and y is not None]
    return [p[0] for p in pts], [p[1] for p in pts]


def charts_for(d: dict[str, Any]) -> list[Chart]:
    """Every chart the stored data supports, in a fixed order."""
    out: list[Chart] = []
    lc = d.get("learning_curve")
    if lc:
        missing = [n for n, s in zip(lc["train_rows"], lc["train_score"]) if s is None]

        def learning(plt: Any) -> None:
            plt.plot(*_present(lc["train_rows"], lc["validation_score"]), label="validation", marker="dot")
            xs, ys = _present(lc["train_rows"], lc["train_score"])
            if xs:
                plt.plot(xs, ys, label="train", marker="dot")
            from workbench.tui.widgets.bars import number_label

            plt.xticks(lc["train_rows"], [number_label(n) for n in lc["train_rows"]])  # the sizes measured
            plt.xlabel("training rows")
            plt.ylabel(lc["metric"])
        # The full-size point is the search's own first fold, which has no train score: say so, rather than let
        # the train line look as if it stopped early.
        note = f"; no train score at {', '.join(f'{n:,}' for n in missing)} rows" if missing else ""
        out.append(Chart(f"Learning curve ({lc['metric']}{note})", draw=learning))
    pi = d.get("permutation_importance")
    if pi and pi.get("features"):
        n = min(15, len(pi["features"]))
        out.append(Chart("Permutation importance (holdout)",
                         bars=[(str(f), float(v)) for f, v in zip(pi["features"][:n], pi["mean"][:n])]))
    for pd in d.get("partial_dependence") or []:
        def partial(plt: Any, pd: dict[str, Any] = pd) -> None:
            xs = list(range(len(pd["grid"]))) if pd["kind"] == "categorical" else pd["grid"]
            for label, ys in pd["average"].items():
                plt.plot(xs, ys, label=label, marker="dot")
            if pd["kind"] == "categorical":
                plt.xticks(xs, [str(g) for g in pd["grid"]])
            plt.xlabel(pd["feature"])
        out.append(Chart(f"Partial dependence: {pd['feature']}", draw=partial))
    cm = d.get("confusion_matrix")
    if cm:
        out.append(Chart("Confusion matrix (holdout)", matrix=([str(x) for x in cm["labels"]],
                                                               [[int(n) for n in row] for row in cm["matrix"]])))
    for key, title, x, y in (("roc_curve", "ROC", "fpr", "tpr"), ("pr_curve", "Precision-recall", "recall", "precision"),
                             ("calibration", "Calibration", "predicted", "observed")):
        curves = d.get(key) or []
        if curves:
            def curve(plt: Any, curves: list[dict[str, Any]] = curves, key: str = key, x: str = x, y: str = y) -> None:
                for c in curves:
                    auc = f" (AUC {c['auc']:.3f})" if key == "roc_curve" and isinstance(c.get("auc"), (int, float)) else ""
                    plt.plot(c[x], c[y], label=f"{c['class']}{auc}")
                if key == "roc_curve":
                    plt.plot([0.0, 1.0], [0.0, 1.0], label="chance")
                elif key == "calibration":
                    plt.plot([0.0, 1.0], [0.0, 1.0], label="perfect")
                plt.xlabel(x)
                plt.ylabel(y)
            out.append(Chart(title, draw=curve))
    res = d.get("residuals")
    if res:
        def residuals(plt: Any) -> None:
            plt.scatter(res["predicted"], res["residual"])
            plt.xlabel("predicted")
            plt.ylabel("actual - predicted")
        out.append(Chart("Residuals vs predicted", draw=residuals))
    pva = d.get("predicted_vs_actual")
    if pva:
        def predicted(plt: Any) -> None:
            plt.scatter(pva["actual"], pva["predicted"])
            lo, hi = min(pva["actual"]), max(pva["actual"])
            plt.plot([lo, hi], [lo, hi], label="perfect")
            plt.xlabel("actual")
            plt.ylabel("predicted")
        out.append(Chart("Predicted vs actual", draw=predicted))
    return out


class DiagnosticsView(Vertical):
    """One chart of a run's diagnostics at a time; `[` / `]` for the previous / next chart."""

    DEFAULT_CSS = """
    DiagnosticsView { height: 1fr; }
    DiagnosticsView > #diag-title { height: 1; color: $accent; }
    DiagnosticsView > PlotextPlot { height: 1fr; }
    DiagnosticsView > BarList { height: 1fr; }
    """
    BINDINGS = [
        Binding("]", "next_chart", "Next chart"),
        Binding("[", "previous_chart", "Previous chart"),
    ]
    index: reactive[int] = reactive(0)

    def __init__(self, diagnostics: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.can_focus = True
        self.charts: list[Chart] = charts_for(diagnostics or {})
        self.skipped: list[str] = list((diagnostics or {}).get("skipped", []))
        self.drawn: list[dict[str, Any]] = []  # the series of the plot on screen (read back by tests)

    def compose(self) -> ComposeResult:
        yield Static("", id="diag-title")
        yield PlotextPlot()
        yield BarList(id="diag-bars")
        yield MatrixTable(id="diag-matrix")

    def on_mount(self) -> None:
        self._draw()

    def show(self, diagnostics: dict[str, Any]) -> None:
        """Replace the data (e.g. when another run is selected)."""
        self.charts = charts_for(diagnostics)
        self.skipped = list(diagnostics.get("skipped", []))
        self.index = 0
        self._draw()

    @property
    def titles(self) -> list[str]:
        return [chart.title for chart in self.charts]

    def action_next_chart(self) -> None:
        if self.charts:
            self.index = (self.index + 1) % len(self.charts)

    def action_previous_chart(self) -> None:
        if self.charts:
            self.index = (self.index - 1) % len(self.charts)

    def watch_index(self, _: int) -> None:
        if self.is_mounted:
            self._draw()

    def _draw(self) -> None:
        title = self.query_one("#diag-title", Static)
        plot = self.query_one(PlotextPlot)
        bars = self.query_one(BarList)
        matrix = self.query_one(MatrixTable)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        self.drawn = []
        chart = self.charts[self.index] if self.charts else None
        plot.display = chart is None or chart.draw is not None
        bars.display = chart is not None and chart.bars is not None
        matrix.display = chart is not None and chart.matrix is not None
        if chart is None:
            title.update("No diagnostics stored for this run.")
            plot.refresh()
            return
        note = f"  (skipped for time: {', '.join(self.skipped)})" if self.skipped else ""
        title.update(f"{self.index + 1}/{len(self.charts)} {chart.title}   [ / ] to switch{note}")
        if chart.bars is not None:
            bars.show_bars("", chart.bars)
            return
        if chart.matrix is not None:
            matrix.show_matrix(*chart.matrix)
            return
        plt.title(chart.title)
        recorder = _Recorder(plt)
        try:
            assert chart.draw is not None
            chart.draw(recorder)
            self.drawn = recorder.series
        except Exception as exc:  # stored data this chart cannot use (hand-edited, older format): say so
            plt.clear_data()
            title.update(f"{self.index + 1}/{len(self.charts)} {chart.title}: cannot be drawn ({type(exc).__name__}: {exc})")
        plot.refresh()
