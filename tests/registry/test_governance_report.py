"""The governance report: flags stale data, ages and a broken audit chain; exits non-zero on violations."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from registry_fixtures import reingest_penguins, set_policy, two_versions, with_champion  # noqa: F401
from workbench.errors import WorkspaceError
from workbench.governance.report import governance_report
from workbench.registry.evaluate import evaluate_model
from workbench.registry.policy import load_policy
from workbench.registry.promotion import set_alias
from workbench.registry.refs import parse_ref
from workbench.workspace import Workspace


def test_report_flags_a_model_whose_lake_table_was_reingested(with_champion: Workspace, tmp_path, cli) -> None:
    ws = with_champion
    w = str(ws.root)
    clean = cli("-w", w, "governance", "report", "--json")
    assert clean.returncode == 0, clean.stderr
    status = json.loads(clean.stdout)["models"][0]
    assert status["stale_data"] is False and status["approved_by"] == ["bob"] and status["champion_version"] == 1

    reingest_penguins(ws, tmp_path)
    flagged = cli("-w", w, "governance", "report", "--json")
    assert flagged.returncode == 1
    report = json.loads(flagged.stdout)
    status = report["models"][0]
    assert status["stale_data"] is True and status["current_data_version"] == 2
    assert status["evaluated_on_current_data"] is False
    assert any("changed (v1 → v2)" in v for v in report["violations"])
    assert flagged.stderr.count("\n") == 1 and "governance policy violation" in flagged.stderr

    # re-evaluating the champion and challenger on the refreshed table clears it
    set_alias(ws, parse_ref("species:2"), "challenger", "compare on new data")
    result = evaluate_model(ws, "species", challengers=True)
    assert result["data_source"] == "penguins@2" and result["row_count"] == 300
    assert [(r["version"], r["aliases"]) for r in result["results"]] == [(1, ["champion"]), (2, ["challenger"])]
    after = governance_report(ws)
    assert after.ok, after.all_violations
    assert after.models[0].stale_data is True and after.models[0].evaluated_on_current_data is True
    assert after.models[0].last_evaluation["best_version"] == result["best_version"]


def test_thresholds_on_age_and_the_audit_chain(with_champion: Workspace) -> None:
    ws = set_policy(with_champion, "[governance]\nmax_champion_age_days = 10\nmax_days_since_evaluation = 5")
    assert governance_report(ws).ok
    later = governance_report(ws, now=datetime.now(timezone.utc) + timedelta(days=11))
    text = " | ".join(later.all_violations)
    assert "trained 11" in text and "promoted and never evaluated" in text
    con = sqlite3.connect(ws.audit_path)  # tamper with the hash-chained log (an attacker drops the guard first)
    con.execute("DROP TRIGGER IF EXISTS events_no_update")
    con.execute("UPDATE events SET actor = 'mallory' WHERE seq = 2")
    con.commit()
    con.close()
    broken = governance_report(ws)
    assert not broken.audit_verified and any("audit log does not verify" in v for v in broken.violations)


def test_policy_errors_name_the_key_and_are_never_adopted(sample_workspace: Workspace) -> None:
    from workbench.registry.policy import adopt_policy

    for bad, match in (("[governance]\nrequired_approvals = 0", "required_approvals"),
                       ("[governance]\naprovers = []", "unknown key 'aprovers'"),
                       ('[governance]\nidentity = "anyone"', "identity must be one of"),
                       ('[governance.roles]\nbob = "approver"', "names no admin")):
        body = sample_workspace.settings_path.read_text()
        sample_workspace.settings_path.write_text(body + "\n" + bad + "\n")
        ws = Workspace.load(sample_workspace.root)
        with pytest.raises(WorkspaceError, match=match):
            adopt_policy(ws)
        assert load_policy(ws).required_approvals == 1  # the policy in force is the adopted one, unchanged
        sample_workspace.settings_path.write_text(body)


def test_report_says_when_the_champion_was_last_evaluated_and_what_serving_it_did(with_champion: Workspace,
                                                                                  cli) -> None:
    from workbench.audit import AuditLog

    set_alias(with_champion, parse_ref("species:2"), "challenger", "try v2")
    evaluation = evaluate_model(with_champion, "species", holdout_of=2)
    with AuditLog(with_champion.audit_path, with_champion.root) as log:  # a service that answered 7 requests
        log.record_many([
            {"kind": "serve.started", "actor": "alice", "subject": "species@champion",
             "params": {"model": "species", "version": 1, "port": 8001, "pid": 4}},
            {"kind": "serve.stats", "actor": "alice", "subject": "species@champion",
             "params": {"model": "species", "version": 1, "requests": 7, "rows": 70, "errors": 0,
                        "latency_p99_ms": 3.0, "psi": {"island": 0.01}, "drifted_features": []}},
            {"kind": "serve.stopped", "actor": "alice", "subject": "species@champion",
             "params": {"model": "species", "version": 1, "port": 8001, "requests": 7}}])
    (m,) = governance_report(with_champion).models
    e = m.last_evaluation
    assert e is not None and e["rows"] == evaluation["row_count"] and e["champion_version"] == 1
    assert e["scores"] == {str(r["version"]): r["score"] for r in evaluation["results"]}
    assert e["champion_beaten"] == evaluation["champion_beaten"]
    assert m.serving is not None and m.serving["requests"] == 7 and m.serving["open_services"] == 0
    done = cli("-w", str(with_champion.root), "governance", "report")
    assert "species: last evaluation" in done.stdout and f"on {evaluation['row_count']} rows" in done.stdout
    assert "species v1 serving: 7 request(s), 70 row(s), 0 error(s)" in done.stdout
    as_json = json.loads(cli("-w", str(with_champion.root), "governance", "report", "--json").stdout)
    assert as_json["models"][0]["last_evaluation"]["best_version"] == evaluation["best_version"]
