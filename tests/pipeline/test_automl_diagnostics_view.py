"""Pilot test of the diagnostics widget on diagnostics a real run stored."""

from __future__ import annotations

import json

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Static

from workbench.backends.local import LocalCompute
from workbench.pipeline.engine import run_automl
from workbench.pipeline.spec import parse_spec
from workbench.tui.widgets.diagnostics import DiagnosticsView
from workbench.workspace import Workspace


@pytest.fixture
def stored_diagnostics(sample_workspace: Workspace) -> dict:
    from workbench.lake import open_lake

    with open_lake(sample_workspace) as lake:
        frame = lake.cursor().execute("SELECT * FROM penguins").pl()
    spec = parse_spec({"target": "species", "data": {"table": "penguins"}, "candidates": ["linear"], "max_trials": 1,
                       "time_budget_s": 60})
    result = run_automl(frame, spec, backend=LocalCompute(workers=0))
    return json.loads(json.dumps(result.diagnostics))  # exactly what diagnostics.json holds


class _Host(App):
    def __init__(self, diagnostics: dict) -> None:
        super().__init__()
        self.diagnostics = diagnostics

    def compose(self) -> ComposeResult:
        yield DiagnosticsView(self.diagnostics, id="diag")


async def test_keys_step_through_every_stored_chart(stored_diagnostics: dict) -> None:
    app = _Host(stored_diagnostics)
    async with app.run_test(size=(120, 40)) as pilot:
        view = app.query_one(DiagnosticsView)
        view.focus()
        titles = view.titles
        assert titles[0].startswith("Learning curve") and "Permutation importance (holdout)" in titles
        assert any(t.startswith("Confusion matrix") for t in titles) and "ROC" in titles and "Calibration" in titles
        assert any(t.startswith("Partial dependence") for t in titles)
        seen = []
        for _ in titles:
            seen.append(str(app.query_one("#diag-title", Static).render()))
            await pilot.press("]")
            await pilot.pause()
        assert [s.split(" ", 1)[1].split("   [")[0] for s in seen] == titles
        assert str(app.query_one("#diag-title", Static).render()).startswith("1/")  # wrapped around
        await pilot.press("[")
        await pilot.pause()
        assert str(app.query_one("#diag-title", Static).render()).startswith(f"{len(titles)}/")


async def test_regression_and_empty_diagnostics() -> None:
    regression = {"residuals": {"predicted": [1.0, 2.0], "residual": [0.1, -0.2]},
                  "predicted_vs_actual": {"actual": [1.1, 1.8], "predicted": [1.0, 2.0]}, "skipped": ["learning_curve"]}
    app = _Host(regression)
    async with app.run_test() as pilot:
        view = app.query_one(DiagnosticsView)
        assert view.titles == ["Residuals vs predicted", "Predicted vs actual"]
        assert "skipped for time: learning_curve" in str(app.query_one("#diag-title", Static).render())
        view.show({})
        await pilot.pause()
        assert "No diagnostics" in str(app.query_one("#diag-title", Static).render())
