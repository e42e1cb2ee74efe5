"""`audit verify`'s governance checks: every governed action's signature, and the policy file vs the policy
in force. A governed action that does not count (unsigned where identities are not declared, a bad or
revoked signature, a key bound to someone else, a key or policy change by a non-admin) is a finding."""

from __future__ import annotations

from workbench.access.ledger import Ledger
from workbench.access.policy_record import pending_change
from workbench.audit.findings import Finding
from workbench.audit.log import AuditLog
from workbench.workspace import Workspace

_LABELS = {
    "unsigned": "is not signed", "invalid": "has a signature that does not verify", "revoked": "is signed with a revoked key",
    "wrong-key": "is signed with another person's key", "unknown-key": "is signed with a key that was never enrolled",
    "not-allowed": "was made by someone without the role for it", "declared-other": "names someone other than its OS account",
    "edited": "was edited",
}


def check_governance(workspace: Workspace, log: AuditLog, ledger: Ledger | None = None) -> list[Finding]:
    ledger = ledger or Ledger.load(log)
    findings = [Finding("governance.signature", "events", f"#{s.seq}",
                        f"governed action #{s.seq} ({s.kind} by {s.actor}) {_LABELS.get(s.status, s.status)} and does "
                        f"not count: {s.detail}.")
                for s in ledger.problems()]
    pending = pending_change(workspace, ledger.policy)
    if pending:
        findings.append(Finding("governance.policy", "workbench.toml", "policy", pending + "."))
    return findings


def signed_counts(ledger: Ledger) -> dict[str, int]:
    counts: dict[str, int] = {}
    for s in ledger.statuses.values():
        counts[s.status] = counts.get(s.status, 0) + 1
    return counts
