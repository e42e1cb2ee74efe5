"""Pilot tests of the Runs tab's detail area: a finished run's leaderboard table and diagnostics charts,
and the line shown instead of charts when a run has none (failed, or an unreadable file)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from textual.widgets import DataTable, Static

from tui_support import settle
from workbench.errors import RunFailedError
from workbench.runs.batch import run_batch
from workbench.tui.app import WorkbenchApp
from workbench.workspace import Workspace

# Small enough to train in seconds, big enough for a two-family leaderboard and every classification chart.
SMALL = ('name = "small_species"\ntarget = "species"\ncandidates = ["linear", "random_forest"]\nmax_trials = 3\n'
         'cv_folds = 3\ntime_budget_s = 60\nseed = 3\n[data]\ntable = "penguins"\n')


def _spec(tmp_path: Path) -> Path:
    path = tmp_path / "small_species.toml"
    path.write_text(SMALL)
    return path


async def _until(pilot, predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        await pilot.pause(0.1)
    raise AssertionError("condition not met on screen in time")


async def _open_runs(app, pilot) -> None:
    await settle(app, pilot, rounds=1)
    await pilot.press("2")
    await _until(pilot, lambda: app.focused is not None and app.focused.id == "runs-table", timeout=10)


def _text(app, selector: str) -> str:
    widget = app.query_one(selector)
    return str(widget.render()) if widget.display else ""


def _chart_title(app) -> str:
    return _text(app, "#run-charts #diag-title")


async def test_finished_run_shows_leaderboard_and_cycles_its_charts(sample_workspace: Workspace, tmp_path: Path) -> None:
    result = run_batch(sample_workspace, _spec(tmp_path))
    stored = json.loads((sample_workspace.root / result.diagnostics_path).read_text())
    app = WorkbenchApp(sample_workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await _open_runs(app, pilot)
        await _until(pilot, lambda: _chart_title(app).startswith("1/"))

        board = app.query_one("#leaderboard", DataTable)
        headers = [str(c.label) for c in board.columns.values()]
        assert headers[:4] == ["#", "model", f"CV {result.metric} ± sd", "holdout"]
        rows = [board.get_row_at(i) for i in range(board.row_count)]
        assert [r[1] for r in rows] == [e["model"] for e in result.leaderboard]
        top = result.leaderboard[0]
        assert rows[0][2] == f"{top[result.metric]:.4f} ± {top[result.metric + '_std']:.4f}"
        chosen = next(i for i, e in enumerate(result.leaderboard) if e["chosen"])
        assert rows[chosen][3] == f"{result.holdout_scores[result.metric]:.4f}"  # the saved model's holdout
        key = f"holdout_{result.metric}"
        assert all(r[3] == "" for r, e in zip(rows, result.leaderboard) if e.get(key) is None)

        from workbench.tui.widgets.diagnostics import charts_for

        titles = [chart.title for chart in charts_for(stored)]
        assert len(titles) > 3
        assert _chart_title(app).startswith(f"1/{len(titles)} {titles[0]}")
        assert titles[0].startswith("Learning curve")
        assert app.focused.id == "runs-table"  # the keys work from the runs list: no need to focus the chart
        await pilot.press("]")
        await _until(pilot, lambda: _chart_title(app).startswith(f"2/{len(titles)} {titles[1]}"), timeout=5)
        await pilot.press("[", "[")
        await _until(pilot, lambda: _chart_title(app).startswith(f"{len(titles)}/{len(titles)} {titles[-1]}"),
                     timeout=5)

        # Polls re-read the run every second; the charts are not rebuilt (that would reset to chart 1).
        await pilot.pause(2.5)
        assert _chart_title(app).startswith(f"{len(titles)}/")

        # An unreadable file is a line, not a crash (`r` reloads the selected run's files too).
        (sample_workspace.root / result.diagnostics_path).write_text("{not json")
        await pilot.press("r")
        await _until(pilot, lambda: "could not be read" in _text(app, "#diag-note"))
        assert not app.query_one("#run-charts").display
        assert app.query_one("#leaderboard", DataTable).row_count == len(result.leaderboard)


async def test_failed_run_says_it_has_no_diagnostics(sample_workspace: Workspace, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    def fail_mid_run(*args, **kwargs):
        raise RuntimeError("the training machine caught fire")

    # The run is recorded, starts, then fails in training: the engine's own failure path records it.
    monkeypatch.setattr("workbench.pipeline.engine.run_automl", fail_mid_run)
    with pytest.raises(RunFailedError):
        run_batch(sample_workspace, _spec(tmp_path))
    app = WorkbenchApp(sample_workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await _open_runs(app, pilot)
        runs = app.query_one("#runs-table", DataTable)
        await _until(pilot, lambda: runs.row_count == 1)
        assert runs.get_row_at(0)[2] == "failed"
        await _until(pilot, lambda: "No diagnostics: the run failed." in _text(app, "#diag-note"))
        assert "the training machine caught fire" in _text(app, "#run-detail")
        assert not app.query_one("#leaderboard", DataTable).display
        assert not app.query("#run-charts")  # the chart widget is never even mounted
        await pilot.press("]")  # nothing to cycle: no error
        await pilot.pause(0.2)
        assert "No diagnostics: the run failed." in _text(app, "#diag-note")
