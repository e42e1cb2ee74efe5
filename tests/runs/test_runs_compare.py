"""`workbench runs compare` and the Runs tab's compare view, on two real runs that differ in seed and families."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workbench.errors import BadInputError, ExitCode
from workbench.runs.batch import run_batch
from workbench.runs.compare import compare_runs
from workbench.workspace import Workspace

from tui_support import settle

SPEC = ('name = "{name}"\ntarget = "species"\ncandidates = {candidates}\nmax_trials = 2\ncv_folds = 2\n'
        'time_budget_s = 120\nseed = {seed}\n[data]\ntable = "penguins"\n')


@pytest.fixture(scope="module")
def two_runs(_sample_template: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Two real runs, trained once for the module (the tests only read them)."""
    import shutil

    tmp = tmp_path_factory.mktemp("compare")
    shutil.copytree(_sample_template, tmp / "ws")
    ws = Workspace.load(tmp / "ws")
    results = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKBENCH_USER", "tester")
        mp.setenv("XDG_DATA_HOME", str(tmp / "xdg-data"))
        for name, candidates, seed in (("lin", '["linear"]', 1), ("lin_forest", '["linear", "random_forest"]', 2)):
            path = tmp / f"{name}.toml"
            path.write_text(SPEC.format(name=name, candidates=candidates, seed=seed))
            results.append(run_batch(ws, path))
    return ws, results


def test_compare_shows_what_differs_and_each_runs_scores(two_runs) -> None:  # type: ignore[no-untyped-def]
    ws, (a, b) = two_runs
    result = compare_runs(ws, [a.run_id, b.run_id[:17]])  # a unique prefix is enough
    assert result.run_ids == [a.run_id, b.run_id]
    differs = {r.key for r in result.spec_differences}
    assert {"seed", "candidates", "name"} <= differs and "target" not in differs
    summary = {r.key: r for r in result.summary}
    assert summary["data_source"].values[0] == summary["data_source"].values[1] and not summary["fingerprint"].differs
    holdout = {r.key: r.values for r in result.holdout}
    assert holdout[a.metric] == [a.holdout_scores[a.metric], b.holdout_scores[b.metric]]
    board = {r.key: r.values for r in result.leaderboard}
    assert board["random_forest"][0] is None and board["random_forest"][1] is not None  # only b tried it
    assert board["linear"] == [next(e[a.metric] for e in a.leaderboard if e["model"] == "linear"),
                               next(e[b.metric] for e in b.leaderboard if e["model"] == "linear")]
    assert any(r.key == "search_s" and all(v is not None for v in r.values) for r in result.timings)
    with pytest.raises(BadInputError, match="two runs or more"):
        compare_runs(ws, [a.run_id])
    with pytest.raises(BadInputError, match="No run 'nope'"):
        compare_runs(ws, [a.run_id, "nope"])


def test_cli_compare_json_and_table(two_runs, cli) -> None:  # type: ignore[no-untyped-def]
    ws, (a, b) = two_runs
    out = cli("-w", str(ws.root), "runs", "compare", a.run_id, b.run_id, "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["runs"] == [a.run_id, b.run_id] and "seed" in data["spec_differences"]
    table = cli("-w", str(ws.root), "runs", "compare", a.run_id, b.run_id)
    assert table.returncode == 0 and "* seed" in table.stdout and "leaderboard" in table.stdout
    bad = cli("-w", str(ws.root), "runs", "compare", a.run_id)
    assert bad.returncode == ExitCode.BAD_INPUT and "two runs or more" in bad.stderr


async def test_runs_tab_marks_two_runs_and_shows_them_side_by_side(two_runs) -> None:  # type: ignore[no-untyped-def]
    from textual.widgets import DataTable

    from workbench.tui.app import WorkbenchApp

    ws, (a, b) = two_runs
    app = WorkbenchApp(ws)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        await pilot.press("2")
        await settle(app, pilot)
        runs = app.query_one("#runs-table", DataTable)
        assert runs.row_count == 2
        await pilot.press("v")  # nothing marked: it says how, and opens nothing
        await pilot.pause(0.2)
        assert app.screen.__class__.__name__ != "CompareScreen"
        await pilot.press("space", "down", "space")
        assert str(runs.get_row_at(0)[0]).startswith("● ") and str(runs.get_row_at(1)[0]).startswith("● ")
        await pilot.press("v")
        await settle(app, pilot)
        screen = app.screen
        assert screen.__class__.__name__ == "CompareScreen"
        table = screen.query_one("#compare-table", DataTable)
        headers = [str(c.label) for c in table.columns.values()]
        assert headers[1:] == [b.run_id, a.run_id]  # in the order marked: the newest run is listed first
        shown = {str(table.get_row_at(i)[0]).strip("* ").strip(): [str(v) for v in table.get_row_at(i)[1:]]
                 for i in range(table.row_count)}
        assert "seed" in shown and shown["seed"] == ["2", "1"]
        assert "target" not in shown  # only the spec keys that differ, until `a`
        assert shown["random_forest"][1] == "—"  # a did not try it
        await pilot.press("a")
        await pilot.pause(0.2)
        keys = [str(table.get_row_at(i)[0]).strip("* ").strip() for i in range(table.row_count)]
        assert "target" in keys
        await pilot.press("escape")
        await pilot.pause(0.2)
        assert app.screen.__class__.__name__ != "CompareScreen"
