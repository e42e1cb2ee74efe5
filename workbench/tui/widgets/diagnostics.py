"""A run's stored diagnostics (artifacts/<run>/diagnostics.json) drawn with plotext, one chart at a time.

Self-contained: give it the diagnostics dict (or `load_diagnostics(path)`); `[` and `]` step through the
charts the data has. It only draws what the engine stored; it computes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.reactive import reactive
from textual.widgets import Static
from textual_plotext import PlotextPlot

Chart = tuple[str, Callable[[Any], None]]


def load_diagnostics(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def charts_for(d: dict[str, Any]) -> list[Chart]:
    """(title, draw(plt)) for every chart the stored data supports, in a fixed order."""
    out: list[Chart] = []
    lc = d.get("learning_curve")
    if lc:
        def learning(plt: Any) -> None:
            plt.plot(lc["train_rows"], lc["validation_score"], label="validation", marker="dot")
            pts = [(n, s) for n, s in zip(lc["train_rows"], lc["train_score"]) if s is not None]
            if pts:
                plt.plot([p[0] for p in pts], [p[1] for p in pts], label="train", marker="dot")
            plt.xlabel("training rows")
            plt.ylabel(lc["metric"])
        out.append((f"Learning curve ({lc['metric']})", learning))
    pi = d.get("permutation_importance")
    if pi and pi.get("features"):
        def importance(plt: Any) -> None:
            n = min(15, len(pi["features"]))
            plt.bar(pi["features"][:n][::-1], pi["mean"][:n][::-1], orientation="horizontal")
        out.append(("Permutation importance (holdout)", importance))
    for pd in d.get("partial_dependence") or []:
        def partial(plt: Any, pd: dict[str, Any] = pd) -> None:
            xs = list(range(len(pd["grid"]))) if pd["kind"] == "categorical" else pd["grid"]
            for label, ys in pd["average"].items():
                plt.plot(xs, ys, label=label, marker="dot")
            if pd["kind"] == "categorical":
                plt.xticks(xs, [str(g) for g in pd["grid"]])
            plt.xlabel(pd["feature"])
        out.append((f"Partial dependence: {pd['feature']}", partial))
    cm = d.get("confusion_matrix")
    if cm:
        def confusion(plt: Any) -> None:
            plt.matrix_plot(cm["matrix"])
            plt.xlabel("predicted: " + " ".join(cm["labels"]))
            plt.ylabel("actual")
        out.append(("Confusion matrix (rows actual, columns predicted: " + ", ".join(cm["labels"]) + ")", confusion))
    for key, title, x, y in (("roc_curve", "ROC", "fpr", "tpr"), ("pr_curve", "Precision-recall", "recall", "precision"),
                             ("calibration", "Calibration", "predicted", "observed")):
        curves = d.get(key) or []
        if curves:
            def curve(plt: Any, curves: list[dict[str, Any]] = curves, x: str = x, y: str = y) -> None:
                for c in curves:
                    plt.plot(c[x], c[y], label=str(c["class"]))
                plt.xlabel(x)
                plt.ylabel(y)
            out.append((title, curve))
    res = d.get("residuals")
    if res:
        def residuals(plt: Any) -> None:
            plt.scatter(res["predicted"], res["residual"])
            plt.xlabel("predicted")
            plt.ylabel("actual - predicted")
        out.append(("Residuals vs predicted", residuals))
    pva = d.get("predicted_vs_actual")
    if pva:
        def predicted(plt: Any) -> None:
            plt.scatter(pva["actual"], pva["predicted"])
            lo, hi = min(pva["actual"]), max(pva["actual"])
            plt.plot([lo, hi], [lo, hi], label="perfect")
            plt.xlabel("actual")
            plt.ylabel("predicted")
        out.append(("Predicted vs actual", predicted))
    return out


class DiagnosticsView(Vertical):
    """One chart of a run's diagnostics at a time; `[` / `]` for the previous / next chart."""

    DEFAULT_CSS = """
    DiagnosticsView { height: 1fr; }
    DiagnosticsView > #diag-title { height: 1; color: $accent; }
    DiagnosticsView > PlotextPlot { height: 1fr; }
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

    def compose(self) -> ComposeResult:
        yield Static("", id="diag-title")
        yield PlotextPlot()

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
        return [title for title, _ in self.charts]

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
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        if not self.charts:
            title.update("No diagnostics stored for this run.")
            plot.refresh()
            return
        name, draw = self.charts[self.index]
        note = f"  (skipped for time: {', '.join(self.skipped)})" if self.skipped else ""
        title.update(f"{self.index + 1}/{len(self.charts)} {name}   [ / ] to switch{note}")
        plt.title(name)
        try:
            draw(plt)
        except Exception as exc:  # stored data this chart cannot use (hand-edited, older format): say so
            plt.clear_data()
            title.update(f"{self.index + 1}/{len(self.charts)} {name}: cannot be drawn ({type(exc).__name__}: {exc})")
        plot.refresh()
