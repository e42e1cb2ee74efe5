"""Governed actions: the events an approval or a policy rests on, signed by the person who made them.

A governed event carries `signature = {"key": FINGERPRINT, "sig": ARMORED}` in its parameters. The
signature covers `statement()`: the log's id, the event's kind, subject, actor and every other parameter
(including `_who`, the OS account that wrote it), as canonical JSON. It is made before the event is
appended, by `ssh-keygen` with the person's own key or agent, and checked by `access/ledger.py`.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from workbench.errors import PermissionDenied, SignatureRequired
from workbench.identity import current_identity, who

NAMESPACE = "workbench"  # the `-n` of ssh-keygen -Y sign/verify: a signature for Workbench is for nothing else
STATEMENT_PREFIX = b"workbench governed action v1\n"
GOVERNED_KINDS = frozenset({
    "governance.policy_adopted", "key.added", "key.revoked",
    "model.promotion_requested", "model.approved", "model.rejected", "model.promotion_withdrawn",
    "model.alias_set", "audit.checkpoint_signed",
})


def statement(log_id: str, kind: str, subject: str | None, actor: str, params: Mapping[str, Any]) -> bytes:
    """The exact bytes a governed event's signature covers."""
    body = {"log": log_id, "kind": kind, "subject": subject, "actor": actor, "params": dict(params)}
    return STATEMENT_PREFIX + json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                                         default=str).encode("utf-8")


def acting_identity(mode: str, *, ignore_label: bool = False):  # noqa: ANN201 - workbench.identity.Identity
    """The identity for a governed action, refused when it names someone other than the OS account.

    `ignore_label`: act as the login whatever $WORKBENCH_USER says (the founder's events at `init`)."""
    ident = current_identity(mode)
    if ignore_label:
        return type(ident)(ident.login, ident.uid, None, "os")
    if mode == "os" and ident.declares_other:
        raise PermissionDenied(
            f"WORKBENCH_USER={ident.label} names someone other than your login ({ident.login}); this workspace "
            "identifies people by their OS account for governed actions. Unset WORKBENCH_USER, or (single-user "
            "laptops only) an admin adopts `[governance] identity = \"declared\"`.")
    return ident


def signed_params(log: Any, ledger: Any, kind: str, subject: str | None, actor: str, params: Mapping[str, Any],
                  *, signing_key: Any = None, allow_unsigned: bool = False) -> dict[str, Any]:
    """`params` + `_who` + a signature by this person's enrolled key (required unless identities are declared).

    `signing_key`: the key to use (bootstrap: the key being enrolled signs its own enrolment)."""
    from workbench.signing.ssh_keygen import SigningUnavailable, choose_key, sign

    body = json.loads(log.params_json({**params, "_who": who()}))  # as it will be stored (redacted, JSON)
    body.pop("signature", None)
    try:
        key = signing_key or choose_key(k.key.fingerprint for k in ledger.keys_of(actor))
    except SigningUnavailable as exc:
        if ledger.identity_mode == "declared" or allow_unsigned:
            return body  # a declared identity: recorded unsigned, flagged by `governance report`
        raise SignatureRequired(f"{kind} must be signed with your own key, but {exc}.") from None
    try:
        sig = sign(statement(log.log_id, kind, subject, actor, body), key, NAMESPACE)
    except SigningUnavailable as exc:
        raise SignatureRequired(f"Could not sign {kind}: {exc}.") from None
    return {**body, "signature": {"key": key.public.fingerprint, "sig": sig}}
