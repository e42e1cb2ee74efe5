"""The governance ledger: keys, adopted policies and every governed action's signature, read from the chain.

Nothing here is stored anywhere but in hash-chained events, so there is no table to edit. One pass over
the governed events (by seq, archives first) replays:

- `key.added` / `key.revoked`: the signing keys in force, each bound to one person's login. The first key
  of a workspace is self-signed (it proves its holder has the private key); every later key change must be
  signed by an admin's key that is in force.
- `governance.policy_adopted`: the policy (`[governance]`, `[governance.roles]`, `[registry]`) in force.
  The first adoption, written by `init`, is taken on first use, like the log's anchor; every later one must
  be made by an admin of the policy before it.
- every governed action: `signed` (a valid signature by a key in force, bound to the actor), `declared`
  (unsigned, in a workspace whose policy allows declared identities), or a problem (`unsigned`,
  `invalid`, `revoked`, `wrong-key`, `not-allowed`) that makes the action not count.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from workbench.access.governed import GOVERNED_KINDS, NAMESPACE, statement
from workbench.access.roles import Roles
from workbench.audit.chain import CHAIN_FIELDS, event_hash
from workbench.audit.log import AuditLog
from workbench.identity import same_person_key
from workbench.signing.sshsig import PublicKey, SignatureError, verify

OK_STATUSES = ("signed", "declared", "bootstrap")
_KIND_LIST = ", ".join(f"'{k}'" for k in sorted(GOVERNED_KINDS))
_SELECT = f"SELECT {', '.join(CHAIN_FIELDS)}, hash FROM events WHERE kind IN ({_KIND_LIST}) ORDER BY seq"


@dataclass
class EnrolledKey:
    login: str
    key: PublicKey
    added_seq: int
    revoked_seq: int | None = None
    comment: str | None = None

    def in_force_at(self, seq: int) -> bool:
        return self.added_seq < seq and (self.revoked_seq is None or seq < self.revoked_seq)


@dataclass(frozen=True)
class ActionStatus:
    seq: int
    kind: str
    actor: str
    status: str  # one of OK_STATUSES, or a problem name
    detail: str
    key: str | None = None  # fingerprint that signed it

    @property
    def counts(self) -> bool:
        return self.status in OK_STATUSES


@dataclass
class Ledger:
    log_id: str
    keys: dict[str, EnrolledKey] = field(default_factory=dict)  # fingerprint -> key
    policy: dict[str, Any] | None = None  # the adopted sections: {"governance": {...}, "registry": {...}}
    policy_seq: int | None = None
    founder: str | None = None
    statuses: dict[int, ActionStatus] = field(default_factory=dict)

    # -- what is in force now -----------------------------------------------------------------------
    @property
    def governance(self) -> dict[str, Any]:
        return dict((self.policy or {}).get("governance") or {})

    @property
    def identity_mode(self) -> str:
        return str(self.governance.get("identity", "os"))

    @property
    def roles(self) -> Roles:
        return Roles(self.governance.get("roles"), self.founder)

    def keys_of(self, login: str, at: int | None = None) -> list[EnrolledKey]:
        who = same_person_key(login)
        return [k for k in self.keys.values() if same_person_key(k.login) == who
                and (k.revoked_seq is None if at is None else k.in_force_at(at))]

    def status(self, seq: int) -> ActionStatus | None:
        return self.statuses.get(seq)

    def problems(self) -> list[ActionStatus]:
        return [s for s in self.statuses.values() if not s.counts]

    # -- the replay ---------------------------------------------------------------------------------
    @classmethod
    def load(cls, log: AuditLog) -> "Ledger":
        ledger = cls(log.log_id)
        for row in _governed_rows(log):
            ledger._apply(row)
        return ledger

    def _apply(self, row: dict[str, Any]) -> None:
        seq, kind, actor = row["seq"], row["kind"], row["actor"] or ""
        if row["_edited"] and kind != "model.alias_set":
            self.statuses[seq] = ActionStatus(seq, kind, actor, "edited", "its content no longer matches its hash")
            return
        params = json.loads(row["params"] or "{}")
        if kind == "model.alias_set" and params.get("request_id") is None:
            return  # an unprotected alias move is not a governed action
        status = self._check_signature(seq, kind, actor, row["subject"], params)
        if kind == "key.added":
            status = self._add_key(status, params)
        elif kind == "key.revoked":
            status = self._revoke_key(status, params)
        elif kind == "governance.policy_adopted":
            status = self._adopt(status, params)
        self.statuses[seq] = status

    def _check_signature(self, seq: int, kind: str, actor: str, subject: str | None,
                         params: dict[str, Any]) -> ActionStatus:
        who = params.get("_who") or {}
        signature = params.get("signature")
        mode = self.identity_mode
        if mode == "os" and who.get("login") and same_person_key(actor) != same_person_key(str(who["login"])):
            return ActionStatus(seq, kind, actor, "declared-other",
                                f"made by the account {who['login']} in the name of {actor}")
        if not signature:
            if mode == "declared":
                return ActionStatus(seq, kind, actor, "declared", "unsigned; this workspace allows declared identities")
            return ActionStatus(seq, kind, actor, "unsigned", "it carries no signature")
        fingerprint = str(signature.get("key", ""))
        bootstrap_key = kind == "key.added" and not self.keys and params.get("fingerprint") == fingerprint
        key = self.keys.get(fingerprint)
        public = key.key if key else None
        if bootstrap_key:
            try:
                public = PublicKey.parse(str(params.get("key", "")))
            except SignatureError as exc:
                return ActionStatus(seq, kind, actor, "invalid", f"its key cannot be read ({exc})", fingerprint)
        if public is None:
            return ActionStatus(seq, kind, actor, "unknown-key", f"signed with {fingerprint}, which was never enrolled",
                                fingerprint)
        body = {k: v for k, v in params.items() if k != "signature"}
        try:
            verify(str(signature.get("sig", "")), statement(self.log_id, kind, subject, actor, body), NAMESPACE, public)
        except SignatureError as exc:
            return ActionStatus(seq, kind, actor, "invalid", f"its signature does not verify ({exc})", fingerprint)
        if key is not None and not key.in_force_at(seq):
            return ActionStatus(seq, kind, actor, "revoked",
                                f"signed with {fingerprint}, revoked at event #{key.revoked_seq}", fingerprint)
        owner = key.login if key is not None else str(params.get("login", ""))
        if same_person_key(owner) != same_person_key(actor):
            return ActionStatus(seq, kind, actor, "wrong-key", f"signed with {owner}'s key {fingerprint}, not {actor}'s",
                                fingerprint)
        return ActionStatus(seq, kind, actor, "bootstrap" if bootstrap_key else "signed", f"signed with {fingerprint}",
                            fingerprint)

    def _admin_ok(self, status: ActionStatus, what: str) -> ActionStatus:
        """Key and policy changes count only when signed (or declared) by an admin of the policy in force."""
        if not status.counts:
            return status
        if self.founder is None:
            self.founder = status.actor
        if not self.roles.allows(status.actor, "admin"):
            return ActionStatus(status.seq, status.kind, status.actor, "not-allowed",
                                f"{status.actor} was not an admin when {what}", status.key)
        return status

    def _add_key(self, status: ActionStatus, params: dict[str, Any]) -> ActionStatus:
        if status.status == "bootstrap":
            self.founder = self.founder or status.actor
        status = self._admin_ok(status, "adding a key")
        if status.counts:
            try:
                key = PublicKey.parse(str(params.get("key", "")))
            except SignatureError as exc:
                return ActionStatus(status.seq, status.kind, status.actor, "invalid", f"bad key ({exc})")
            self.keys[key.fingerprint] = EnrolledKey(str(params.get("login")), key, status.seq,
                                                     comment=params.get("comment"))
        return status

    def _revoke_key(self, status: ActionStatus, params: dict[str, Any]) -> ActionStatus:
        status = self._admin_ok(status, "revoking a key")
        key = self.keys.get(str(params.get("fingerprint")))
        if status.counts and key is not None and key.revoked_seq is None:
            key.revoked_seq = status.seq
        return status

    def _adopt(self, status: ActionStatus, params: dict[str, Any]) -> ActionStatus:
        first = self.policy is None
        if first and not status.counts and status.status in ("unsigned",):
            # The policy written by `init` before any key existed: taken on first use, like the anchor.
            status = ActionStatus(status.seq, status.kind, status.actor, "bootstrap",
                                  "the workspace's first policy, adopted at init before any key was enrolled")
        status = self._admin_ok(status, "adopting the policy")
        if status.counts:
            self.policy = params.get("policy") or {}
            self.policy_seq = status.seq
        return status


def _governed_rows(log: AuditLog) -> Iterator[dict[str, Any]]:
    """Governed events, archived ones first, each marked `_edited` when it no longer matches its hash."""
    from workbench.audit.archive import anchors

    sources: list[sqlite3.Connection] = []
    for anchor in anchors(log):
        path = log.workspace_root / str(anchor["file"])
        if path.exists():
            sources.append(sqlite3.connect(f"file:{path}?mode=ro", uri=True))
    for conn in [*sources, log.conn]:
        v2_from = int(log.meta("chain_v2_from") or 1)
        for row in conn.execute(_SELECT):
            values, stored = row[:-1], row[-1]
            edited = row[0] >= v2_from and event_hash(list(values)) != stored
            yield {**dict(zip(CHAIN_FIELDS, values)), "_edited": edited}
        if conn is not log.conn:
            conn.close()
