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
