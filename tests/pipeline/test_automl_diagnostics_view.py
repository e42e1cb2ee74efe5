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


@pytest.fixture
def binary_run(sample_workspace: Workspace):  # type: ignore[no-untyped-def]
    """A real binary run on the penguins (is it a Gentoo?), with its holdout rows."""
    from workbench.lake import open_lake

    with open_lake(sample_workspace) as lake:
        frame = lake.cursor().execute(
            "SELECT bill_length_mm, bill_depth_mm, flipper_length_mm, body_mass_g, island, "
            "CASE WHEN species = 'Gentoo' THEN 'gentoo' ELSE 'other' END AS kind FROM penguins").pl()
    spec = parse_spec({"target": "kind", "data": {"table": "penguins"}, "candidates": ["linear"], "max_trials": 1,
                       "time_budget_s": 60})
    result = run_automl(frame, spec, backend=LocalCompute(workers=0))
    return json.loads(json.dumps(result.diagnostics)), result


async def _show(pilot, view: DiagnosticsView, prefix: str) -> None:  # type: ignore[no-untyped-def]
    for _ in range(len(view.titles)):
        if view.titles[view.index].startswith(prefix):
            return
        await pilot.press("]")
        await pilot.pause()
    raise AssertionError(f"no {prefix} chart in {view.titles}")


async def test_binary_confusion_matrix_shows_class_names_and_holdout_counts(binary_run) -> None:  # type: ignore[no-untyped-def]
    import duckdb

    diagnostics, result = binary_run
    holdout = result.holdout  # noqa: F841  (read by DuckDB below)
    actual = dict(duckdb.sql("SELECT kind, count(*) FROM holdout GROUP BY kind").fetchall())
    app = _Host(diagnostics)
    async with app.run_test(size=(120, 40)) as pilot:
        view = app.query_one(DiagnosticsView)
        view.focus()
        await _show(pilot, view, "Confusion matrix")
        matrix = app.query_one("#diag-matrix")
        assert matrix.display and not app.query_one("PlotextPlot").display  # a table of counts, not a plot
        assert matrix.labels == ["gentoo", "other"]
        assert {label: sum(row) for label, row in zip(matrix.labels, matrix.matrix)} == actual
        shown = app.export_screenshot()
        assert "gentoo" in shown and f"{matrix.matrix[0][0]:,}" in shown and "recall" in shown


async def test_roc_legend_has_the_auc_and_a_chance_diagonal(binary_run) -> None:  # type: ignore[no-untyped-def]
    from sklearn.metrics import roc_auc_score

    diagnostics, result = binary_run
    proba = result.estimator.predict_proba(result.holdout.drop("kind"))
    auc = roc_auc_score(result.holdout["kind"].to_numpy() == "other", proba[:, 1])
    app = _Host(diagnostics)
    async with app.run_test(size=(120, 40)) as pilot:
        view = app.query_one(DiagnosticsView)
        view.focus()
        await _show(pilot, view, "ROC")
        labels = [s["label"] for s in view.drawn]
        assert labels == [f"other (AUC {auc:.3f})", "chance"]
        assert view.drawn[1]["x"] == [0.0, 1.0] and view.drawn[1]["y"] == [0.0, 1.0]


async def test_importance_bars_and_learning_curve_draw_every_stored_point(stored_diagnostics: dict) -> None:
    app = _Host(stored_diagnostics)
    async with app.run_test(size=(120, 40)) as pilot:
        view = app.query_one(DiagnosticsView)
        view.focus()
        lc = stored_diagnostics["learning_curve"]
        assert lc["train_score"][-1] is None  # the full-size point has no train score
        validation = next(s for s in view.drawn if s["label"] == "validation")
        assert validation["x"] == lc["train_rows"] and validation["y"] == lc["validation_score"]
        train = next(s for s in view.drawn if s["label"] == "train")
        assert train["x"] == lc["train_rows"][:-1]
        assert f"no train score at {lc['train_rows'][-1]:,} rows" in view.titles[0]
        await _show(pilot, view, "Permutation importance")
        from workbench.tui.widgets.bars import number_label

        pi = stored_diagnostics["permutation_importance"]
        rows = [line.partition("│") for line in app.query_one("#diag-bars").render().plain.splitlines()]
        drawn = {label.strip(): rest.split()[-1] for label, _, rest in rows if rest.split()}
        n = min(15, len(pi["features"]))
        assert drawn == {f: number_label(v) for f, v in zip(pi["features"][:n], pi["mean"][:n])}
