"""A new workspace's governance: its founder's key (if one is at hand) and its first adopted policy.

`init` enrolls the creator's key first (self-signed: `access/keys.py`), then adopts the policy written in
`workbench.toml`, signed with that key. Without a key the first policy is recorded unsigned and taken on
first use (as the log's anchor is); the founder can enroll a key later with `workbench keys add`.
"""

from __future__ import annotations

from typing import Any

from workbench.access.actions import append_governed
from workbench.access.ledger import Ledger
from workbench.access.policy_record import policy_sha, toml_policy
from workbench.audit.log import AuditLog
from workbench.workspace import Workspace


def found_governance(workspace: Workspace, log: AuditLog) -> dict[str, Any]:
    """Enroll the founder's key (when available) and adopt the initial policy; what was done, for the CLI."""
    from workbench.signing.ssh_keygen import SigningUnavailable, available_keys, explicit_key

    try:
        candidates = [k for k in [explicit_key()] if k] or available_keys()
    except SigningUnavailable:
        candidates = []
    key = candidates[0] if candidates else None
    from workbench.identity import os_login

    founder = os_login()
    done: dict[str, Any] = {"founder": founder, "key": None}
    if key is not None:
        append_governed(workspace, "key.added", f"key:{founder}",
                        {"login": founder, "key": key.public.openssh, "fingerprint": key.public.fingerprint,
                         "comment": f"founder's key, enrolled at init ({key.where})"},
                        signing_key=key, ledger=Ledger.load(log), log=log, founding=True)
        done["key"] = key.public.fingerprint
    policy = toml_policy(workspace)
    # Without a key the adoption is recorded unsigned; the ledger takes the first one on first use.
    append_governed(workspace, "governance.policy_adopted", "workbench.toml",
                    {"policy": policy, "sha256": policy_sha(policy), "reason": "initial policy, written by init"},
                    signing_key=key, log=log, founding=True)
    return done
