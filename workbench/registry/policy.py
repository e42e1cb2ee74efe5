"""Registry and governance policy from `workbench.toml` (`[governance]` and `[registry]` sections).

```toml
[governance]
approvers = ["carol", "dave"]   # who may approve promotions; empty = anyone but the requester
required_approvals = 1          # distinct approvals needed before the alias moves
protected_aliases = ["champion"]  # aliases that only move through an approved promotion request
max_champion_age_days = 90      # champion trained longer ago than this is a violation
max_days_since_evaluation = 30  # champion not compared with its challengers for this long is a violation
stale_data_grace_days = 0       # days a changed training table may go without a re-evaluation
challenger_margin = 0.0         # how much a pipeline's challenger must beat the champion by (metric units)
require_audit_verified = true   # a broken audit chain is a violation
identity = "os"                 # actors are OS accounts; "declared" trusts $WORKBENCH_USER (single-user laptops)

[governance.roles]              # see workbench/access/roles.py; absent: everyone approver, founder admin
alice = "admin"

[registry]
psi_threshold = 0.2             # per-feature population stability index that counts as drift
missing_rate_threshold = 0.1    # absolute change in a feature's missing rate that counts as drift
```
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workbench.access.policy_record import toml_policy
from workbench.access.roles import parse_roles
from workbench.errors import BadInputError, WorkspaceError
from workbench.identity import IDENTITY_MODES
from workbench.numbers import MAX_DAYS, real_number, whole_number
from workbench.workspace import Workspace

_GOVERNANCE_KEYS = {
    "identity", "roles", "approvers", "required_approvals", "protected_aliases", "max_champion_age_days",
    "max_days_since_evaluation", "stale_data_grace_days", "require_audit_verified", "challenger_margin",
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
    challenger_margin: float = 0.0
    psi_threshold: float = 0.2
    missing_rate_threshold: float = 0.1
    identity: str = "os"
    roles: dict[str, str] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.__dict__.items()}

    @property
    def declared(self) -> bool:
        return self.identity == "declared"

    def is_protected(self, alias: str) -> bool:
        """Protected aliases match whatever their case or Unicode form: `Champion` is `champion`."""
        from workbench.identity import same_person_key

        return same_person_key(alias) in {same_person_key(a) for a in self.protected_aliases}


def load_policy(workspace: Workspace, ledger: Any = None) -> Policy:
    """The policy in force: the one an admin last adopted (`access/policy_record.py`), not a hand edit of
    `workbench.toml`; a workspace that never adopted one (made before adoption existed) uses the file."""
    from workbench.access.actions import load_ledger

    ledger = ledger or load_ledger(workspace)
    if ledger.policy is None:
        return parse_policy(toml_policy(workspace), str(workspace.settings_path))
    return parse_policy(ledger.policy, f"the adopted policy (event #{ledger.policy_seq})")


def file_policy(workspace: Workspace) -> Policy:
    """`workbench.toml`'s policy as written now (validated): what `governance adopt` would adopt."""
    return parse_policy(toml_policy(workspace), str(workspace.settings_path))


def parse_policy(sections: dict[str, Any], where: str) -> Policy:
    """Validate the `governance` and `registry` sections; unknown keys and wrong types name the key."""
    gov = _section(sections, "governance", _GOVERNANCE_KEYS, where)
    reg = _section(sections, "registry", _REGISTRY_KEYS, where)
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
    identity = gov.get("identity", d.identity)
    if identity not in IDENTITY_MODES:
        raise WorkspaceError(f"{where}: [governance] identity must be one of {', '.join(map(repr, IDENTITY_MODES))}.")
    roles = parse_roles(gov.get("roles"), where)
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
        challenger_margin=number(gov, "governance", "challenger_margin", d.challenger_margin, 1e9, "a number"),
        psi_threshold=number(reg, "registry", "psi_threshold", d.psi_threshold, 100, "a number"),
        missing_rate_threshold=number(reg, "registry", "missing_rate_threshold", d.missing_rate_threshold, 1,
                                      "a fraction"),
        identity=identity,
        roles=roles,
    )


def _section(sections: dict[str, Any], name: str, known: set[str], where: str) -> dict[str, Any]:
    section = sections.get(name) or {}
    if not isinstance(section, dict):
        raise WorkspaceError(f"{where}: [{name}] must be a table.")
    unknown = sorted(set(section) - known)
    if unknown:
        raise WorkspaceError(f"{where}: unknown key {unknown[0]!r} in [{name}].")
    return section


def adopt_policy(workspace: Workspace, reason: str | None = None) -> dict[str, Any]:
    """An admin puts `workbench.toml`'s policy in force: validated, then recorded as a signed event."""
    from workbench.access.actions import append_governed, load_ledger, require_role
    from workbench.access.policy_record import policy_sha

    sections = toml_policy(workspace)
    policy = parse_policy(sections, str(workspace.settings_path))  # nothing invalid is ever adopted
    ledger = require_role(workspace, "admin", "Adopting the policy", load_ledger(workspace), governed=True)
    if ledger.policy is not None and policy_sha(ledger.policy) == policy_sha(sections):
        raise BadInputError(f"workbench.toml's policy is already the one in force (adopted at event #{ledger.policy_seq}).")
    ref = append_governed(workspace, "governance.policy_adopted", "workbench.toml",
                          {"policy": sections, "sha256": policy_sha(sections), "reason": (reason or "").strip() or None},
                          ledger=ledger)
    return {"seq": ref.seq, "sha256": policy_sha(sections), "policy": policy.as_dict()}
