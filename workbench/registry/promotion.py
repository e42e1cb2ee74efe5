"""Aliases and promotion: unprotected aliases move directly; protected ones (e.g. `champion`) only move
when a promotion request, carrying evidence, is approved by enough people other than the requester."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workbench.access.actions import require_role
from workbench.audit.log import utc_now
from workbench.errors import BadInputError
from workbench.identity import same_person_key
from workbench.registry.evidence import compute_evidence
from workbench.registry.policy import Policy, load_policy
from workbench.registry.refs import ModelRef, check_alias, resolve_ref
from workbench.registry.store import RegistryStore
from workbench.registry.trail import record_event
from workbench.workspace import Workspace


class PolicyError(BadInputError):
    """The governance policy does not allow this actor to do this."""

    title = "Not allowed by policy"


def _require_reason(reason: str | None, what: str) -> str:
    if not reason or not reason.strip():
        raise BadInputError(f"Give a reason for {what} (--reason TEXT).")
    return reason.strip()


def _move_alias(workspace: Workspace, store: RegistryStore, model: str, alias: str, version: int | None, reason: str,
                request_id: int | None = None, approved_by: list[str] | None = None,
                ledger: Any = None) -> dict[str, Any]:
    """Append an alias event and its audit event (the caller holds the write transaction)."""
    held = store.alias_at(model, alias)
    previous = held["version"] if held else None
    event = {"model": model, "alias": alias, "version": version, "previous_version": previous, "set_at": utc_now(),
             "set_by": workspace.actor, "reason": reason, "request_id": request_id, "approved_by": approved_by}
    ref = record_event(workspace, "model.alias_set", f"{model}@{alias}",
                       {k: v for k, v in event.items() if k not in ("set_at", "set_by")},
                       governed=request_id is not None, ledger=ledger)
    store.insert("alias_events", event, ref)
    event["_event"] = ref
    return event


def set_alias(workspace: Workspace, ref: ModelRef, alias: str, reason: str | None,
              policy: Policy | None = None) -> dict[str, Any]:
    """Point an unprotected alias at a version (or remove it when `ref` has no version and no alias)."""
    ledger = require_role(workspace, "contributor", "Setting an alias")
    policy = policy or load_policy(workspace, ledger)
    alias = check_alias(alias)
    reason = _require_reason(reason, f"setting alias {alias!r}")
    if policy.is_protected(alias):
        raise PolicyError(f"Alias {alias!r} is protected; request it with "
                          f"`workbench models promote {ref.model}:VERSION --to {alias} --reason ...`.")
    with RegistryStore.open(workspace) as store:
        version = resolve_ref(store, ref)["version"] if (ref.version or ref.alias) else None
        if version is None and store.alias_at(ref.model, alias) is None:
            raise BadInputError(f"Model {ref.model!r} has no alias {alias!r} to remove.")
        with store.transaction():
            moved = _move_alias(workspace, store, ref.model, alias, version, reason)
            moved.pop("_event", None)
            return moved


def _promotion_parties(store: RegistryStore, ref: ModelRef, alias: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The candidate version and the alias's current holder (None if unheld), refusing a pointless request."""
    candidate = resolve_ref(store, ref)
    model, version = candidate["model"], candidate["version"]
    held = store.alias_at(model, alias)
    current_version = held["version"] if held else None
    if current_version == version:
        raise BadInputError(f"{model}:{version} already holds alias {alias!r}.")
    for r in store.requests(model=model, state="open"):
        if r["version"] == version and r["alias"] == alias:
            raise BadInputError(f"Request {r['id']} to make {model}:{version} {alias} is already open.")
    return candidate, store.get_version(model, current_version) if current_version is not None else None


def preview_promotion(workspace: Workspace, ref: ModelRef, alias: str) -> dict[str, Any]:
    """The evidence a promotion request would carry, computed before anything is written (read-only)."""
    alias = check_alias(alias)
    require_role(workspace, "contributor", "Requesting a promotion", governed=True)  # refused before the slow part
    with RegistryStore.open(workspace) as store:
        candidate, current = _promotion_parties(store, ref, alias)
    return compute_evidence(workspace, candidate, current)


def request_promotion(workspace: Workspace, ref: ModelRef, alias: str, reason: str | None, *,
                      via: str | None = None) -> dict[str, Any]:
    """Open a request to move `alias` to the version `ref` names, with evidence against the current holder.

    `via` (e.g. `pipeline:nightly`) says what opened it on the requester's behalf; the requester is still the
    acting person, so the four-eyes rule keeps them from approving it."""
    alias = check_alias(alias)
    reason = _require_reason(reason, "the promotion")
    ledger = require_role(workspace, "contributor", "Requesting a promotion", governed=True)
    with RegistryStore.open(workspace) as store:
        candidate, current = _promotion_parties(store, ref, alias)
        model, version = candidate["model"], candidate["version"]
        current_version = current["version"] if current is not None else None
        evidence = compute_evidence(workspace, candidate, current)  # slow part: outside the write lock
        with store.transaction():
            now_held = store.alias_at(model, alias)
            if (now_held["version"] if now_held else None) != current_version:
                raise BadInputError(f"Alias {alias!r} of {model!r} moved while the evidence was computed; try again.")
            row = {"id": store.next_id("promotion_requests"), "model": model, "version": version, "alias": alias,
                   "reason": reason, "requested_by": workspace.actor, "requested_at": utc_now(),
                   "current_version": current_version, "evidence": evidence, "state": "open"}
            ref = record_event(workspace, "model.promotion_requested", f"{model}:{version}", {
                "request": row["id"], "model": model, "version": version, "alias": alias, "reason": reason,
                "current_version": current_version, "verdict": evidence["verdict"], "metric": evidence["metric"],
                "comparisons": evidence["comparisons"], **({"via": via} if via else {}),
            }, run_id=candidate["run_id"], governed=True, ledger=ledger)
            store.insert("promotion_requests", row, ref)
        return store.get_request(row["id"]) or row


def _open_request(store: RegistryStore, request_id: int) -> dict[str, Any]:
    request = store.get_request(request_id)
    if request is None:
        raise BadInputError(f"No promotion request {request_id} (see `workbench models requests`).")
    if request["state"] != "open":
        raise BadInputError(f"Request {request_id} is already {request['state']}.")
    return request


def _check_decider(workspace: Workspace, policy: Policy, request: dict[str, Any], store: RegistryStore, verb: str) -> str:
    """People are compared as they read names (trimmed, case-folded, NFKC): `Alice` is `alice`."""
    actor = workspace.actor
    require_role(workspace, "approver", {"approve": "Approving", "reject": "Rejecting"}.get(verb, verb) + " a promotion",
                 store.ledger, governed=True)
    who = same_person_key(actor)
    if who == same_person_key(request["requested_by"]):
        raise PolicyError(f"{actor} requested promotion {request['id']} and cannot {verb} it (four-eyes rule); "
                          "another approver must decide.")
    if policy.approvers and who not in {same_person_key(a) for a in policy.approvers}:
        raise PolicyError(f"{actor} is not an approver (workbench.toml [governance] approvers: "
                          f"{', '.join(policy.approvers)}).")
    if any(same_person_key(d["actor"]) == who for d in _counted_decisions(store, request["id"])):
        raise PolicyError(f"{actor} has already decided on request {request['id']}.")
    return actor


def _counted_decisions(store: RegistryStore, request_id: int) -> list[dict[str, Any]]:
    """Decisions whose governed events count. One whose event is well chained but not validly signed (a forged
    or revoked-key approval) is left out: it is `audit verify`'s finding, and never moves an alias."""
    counted = []
    for row in store.raw_decisions(request_id):
        status = store.ledger.status(int(row["event_seq"])) if row.get("event_seq") is not None else None
        if status is not None and not status.counts:
            continue
        counted.append(store.checked("decisions", row))
    return counted


@dataclass(frozen=True)
class ApprovalPreview:
    """What approving a request would do, read before anything is written (the TUI's confirmation shows it)."""

    request: dict[str, Any]
    held_version: int | None  # who holds the alias now
    approvals: tuple[str, ...]  # counted approvals so far
    required: int

    @property
    def moves_alias(self) -> bool:
        """One more distinct approval is enough to move the alias."""
        return len(self.approvals) + 1 >= self.required

    def line(self) -> str:
        r = self.request
        held = "unheld" if self.held_version is None else f"v{self.held_version}"
        return f"{r['model']}@{r['alias']}: {held} → v{r['version']}"


def preview_approval(workspace: Workspace, request_id: int, policy: Policy | None = None) -> ApprovalPreview:
    """The alias move an approval of `request_id` by the acting person would make, and the approvals so far
    (read-only; refuses as `approve_request` would: four-eyes rule, role, approver list)."""
    policy = policy or load_policy(workspace)
    with RegistryStore.open(workspace) as store:
        request = _open_request(store, request_id)
        _check_decider(workspace, policy, request, store, "approve")  # a refusal comes before the confirmation
        held = store.alias_at(request["model"], request["alias"])
        names = [d["actor"] for d in _counted_decisions(store, request_id) if d["decision"] == "approve"]
    distinct: dict[str, str] = {}
    for name in names:  # one approval per person, as first written
        distinct.setdefault(same_person_key(name), name)
    return ApprovalPreview(request, held["version"] if held else None, tuple(distinct.values()),
                           policy.required_approvals)


def approve_request(workspace: Workspace, request_id: int, reason: str | None = None,
                    policy: Policy | None = None) -> dict[str, Any]:
    """Record an approval; with enough approvals the alias moves in the same transaction."""
    policy = policy or load_policy(workspace)
    with RegistryStore.open(workspace) as store:
        with store.transaction():
            request = _open_request(store, request_id)
            actor = _check_decider(workspace, policy, request, store, "approve")
            held = store.alias_at(request["model"], request["alias"])
            if (held["version"] if held else None) != request["current_version"]:
                raise BadInputError(
                    f"Alias {request['alias']!r} of {request['model']!r} has moved since request {request_id} was "
                    "opened, so its evidence is out of date; withdraw it and open a new request."
                )
            now = utc_now()
            earlier = [d["actor"] for d in _counted_decisions(store, request_id) if d["decision"] == "approve"]
            approvers = [*earlier, actor]
            # Distinct people, as names are read: `bob` and `BOB` are one approval.
            distinct = len({same_person_key(a) for a in approvers})
            ref = record_event(workspace, "model.approved", f"{request['model']}:{request['version']}", {
                "request": request_id, "alias": request["alias"], "reason": reason, "approvals": distinct,
                "required": policy.required_approvals, "requested_by": request["requested_by"],
            }, governed=True, ledger=store.ledger)
            store.insert("decisions", {"request_id": request_id, "actor": actor, "decision": "approve",
                                       "reason": (reason or "").strip() or None, "decided_at": now}, ref)
            if distinct >= policy.required_approvals:
                moved = _move_alias(workspace, store, request["model"], request["alias"], request["version"],
                                    f"request {request_id}: {request['reason']}", request_id=request_id,
                                    approved_by=approvers, ledger=store.ledger)
                store.close_request(request_id, "approved", now, moved["_event"])
        return store.get_request(request_id) or request


def reject_request(workspace: Workspace, request_id: int, reason: str | None, policy: Policy | None = None) -> dict[str, Any]:
    """Reject a request: it closes and nothing else changes."""
    policy = policy or load_policy(workspace)
    reason = _require_reason(reason, "the rejection")
    with RegistryStore.open(workspace) as store:
        with store.transaction():
            request = _open_request(store, request_id)
            actor = _check_decider(workspace, policy, request, store, "reject")
            now = utc_now()
            ref = record_event(workspace, "model.rejected", f"{request['model']}:{request['version']}", {
                "request": request_id, "alias": request["alias"], "reason": reason,
                "requested_by": request["requested_by"],
            }, governed=True, ledger=store.ledger)
            store.insert("decisions", {"request_id": request_id, "actor": actor, "decision": "reject",
                                       "reason": reason, "decided_at": now}, ref)
            store.close_request(request_id, "rejected", now, ref)
        return store.get_request(request_id) or request


def withdraw_request(workspace: Workspace, request_id: int, reason: str | None = None) -> dict[str, Any]:
    """The requester takes back an open request."""
    with RegistryStore.open(workspace) as store:
        with store.transaction():
            request = _open_request(store, request_id)
            if same_person_key(workspace.actor) != same_person_key(request["requested_by"]):
                raise PolicyError(f"Only {request['requested_by']}, who opened request {request_id}, can withdraw it; "
                                  "others reject it.")
            ref = record_event(workspace, "model.promotion_withdrawn", f"{request['model']}:{request['version']}",
                               {"request": request_id, "alias": request["alias"], "reason": reason},
                               governed=True, ledger=store.ledger)
            store.close_request(request_id, "withdrawn", utc_now(), ref)
        return store.get_request(request_id) or request
