"""The audit log's CLI and storage, on real files: migration, secrets, verify, checkpoints, search, export, archive."""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, SPECS
from workbench.audit import AuditLog
from workbench.audit.log import SCHEMA_VERSION
from workbench.workspace import Workspace

# `init` writes workspace.init, the founder's key.added and the first governance.policy_adopted.
INIT_EVENTS = 3


def _old_log_module(tmp_path: Path):
    """The schema-1 AuditLog as it shipped on main, to write a log the way old versions did."""
    source = subprocess.run(["git", "-C", str(REPO), "show", "db4f24a:workbench/audit/log.py"],
                            capture_output=True, text=True, check=True).stdout
    path = tmp_path / "old_log.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("old_audit_log", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["old_audit_log"] = module
    spec.loader.exec_module(module)
    return module


def test_schema_1_log_migrates_and_keeps_verifying(tmp_path: Path) -> None:
    old = _old_log_module(tmp_path)
    log = old.AuditLog(tmp_path / "audit.sqlite", tmp_path)
    for i in range(5):
        log.record("lake.ingest", actor="old", subject=f"t{i}", params={"rows": i})
    assert log.verify()[0]
    log.close()
    with AuditLog(tmp_path / "audit.sqlite", tmp_path) as new:
        assert new.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        new.record("run.queued", actor="new", subject="after-upgrade")
        result = new.verify_chain()
        assert result.ok and result.count == 6, result.summary
        assert [e.subject for e in new.search("t3")] == ["t3"]  # old events are indexed too
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            new.conn.execute("DELETE FROM events WHERE seq = 1")
    # tampering with a schema-1 row is still found
    conn = sqlite3.connect(tmp_path / "audit.sqlite")
    conn.execute("DROP TRIGGER events_no_update")
    conn.execute("UPDATE events SET actor = 'mallory' WHERE seq = 2")
    conn.commit()
    conn.close()
    with AuditLog(tmp_path / "audit.sqlite", tmp_path) as new:
        problem = new.verify_chain().problem
        assert problem is not None and problem.seq == 2 and problem.kind == "edited"


def _all_bytes(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in root.glob("audit.sqlite*"))


def test_secrets_in_a_spec_or_the_environment_never_reach_the_log(sample_workspace: Workspace, cli, tmp_path: Path) -> None:
    spec = tmp_path / "leaky.toml"
    spec.write_text(
        'name = "leaky"\n'
        'description = "token=SpecToken4242 and EnvSecretValue123 postgres://bob:UrlPassw0rd@db/x"\n'
        'target = "species"\ncandidates = ["linear"]\nmax_trials = 2\ncv_folds = 3\n'
        "[data]\nquery = \"SELECT * FROM penguins WHERE 'password=QuerySecret99' <> ''\"\n"
    )
    env = {"AWS_SECRET_ACCESS_KEY": "EnvSecretValue123", "MY_API_TOKEN": "EnvTokenValue456"}
    result = cli("-w", str(sample_workspace.root), "batch", "-q", str(spec), env=env)
    assert result.returncode == 0, result.stderr
    shown = cli("-w", str(sample_workspace.root), "runs", "list", "--json", env=env)
    assert "***" in shown.stdout
    conn = sqlite3.connect(sample_workspace.audit_path)
    conn.execute("PRAGMA wal_checkpoint(FULL)")
    conn.close()
    data = _all_bytes(sample_workspace.root)
    assert b"leaky" in data  # the run is there…
    for secret in (b"SpecToken4242", b"EnvSecretValue123", b"UrlPassw0rd", b"QuerySecret99"):
        assert secret not in data, secret  # …its secrets are not
    assert not list((sample_workspace.state_dir / "runs").glob("*.spec.json")) if (sample_workspace.state_dir / "runs").exists() else True


def _ws_log(ws: Workspace) -> AuditLog:
    return AuditLog(ws.audit_path, ws.root)


def test_verify_and_checkpoint_cli(empty_workspace: Workspace, cli, tmp_path: Path) -> None:
    root = str(empty_workspace.root)
    with _ws_log(empty_workspace) as log:
        for i in range(5):
            log.record("settings.changed", actor="alice", subject=f"k{i}")
    ok = cli("-w", root, "audit", "verify")
    assert ok.returncode == 0 and ok.stdout.startswith("OK"), ok.stdout + ok.stderr
    cp = tmp_path / "head.checkpoint"
    assert cli("-w", root, "audit", "checkpoint", "-o", str(cp)).returncode == 0
    lines = cp.read_text().splitlines()
    assert lines[0].startswith("workbench.audit/") and lines[1] == str(INIT_EVENTS + 5)
    with _ws_log(empty_workspace) as log:
        log.record("settings.changed", actor="alice", subject="later")
    extends = cli("-w", root, "audit", "verify", "--checkpoint", str(cp), "--json")
    assert extends.returncode == 0 and json.loads(extends.stdout)["checkpoint"]["ok"]
    conn = sqlite3.connect(empty_workspace.audit_path)
    conn.execute("DROP TRIGGER events_no_update")
    conn.execute("UPDATE events SET subject = 'k9' WHERE seq = 4")
    conn.commit()
    conn.close()
    broken = cli("-w", root, "audit", "verify")
    assert broken.returncode == 1 and "#4" in broken.stdout and "edited" in broken.stdout
    bad = tmp_path / "bad.checkpoint"
    bad.write_text("hello\n")
    assert cli("-w", root, "audit", "verify", "--checkpoint", str(bad)).returncode == 2


def test_search_filters_and_bad_dates(empty_workspace: Workspace, cli) -> None:
    root = str(empty_workspace.root)
    with _ws_log(empty_workspace) as log:
        log.record("model.approved", actor="alice", subject="churn", run_id="r-1", params={"comment": "looks calibrated"})
        log.record("model.rejected", actor="bob", subject="churn", run_id="r-2", params={"comment": "leaky feature"})
        log.record("lake.ingest", actor="bob", subject="flights", params={"source": "flights.parquet"})
    def seqs(*args: str) -> list[str]:
        out = cli("-w", root, "audit", "search", *args, "--json")
        assert out.returncode == 0, out.stderr
        return [e["subject"] + ":" + e["actor"] for e in json.loads(out.stdout)]
    assert seqs("calibrated") == ["churn:alice"]
    assert seqs("churn") == ["churn:bob", "churn:alice"]
    assert seqs("churn", "--actor", "alice") == ["churn:alice"]
    assert seqs("--kind", "model") == ["churn:bob", "churn:alice"]
    assert seqs("--run", "r-2") == ["churn:bob"]
    assert seqs("flights.parquet") == ["flights:bob"]  # not FTS5 syntax: searched as a phrase
    assert seqs("churn", "--until", "2000-01-01") == []
    assert len(seqs("--since", "2000-01-01")) == 3 + INIT_EVENTS
    bad = cli("-w", root, "audit", "search", "x", "--since", "yesterday")
    assert bad.returncode == 2 and "not a date" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_export_bundle(empty_workspace: Workspace, cli, tmp_path: Path, fmt: str) -> None:
    root = str(empty_workspace.root)
    with _ws_log(empty_workspace) as log:
        for i in range(3):
            log.record("run.queued", actor="alice", run_id=f"r{i}", params={"i": i})
    out = tmp_path / "bundle"
    result = cli("-w", root, "audit", "export", "--format", fmt, str(out))
    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["events"] == 3 + INIT_EVENTS and manifest["chain_ok"]
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest
    events = out / f"events.{fmt}"
    if fmt == "jsonl":
        rows = [json.loads(line) for line in events.read_text().splitlines()]
    elif fmt == "csv":
        rows = list(csv.DictReader(events.open()))
    else:
        import pyarrow.parquet as pq
        rows = pq.read_table(events).to_pylist()
    assert [str(r["seq"]) for r in rows] == [str(i) for i in range(1, 4 + INIT_EVENTS)]
    assert (out / "checkpoint.txt").read_text().splitlines()[1] == str(3 + INIT_EVENTS)
    again = cli("-w", root, "audit", "export", "--format", fmt, str(out))
    assert again.returncode == 2 and "already exists" in again.stderr
    with _ws_log(empty_workspace) as log:
        assert log.events(kind="audit.exported")  # exporting is itself recorded


def test_archive_keeps_the_chain_verifiable(empty_workspace: Workspace, cli) -> None:
    root = str(empty_workspace.root)
    with _ws_log(empty_workspace) as log:
        log.record_many([{"kind": "run.stage", "actor": "a", "subject": f"s{i}"} for i in range(30)])
    first = cli("-w", root, "audit", "archive", "--keep", "10")
    assert first.returncode == 0, first.stderr
    with _ws_log(empty_workspace) as log:
        log.record_many([{"kind": "run.stage", "actor": "a", "subject": f"t{i}"} for i in range(5)])
    assert cli("-w", root, "audit", "archive", "--keep", "3").returncode == 0
    verified = cli("-w", root, "audit", "verify", "--json")
    result = json.loads(verified.stdout)
    assert verified.returncode == 0 and result["archives"] == 2 and result["count"] == result["head_seq"] == 37 + INIT_EVENTS
    files = sorted((empty_workspace.root / "audit-archive").glob("*.sqlite"))
    assert len(files) == 2 and not os.access(files[0], os.W_OK) or os.geteuid() == 0
    with _ws_log(empty_workspace) as log:
        assert log.conn.execute("SELECT count(*) FROM events").fetchone()[0] == 4
        assert log.search("s5") == []  # archived events leave the live index
    os.chmod(files[0], 0o644)
    conn = sqlite3.connect(files[0])
    conn.execute("DROP TRIGGER events_no_update")
    conn.execute("UPDATE events SET actor = 'mallory' WHERE seq = 3")
    conn.commit()
    conn.close()
    broken = cli("-w", root, "audit", "verify")
    assert broken.returncode == 1 and "modified" in broken.stdout
    nothing = cli("-w", root, "audit", "archive", "--keep", "100")
    assert nothing.returncode == 2


def test_search_reaches_into_archives(empty_workspace: Workspace, cli) -> None:
    root = str(empty_workspace.root)
    with _ws_log(empty_workspace) as log:
        log.record_many([{"kind": "model.promoted", "actor": "alice", "subject": f"churn-{i}",
                          "params": {"reason": "quarterly refresh" if i % 2 else "hotfix"}} for i in range(20)])
    assert cli("-w", root, "audit", "archive", "--keep", "5").returncode == 0
    with _ws_log(empty_workspace) as log:
        log.record("model.promoted", actor="bob", subject="churn-live", params={"reason": "quarterly refresh"})
    live = json.loads(cli("-w", root, "audit", "search", "quarterly", "--json").stdout)
    both = json.loads(cli("-w", root, "audit", "search", "quarterly", "--archives", "--json").stdout)
    assert {e["subject"] for e in live} == {"churn-15", "churn-17", "churn-19", "churn-live"}
    assert [e["subject"] for e in both] == ["churn-live"] + [f"churn-{i}" for i in range(19, 0, -2)]  # newest first
    filtered = json.loads(cli("-w", root, "audit", "search", "--archives", "--actor", "alice", "--limit", "3",
                              "--json").stdout)
    assert [e["subject"] for e in filtered] == ["churn-19", "churn-18", "churn-17"]
    ranked = json.loads(cli("-w", root, "audit", "search", "hotfix", "--archives", "--rank", "--json").stdout)
    assert {e["subject"] for e in ranked} == {f"churn-{i}" for i in range(0, 20, 2)}
    # An archive written before archives carried their own index is still searched, and left untouched.
    [archive] = (empty_workspace.root / "audit-archive").glob("*.sqlite")
    os.chmod(archive, 0o644)
    conn = sqlite3.connect(archive)
    conn.execute("DROP TABLE events_fts")
    conn.commit()
    conn.close()
    old = json.loads(cli("-w", root, "audit", "search", "hotfix", "--archives", "--json").stdout)
    assert len(old) == 10


def test_tail_follow_prints_new_events(empty_workspace: Workspace) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "-w", str(empty_workspace.root), "audit", "tail", "-f", "--json"],
                            stdout=subprocess.PIPE, text=True, env={**os.environ})
    try:
        shown = [json.loads(proc.stdout.readline())["kind"] for _ in range(INIT_EVENTS)]
        assert shown == ["workspace.init", "key.added", "governance.policy_adopted"]
        with _ws_log(empty_workspace) as log:
            log.record("model.promoted", actor="carol", subject="churn v3")
        assert json.loads(proc.stdout.readline())["subject"] == "churn v3"
    finally:
        proc.kill()
        proc.wait()
