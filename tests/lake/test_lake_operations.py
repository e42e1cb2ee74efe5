"""Writes happen only in audited core operations: the event before the commit, one writer at a time, and
what a killed writer leaves behind cleaned up (audited) by the next one."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from workbench.lake import open_lake
from workbench.lake.catalog import list_tables, table_versions
from workbench.workspace import Workspace


def _events(ws: Workspace, kind: str) -> list[dict]:
    con = sqlite3.connect(f"file:{ws.audit_path}?mode=ro", uri=True)
    try:
        rows = con.execute("SELECT subject, data_version, fingerprint, params FROM events WHERE kind = ? ORDER BY seq",
                           [kind]).fetchall()
    finally:
        con.close()
    return [{"subject": s, "data_version": v, "fingerprint": f, "params": json.loads(p or "{}")} for s, v, f, p in rows]


def _csv(path: Path, rows: int, value: int = 0) -> Path:
    path.write_text("k,v\n" + "".join(f"{i},{value}\n" for i in range(rows)))
    return path


def test_the_event_carries_the_write_id_the_snapshot_carries(empty_workspace: Workspace, tmp_path: Path, cli) -> None:
    ws = empty_workspace
    out = cli("-w", str(ws.root), "lake", "ingest", str(_csv(tmp_path / "t.csv", 10)))
    assert out.returncode == 0, out.stderr
    [event] = _events(ws, "lake.ingest")
    con = sqlite3.connect(ws.lake_catalog)
    extra = json.loads(con.execute("SELECT commit_extra_info FROM ducklake_snapshot_changes "
                                   "WHERE commit_extra_info IS NOT NULL").fetchone()[0])
    con.close()
    [entry] = extra["tables"]
    assert event["params"]["write_id"] == entry["write_id"]
    assert (event["subject"], event["data_version"], event["fingerprint"]) == ("t", 1, entry["fingerprint"])


def test_a_damaged_audit_log_leaves_the_lake_unchanged(empty_workspace: Workspace, tmp_path: Path, cli) -> None:
    ws = empty_workspace
    ws.audit_path.write_bytes(b"this is not a database" * 100)
    for suffix in ("-wal", "-shm"):
        Path(str(ws.audit_path) + suffix).unlink(missing_ok=True)
    out = cli("-w", str(ws.root), "lake", "ingest", str(_csv(tmp_path / "t.csv", 10)))
    assert out.returncode == 1
    assert "nothing was changed" in out.stderr and "Traceback" not in out.stderr
    with open_lake(ws, read_only=True) as lake:
        assert list_tables(lake) == []


WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from workbench.workspace import Workspace
    from workbench.lake import open_lake
    from workbench.lake.operations import ingest
    ws = Workspace.load(Path(sys.argv[1]))
    with open_lake(ws) as lake:
        print(ingest(lake, [Path(sys.argv[2])], table="t", replace=True)[0].version)
""")


def test_two_processes_ingesting_into_one_table_both_succeed(empty_workspace: Workspace, tmp_path: Path) -> None:
    ws = empty_workspace
    files = [_csv(tmp_path / f"t{i}.csv", 200_000, i) for i in range(2)]
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(ws.root), str(f)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for f in files]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1] for o in outs]
    assert sorted(int(o[0]) for o in outs) == [1, 2]
    with open_lake(ws, read_only=True) as lake:
        assert [v.version for v in table_versions(lake, "t")] == [1, 2]
    assert sorted(e["data_version"] for e in _events(ws, "lake.ingest")) == [1, 2]


KILLED = textwrap.dedent("""
    import sys
    from pathlib import Path
    from workbench.workspace import Workspace
    from workbench.lake import open_lake
    from workbench.lake.operations import ingest
    ws = Workspace.load(Path(sys.argv[1]))
    with open_lake(ws) as lake:
        ingest(lake, [Path(sys.argv[2])], table="big")
""")


def test_files_left_by_a_killed_ingest_are_cleaned_up_and_audited(empty_workspace: Workspace, tmp_path: Path,
                                                                   cli) -> None:
    ws = empty_workspace
    big = tmp_path / "big.csv"
    duckdb.sql(f"COPY (SELECT range AS k, range % 97 AS v, md5(range::VARCHAR) AS s FROM range(6000000)) "
               f"TO '{big}' (HEADER)")
    proc = subprocess.Popen([sys.executable, "-c", KILLED, str(ws.root), str(big)])
    deadline = time.monotonic() + 300
    while not list(ws.lake_data.rglob("*.parquet")):
        assert proc.poll() is None, "the ingest finished before a data file appeared"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    orphans = sorted(ws.lake_data.rglob("*.parquet"))
    assert orphans
    dry = cli("-w", str(ws.root), "lake", "cleanup", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    assert len(json.loads(dry.stdout)["files"]) == len(orphans)
    assert not _events(ws, "lake.cleanup")

    out = cli("-w", str(ws.root), "lake", "ingest", str(_csv(tmp_path / "small.csv", 5)))  # cleans up first
    assert out.returncode == 0, out.stderr
    [event] = _events(ws, "lake.cleanup")
    assert sorted(event["params"]["files"]) == sorted(str(p.relative_to(ws.lake_data)) for p in orphans)
    assert event["params"]["automatic"] is True
    assert not any(p.exists() for p in orphans)
    assert not {p.parent for p in orphans} & {d for d in ws.lake_data.rglob("*") if d.is_dir()}  # their folders too
    with open_lake(ws, read_only=True) as lake:
        assert [t.name for t in list_tables(lake)] == ["small"]
        assert lake.cursor().execute("SELECT count(*) FROM small").fetchone() == (5,)
    again = cli("-w", str(ws.root), "lake", "cleanup", "--json")
    assert again.returncode == 0 and json.loads(again.stdout)["files"] == []
    assert len(_events(ws, "lake.cleanup")) == 1  # nothing to remove: no event


def test_cleanup_never_removes_a_referenced_file(empty_workspace: Workspace, tmp_path: Path, cli) -> None:
    ws = empty_workspace
    for i in range(2):
        assert cli("-w", str(ws.root), "lake", "ingest", "--replace", "--table", "t",
                   str(_csv(tmp_path / "t.csv", 20_000, i))).returncode == 0
    files = sorted(ws.lake_data.rglob("*.parquet"))
    out = cli("-w", str(ws.root), "lake", "cleanup", "--json")
    assert out.returncode == 0 and json.loads(out.stdout)["files"] == []
    assert sorted(ws.lake_data.rglob("*.parquet")) == files
    with open_lake(ws, read_only=True) as lake:
        assert lake.cursor().execute(f"SELECT count(*) FROM t AT (VERSION => {table_versions(lake, 't')[0].snapshot_id})"
                                     ).fetchone() == (20_000,)


def test_shells_write_no_lake_events_of_their_own() -> None:
    """The CLI and TUI modules call operations; none of them records an event."""
    root = Path(__file__).resolve().parents[2] / "workbench"
    for rel in ("cli/lake.py", "tui/lake/dialogs.py", "tui/lake/sql_console.py", "tui/panes/lake.py"):
        text = (root / rel).read_text(encoding="utf-8")
        assert "AuditLog" not in text and ".record(" not in text, rel


def test_a_commit_that_fails_after_its_event_is_audited_as_failed(empty_workspace: Workspace, tmp_path: Path,
                                                                  monkeypatch) -> None:
    """Someone writes behind the lock between our event and our COMMIT: the commit conflicts, and the log
    says so with a `lake.write_failed` naming the write_id, so `check_lake` does not report the event."""
    from workbench.errors import LakeWriteError
    from workbench.lake import operations
    from workbench.lake.engine import connect
    from workbench.lake.integrity import check_lake

    ws = empty_workspace
    real = operations._record_or_refuse

    def record_then_interfere(workspace, events, what):  # type: ignore[no-untyped-def]
        real(workspace, events, what)
        con = connect(workspace)
        try:
            con.execute("CREATE TABLE t AS SELECT 1 AS k")
        finally:
            con.close()

    monkeypatch.setattr(operations, "_record_or_refuse", record_then_interfere)
    with open_lake(ws) as lake, pytest.raises(LakeWriteError, match="audited as failed"):
        operations.ingest(lake, [_csv(tmp_path / "t.csv", 10)], table="t")
    [announced] = _events(ws, "lake.ingest")
    [failed] = _events(ws, "lake.write_failed")
    assert failed["params"]["write_id"] == announced["params"]["write_id"]
    assert [f.kind for f in check_lake(ws)] == ["lake.snapshot"]  # only the write made behind Workbench's back
