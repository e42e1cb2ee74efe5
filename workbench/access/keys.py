"""`workbench keys add/list/revoke` and the allowed-signers file anyone can verify with.

A key is enrolled for one login. The workspace's first key signs its own enrolment (proof that its holder
has the private half) and is added by the founder; every later key change is a governed action signed by
an admin's key in force. Workbench stores only public keys, as events.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from workbench.access.actions import append_governed, load_ledger, require_role
from workbench.access.governed import NAMESPACE
from workbench.audit.log import AuditLog
from workbench.errors import BadInputError
from workbench.identity import same_person_key
from workbench.signing.sshsig import PublicKey, SignatureError
from workbench.workspace import Workspace

CHECKPOINT_NAMESPACE = "workbench-checkpoint"


def read_public_key(text: str) -> PublicKey:
    try:
        return PublicKey.parse(text)
    except SignatureError as exc:
        raise BadInputError(f"That is not a usable SSH public key: {exc}.") from None


def add_key(workspace: Workspace, login: str, key_text: str, comment: str | None = None) -> dict[str, Any]:
    """Enroll `key_text` (an OpenSSH public key line) for `login`."""
    from workbench.signing.ssh_keygen import SigningUnavailable, available_keys

    login = login.strip()
    if not login or any(c.isspace() or c in ',"' for c in login):
        raise BadInputError(f"{login!r} is not a login name (no spaces, commas or quotes).")
    key = read_public_key(key_text)
    with AuditLog(workspace.audit_path, workspace.root) as log:
        ledger = load_ledger(workspace, log)
        require_role(workspace, "admin", "Enrolling a key", ledger, governed=True)  # before anything else
        known = ledger.keys.get(key.fingerprint)
        if known is not None and known.revoked_seq is None:
            raise BadInputError(f"Key {key.fingerprint} is already enrolled for {known.login}.")
        if known is not None:
            raise BadInputError(f"Key {key.fingerprint} was revoked (event #{known.revoked_seq}); a revoked key "
                                "cannot be enrolled again. Make a new key.")
        signing_key = None
        if not ledger.keys:  # bootstrap: the first key signs its own enrolment
            if same_person_key(login) != same_person_key(workspace.actor):
                raise BadInputError(f"The first key must be your own ({workspace.actor}): it signs its own "
                                    "enrolment, then signs everyone else's.")
            try:
                signing_key = next(k for k in available_keys() if k.public.fingerprint == key.fingerprint)
            except (StopIteration, SigningUnavailable):
                raise BadInputError("The first key signs its own enrolment, so its private half must be at hand: "
                                    "load it into ssh-agent (`ssh-add`) or set WORKBENCH_SIGNING_KEY to its file."
                                    ) from None
        params = {"login": login, "key": key.openssh, "fingerprint": key.fingerprint,
                  "comment": (comment or "").strip() or None}
        ref = append_governed(workspace, "key.added", f"key:{login}", params, signing_key=signing_key,
                              ledger=ledger, log=log)
    return {"login": login, "fingerprint": key.fingerprint, "seq": ref.seq}


def revoke_key(workspace: Workspace, fingerprint: str, reason: str | None) -> dict[str, Any]:
    if not reason or not reason.strip():
        raise BadInputError("Give a reason for revoking the key (--reason TEXT).")
    with AuditLog(workspace.audit_path, workspace.root) as log:
        ledger = require_role(workspace, "admin", "Revoking a key", load_ledger(workspace, log), governed=True)
        key = ledger.keys.get(fingerprint.strip())
        if key is None:
            raise BadInputError(f"No enrolled key {fingerprint} (see `workbench keys list`).")
        if key.revoked_seq is not None:
            raise BadInputError(f"Key {fingerprint} is already revoked (event #{key.revoked_seq}).")
        ref = append_governed(workspace, "key.revoked", f"key:{key.login}",
                              {"fingerprint": key.key.fingerprint, "login": key.login, "reason": reason.strip()},
                              ledger=ledger, log=log)
    return {"login": key.login, "fingerprint": key.key.fingerprint, "seq": ref.seq}


def list_keys(workspace: Workspace) -> list[dict[str, Any]]:
    with AuditLog(workspace.audit_path, workspace.root) as log:
        ledger = load_ledger(workspace, log)
        rows = []
        for key in ledger.keys.values():
            added = log.get_event(key.added_seq)
            revoked = log.get_event(key.revoked_seq) if key.revoked_seq else None
            rows.append({"login": key.login, "fingerprint": key.key.fingerprint, "type": key.key.algorithm, "key": key.key.openssh,
                         "comment": key.comment, "added_seq": key.added_seq, "added_at": added.ts if added else None,
                         "added_by": added.actor if added else None, "revoked_seq": key.revoked_seq,
                         "revoked_at": revoked.ts if revoked else None,
                         "state": "revoked" if key.revoked_seq else "active"})
    return rows


def allowed_signers(workspace: Workspace) -> str:
    """An OpenSSH allowed-signers file of every enrolled key: `ssh-keygen -Y verify -f` takes it as is.

    A revoked key keeps its line with `valid-before` set to its revocation time, so signatures made before
    it still verify (with `-Overify-time=` of the signed time) and later ones do not."""
    lines = ["# Workbench allowed signers: every key enrolled in this workspace (`workbench keys allowed-signers`).",
             "# Verify a signed checkpoint: ssh-keygen -Y verify -f allowed_signers -I LOGIN "
             f"-n {CHECKPOINT_NAMESPACE} -s checkpoint.sig < checkpoint.txt"]
    for row in list_keys(workspace):
        options = f'namespaces="{NAMESPACE},{CHECKPOINT_NAMESPACE}"'
        if row["revoked_at"]:
            options += f',valid-before="{_ssh_time(row["revoked_at"])}"'
        lines.append(f"{row['login']} {options} {row['key']}")
    return "\n".join(lines) + "\n"


def _ssh_time(iso: str) -> str:
    """ISO UTC to the YYYYMMDDHHMMSSZ form allowed_signers takes."""
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).strftime("%Y%m%d%H%M%SZ")
