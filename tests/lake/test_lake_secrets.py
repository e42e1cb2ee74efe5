"""A secret from the environment, typed into lake SQL, is stored nowhere under the workspace in the clear."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.lake.sql_history import add_history, load_history
from workbench.workspace import Workspace

SECRET = "wb-s3cr3t-7f1c2a9d"


def test_secrets_in_lake_sql_are_redacted_everywhere(sample_workspace: Workspace, tmp_path: Path, cli,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WB_TEST_TOKEN", SECRET)  # a name redact.py treats as secret
    ws = sample_workspace
    w = str(ws.root)
    where = f"island <> '{SECRET}'"
    out = cli("-w", w, "lake", "sql", "--write", f"CREATE TABLE kept AS SELECT species, island FROM penguins WHERE {where}")
    assert out.returncode == 0, out.stderr
    assert cli("-w", w, "lake", "sql", f"SELECT count(*) FROM penguins WHERE {where}").returncode == 0
    assert cli("-w", w, "lake", "sql", f"SELECT nope FROM penguins WHERE {where}").returncode == 2  # failed: kept too
    out = cli("-w", w, "lake", "export", "--query", f"SELECT species FROM penguins WHERE {where}", str(tmp_path / "x.csv"))
    assert out.returncode == 0, out.stderr
    add_history(ws, f"SELECT * FROM kept WHERE {where}", ok=True)  # what the TUI console records
    versions = cli("-w", w, "lake", "versions", "kept", "--json")
    assert SECRET not in versions.stdout and "***" in versions.stdout
    assert all(SECRET not in e.sql for e in load_history(ws))

    leaks = [p for p in ws.root.rglob("*") if p.is_file() and SECRET.encode() in p.read_bytes()]
    assert leaks == []
