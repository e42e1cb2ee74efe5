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


def test_an_environment_secret_is_masked_even_where_json_escapes_it(tmp_path: Path, monkeypatch) -> None:
    # The appender skips the value-by-value walk when one scan of the JSON finds nothing secret-looking;
    # a secret holding a quote or a backslash reads differently inside JSON and must still be found.
    monkeypatch.setenv("WAREHOUSE_TOKEN", 'ab"cd\\ef-42')
    with AuditLog(tmp_path / "audit.sqlite") as log:
        log.record("lake.query", actor="a", params={"sql": 'SELECT \'ab"cd\\ef-42\'', "rows": 3})
        log.record("lake.query", actor="a", params={"note": "plain words", "rows": 4})
        first, second = log.events()[1], log.events()[0]
    assert {k: v for k, v in first.params.items() if k != "_who"} == {"sql": "SELECT '***'", "rows": 3}
    assert {k: v for k, v in second.params.items() if k != "_who"} == {"note": "plain words", "rows": 4}
    assert b'cd\\\\ef-42' not in (tmp_path / "audit.sqlite").read_bytes()


def test_a_schema_2_log_stops_indexing_by_trigger_and_indexes_each_event_once(tmp_path: Path) -> None:
    from workbench.audit.log import create_fts

    path = tmp_path / "audit.sqlite"
    with AuditLog(path) as log:
        log.record("lake.ingest", actor="a", subject="penguins")
        # Put the log back the way schema 2 left it: FTS kept by a trigger.
        create_fts(log.conn, trigger=True)
        log.conn.execute("PRAGMA user_version = 2")
    with AuditLog(path) as log:
        assert log.conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'events_fts_insert'").fetchone() is None
        log.record_many([{"kind": "lake.ingest", "actor": "b", "subject": "penguins"},
                         {"kind": "lake.ingest", "actor": "c", "subject": "flights"}])
        assert [e.actor for e in log.search("penguins")] == ["b", "a"]
        hits = log.conn.execute("SELECT count(*) FROM events_fts WHERE events_fts MATCH 'penguins'").fetchone()[0]
        assert hits == 2
        assert log.conn.execute("INSERT INTO events_fts(events_fts, rank) VALUES ('integrity-check', 1)") is not None
