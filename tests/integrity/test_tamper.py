"""What a teammate with file access would try, and what each attempt must meet: a refusal where the
tampered row is used, a `workbench audit verify` finding, and nothing else changed.

One real workspace (sample lake, a real run, a registered model with an approved champion) is built
per module; each test attacks its own copy with raw SQLite edits that drop no trigger.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import sqlite3
from pathlib import Path

import pytest
from conftest import run_cli

from workbench.errors import IntegrityError
from workbench.workspace import Workspace

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def _champion_template(_sample_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace where alice trained, registered and asked for `species:1` as champion, and bob approved."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "registry"))
    from registry_fixtures import train  # type: ignore[import-not-found]

    from workbench.registry.promotion import approve_request, request_promotion
    from workbench.registry.refs import parse_ref
    from workbench.registry.register import register_run

    root = tmp_path_factory.mktemp("tamper") / "ws"
    shutil.copytree(_sample_template, root)
    from registry_fixtures import declared_team  # type: ignore[import-not-found]

    declared_team(Workspace.load(root))  # alice and bob are played by declared name on one OS account
    old = os.environ.get("WORKBENCH_USER")
    try:
        os.environ["WORKBENCH_USER"] = "alice"
        ws = Workspace.load(root)
        register_run(ws, train(ws, seed=7), name="species")
        register_run(ws, train(ws, seed=11), name="species")
        request = request_promotion(ws, parse_ref("species:1"), "champion", "first model")
        os.environ["WORKBENCH_USER"] = "bob"
        approve_request(Workspace.load(root), request["id"])
    finally:
        if old is None:
            os.environ.pop("WORKBENCH_USER", None)
        else:
            os.environ["WORKBENCH_USER"] = old
    return root


@pytest.fixture
def ws(_champion_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    root = tmp_path / "ws"
    shutil.copytree(_champion_template, root)
    monkeypatch.setenv("WORKBENCH_USER", "alice")
    return Workspace.load(root)


def _sql(path: Path, statement: str, args: tuple = ()) -> None:
    con = sqlite3.connect(path)
    try:
        con.execute(statement, args)
        con.commit()
    finally:
        con.close()


def _verify(ws: Workspace) -> tuple[int, dict]:
    out = run_cli("-w", str(ws.root), "audit", "verify", "--json")
    return out.returncode, json.loads(out.stdout) if out.stdout.strip() else {}


def _kinds(report: dict) -> set[str]:
    return {f["kind"] for f in report.get("findings", [])}


def _events(ws: Workspace) -> int:
    con = sqlite3.connect(ws.audit_path)
    try:
        return con.execute("SELECT max(seq) FROM events").fetchone()[0]
    finally:
        con.close()


def test_an_untouched_workspace_verifies(ws: Workspace) -> None:
    code, report = _verify(ws)
    assert code == 0 and report["ok"], report
    assert report["checked"]["runs"] == 2 and report["checked"]["artifacts"] >= 4


def test_a_runs_row_pointed_at_an_attackers_pickle_is_never_loaded(ws: Workspace, tmp_path: Path) -> None:
    from workbench.registry.register import register_run

    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):  # what unpickling would run
            return (Path.touch, (marker,))

    evil = ws.artifacts_dir / "evil.joblib"
    evil.write_bytes(pickle.dumps(Payload()))
    import hashlib

    digest = hashlib.sha256(evil.read_bytes()).hexdigest()
    con = sqlite3.connect(ws.audit_path)
    run_id = con.execute("SELECT run_id FROM runs ORDER BY run_id LIMIT 1").fetchone()[0]
    con.close()
    _sql(ws.audit_path, "UPDATE runs SET artifact_path = ?, artifact_sha256 = ? WHERE run_id = ?",
         ("artifacts/evil.joblib", digest, run_id))
    before = _events(ws)
    with pytest.raises(IntegrityError, match="disagrees with the audit log"):
        register_run(ws, run_id, name="stolen")
    assert not marker.exists() and _events(ws) == before
    code, report = _verify(ws)
    assert code == 1 and "runs" in _kinds(report)
    assert any(run_id in f["key"] for f in report["findings"] if f["kind"] == "runs")


def test_a_forged_succeeded_state_is_refused(ws: Workspace) -> None:
    _sql(ws.audit_path, "INSERT INTO runs (run_id, name, state, artifact_path, artifact_sha256) "
                        "VALUES ('20990101-000000-forged', 'x', 'succeeded', 'artifacts/a/model.joblib', 'ab')")
    out = run_cli("-w", str(ws.root), "models", "register", "20990101-000000-forged", "--name", "forged")
    assert out.returncode == 1 and "disagrees with the audit log" in out.stderr and "Traceback" not in out.stderr
    code, report = _verify(ws)
    assert code == 1 and any(f["key"] == "20990101-000000-forged" for f in report["findings"])


def test_an_inserted_alias_row_does_not_move_the_champion(ws: Workspace) -> None:
    from workbench.registry.refs import parse_ref, resolve_ref
    from workbench.registry.store import RegistryStore

    reg = ws.root / "registry.sqlite"
    con = sqlite3.connect(reg)
    seq, h = con.execute("SELECT event_seq, event_hash FROM alias_events ORDER BY seq DESC LIMIT 1").fetchone()
    con.close()
    # A copy of the last real alias row (its event is genuine), now saying v2 holds champion.
    _sql(reg, "INSERT INTO alias_events (model, alias, version, previous_version, set_at, set_by, reason, "
              "event_seq, event_hash) VALUES ('species', 'champion', 2, 1, '2999-01-01T00:00:00Z', 'bob', 'x', ?, ?)",
         (seq, h))
    with RegistryStore.open(ws) as store, pytest.raises(IntegrityError):
        resolve_ref(store, parse_ref("species@champion"))
    report = run_cli("-w", str(ws.root), "governance", "report")
    assert report.returncode != 0
    code, found = _verify(ws)
    assert code == 1 and {"registry.alias_events", "registry.alias"} & _kinds(found)


def test_an_alias_row_with_no_event_is_a_finding(ws: Workspace) -> None:
    _sql(ws.root / "registry.sqlite", "INSERT INTO alias_events (model, alias, version, set_at, set_by, reason) "
                                      "VALUES ('species', 'champion', 2, '2999-01-01T00:00:00Z', 'mallory', 'x')")
    out = run_cli("-w", str(ws.root), "models", "predict", "species@champion", "--table", "penguins",
                  "--into", "forged_predictions")
    assert out.returncode == 1 and "audit" in out.stderr and "Traceback" not in out.stderr
    tables = run_cli("-w", str(ws.root), "lake", "tables", "--json")
    assert "forged_predictions" not in {t["name"] for t in json.loads(tables.stdout)}
    code, report = _verify(ws)
    assert code == 1 and "registry.alias_events" in _kinds(report)


def test_a_forged_approval_is_a_finding(ws: Workspace) -> None:
    reg = ws.root / "registry.sqlite"
    _sql(reg, "INSERT INTO decisions (request_id, actor, decision, decided_at) VALUES (1, 'carol', 'approve', 'now')")
    code, report = _verify(ws)
    assert code == 1 and "registry.decisions" in _kinds(report)


def test_an_edited_model_version_hash_is_refused(ws: Workspace) -> None:
    from workbench.registry.store import RegistryStore

    _sql(ws.root / "registry.sqlite", "DROP TRIGGER model_versions_no_update")  # even with the trigger gone
    _sql(ws.root / "registry.sqlite", "UPDATE model_versions SET artifact_sha256 = ? WHERE version = 2", ("0" * 64,))
    with RegistryStore.open(ws) as store, pytest.raises(IntegrityError, match="model_versions row species:2"):
        store.get_version("species", 2)
    code, report = _verify(ws)
    assert code == 1 and "registry.model_versions" in _kinds(report)


def test_edited_model_version_inputs_are_refused(ws: Workspace) -> None:
    """The input columns decide what scoring demands and which columns drift is checked on: bound to the event."""
    from workbench.registry.store import RegistryStore

    _sql(ws.root / "registry.sqlite", "DROP TRIGGER model_versions_no_update")
    _sql(ws.root / "registry.sqlite", "UPDATE model_versions SET features = replace(features, '\"island\"', "
                                      "'\"islandX\"') WHERE version = 2")
    with RegistryStore.open(ws) as store, pytest.raises(IntegrityError, match="model_versions row species:2"):
        store.get_version("species", 2)
    code, report = _verify(ws)
    assert code == 1 and "registry.model_versions" in _kinds(report)


def test_changed_artifact_bytes_are_a_finding(ws: Workspace) -> None:
    model = next(ws.artifacts_dir.glob("*/model.joblib"))
    model.write_bytes(model.read_bytes() + b"\0")
    code, report = _verify(ws)
    assert code == 1 and "artifact" in _kinds(report)


def test_changed_holdout_model_bytes_are_a_finding(ws: Workspace) -> None:
    """The twin that scored the frozen holdout (refit_all) is evidence too: its bytes are checked like the model's."""
    twins = sorted(ws.artifacts_dir.glob("*/holdout_model.joblib"))
    assert twins, "the sample runs refit on every row, so each keeps its holdout model"
    twins[0].write_bytes(twins[0].read_bytes() + b"\0")
    code, report = _verify(ws)
    assert code == 1 and "artifact" in _kinds(report)
    assert any("holdout_model.joblib" in str(f) for f in report.get("findings", [])), report


def _unindex_approvals(con: sqlite3.Connection) -> list[tuple]:
    """FTS5's own delete command for every approval event: hides them from `audit search`."""
    rows = con.execute("SELECT seq, kind, subject, actor, run_id, outcome, params FROM events "
                       "WHERE kind = 'model.approved'").fetchall()
    for row in rows:
        con.execute("INSERT INTO events_fts(events_fts, rowid, kind, subject, actor, run_id, outcome, params) "
                    "VALUES ('delete', ?, ?, ?, ?, ?, ?, ?)", row)
    return rows


def test_deleted_search_index_rows_are_found_and_reindex_repairs(ws: Workspace) -> None:
    con = sqlite3.connect(ws.audit_path)
    rows = _unindex_approvals(con)
    con.commit()
    con.close()
    hidden = run_cli("-w", str(ws.root), "audit", "search", "required", "--json")
    assert json.loads(hidden.stdout) == []
    code, report = _verify(ws)
    assert code == 1 and "audit.search_index" in _kinds(report)
    assert run_cli("-w", str(ws.root), "audit", "reindex").returncode == 0
    found = run_cli("-w", str(ws.root), "audit", "search", "required", "--json")
    assert len(json.loads(found.stdout)) == len(rows)
    assert _verify(ws)[0] == 0


def test_a_deleted_log_is_a_finding_and_no_command_makes_a_new_one(ws: Workspace) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(ws.audit_path) + suffix).unlink(missing_ok=True)
    out = run_cli("-w", str(ws.root), "audit", "verify")
    assert out.returncode == 1 and "missing" in out.stdout + out.stderr
    assert not ws.audit_path.exists()
    for args in (("governance", "report"), ("runs", "list"), ("lake", "sql", "--write",
                 "CREATE TABLE t2 AS SELECT 1 AS x")):
        out = run_cli("-w", str(ws.root), *args)
        assert out.returncode != 0, args
        assert not ws.audit_path.exists(), args


def test_a_replaced_log_is_a_finding(ws: Workspace, tmp_path: Path) -> None:
    from workbench.workspace.create import init_workspace

    other = init_workspace(tmp_path / "other", name="other")
    for suffix in ("", "-wal", "-shm"):
        Path(str(ws.audit_path) + suffix).unlink(missing_ok=True)
    shutil.copy(other.audit_path, ws.audit_path)
    code, report = _verify(ws)
    assert code == 1 and "audit.log" in _kinds(report)


# -- names and people as they are read ---------------------------------------------------------

def test_self_approval_under_another_spelling_is_refused(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    for spelling in ("Alice", " ALICE ", "ａｌｉｃｅ"):  # the last is fullwidth: NFKC folds it
        monkeypatch.setenv("WORKBENCH_USER", "alice")
        out = run_cli("-w", str(ws.root), "models", "promote", "species:2", "--to", "champion", "--reason", "better")
        assert out.returncode == 0 or "already open" in out.stderr, out.stderr
        request = 2
        monkeypatch.setenv("WORKBENCH_USER", spelling)
        refused = run_cli("-w", str(ws.root), "models", "approve", str(request))
        assert refused.returncode == 2 and "four-eyes" in refused.stderr, spelling


def test_one_person_in_two_cases_is_one_approval(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    from workbench.registry.promotion import approve_request, request_promotion
    from workbench.registry.refs import parse_ref
    from workbench.registry.store import RegistryStore

    from registry_fixtures import set_policy  # type: ignore[import-not-found]

    ws = set_policy(ws, "[governance]\nrequired_approvals = 2")
    monkeypatch.setenv("WORKBENCH_USER", "alice")
    ws = Workspace.load(ws.root)
    request = request_promotion(ws, parse_ref("species:2"), "champion", "better")
    monkeypatch.setenv("WORKBENCH_USER", "bob")
    approve_request(Workspace.load(ws.root), request["id"])
    monkeypatch.setenv("WORKBENCH_USER", "BOB")
    with pytest.raises(Exception, match="already decided"):
        approve_request(Workspace.load(ws.root), request["id"])
    with RegistryStore.open(ws) as store:
        assert store.alias_at("species", "champion")["version"] == 1


@pytest.mark.parametrize("alias", ["champion\n", "Champion", "CHAMPION"])
def test_protected_alias_spoofs_are_refused(ws: Workspace, alias: str) -> None:
    out = run_cli("-w", str(ws.root), "models", "alias", "species:2", alias, "--reason", "sneak")
    assert out.returncode == 2, out.stderr
    assert "protected" in out.stderr or "not a valid alias" in out.stderr


@pytest.mark.parametrize("name", ["penguins\n", "ｐｅｎｇｕｉｎｓ"])
def test_table_names_that_read_like_another_are_refused(ws: Workspace, name: str, tmp_path: Path) -> None:
    from workbench.errors import LakeError
    from workbench.lake.names import check_table_name

    with pytest.raises(LakeError):
        check_table_name(name)


async def test_the_audit_tab_says_a_forged_alias_row_does_not_verify(ws: Workspace) -> None:
    from textual.widgets import Static

    from tui_support import settle
    from workbench.tui.app import WorkbenchApp

    app = WorkbenchApp(ws)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        await pilot.press("3")
        await settle(app, pilot)
        status = app.query_one("#chain-status", Static)
        assert "workspace verified" in str(status.render())
        _sql(ws.root / "registry.sqlite", "INSERT INTO alias_events (model, alias, version, set_at, set_by, reason) "
                                          "VALUES ('species', 'champion', 2, '2999-01-01T00:00:00Z', 'mallory', 'x')")
        await pilot.press("v")
        await settle(app, pilot)
        text = str(status.render())
        assert "workspace does not verify" in text and "alias_events" in text


# -- every table, raw edits without dropping a trigger ----------------------------------------------

_FORGERIES = {
    "runs": ("audit.sqlite", "INSERT INTO runs (run_id, name, state) VALUES ('20990101-000000-ffffff', 'x', 'failed')"),
    "events": ("audit.sqlite", "INSERT INTO events (seq, id, ts, actor, kind, params, prev_hash, hash) "
                               "SELECT max(seq) + 1, 'x', 'now', 'mallory', 'model.approved', '{}', hash, 'ff' "
                               "FROM events"),
    "archives": ("audit.sqlite", "INSERT INTO archives VALUES (1, 3, 'ab', 'audit-archive/forged.sqlite', 'cd', 'now')"),
    "model_versions": ("registry.sqlite", "INSERT INTO model_versions SELECT model, 9, run_id, registered_at, "
                                          "registered_by, description, run_name, run_actor, trained_at, task, target, "
                                          "metric, score, estimator, metrics, spec, spec_sha256, data_source, "
                                          "data_table, data_query, data_version, fingerprint, row_count, code, "
                                          "artifact_path, artifact_sha256, holdout_path, holdout_sha256, holdout_rows, "
                                          "features, reference, event_seq, event_hash, training FROM model_versions LIMIT 1"),
    "alias_events": ("registry.sqlite", "INSERT INTO alias_events (model, alias, version, set_at, set_by, reason) "
                                        "VALUES ('species', 'challenger', 2, 'now', 'mallory', 'x')"),
    "promotion_requests": ("registry.sqlite", "INSERT INTO promotion_requests (model, version, alias, reason, "
                                              "requested_by, requested_at, evidence, state) VALUES ('species', 2, "
                                              "'champion', 'x', 'mallory', 'now', '{}', 'open')"),
    "decisions": ("registry.sqlite", "INSERT INTO decisions (request_id, actor, decision, decided_at) "
                                     "VALUES (1, 'mallory', 'reject', 'now')"),
    "evaluations": ("registry.sqlite", "INSERT INTO evaluations (model, evaluated_at, evaluated_by, data_source, "
                                       "fingerprint, row_count, metric, results) VALUES ('species', 'now', 'mallory', "
                                       "'penguins', 'f', 1, 'log_loss', '[]')"),
}


@pytest.mark.parametrize("table", sorted(_FORGERIES))
def test_a_row_forged_into_any_table_is_a_finding(ws: Workspace, table: str) -> None:
    db, statement = _FORGERIES[table]
    before = {p.name: p.read_bytes() for p in ws.artifacts_dir.rglob("*") if p.is_file()}
    _sql(ws.root / db, statement)
    code, report = _verify(ws)
    assert code == 1, report
    assert report["findings"] or not report["chain"]["ok"]
    assert {p.name: p.read_bytes() for p in ws.artifacts_dir.rglob("*") if p.is_file()} == before


def test_a_deleted_registry_is_a_finding(ws: Workspace) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(ws.root / "registry.sqlite") + suffix).unlink(missing_ok=True)
    code, report = _verify(ws)
    assert code == 1 and ({"registry.event", "audit.log"} & _kinds(report))


def test_a_deleted_artifact_is_a_finding(ws: Workspace) -> None:
    next(ws.artifacts_dir.glob("*/holdout.parquet")).unlink()
    code, report = _verify(ws)
    assert code == 1 and "artifact" in _kinds(report)


def test_a_rewritten_search_index_entry_is_found_by_a_thorough_verify(ws: Workspace) -> None:
    con = sqlite3.connect(ws.audit_path)
    [row] = _unindex_approvals(con)
    # Same number of indexed events, but the approval now reads as something harmless to a search.
    con.execute("INSERT INTO events_fts(rowid, kind, subject, actor, run_id, outcome, params) "
                "VALUES (?, 'note', 'nothing', 'nobody', NULL, 'ok', '{}')", row[:1])
    con.commit()
    con.close()
    out = run_cli("-w", str(ws.root), "audit", "verify", "--thorough", "--json")
    assert out.returncode == 1 and "audit.search_index" in _kinds(json.loads(out.stdout))
