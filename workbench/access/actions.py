"""The two calls every writing command makes: check the role first, and append governed events signed.

`require_role` runs before anything is written, so a refused command changes nothing. `append_governed`
signs with the acting person's enrolled key (`access/governed.py`) and appends the event.
"""

from __future__ import annotations

from typing import Any, Mapping

from workbench.access.governed import acting_identity, signed_params
from workbench.access.ledger import Ledger
from workbench.access.roles import refuse
from workbench.audit.log import AuditLog, EventRef
from workbench.errors import PermissionDenied
from workbench.workspace import Workspace


def load_ledger(workspace: Workspace, log: AuditLog | None = None) -> Ledger:
    if log is not None:
        return Ledger.load(log)
    with AuditLog(workspace.audit_path, workspace.root) as opened:
        return Ledger.load(opened)


def require_role(workspace: Workspace, needed: str, what: str, ledger: Ledger | None = None, *,
                 governed: bool = False) -> Ledger:
    """Refuse (PermissionDenied, one sentence naming the role) unless the actor holds `needed`.

    `governed`: a governed action, so first refuse a label that names someone other than the OS account."""
    ledger = ledger or load_ledger(workspace)
    if governed:
        acting_identity(ledger.identity_mode)
    actor = workspace.actor
    groups = workspace_groups() if actor == _login() else None
    role = ledger.roles.role_of(actor, groups)
    if not ledger.roles.allows(actor, needed, groups):
        raise refuse(actor, role, needed, what)
    return ledger


def append_governed(workspace: Workspace, kind: str, subject: str | None, params: Mapping[str, Any], *,
                    run_id: str | None = None, signing_key: Any = None, ledger: Ledger | None = None,
                    log: AuditLog | None = None, founding: bool = False) -> EventRef:
    """Sign and append a governed event as the acting person; its `EventRef` binds the row it justifies."""
    if log is None:
        with AuditLog(workspace.audit_path, workspace.root) as opened:
            return append_governed(workspace, kind, subject, params, run_id=run_id, signing_key=signing_key,
                                   ledger=ledger, log=opened, founding=founding)
    ledger = ledger or Ledger.load(log)
    ident = acting_identity(ledger.identity_mode, ignore_label=founding)
    if not founding and ident.actor != workspace.actor:
        raise PermissionDenied(
            f"workbench.toml's [governance] identity setting differs from the adopted policy (which says "
            f"{ledger.identity_mode!r}); an admin adopts the change with `workbench governance adopt` first.")
    body = signed_params(log, ledger, kind, subject, ident.actor, params, signing_key=signing_key,
                         allow_unsigned=founding and signing_key is None)
    return log.append_event(kind, actor=ident.actor, subject=subject, run_id=run_id, params=body)


def _login() -> str:
    from workbench.identity import os_login

    return os_login()


def workspace_groups() -> tuple[str, ...]:
    from workbench.identity import os_groups

    return os_groups()
