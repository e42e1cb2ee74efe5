"""`workbench models export`: a portable package that scores rows without the workspace, proven on the frozen
holdout before it is written; refusals leave nothing behind."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from deploy_fixtures import train, two_versions, with_champion  # noqa: F401  (fixtures)
from workbench.workspace import Workspace


def _run_package(package: Path, rows: Path, out: Path) -> subprocess.CompletedProcess[str]:
    """The package's predict.py in an isolated interpreter (no PYTHONPATH, no workspace), from another folder."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "WORKBENCH_HOME")}
    return subprocess.run([sys.executable, "-I", str(package / "predict.py"), str(rows), str(out)],
                          capture_output=True, text=True, env=env, cwd=rows.parent, timeout=300)


_NO_PICKLE = (
    "import sys, runpy\n"
    "class Refuse:\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    "        if name.split('.')[0] in ('sklearn', 'lightgbm', 'joblib', 'polars', 'workbench'):\n"
    "            raise ImportError(f'{name} is not allowed here')\n"
    "sys.meta_path.insert(0, Refuse())\n"
    "script = sys.argv[1]; sys.argv = sys.argv[1:]\n"
    "runpy.run_path(script, run_name='__main__')\n"
)


def _run_without_pickle(script: Path, rows: Path, out: Path) -> subprocess.CompletedProcess[str]:
    """predict_onnx.py in an isolated interpreter where the libraries a pickled pipeline needs cannot be imported."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "WORKBENCH_HOME")}
    return subprocess.run([sys.executable, "-I", "-c", _NO_PICKLE, str(script), str(rows), str(out)],
                          capture_output=True, text=True, env=env, cwd=rows.parent, timeout=300)


def test_exported_package_scores_like_the_registry_from_anywhere(with_champion: Workspace, tmp_path, cli) -> None:
    from workbench import open_workspace
    from workbench.audit import AuditLog

    done = cli("-w", str(with_champion.root), "models", "export", "species@champion", str(tmp_path / "pkg"))
    assert done.returncode == 0, done.stderr
    moved = tmp_path / "elsewhere" / "species-package"  # portable: nothing points back at the workspace
    moved.parent.mkdir()
    shutil.move(tmp_path / "pkg", moved)
    manifest = json.loads((moved / "manifest.json").read_text())
    assert manifest["check"]["passed"] and manifest["check"]["rows"] == 86
    assert manifest["onnx"]["exported"] is True and manifest["check"]["onnx"]["passed"]
    assert manifest["onnx"]["check"]["rows"] == 86 and manifest["files"]["model.onnx"] == manifest["onnx"]["sha256"]
    assert "workbench/pipeline/feature_engineering.py" in manifest["vendored_modules"]
    assert {"model.joblib", "predict.py", "Dockerfile", "requirements.txt", "input_schema.json", "model_card.md"} \
        <= set(manifest["files"])
    assert "scikit-learn==" in (moved / "requirements.txt").read_text()
    assert "# Model card: species:1" in (moved / "model_card.md").read_text()

    api = open_workspace(with_champion.root)
    rows = api.lake.table("penguins").drop("species")
    rows.write_csv(tmp_path / "rows.csv")
    assert _run_package(moved, tmp_path / "rows.csv", tmp_path / "scored.parquet").returncode == 0
    theirs = pl.read_parquet(tmp_path / "scored.parquet")
    ours = api.registry.predict("species:1", rows)
    assert theirs["prediction"].to_list() == ours["prediction"].to_list()
    for column in [c for c in ours.columns if c.startswith("probability_")]:
        assert theirs[column].to_list() == pytest.approx(ours[column].to_list(), abs=1e-12)

    # the ONNX graph scores the same rows with no scikit-learn, LightGBM, joblib or polars importable at all
    onnx = _run_without_pickle(moved / "predict_onnx.py", tmp_path / "rows.csv", tmp_path / "onnx.csv")
    assert onnx.returncode == 0, onnx.stderr
    by_graph = pl.read_csv(tmp_path / "onnx.csv")
    assert by_graph["prediction"].to_list() == ours["prediction"].to_list()
    for column in [c for c in ours.columns if c.startswith("probability_")]:
        assert by_graph[column].to_list() == pytest.approx(ours[column].to_list(), abs=1e-4)
    (moved / "model.onnx").write_bytes((moved / "model.onnx").read_bytes() + b"x")
    refused = _run_without_pickle(moved / "predict_onnx.py", tmp_path / "rows.csv", tmp_path / "onnx2.csv")
    assert refused.returncode == 2 and "will not be loaded" in refused.stderr
    (moved / "model.onnx").write_bytes((moved / "model.onnx").read_bytes()[:-1])  # put it back

    (moved / "model.joblib").write_bytes((moved / "model.joblib").read_bytes() + b"x")
    tampered = _run_package(moved, tmp_path / "rows.csv", tmp_path / "again.parquet")
    assert tampered.returncode == 2 and "will not be loaded" in tampered.stderr
    (moved / "model.joblib").write_bytes((moved / "model.joblib").read_bytes()[:-1])  # put it back
    rows.drop("island").write_csv(tmp_path / "few.csv")
    few = _run_package(moved, tmp_path / "few.csv", tmp_path / "few.parquet")
    assert few.returncode == 2 and "missing column(s) island" in few.stderr
    rows.head(0).write_csv(tmp_path / "empty.csv")  # a header and no rows: one sentence from both scripts
    for script in ("predict.py", "predict_onnx.py"):
        empty = _run_package(moved, tmp_path / "empty.csv", tmp_path / "empty.parquet") if script == "predict.py" \
            else _run_without_pickle(moved / script, tmp_path / "empty.csv", tmp_path / "empty.parquet")
        assert empty.returncode == 2 and "has no rows to score" in empty.stderr and "Traceback" not in empty.stderr
    with AuditLog(with_champion.audit_path, with_champion.root) as log:
        (event,) = log.events(kind="model.exported")
    assert event.subject == "species:1" and event.params["check"]["passed"]
    assert event.params["onnx"]["exported"] and event.params["onnx"]["sha256"] == manifest["onnx"]["sha256"]


def test_export_refusals_write_nothing(with_champion: Workspace, tmp_path, cli) -> None:
    from workbench import open_workspace

    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    done = cli("-w", str(with_champion.root), "models", "export", "species:1", str(busy))
    assert done.returncode == 2 and "not an empty folder" in done.stderr
    artifact = with_champion.root / open_workspace(with_champion.root).registry.get("species:2")["artifact_path"]
    artifact.write_bytes(artifact.read_bytes() + b"x")
    done = cli("-w", str(with_champion.root), "models", "export", "species:2", str(tmp_path / "new"))
    assert done.returncode == 1 and "will not be loaded" in done.stderr
    assert not (tmp_path / "new").exists() and (busy / "keep.txt").read_text() == "mine"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".new.")]


def test_a_regression_package_passes_its_check(sample_workspace: Workspace, tmp_path) -> None:
    from workbench.export.package import export_version
    from workbench.registry.register import register_run

    register_run(sample_workspace, train(sample_workspace, target="body_mass_g", metric="rmse"), name="mass")
    result = export_version(sample_workspace, "mass:1", tmp_path / "mass")
    assert result.check["passed"] and result.check["labels_equal"]
    manifest = json.loads((tmp_path / "mass" / "manifest.json").read_text())
    # the graph is there when the run's model converts; either way the manifest says which and why
    assert manifest["onnx"]["exported"] == (result.onnx_reason is None)
    if manifest["onnx"]["exported"]:
        assert result.check["onnx"]["passed"] and manifest["onnx"]["outputs"] == ["prediction"]
        # the script's check holds the graph to the same (value) tolerance as the in-process one
        assert result.check["onnx"]["tolerance"] == pytest.approx(manifest["onnx"]["check"]["tolerance"])
    else:
        assert manifest["onnx"]["reason"]
    assert json.loads((tmp_path / "mass" / "input_schema.json").read_text())["task"] == "regression"
