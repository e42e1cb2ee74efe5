"""The core never imports Textual, and the TUI's start-up path never imports scikit-learn or LightGBM."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import SPECS


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys; print('\\n'.join(sys.modules))"],
                         capture_output=True, text=True, check=True)
    return set(out.stdout.split())


@pytest.mark.parametrize("module", [
    "workbench.lake", "workbench.lake.catalog", "workbench.lake.ingest", "workbench.lake.preview",
    "workbench.audit", "workbench.pipeline.spec", "workbench.pipeline.engine", "workbench.runs.batch",
    "workbench.workspace.create", "workbench.backends.local", "workbench.cli",
    "workbench.scheduler.service", "workbench.pipelines.run", "workbench.alerts.notify",
])
def test_core_modules_do_not_import_textual(module: str) -> None:
    mods = _modules_after(f"import {module}")
    assert "textual" not in mods


def test_batch_run_does_not_import_textual(sample_workspace) -> None:
    code = (
        "from pathlib import Path\n"
        "from workbench.workspace import Workspace\n"
        "from workbench.runs.batch import run_batch\n"
        f"run_batch(Workspace.load(Path({str(sample_workspace.root)!r})), Path({str(SPECS / 'penguin_species.toml')!r}))\n"
    )
    mods = _modules_after(code)
    assert "sklearn" in mods  # the run really trained
    assert "textual" not in mods


def test_tui_start_up_path_does_not_import_heavy_ml_libraries() -> None:
    mods = _modules_after("import workbench.cli, workbench.tui.app")
    assert "textual" in mods
    assert not {"sklearn", "lightgbm", "optuna"} & mods


def test_a_local_workspace_never_loads_the_storage_machinery(sample_workspace) -> None:
    # Local storage is today's lake folder: opening the lake must not import back-end discovery or an S3 client.
    code = (
        "from pathlib import Path\n"
        "import workbench.cli, workbench.tui.app\n"
        "from workbench.workspace import Workspace\n"
        "from workbench.lake import open_lake\n"
        "from workbench.registry.artifacts import verified_path\n"
        f"open_lake(Workspace.load(Path({str(sample_workspace.root)!r}))).close()\n"
    )
    mods = _modules_after(code)
    assert "workbench.lake.engine" in mods
    assert not {"workbench.backends.session", "s3fs", "botocore", "boto3", "workbench_s3"} & mods


def test_first_paint_does_not_import_heavy_ml_libraries() -> None:
    """The real first paint (catalog listed, via benchmarks/startup.py, which this also keeps from rotting):
    nothing the TUI does on mount may pull in scikit-learn, LightGBM or Optuna."""
    from conftest import REPO

    out = subprocess.run([sys.executable, str(REPO / "benchmarks" / "startup.py"), "--runs", "1"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "TUI first paint (tables listed)" in out.stdout
    assert "heavy ML modules imported by first paint: -" in out.stdout, out.stdout
