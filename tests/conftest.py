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


def make_ssh_key(folder: Path, name: str = "id_ed25519", comment: str = "workbench-test") -> Path:
    """A real ed25519 key pair made by ssh-keygen (no passphrase); returns the private key's path."""
    folder.mkdir(parents=True, exist_ok=True)
    key = folder / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(key)], check=True)
    return key


@pytest.fixture(scope="session")
def founder_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test account's own signing key: every workspace the tests create enrolls it for the founder."""
    return make_ssh_key(tmp_path_factory.mktemp("founder-ssh"))


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, founder_key: Path) -> None:
    """No test may touch the developer's real demo workspace or inherit their identity or SSH keys: the
    actor is the OS account running the tests, with no display label and no signing key unless a test
    uses another (`founder_key`: the account's own key, enrolled by `init` in every test workspace)."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.delenv("WORKBENCH_HOME", raising=False)
    monkeypatch.delenv("WORKBENCH_USER", raising=False)
    monkeypatch.setenv("WORKBENCH_SIGNING_KEY", str(founder_key))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(home))  # no ~/.ssh keys of the developer's are found


@pytest.fixture(scope="session")
def _sample_template(tmp_path_factory: pytest.TempPathFactory, founder_key: Path) -> Path:
    import os

    root = tmp_path_factory.mktemp("template") / "ws"
    saved = {k: os.environ.pop(k, None) for k in ("WORKBENCH_USER", "SSH_AUTH_SOCK")}
    os.environ["WORKBENCH_SIGNING_KEY"] = str(founder_key)  # session fixtures run before `_isolated_env`
    try:
        init_workspace(root, sample=True, name="sample")
    finally:
        os.environ.update({k: v for k, v in saved.items() if v is not None})
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
