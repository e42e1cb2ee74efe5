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


@pytest.fixture
def two_runs(sample_workspace: Workspace, tmp_path: Path):  # type: ignore[no-untyped-def]
    results = []
    for name, candidates, seed in (("lin", '["linear"]', 1), ("lin_forest", '["linear", "random_forest"]', 2)):
        path = tmp_path / f"{name}.toml"
        path.write_text(SPEC.format(name=name, candidates=candidates, seed=seed))
        results.append(run_batch(sample_workspace, path))
    return sample_workspace, results


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
