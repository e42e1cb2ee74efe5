"""`check_lake`: the lake's snapshots against the audit log's lake events, both ways."""

from __future__ import annotations

from pathlib import Path

from workbench.audit import AuditLog
from workbench.lake import open_lake
from workbench.lake.engine import connect
from workbench.lake.integrity import check_lake
from workbench.workspace import Workspace



def train(ws: Workspace) -> str:
    """A small real run on the sample penguins (as `tests/registry/registry_fixtures.py` does)."""
    from workbench.pipeline.spec import parse_spec
    from workbench.runs.batch import run_spec

    raw = {"name": "penguin_species", "target": "species", "metric": "log_loss", "holdout": 0.25, "seed": 7,
           "candidates": ["linear"], "max_trials": 3, "data": {"table": "penguins"}}
    return run_spec(ws, parse_spec(raw)).run_id


def _csv(path: Path, rows: int, value: int = 0) -> Path:
    path.write_text("k,v\n" + "".join(f"{i},{value}\n" for i in range(rows)))
    return path


def test_a_normal_workspace_has_no_findings(sample_workspace: Workspace, tmp_path: Path, cli) -> None:
    from workbench.registry.register import register_run

    ws = sample_workspace
    w = str(ws.root)
    for i in range(3):
        assert cli("-w", w, "lake", "ingest", "--replace", "--table", "t", str(_csv(tmp_path / "t.csv", 50, i))).returncode == 0
    assert cli("-w", w, "lake", "sql", "--write", "CREATE TABLE t2 AS SELECT k FROM t WHERE k < 5").returncode == 0
    assert cli("-w", w, "lake", "prune", "t", "--keep", "1").returncode == 0
    register_run(ws, train(ws), name="species")
    out = cli("-w", w, "models", "predict", "species:1", "--table", "penguins", "--into", "scored")
    assert out.returncode == 0, out.stderr
    assert check_lake(ws) == []


def test_a_snapshot_made_behind_workbenchs_back_is_a_finding(sample_workspace: Workspace) -> None:
    con = connect(sample_workspace)  # raw DuckDB on the lake: no Workbench metadata, no event
    try:
        con.execute("INSERT INTO penguins SELECT * FROM penguins LIMIT 1")
    finally:
        con.close()
    [finding] = check_lake(sample_workspace)
    assert (finding.kind, finding.table) == ("lake.snapshot", "lake")
    assert "changed table penguins with no audit event" in finding.message


def test_an_event_whose_version_does_not_exist_is_a_finding(sample_workspace: Workspace) -> None:
    with AuditLog(sample_workspace.audit_path, sample_workspace.root) as log:
        log.record("lake.ingest", actor="mallory", subject="penguins", data_version=9, fingerprint="f" * 64,
                   params={"source": "forged.csv", "write_id": "w1"})
    [finding] = check_lake(sample_workspace)
    assert (finding.kind, finding.key) == ("lake.event", "penguins@9")


def test_a_failed_write_and_a_pruned_version_are_not_findings(sample_workspace: Workspace, tmp_path: Path) -> None:
    ws = sample_workspace
    with AuditLog(ws.audit_path, ws.root) as log:
        log.record("lake.sql_write", actor="a", subject="gone", data_version=1, fingerprint="e" * 64,
                   params={"write_id": "w-failed"})
        log.record("lake.write_failed", actor="a", subject="gone", params={"write_id": "w-failed"})
    assert check_lake(ws) == []


def test_a_version_whose_event_was_lost_is_a_finding(sample_workspace: Workspace, tmp_path: Path) -> None:
    """A commit that carries Workbench metadata but whose event is missing (written behind the log's back)."""
    import json

    ws = sample_workspace
    with open_lake(ws) as lake:
        cur = lake.cursor()
        cur.execute("BEGIN TRANSACTION")
        cur.execute("CREATE TABLE sneaky AS SELECT 1 AS x")
        cur.execute("CALL lake.set_commit_message('mallory', 'x', extra_info => ?)",
                    [json.dumps({"workbench": 1, "tables": [{"table": "sneaky", "version": 1, "fingerprint": "0"}]})])
        cur.execute("COMMIT")
    [finding] = check_lake(ws)
    assert (finding.kind, finding.key) == ("lake.snapshot", "sneaky@1")
