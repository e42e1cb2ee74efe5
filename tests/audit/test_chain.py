"""Tampering with any one row of a real audit.sqlite is found by verify (property-based)."""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.audit import AuditLog
from workbench.audit.chain import CHAIN_FIELDS, event_hash
from workbench.audit.checkpoint import check_checkpoint, current_checkpoint

N_EVENTS = 12
_COLUMNS = (*CHAIN_FIELDS, "hash")


def _make_log(root: Path) -> AuditLog:
    log = AuditLog(root / "audit.sqlite", root)
    for i in range(N_EVENTS):
        log.record("run.stage" if i % 3 else "lake.ingest", actor=f"user{i % 2}", subject=f"s{i}",
                   run_id=f"r{i // 4}", params={"i": i, "note": "ünïcode ✓"}, data_version=i)
    return log


def _rows(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    cur = conn.execute(f"SELECT {', '.join(_COLUMNS)} FROM events ORDER BY seq")
    return [dict(zip(_COLUMNS, r)) for r in cur]


def _rewrite(path: Path, rows: list[dict[str, Any]]) -> None:
    """What an attacker with write access does: drop the guards and rewrite the table."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("DROP TRIGGER IF EXISTS events_no_delete")
    conn.execute("DROP TRIGGER IF EXISTS events_no_update")
    conn.execute("DELETE FROM events")
    conn.executemany(f"INSERT INTO events ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
                     [tuple(r[c] for c in _COLUMNS) for r in rows])
    conn.close()


def _forge(after: dict[str, Any], seq: int) -> dict[str, Any]:
    row = {**after, "seq": seq, "id": "f" * 32, "kind": "model.approved", "subject": "forged", "prev_hash": after["hash"]}
    row["hash"] = event_hash([row[c] for c in CHAIN_FIELDS])
    return row


tamper = st.one_of(
    st.tuples(st.just("edit"), st.integers(1, N_EVENTS), st.sampled_from(["actor", "ts", "params", "outcome", "kind"])),
    st.tuples(st.just("delete"), st.integers(1, N_EVENTS - 1), st.booleans()),
    st.tuples(st.just("insert"), st.integers(1, N_EVENTS - 1), st.booleans()),
    st.tuples(st.just("swap"), st.integers(1, N_EVENTS - 1), st.integers(1, N_EVENTS - 1)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(op=tamper)
def test_any_single_tampering_is_detected_where_it_happened(op: tuple) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        log = _make_log(root)
        assert log.verify_chain().ok
        rows = _rows(log.conn)
        log.close()
        kind, a, b = op
        if kind == "edit":
            rows[a - 1][b] = rows[a - 1][b] + "x"
            expected = {a}
        elif kind == "delete":
            del rows[a - 1]
            if b:  # renumber the rest so there is no gap
                for r in rows[a - 1:]:
                    r["seq"] -= 1
            expected = {a}
        elif kind == "insert":  # a forged, correctly hashed event after #a; later events renumbered or not
            forged = _forge(rows[a - 1], a + 1)
            if b:
                for r in rows[a:]:
                    r["seq"] += 1
                rows.insert(a, forged)
            else:  # replaces #a+1 outright (not the newest event: that only a checkpoint can vouch for)
                a = min(a, N_EVENTS - 2)
                rows[a] = _forge(rows[a - 1], a + 1)
            expected = {a + 1, a + 2}
        else:
            if a == b:
                b = a + 1
            lo, hi = sorted((a, b))
            first, second = rows[lo - 1], rows[hi - 1]
            rows[lo - 1], rows[hi - 1] = {**second, "seq": lo}, {**first, "seq": hi}
            expected = {lo}
        _rewrite(root / "audit.sqlite", rows)
        with AuditLog(root / "audit.sqlite", root) as tampered:
            result = tampered.verify_chain()
        assert not result.ok, op
        assert result.problem is not None and result.problem.seq in expected, (op, result.problem)


def test_untouched_log_verifies_and_reports_count(tmp_path: Path) -> None:
    with _make_log(tmp_path) as log:
        result = log.verify_chain()
        assert result.ok and result.count == N_EVENTS and result.head_seq == N_EVENTS


def test_triggers_refuse_update_and_delete(tmp_path: Path) -> None:
    import pytest

    with _make_log(tmp_path) as log:
        for sql in ("UPDATE events SET actor = 'mallory' WHERE seq = 3", "DELETE FROM events WHERE seq = 3",
                    "DELETE FROM meta", "UPDATE meta SET value = 'x'"):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                log.conn.execute(sql)


def test_truncation_and_rewritten_history_are_caught_by_a_checkpoint(tmp_path: Path) -> None:
    log = _make_log(tmp_path)
    saved = current_checkpoint(log)
    rows = _rows(log.conn)
    log.close()
    _rewrite(tmp_path / "audit.sqlite", rows[:-2])  # drop the newest two: the rest still chains
    with AuditLog(tmp_path / "audit.sqlite", tmp_path) as log:
        assert log.verify_chain().ok
        check = check_checkpoint(log, saved)
        assert not check.ok and "truncated" in check.message
    # Rewrite the whole history consistently (recomputing every hash): only a checkpoint can tell.
    rows[0]["actor"] = "mallory"
    prev = rows[0]["prev_hash"]
    for r in rows:
        r["prev_hash"] = prev
        r["hash"] = prev = event_hash([r[c] for c in CHAIN_FIELDS])
    _rewrite(tmp_path / "audit.sqlite", rows)
    with AuditLog(tmp_path / "audit.sqlite", tmp_path) as log:
        assert log.verify_chain().ok
        check = check_checkpoint(log, saved)
        assert not check.ok and "rewritten" in check.message


def test_a_long_chain_is_walked_in_two_processes_and_tampering_still_located(tmp_path: Path, monkeypatch) -> None:
    from workbench.audit import parallel

    monkeypatch.setattr(parallel, "PARALLEL_FROM", 50)
    log = AuditLog(tmp_path / "audit.sqlite", tmp_path)
    log.record_many([{"kind": "run.stage", "actor": "a", "params": {"i": i}} for i in range(300)])
    split = parallel.walk_in_two(log.path, 1, "0" * 64, 300, 1)  # the two-process walk itself
    assert split is not None and split.count == 300 and split.head_hash == log.head()[1]
    assert log.verify_chain().count == 300
    log.close()
    rows = _rows(sqlite3.connect(tmp_path / "audit.sqlite"))
    for seq, kind in ((260, "edited"), (40, "edited"), (150, "deleted")):  # second half, first half, the join
        tampered = [dict(r) for r in rows]
        if kind == "edited":
            tampered[seq - 1]["actor"] = "mallory"
        else:
            del tampered[seq - 1]
        _rewrite(tmp_path / "audit.sqlite", tampered)
        with AuditLog(tmp_path / "audit.sqlite", tmp_path) as again:
            assert parallel.walk_in_two(again.path, 1, "0" * 64, again.head()[0], 1) is None
            problem = again.verify_chain().problem
        assert problem is not None and (problem.seq, problem.kind) == (seq, kind), problem
