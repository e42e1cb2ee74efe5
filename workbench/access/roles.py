"""Roles: who may change what. `[governance.roles]` maps people (and `group:NAME`, and `*`) to a role.

```toml
[governance.roles]
alice = "admin"              # policy, roles, keys, prune, archive, and everything below
bob = "approver"             # approve/reject promotions, and everything below
"group:analysts" = "contributor"   # lake writes, runs, register, request promotion
"*" = "viewer"               # everyone else: read only
```

Roles are ordered: each includes the ones below it. Without a `roles` table everyone is an approver (as
before roles existed) and the workspace's founder, who created it, is its admin. The table in force is
the one in the adopted policy (`access/policy_record.py`), never a hand edit of `workbench.toml`.
"""

from __future__ import annotations

import grp
import pwd
from dataclasses import dataclass
from typing import Any, Mapping

from workbench.errors import PermissionDenied, WorkspaceError
from workbench.identity import same_person_key

ROLES = ("viewer", "contributor", "approver", "admin")
_RANK = {r: i for i, r in enumerate(ROLES)}
DEFAULT_ROLE_WITHOUT_TABLE = "approver"
# What each role is for, in the refusal sentence.
NEEDED_FOR = {
    "contributor": "lake writes, runs, registering and requesting promotions",
    "approver": "approving and rejecting promotions",
    "admin": "policy, roles, keys, pruning and archiving",
}


@dataclass(frozen=True)
class Roles:
    table: Mapping[str, str] | None  # None: no roles table (everyone an approver, the founder admin)
    founder: str | None

    def role_of(self, name: str, groups: tuple[str, ...] | None = None) -> str:
        """The highest role `name` holds, directly, through a group, or through `*`."""
        who = same_person_key(name)
        if self.table is None:
            return "admin" if self.founder and who == same_person_key(self.founder) else DEFAULT_ROLE_WITHOUT_TABLE
        groups = groups_of(name) if groups is None else groups
        found = []
        for key, role in self.table.items():
            k = same_person_key(key)
            if k == who or (k.startswith("group:") and k[6:] in {same_person_key(g) for g in groups}):
                found.append(role)
        if not found and "*" in self.table:
            found.append(self.table["*"])
        return max(found, key=_RANK.__getitem__) if found else "viewer"

    def allows(self, name: str, needed: str, groups: tuple[str, ...] | None = None) -> bool:
        return _RANK[self.role_of(name, groups)] >= _RANK[needed]

    def admins(self) -> list[str]:
        if self.table is None:
            return [self.founder] if self.founder else []
        return [k for k, v in self.table.items() if v == "admin"]


def parse_roles(value: Any, where: str) -> dict[str, str] | None:
    """Validate a `[governance.roles]` table; None when absent."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise WorkspaceError(f"{where}: [governance.roles] must be a table of name = \"role\".")
    table: dict[str, str] = {}
    for name, role in value.items():
        if not isinstance(name, str) or not name.strip():
            raise WorkspaceError(f"{where}: [governance.roles] has an empty name.")
        if role not in _RANK:
            raise WorkspaceError(f"{where}: [governance.roles] {name} = {role!r}: the role must be one of "
                                 f"{', '.join(ROLES)}.")
        table[name.strip()] = role
    if not any(r == "admin" for r in table.values()):
        raise WorkspaceError(f"{where}: [governance.roles] names no admin; nobody could change the policy again.")
    return table


def groups_of(login: str) -> tuple[str, ...]:
    """The OS groups `login` belongs to now (primary and supplementary)."""
    names = set()
    try:
        names.add(grp.getgrgid(pwd.getpwnam(login).pw_gid).gr_name)
    except KeyError:
        pass
    for g in grp.getgrall():
        if login in g.gr_mem:
            names.add(g.gr_name)
    return tuple(sorted(names))


def refuse(name: str, role: str, needed: str, what: str) -> PermissionDenied:
    return PermissionDenied(f"{what} needs the {needed} role ({NEEDED_FOR.get(needed, needed)}); {name} is a {role}. "
                            "An admin grants roles in [governance.roles] and adopts the change with "
                            "`workbench governance adopt`.")
