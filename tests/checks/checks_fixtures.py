"""Fixtures of the checks tests: a workspace with a small real lake table fed by a declared source folder.

Not a conftest.py: a second `conftest` module would shadow tests/conftest.py for `from conftest import ...`;
test modules import the fixtures they use from here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from workbench.workspace import Workspace

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # the injected clock of every freshness check

GOOD_ROWS = """id,station,temp,observed_at
1,north,12.5,2026-12-01 08:00:00
2,south,14.0,2026-12-01 09:00:00
3,north,11.0,2026-12-01 10:00:00
4,east,,2026-12-01 11:00:00
"""


def write_expectations(ws: Workspace, table: str, text: str) -> Path:
    path = ws.root / "expectations" / f"{table}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def readings_ws(empty_workspace: Workspace) -> Workspace:
    """An empty workspace with `incoming/` and a source `readings` declared on it (no version yet)."""
    from workbench.sources.declare import add_source

    ws = empty_workspace
    (ws.root / "incoming").mkdir()
    (ws.root / "incoming" / "day1.csv").write_text(GOOD_ROWS, encoding="utf-8")
    add_source(ws, "readings", "readings", path="incoming/*.csv")
    return ws


def events(ws: Workspace, kind: str) -> list:
    from workbench.audit import AuditLog

    with AuditLog(ws.audit_path, ws.root) as log:
        return log.events(kind=kind)


def event_count(ws: Workspace) -> int:
    import sqlite3

    con = sqlite3.connect(ws.audit_path)
    try:
        return con.execute("SELECT count(*) FROM events").fetchone()[0]
    finally:
        con.close()
