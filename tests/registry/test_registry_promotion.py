"""Aliases with history, four-eyes promotion, rejection, and evidence on the same frozen rows."""

from __future__ import annotations

import sqlite3

import pytest

from registry_fixtures import as_user, set_policy, two_versions, with_champion  # noqa: F401  (fixtures)
from workbench.errors import BadInputError
from workbench.registry.promotion import (PolicyError, approve_request, preview_approval, reject_request, request_promotion,
                                          set_alias, withdraw_request)
from workbench.registry.refs import at_timestamp, parse_ref
from workbench.registry.store import RegistryStore, registry_path
from workbench.workspace import Workspace


def _registry_rows(ws: Workspace) -> dict[str, list[tuple]]:
    con = sqlite3.connect(registry_path(ws))
    try:
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in ("model_versions", "alias_events")}
    finally:
        con.close()


def test_alias_history_answers_who_held_it_at_any_time(with_champion: Workspace, monkeypatch, cli) -> None:
    ws = with_champion
    set_alias(ws, parse_ref("species:2"), "challenger", "seed 11 looks promising")
    request = request_promotion(ws, parse_ref("species:2"), "champion", "wins on fresh data")
    approve_request(as_user(monkeypatch, ws, "carol"), request["id"], "evidence checks out")
    ws = as_user(monkeypatch, ws, "alice")
    set_alias(ws, parse_ref("species"), "challenger", "promoted; no challenger now")  # removal
    with RegistryStore.open(ws) as store:
        history = store.alias_history("species", "champion")
        assert [(e["version"], e["previous_version"], e["set_by"], e["approved_by"]) for e in history] == [
            (1, None, "bob", ["bob"]), (2, 1, "carol", ["carol"])]
        first, second = history[0]["set_at"], history[1]["set_at"]
        assert store.alias_at("species", "champion", at="2000-01-01T00:00:00Z") is None
        assert store.alias_at("species", "champion", at=first)["version"] == 1
        between = store.alias_history("species", "challenger")[0]["set_at"]
        assert first < between < second
        assert store.alias_at("species", "champion", at=between)["version"] == 1
        assert store.alias_at("species", "champion")["version"] == 2
        assert store.alias_at("species", "challenger", at=between)["version"] == 2
        assert "challenger" not in store.aliases("species")  # removed now
        assert store.aliases("species", at=between)["challenger"]["reason"] == "seed 11 looks promising"
    # the same question on the command line
    out = cli("-w", str(ws.root), "models", "aliases", "species", "--alias", "champion", "--at", between, "--json")
    assert out.returncode == 0, out.stderr
    import json

    held = json.loads(out.stdout)
    assert [(e["version"], e["approved_by"]) for e in held] == [(1, ["bob"])]
    assert at_timestamp("2025-06-30") == "2025-06-30T23:59:59.999999Z"


def test_protected_alias_cannot_be_set_directly(two_versions: Workspace) -> None:
    with pytest.raises(PolicyError, match="protected"):
        set_alias(two_versions, parse_ref("species:1"), "champion", "just do it")
    with pytest.raises(BadInputError, match="reason"):
        request_promotion(two_versions, parse_ref("species:1"), "champion", "  ")


def test_requester_cannot_approve_their_own_promotion(two_versions: Workspace, monkeypatch, cli) -> None:
    ws = two_versions
    before = _registry_rows(ws)
    request = request_promotion(ws, parse_ref("species:2"), "champion", "better")
    with pytest.raises(PolicyError, match="four-eyes"):
        approve_request(ws, request["id"])
    with pytest.raises(PolicyError, match="four-eyes"):
        reject_request(ws, request["id"], "changed my mind")  # withdrawing is the requester's way out
    out = cli("-w", str(ws.root), "models", "approve", str(request["id"]), env={"WORKBENCH_USER": "alice"})
    assert out.returncode == 2 and "cannot approve" in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert _registry_rows(ws) == before
    with RegistryStore.open(ws) as store:
        assert store.get_request(request["id"])["state"] == "open" and store.decisions(request["id"]) == []
    out = cli("-w", str(ws.root), "models", "approve", str(request["id"]), env={"WORKBENCH_USER": "bob"})
    assert out.returncode == 0, out.stderr
    with RegistryStore.open(ws) as store:
        assert store.alias_at("species", "champion")["version"] == 2


def test_policy_names_approvers_and_counts_approvals(two_versions: Workspace, monkeypatch) -> None:
    ws = set_policy(two_versions, '[governance]\napprovers = ["bob", "carol"]\nrequired_approvals = 2')
    request = request_promotion(ws, parse_ref("species:1"), "champion", "first")
    with pytest.raises(PolicyError, match="not an approver"):
        approve_request(as_user(monkeypatch, ws, "mallory"), request["id"])
    first = preview_approval(as_user(monkeypatch, ws, "bob"), request["id"])
    assert (first.line(), first.approvals, first.required, first.moves_alias) == (
        "species@champion: unheld → v1", (), 2, False)
    assert approve_request(as_user(monkeypatch, ws, "bob"), request["id"])["state"] == "open"
    with pytest.raises(PolicyError, match="already decided"):
        approve_request(as_user(monkeypatch, ws, "bob"), request["id"])
    with pytest.raises(PolicyError, match="already decided"):  # the preview refuses as the approval would
        preview_approval(as_user(monkeypatch, ws, "bob"), request["id"])
    second = preview_approval(as_user(monkeypatch, ws, "carol"), request["id"])
    assert (second.approvals, second.moves_alias) == (("bob",), True)
    with RegistryStore.open(ws) as store:
        assert store.alias_at("species", "champion") is None  # one approval of two: nothing moves
    done = approve_request(as_user(monkeypatch, ws, "carol"), request["id"])
    assert done["state"] == "approved"
    with RegistryStore.open(ws) as store:
        assert store.alias_at("species", "champion")["approved_by"] == ["bob", "carol"]


def test_a_rejected_request_changes_nothing(with_champion: Workspace, monkeypatch) -> None:
    from workbench.audit import AuditLog

    ws = with_champion
    request = request_promotion(ws, parse_ref("species:2"), "champion", "try v2")
    before = _registry_rows(ws)
    bob = as_user(monkeypatch, ws, "bob")
    with pytest.raises(BadInputError, match="reason"):
        reject_request(bob, request["id"], "")
    rejected = reject_request(bob, request["id"], "not enough evidence")
    assert rejected["state"] == "rejected"
    assert _registry_rows(ws) == before  # no version, no alias moved
    with pytest.raises(BadInputError, match="already rejected"):
        approve_request(as_user(monkeypatch, ws, "carol"), request["id"])
    with RegistryStore.open(ws) as store:
        assert store.alias_at("species", "champion")["version"] == 1
        assert [(d["actor"], d["decision"]) for d in store.decisions(request["id"])] == [("bob", "reject")]
    with AuditLog(ws.audit_path, ws.root) as log:
        kinds = [e.kind for e in reversed(log.events(limit=50)) if e.kind.startswith("model.")]
        assert log.verify()[0]
    assert kinds[-2:] == ["model.promotion_requested", "model.rejected"]
    # the requester can withdraw their own request; nothing moves either
    again = request_promotion(as_user(monkeypatch, ws, "alice"), parse_ref("species:2"), "champion", "retry")
    assert withdraw_request(as_user(monkeypatch, ws, "alice"), again["id"])["state"] == "withdrawn"
    assert _registry_rows(ws) == before


def test_evidence_scores_both_models_on_the_same_frozen_rows(with_champion: Workspace) -> None:
    import joblib
    import polars as pl
    from sklearn.metrics import log_loss

    ws = with_champion
    request = request_promotion(ws, parse_ref("species:2"), "champion", "compare")
    evidence = request["evidence"]
    with RegistryStore.open(ws) as store:
        v1, v2 = store.get_version("species", 1), store.get_version("species", 2)
    assert v1["holdout_sha256"] != v2["holdout_sha256"]  # different seeds, different splits
    primary, secondary = evidence["comparisons"]
    assert (primary["version"], primary["sha256"], primary["metric"]) == (2, v2["holdout_sha256"], "log_loss")
    assert secondary["sha256"] == v1["holdout_sha256"]
    for comparison, version in ((primary, v2), (secondary, v1)):
        rows = pl.read_parquet(ws.root / version["holdout_path"])
        assert comparison["rows"] == rows.height
        y, X = rows["species"].to_numpy().astype(str), rows.drop("species")
        for role, v in (("candidate", v2), ("current", v1)):
            # On its own holdout a version is scored by its twin fitted on the training rows only (the
            # registered artifact was refitted on every row, those included); on other rows, by its artifact.
            own = v is version
            path = v["training"]["holdout_model"] if own else v["artifact_path"]
            model = joblib.load(ws.root / path)
            expected = log_loss(y, model.predict_proba(X), labels=model.classes_)
            assert comparison[role] == pytest.approx(expected, rel=1e-9)
            assert (comparison.get(f"{role}_model") == f"its twin fitted on the {v['training']['holdout_model_rows']} "
                                                        "training rows only") is own
    assert evidence["current"]["version"] == 1 and evidence["verdict"] in ("candidate better", "current better",
                                                                            "tie or not comparable")
    assert {"key": "seed", "current": 7, "candidate": 11} in evidence["spec_diff"]
    assert evidence["freshness"]["candidate"]["on_latest_data"] is True
