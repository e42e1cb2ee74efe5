from __future__ import annotations

import json
from pathlib import Path

import pytest

from workbench.errors import WorkspaceError
from workbench.workspace import Workspace
from workbench.workspace.create import init_workspace
from workbench.workspace.locate import demo_workspace_dir, locate_workspace


def test_init_creates_every_part(tmp_path: Path, cli) -> None:
    result = cli("init", str(tmp_path / "w"))
    assert result.returncode == 0, result.stderr
    root = tmp_path / "w"
    assert (root / "workbench.toml").is_file()
    assert (root / "audit.sqlite").is_file()
    assert (root / "artifacts").is_dir()
    assert (root / "lake" / "catalog.sqlite").is_file()
    tables = cli("-w", str(root), "lake", "tables", "--json")
    assert tables.returncode == 0 and json.loads(tables.stdout) == []


def test_init_sample_loads_the_sample_tables(sample_workspace: Workspace, cli) -> None:
    out = cli("-w", str(sample_workspace.root), "lake", "tables", "--json")
    tables = {t["name"]: t for t in json.loads(out.stdout)}
    assert set(tables) == {"airlines", "airports", "planes", "weather", "flights", "penguins"}
    assert tables["flights"]["row_count"] == 336_776
    assert tables["penguins"]["row_count"] == 344
    assert all(t["version"] == 1 and len(t["fingerprint"]) == 64 for t in tables.values())


def test_init_refuses_an_existing_workspace(empty_workspace: Workspace, cli) -> None:
    before = (empty_workspace.root / "workbench.toml").read_text()
    result = cli("init", str(empty_workspace.root))
    assert result.returncode == 2
    assert "already a workspace" in result.stderr
    assert "Traceback" not in result.stderr
    assert (empty_workspace.root / "workbench.toml").read_text() == before


def test_locate_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a = init_workspace(tmp_path / "a")
    b = init_workspace(tmp_path / "b")
    c = init_workspace(tmp_path / "c")
    monkeypatch.chdir(c.root)
    assert locate_workspace().workspace.root == c.root
    monkeypatch.setenv("WORKBENCH_HOME", str(b.root))
    assert locate_workspace().workspace.root == b.root
    assert locate_workspace(a.root).workspace.root == a.root
    with pytest.raises(WorkspaceError, match="not a workspace"):
        locate_workspace(tmp_path / "nowhere")


def test_demo_workspace_is_created_in_the_user_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("lake", "tables", "--json")
    assert result.returncode == 0, result.stderr
    demo = demo_workspace_dir()
    assert str(demo).startswith(str(tmp_path / "xdg-data"))
    assert f"Created the demo workspace with the sample lake at {demo}" in result.stderr
    assert {t["name"] for t in json.loads(result.stdout)} >= {"flights", "penguins"}
    again = cli("lake", "tables")
    assert "Created" not in again.stderr


def test_settings_reject_unknown_keys(empty_workspace: Workspace, cli) -> None:
    path = empty_workspace.settings_path
    path.write_text(path.read_text().replace('data_path = "lake/data"', 'data_path = "lake/data"\nbogus = 1'))
    result = cli("-w", str(empty_workspace.root), "lake", "tables")
    assert result.returncode == 2
    assert "unknown key 'bogus'" in result.stderr


def test_actor_rule(empty_workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """The actor is the OS account; WORKBENCH_USER is a label unless the workspace declares identities."""
    from workbench.identity import os_login

    monkeypatch.setenv("WORKBENCH_USER", "alice")
    assert empty_workspace.actor == os_login() and empty_workspace.identity.label == "alice"
    path = empty_workspace.settings_path
    path.write_text(path.read_text() + '\n[governance]\nidentity = "declared"\n')
    assert Workspace.load(empty_workspace.root).actor == "alice"
