"""The verify fast path hashes SQLite's json_array() text instead of re-encoding in Python: it must be the
v2 encoding byte for byte, for every kind of value an event holds, or the fast path would disagree."""

from __future__ import annotations

import sqlite3

from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.audit.chain import CHAIN_FIELDS, canonical_bytes

_value = st.one_of(st.none(), st.integers(min_value=-(2**63), max_value=2**63 - 1), st.text())


@settings(max_examples=400, deadline=None)
@given(st.lists(_value, min_size=len(CHAIN_FIELDS), max_size=len(CHAIN_FIELDS)))
def test_sqlite_json_array_is_the_v2_encoding(values: list) -> None:
    con = sqlite3.connect(":memory:")
    try:
        text = con.execute(f"SELECT json_array({', '.join('?' * len(values))})", values).fetchone()[0]
    finally:
        con.close()
    assert text.encode("utf-8") == canonical_bytes(values)


def test_an_edited_event_is_still_named_exactly(tmp_path) -> None:
    from workbench.audit import AuditLog

    with AuditLog(tmp_path / "audit.sqlite") as log:
        log.record_many([{"kind": "note", "actor": "a", "subject": f"s{i}"} for i in range(50)])
    con = sqlite3.connect(tmp_path / "audit.sqlite")
    con.execute("DROP TRIGGER events_no_update")
    con.execute("UPDATE events SET subject = 'forged' WHERE seq = 17")
    con.commit()
    con.close()
    with AuditLog(tmp_path / "audit.sqlite") as log:
        result = log.verify_chain()
    assert not result.ok and result.problem.seq == 17 and result.problem.kind == "edited"
