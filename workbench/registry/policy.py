"""Registry and governance policy from `workbench.toml` (`[governance]` and `[registry]` sections).

```toml
[governance]
approvers = ["carol", "dave"]   # who may approve promotions; empty = anyone but the requester
required_approvals = 1          # distinct approvals needed before the alias moves
protected_aliases = ["champion"]  # aliases that only move through an approved promotion request
max_champion_age_days = 90      # champion trained longer ago than this is a violation
max_days_since_evaluation = 30  # champion not compared with its challengers for this long is a violation
stale_data_grace_days = 0       # days a changed training table may go without a re-evaluation
require_audit_verified = true   # a broken audit chain is a violation

[registry]
psi_threshold = 0.2             # per-feature population stability index that counts as drift
missing_rate_threshold = 0.1    # absolute change in a feature's missing rate that counts as drift
```
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workbench.errors import WorkspaceError
from workbench.numbers import MAX_DAYS, real_number, whole_number
from workbench.workspace import Workspace

_GOVERNANCE_KEYS = {
    "approvers", "required_approvals", "protected_aliases", "max_champion_age_days",
    "max_days_since_evaluation", "stale_data_grace_days", "require_audit_verified",
}
_REGISTRY_KEYS = {"psi_threshold", "missing_rate_threshold"}
MAX_APPROVALS = 1000


@dataclass(frozen=True)
class Policy:
    approvers: tuple[str, ...] = ()
    required_approvals: int = 1
    protected_aliases: tuple[str, ...] = ("champion",)
    max_champion_age_days: float = 90
    max_days_since_evaluation: float = 30
    stale_data_grace_days: float = 0
    require_audit_verified: bool = True
    psi_threshold: float = 0.2
    missing_rate_threshold: float = 0.1

    def as_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.__dict__.items()}

    def is_protected(self, alias: str) -> bool:
        """Protected aliases match whatever their case or Unicode form: `Champion` is `champion`."""
        from workbench.identity import same_person_key

        return same_person_key(alias) in {same_person_key(a) for a in self.protected_aliases}


def load_policy(workspace: Workspace) -> Policy:
    """The workspace's policy; unknown keys and wrong types are errors naming the key."""
    where = workspace.settings_path
    gov = _section(workspace, "governance", _GOVERNANCE_KEYS)
    reg = _section(workspace, "registry", _REGISTRY_KEYS)
    d = Policy()

    def names(key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = gov.get(key, list(default))
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise WorkspaceError(f"{where}: [governance] {key} must be a list of names.")
        return tuple(v.strip() for v in value)

    def number(section: dict[str, Any], name: str, key: str, default: float, maximum: float = MAX_DAYS,
               what: str = "a number of days") -> float:
        return real_number(section.get(key, default), f"[{name}] {key}", 0, maximum, what=what,
                           error=WorkspaceError, where=str(where))

    approvals = whole_number(gov.get("required_approvals", d.required_approvals), "[governance] required_approvals",
                             1, MAX_APPROVALS, error=WorkspaceError, where=str(where))
    verified = gov.get("require_audit_verified", d.require_audit_verified)
    if not isinstance(verified, bool):
        raise WorkspaceError(f"{where}: [governance] require_audit_verified must be true or false.")
    approvers = names("approvers", d.approvers)
    if approvers and len(approvers) < approvals:
        raise WorkspaceError(f"{where}: [governance] lists {len(approvers)} approver(s) but requires {approvals} approvals.")
    return Policy(
        approvers=approvers,
        required_approvals=approvals,
        protected_aliases=names("protected_aliases", d.protected_aliases),
        max_champion_age_days=number(gov, "governance", "max_champion_age_days", d.max_champion_age_days),
        max_days_since_evaluation=number(gov, "governance", "max_days_since_evaluation", d.max_days_since_evaluation),
        stale_data_grace_days=number(gov, "governance", "stale_data_grace_days", d.stale_data_grace_days),
        require_audit_verified=verified,
        psi_threshold=number(reg, "registry", "psi_threshold", d.psi_threshold, 100, "a number"),
        missing_rate_threshold=number(reg, "registry", "missing_rate_threshold", d.missing_rate_threshold, 1,
                                      "a fraction"),
    )


def _section(workspace: Workspace, name: str, known: set[str]) -> dict[str, Any]:
    section = workspace.settings.extra.get(name, {})
    if not isinstance(section, dict):
        raise WorkspaceError(f"{workspace.settings_path}: [{name}] must be a table.")
    unknown = sorted(set(section) - known)
    if unknown:
        raise WorkspaceError(f"{workspace.settings_path}: unknown key {unknown[0]!r} in [{name}].")
    return section
