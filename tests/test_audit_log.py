from __future__ import annotations

import sqlite3
from pathlib import Path

from workbench.audit import AuditLog


def test_chain_verifies_and_detects_edits_and_deletes(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite"
    with AuditLog(path) as log:
        for i in range(5):
            log.record("test.event", actor="a", subject=f"s{i}", params={"i": i})
        ok, summary = log.verify()
        assert ok and summary.startswith("5 events verified")
    con = sqlite3.connect(path)
    con.execute("DROP TRIGGER IF EXISTS events_no_update")  # the guard stops mistakes, the chain stops forgers
    con.execute("UPDATE events SET subject = 'forged' WHERE seq = 3")
    con.commit()
    con.close()
    with AuditLog(path) as log:
        ok, where = log.verify()
        assert not ok and "#3" in where


def test_deleting_an_event_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite"
    with AuditLog(path) as log:
        for i in range(4):
            log.record("test.event", actor="a", params={"i": i})
    con = sqlite3.connect(path)
    con.execute("DROP TRIGGER IF EXISTS events_no_delete")
    con.execute("DELETE FROM events WHERE seq = 2")
    con.commit()
    con.close()
    with AuditLog(path) as log:
        ok, where = log.verify()
        assert not ok and "#2" in where


def test_secrets_are_redacted(tmp_path: Path) -> None:
    with AuditLog(tmp_path / "audit.sqlite") as log:
        log.record("plugin.loaded", actor="a", params={"endpoint": "http://127.0.0.1:9000",
                                                       "aws_secret_access_key": "hunter2", "nested": {"password": "pw"}})
        event = log.events()[0]
    raw = (tmp_path / "audit.sqlite").read_bytes()
    assert b"hunter2" not in raw and b'"pw"' not in raw
    assert event.params["endpoint"] == "http://127.0.0.1:9000"
    assert event.params["aws_secret_access_key"] == "***"
