"""Shared fixtures: real workspaces (DuckLake on disk, SQLite audit log) in tmp_path."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from workbench.workspace import Workspace
from workbench.workspace.create import init_workspace

REPO = Path(__file__).resolve().parent.parent
SAMPLE_DATA = REPO / "sample_data"
SPECS = SAMPLE_DATA / "specs"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test may touch the developer's real demo workspace or inherit their identity."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.delenv("WORKBENCH_HOME", raising=False)
    monkeypatch.setenv("WORKBENCH_USER", "tester")


@pytest.fixture(scope="session")
def _sample_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("template") / "ws"
    init_workspace(root, sample=True, name="sample")
    return root


@pytest.fixture
def sample_workspace(_sample_template: Path, tmp_path: Path) -> Workspace:
    """A fresh copy of a workspace with the sample lake (copying is much faster than re-ingesting)."""
    root = tmp_path / "ws"
    shutil.copytree(_sample_template, root)
    return Workspace.load(root)


@pytest.fixture
def empty_workspace(tmp_path: Path) -> Workspace:
    return init_workspace(tmp_path / "empty", name="empty")


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real `workbench` entry point in a subprocess (exit codes and stderr as a user sees them)."""
    import os

    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "workbench", *args], capture_output=True, text=True, cwd=cwd,
                          env=full_env, timeout=300)


@pytest.fixture
def cli():
    return run_cli
