from __future__ import annotations

from workbench.identity import os_login

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest
from conftest import SPECS

from workbench.workspace import Workspace


def _runs(ws: Workspace) -> list[tuple]:
    con = sqlite3.connect(ws.audit_path)
    try:
        return con.execute("SELECT run_id, state FROM runs").fetchall()
    finally:
        con.close()


def _artifacts(ws: Workspace) -> list[str]:
    return sorted(str(p.relative_to(ws.artifacts_dir)) for p in ws.artifacts_dir.rglob("*"))


def test_batch_runs_end_to_end_and_records_the_run(sample_workspace: Workspace, cli) -> None:
    w = str(sample_workspace.root)
    result = cli("-w", w, "batch", str(SPECS / "penguin_species.toml"), "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["task"] == "multiclass" and out["metric"] == "log_loss"
    assert {"linear", "lightgbm"} <= {r["model"] for r in out["leaderboard"]}  # the first batch: both families' defaults
    assert out["trials"] and out["automl"]["validation"]["task"] == "multiclass"
    assert out["train_rows"] + out["test_rows"] == 344
    assert out["best_score"] < 0.3  # penguins species are nearly separable; a broken pipeline would not get here
    model = sample_workspace.root / out["artifact_path"]
    assert hashlib.sha256(model.read_bytes()).hexdigest() == out["artifact_sha256"]
    manifest = json.loads((sample_workspace.root / out["manifest_path"]).read_text())
    assert manifest["sha256"] == out["artifact_sha256"] and "optuna" in manifest["libraries"]
    assert manifest["spec"]["target"] == "species"
    diagnostics = json.loads((sample_workspace.root / out["diagnostics_path"]).read_text())
    assert diagnostics["confusion_matrix"]["labels"] == ["Adelie", "Chinstrap", "Gentoo"]
    listed = json.loads(cli("-w", w, "runs", "list", "--json").stdout)
    assert len(listed) == 1
    run = listed[0]
    assert run["state"] == "succeeded" and run["actor"] == os_login() and run["row_count"] == 344
    assert run["data_source"] == "penguins@1" and len(run["fingerprint"]) == 64
    assert run["artifact_sha256"] == out["artifact_sha256"] and run["started_at"] and run["finished_at"]
    shown = json.loads(cli("-w", w, "runs", "show", run["run_id"][:15], "--json").stdout)
    kinds = [e["kind"] for e in shown["events"]]
    assert kinds[0] == "run.queued" and kinds[-1] == "run.finished" and "run.started" in kinds
    started = next(e for e in shown["events"] if e["kind"] == "run.started")["params"]
    assert started["rows"] == 344 and started["spec"]["target"] == "species" and "scikit-learn" in started["libraries"]


def test_saved_pipeline_predicts_on_raw_lake_rows(sample_workspace: Workspace, cli) -> None:
    import joblib

    from workbench.lake import open_lake

    out = json.loads(cli("-w", str(sample_workspace.root), "batch", str(SPECS / "penguin_body_mass.toml"), "--json").stdout)
    model = joblib.load(sample_workspace.root / out["artifact_path"])
    with open_lake(sample_workspace) as lake:
        raw = lake.cursor().execute("SELECT * FROM penguins WHERE body_mass_g IS NOT NULL LIMIT 20").pl()
    pred = model.predict(raw)
    assert len(pred) == 20
    assert abs(float(pred.mean()) - float(raw["body_mass_g"].mean())) < 600


def test_human_leaderboard(sample_workspace: Workspace, cli) -> None:
    result = cli("-w", str(sample_workspace.root), "batch", "-q", str(SPECS / "penguin_species.toml"))
    assert result.returncode == 0, result.stderr
    assert "rank" in result.stdout and "lightgbm" in result.stdout and "linear" in result.stdout
    assert "Best:" in result.stdout


def _spec(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "spec.toml"
    path.write_text(body)
    return path


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (None, "Spec file not found"),
        ('target = "species"\n[data\ntable = "penguins"\n', "not valid TOML"),
        ('target = "species"\n[data]\ntable = "nope"\n', "No table named 'nope'"),
        ('target = "wingspan"\n[data]\ntable = "penguins"\n', "Unknown target column 'wingspan'"),
        ('target = "species"\ncolour = "red"\n[data]\ntable = "penguins"\n', "unknown key 'colour'"),
        ('target = "island"\n[data]\nquery = "SELECT island FROM penguins WHERE island = \'Dream\'"\n', "constant"),
        ('target = "species"\n[data]\nquery = "DELETE FROM penguins"\n', "read-only"),
        ('target = "species"\n[data]\ntable = "penguins"\nversion = 9\n', "no version 9"),
        ('target = "species"\n[data]\nquery = "SELECT * FROM penguins WHERE false"\n', "has no rows"),
    ],
)
def test_bad_input_is_one_sentence_and_records_nothing(
    sample_workspace: Workspace, tmp_path: Path, cli, body: str | None, expected: str
) -> None:
    spec = tmp_path / "missing.toml" if body is None else _spec(tmp_path, body)
    result = cli("-w", str(sample_workspace.root), "batch", str(spec))
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    messages = [ln for ln in result.stderr.splitlines() if ln.strip() and not ln.startswith("[")]  # "[stage]" = progress
    assert len(messages) == 1 and messages[0].startswith("Error: ")
    assert _runs(sample_workspace) == []
    assert _artifacts(sample_workspace) == []
    count = json.loads(cli("-w", str(sample_workspace.root), "lake", "show", "penguins", "--json", "-n", "0").stdout)
    assert count["total_rows"] == 344


def test_debug_shows_the_traceback(sample_workspace: Workspace, tmp_path: Path, cli) -> None:
    spec = _spec(tmp_path, 'target = "wingspan"\n[data]\ntable = "penguins"\n')
    result = cli("--debug", "-w", str(sample_workspace.root), "batch", str(spec))
    assert result.returncode == 2
    assert "Traceback" in result.stderr


def test_a_run_that_fails_mid_way_is_recorded_failed_without_artifacts(sample_workspace: Workspace, tmp_path: Path, cli) -> None:
    # A single-row class cannot be stratified: the failure happens after the run is recorded.
    spec = _spec(tmp_path, 'target = "species"\n[data]\nquery = "SELECT * FROM penguins UNION ALL '
                           "SELECT 'Unicorn', 'Dream', 1, 1, 1, 1, 'male', 2008\"\n")
    result = cli("-w", str(sample_workspace.root), "batch", str(spec))
    assert result.returncode in (1, 2)
    assert "single row" in result.stderr
    assert all(state in ("failed",) for _, state in _runs(sample_workspace)) or _runs(sample_workspace) == []
    assert _artifacts(sample_workspace) == []


@pytest.mark.slow
def test_flight_delay_sample_spec(sample_workspace: Workspace, cli) -> None:
    result = cli("-w", str(sample_workspace.root), "batch", "-q", str(SPECS / "flight_delay.toml"), "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["task"] == "binary" and len(out["leaderboard"]) >= 2
    assert out["row_count"] > 300_000
    assert out["best_score"] > 0.65  # ROC AUC well above chance on real delays
