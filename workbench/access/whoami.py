"""Who the workspace says you are: login, uid, role, identity mode and the key you would sign with."""

from __future__ import annotations

from typing import Any

from workbench.access.actions import load_ledger, workspace_groups
from workbench.access.policy_record import pending_change
from workbench.workspace import Workspace


def describe(workspace: Workspace) -> dict[str, Any]:
    from workbench.signing.ssh_keygen import SigningUnavailable, choose_key

    ledger = load_ledger(workspace)
    ident = workspace.identity
    enrolled = [k.key.fingerprint for k in ledger.keys_of(ident.actor)]
    try:
        key = choose_key(enrolled).public.fingerprint if enrolled else None
    except SigningUnavailable:
        key = None
    return {"actor": ident.actor, "login": ident.login, "uid": ident.uid, "label": ident.label,
            "identity": ledger.identity_mode, "role": ledger.roles.role_of(ident.actor, workspace_groups()),
            "enrolled_keys": enrolled, "signing_key": key,
            "pending_policy": pending_change(workspace, ledger.policy)}
