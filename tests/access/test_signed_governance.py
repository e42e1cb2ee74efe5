"""Identity from the OS account, roles checked before anything is written, signed governed actions, the
adopted policy, and signed checkpoints that `ssh-keygen` alone can check. One OS account here; several
real accounts sharing a workspace are in tests/sharing/.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "registry"))  # registry_fixtures

from conftest import make_ssh_key, run_cli  # noqa: E402
from registry_fixtures import train  # noqa: E402
from workbench.access.actions import load_ledger
from workbench.access.governed import NAMESPACE, signed_params, statement
from workbench.access.keys import add_key, list_keys, revoke_key
from workbench.audit import AuditLog
from workbench.errors import IntegrityError, PermissionDenied, SignatureRequired
from workbench.identity import os_login
from workbench.integrity.workspace import verify_workspace
from workbench.registry.policy import adopt_policy, load_policy
from workbench.registry.promotion import _counted_decisions, request_promotion
from workbench.registry.refs import parse_ref, resolve_ref
from workbench.registry.register import register_run
from workbench.registry.store import RegistryStore
from workbench.signing.ssh_keygen import SigningKey, sign
from workbench.signing.sshsig import PublicKey
from workbench.workspace import Workspace

ME = os_login()


def _events(ws: Workspace) -> int:
    with AuditLog(ws.audit_path, ws.root) as log:
        return log.head()[0]


def _kinds(findings) -> list[str]:  # noqa: ANN001
    return [f.kind for f in findings]


def _append_policy(ws: Workspace, text: str) -> Workspace:
    ws.settings_path.write_text(ws.settings_path.read_text() + "\n" + text + "\n")
    return Workspace.load(ws.root)


@pytest.fixture
def registered(sample_workspace: Workspace) -> Workspace:
    register_run(sample_workspace, train(sample_workspace), name="species")
    return sample_workspace


def test_the_actor_is_the_os_account_and_a_label_cannot_govern(registered: Workspace,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_USER", "alice")
    ws = Workspace.load(registered.root)
    assert ws.actor == ME  # a label is not an identity
    with AuditLog(ws.audit_path, ws.root) as log:
        log.record("note", actor=ws.actor)
        event = log.events(kind="note")[0]
    assert event.actor == ME and event.params["_who"]["login"] == ME and event.params["_who"]["label"] == "alice"
    assert isinstance(event.params["_who"]["uid"], int)
    before = _events(ws)
    with pytest.raises(PermissionDenied, match="names someone other than your login"):
        request_promotion(ws, parse_ref("species:1"), "champion", "alice says so")
    assert _events(ws) == before  # refused before anything was written
    monkeypatch.delenv("WORKBENCH_USER")
    request = request_promotion(Workspace.load(ws.root), parse_ref("species:1"), "champion", "signed by me")
    with AuditLog(ws.audit_path, ws.root) as log:
        status = load_ledger(ws, log).status(log.events(kind="model.promotion_requested")[0].seq)
    assert request["requested_by"] == ME and status.status == "signed"


def test_a_role_is_checked_before_anything_is_written(registered: Workspace, tmp_path: Path) -> None:
    from workbench.lake.engine import open_lake
    from workbench.lake.operations import ingest

    ws = _append_policy(registered, f'[governance.roles]\nops-admin = "admin"\n{ME} = "viewer"')
    adopt_policy(ws, "hand the workspace to ops")  # the founder, still admin, adopts it
    before, files = _events(ws), sorted(p.name for p in ws.lake_data.rglob("*"))
    csv = tmp_path / "t.csv"
    csv.write_text("a,b\n1,2\n")
    with open_lake(ws) as lake:
        with pytest.raises(PermissionDenied, match="needs the contributor role .*is a viewer"):
            ingest(lake, [csv], table="t")
        with pytest.raises(PermissionDenied, match="needs the admin role"):
            from workbench.lake.operations import prune

            prune(lake, "penguins", keep=1)
    for call, match in ((lambda: register_run(ws, "x"), "contributor"),
                        (lambda: request_promotion(ws, parse_ref("species:1"), "champion", "r"), "contributor"),
                        (lambda: adopt_policy(_append_policy(ws, "[registry]\npsi_threshold = 0.3")), "admin"),
                        (lambda: add_key(ws, "bob", make_ssh_key(tmp_path / "bob").with_suffix(".pub").read_text()),
                         "admin")):
        with pytest.raises(PermissionDenied, match=f"needs the {match} role"):
            call()
    assert _events(ws) == before and sorted(p.name for p in ws.lake_data.rglob("*")) == files
    out = run_cli("-w", str(ws.root), "lake", "ingest", str(csv), "--table", "t")
    assert out.returncode == 2 and "needs the contributor role" in out.stderr and "Traceback" not in out.stderr


def test_a_hand_edit_of_the_policy_is_not_in_force_until_an_admin_adopts_it(sample_workspace: Workspace) -> None:
    ws = _append_policy(sample_workspace, "[governance]\nrequired_approvals = 3")
    assert load_policy(ws).required_approvals == 1  # what an admin adopted, not the file
    found = verify_workspace(ws, artifacts=False)
    assert "governance.policy" in _kinds(found.findings)
    assert any("not in force until an admin runs `workbench governance adopt`" in f.message for f in found.findings)
    adopt_policy(ws, "four eyes became six")
    assert load_policy(ws).required_approvals == 3
    assert verify_workspace(ws, artifacts=False).ok


def _forge(ws: Workspace, kind: str, subject: str, actor: str, params: dict) -> object:  # noqa: ANN001
    """What an attacker with file access can do: append an event with a correct hash."""
    with AuditLog(ws.audit_path, ws.root) as log, log.transaction() as conn:
        values = log.event_values(kind, actor, subject, None, params, "ok", None, None)
        return log.append(conn, [values])


def test_a_forged_approval_with_a_valid_hash_does_not_count_or_move_the_alias(registered: Workspace,
                                                                            tmp_path: Path) -> None:
    ws = registered
    request = request_promotion(ws, parse_ref("species:1"), "champion", "first model")
    mallory = make_ssh_key(tmp_path / "mallory")  # a key nobody enrolled
    mallory_key = SigningKey(PublicKey.parse(mallory.with_suffix(".pub").read_text()), mallory, "file")
    params = {"request": request["id"], "alias": "champion", "reason": None, "approvals": 1, "required": 1,
              "requested_by": ME, "_who": {"login": "bob", "uid": 4242}}
    with AuditLog(ws.audit_path, ws.root) as log:  # signed correctly, by a key that is not bob's enrolled one
        sig = sign(statement(log.log_id, "model.approved", "species:1", "bob", params), mallory_key, NAMESPACE)
    params["signature"] = {"key": mallory_key.public.fingerprint, "sig": sig}
    approval = _forge(ws, "model.approved", "species:1", "bob", params)
    moved = _forge(ws, "model.alias_set", "species@champion", "bob",
                   {"model": "species", "alias": "champion", "version": 1, "previous_version": None,
                    "reason": "forged", "request_id": request["id"], "approved_by": ["bob"],
                    "_who": {"login": "bob", "uid": 4242}})
    con = sqlite3.connect(ws.root / "registry.sqlite")
    con.execute("INSERT INTO decisions (request_id, actor, decision, reason, decided_at, event_seq, event_hash) "
                "VALUES (?, 'bob', 'approve', NULL, '2026-12-01T00:00:00Z', ?, ?)", (request["id"], approval.seq, approval.hash))
    con.execute("INSERT INTO alias_events (model, alias, version, previous_version, set_at, set_by, reason, request_id, "
                "approved_by, event_seq, event_hash) VALUES ('species', 'champion', 1, NULL, '2026-12-01T00:00:00Z', "
                "'bob', 'forged', ?, '[\"bob\"]', ?, ?)", (request["id"], moved.seq, moved.hash))
    con.commit()
    con.close()
    assert verify_workspace(ws, artifacts=False).chain.ok  # the chain itself is intact: only signatures tell
    messages = [f.message for f in verify_workspace(ws, artifacts=False).findings if f.kind == "governance.signature"]
    assert any(f"#{approval.seq} (model.approved by bob) is signed with a key that was never enrolled" in m
               for m in messages), messages
    assert any(f"#{moved.seq} (model.alias_set by bob) is not signed" in m for m in messages)
    with RegistryStore.open(ws) as store:
        assert _counted_decisions(store, request["id"]) == []  # the forged approval is not counted
        with pytest.raises(IntegrityError, match="does not count"):
            resolve_ref(store, parse_ref("species@champion"))


def test_a_revoked_keys_later_signatures_do_not_count(sample_workspace: Workspace, founder_key: Path,
                                                      tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = sample_workspace
    new = make_ssh_key(tmp_path / "new")
    add_key(ws, ME, new.with_suffix(".pub").read_text(), "new laptop")
    old_fp = PublicKey.parse(founder_key.with_suffix(".pub").read_text()).fingerprint
    monkeypatch.setenv("WORKBENCH_SIGNING_KEY", str(new))
    revoke_key(ws, old_fp, "old laptop stolen")
    assert {r["fingerprint"]: r["state"] for r in list_keys(ws)}[old_fp] == "revoked"
    assert verify_workspace(ws, artifacts=False).ok
    # The thief still has the old key and signs a policy change with it.
    stolen = SigningKey(PublicKey.parse(founder_key.with_suffix(".pub").read_text()), founder_key, "stolen")
    ws = _append_policy(ws, "[governance]\nrequired_approvals = 0\n")
    policy = {"governance": {"required_approvals": 5}, "registry": {}}
    with AuditLog(ws.audit_path, ws.root) as log:
        params = signed_params(log, load_ledger(ws, log), "governance.policy_adopted", "workbench.toml", ME,
                               {"policy": policy, "sha256": "x", "reason": "thief"}, signing_key=stolen)
    forged = _forge(ws, "governance.policy_adopted", "workbench.toml", ME, params)
    assert load_policy(ws).required_approvals == 1  # not in force
    messages = [f.message for f in verify_workspace(ws, artifacts=False).findings]
    assert any(f"#{forged.seq} (governance.policy_adopted by {ME}) is signed with a revoked key" in m for m in messages)


def test_without_a_key_a_governed_action_is_refused_in_one_sentence(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from workbench.workspace.create import init_workspace

    monkeypatch.delenv("WORKBENCH_SIGNING_KEY")
    ws = init_workspace(tmp_path / "nokey", sample=True)
    register_run(ws, train(ws), name="species")
    before = _events(ws)
    with pytest.raises(SignatureRequired, match="must be signed with your own key, but you have no enrolled"):
        request_promotion(ws, parse_ref("species:1"), "champion", "r")
    assert _events(ws) == before
    report = run_cli("-w", str(ws.root), "governance", "report")
    assert "FLAG" in report.stdout and "recorded unsigned at init" in report.stdout


def test_a_signed_checkpoint_is_checked_by_ssh_keygen_alone(sample_workspace: Workspace, tmp_path: Path) -> None:
    ws = sample_workspace
    out = tmp_path / "outside"
    out.mkdir()
    done = run_cli("-w", str(ws.root), "audit", "checkpoint", "--sign", "-o", str(out / "head.txt"))
    assert done.returncode == 0, done.stderr
    assert run_cli("-w", str(ws.root), "keys", "allowed-signers", "-o", str(out / "allowed")).returncode == 0

    def ssh_verify() -> int:
        with open(out / "head.txt", "rb") as fh:
            return subprocess.run(["ssh-keygen", "-Y", "verify", "-f", str(out / "allowed"), "-I", ME, "-n",
                                   "workbench-checkpoint", "-s", str(out / "head.txt.sig")], stdin=fh,
                                  capture_output=True).returncode

    assert ssh_verify() == 0
    text = (out / "head.txt").read_text()
    (out / "head.txt").write_text(text.replace(text.splitlines()[1], str(int(text.splitlines()[1]) + 1)))
    assert ssh_verify() != 0
    listed = json.loads(run_cli("-w", str(ws.root), "keys", "list", "--json").stdout)
    assert [k["login"] for k in listed] == [ME] and listed[0]["state"] == "active"
    bad = tmp_path / "bad.pub"
    bad.write_text("not a key")
    refused = run_cli("-w", str(ws.root), "keys", "add", "bob", str(bad))
    assert refused.returncode == 2 and "not a usable SSH public key" in refused.stderr
    who = json.loads(run_cli("-w", str(ws.root), "whoami", "--json").stdout)
    assert who["login"] == ME and who["role"] == "admin" and who["signing_key"] == listed[0]["fingerprint"]
