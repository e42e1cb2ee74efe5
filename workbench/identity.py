"""Who is acting: the operating-system account running the command, not a name someone typed.

The actor recorded on events is the OS login; every event also records the login and uid it was
appended under (`who()`, stored as the `_who` parameter), so a name in the `actor` column can always be
checked against the account that wrote it. `WORKBENCH_USER` only sets a display label. A workspace whose
policy says `[governance] identity = "declared"` (a single-user laptop, or tests that play several people)
records the declared label as the actor instead; governed actions are then flagged as declared by
`governance report`. The rule for governed actions lives in `workbench/access/governed.py`.
"""

from __future__ import annotations

import grp
import os
import pwd
import socket
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

IDENTITY_MODES = ("os", "declared")


@dataclass(frozen=True)
class Identity:
    login: str
    uid: int
    label: str | None  # $WORKBENCH_USER, a display label
    mode: str = "os"

    @property
    def actor(self) -> str:
        """The name recorded on events: the login, or the declared label in a `declared` workspace."""
        if self.mode == "declared" and self.label:
            return self.label
        return self.login

    @property
    def declares_other(self) -> bool:
        """True when the label names someone other than the login (refused for governed actions in `os` mode)."""
        return bool(self.label) and same_person_key(self.label) != same_person_key(self.login)

    @property
    def groups(self) -> tuple[str, ...]:
        return os_groups()


@lru_cache(maxsize=1)
def _account(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:  # a uid with no passwd entry (some containers): still something honest
        return f"uid:{uid}"


def os_login() -> str:
    return _account(os.geteuid())


def os_groups() -> tuple[str, ...]:
    """Names of the groups this process belongs to (for `group:NAME` roles)."""
    names = []
    for gid in sorted({os.getegid(), *os.getgroups()}):
        try:
            names.append(grp.getgrgid(gid).gr_name)
        except KeyError:
            continue
    return tuple(names)


def current_identity(mode: str = "os") -> Identity:
    label = os.environ.get("WORKBENCH_USER", "").strip() or None
    return Identity(login=os_login(), uid=os.geteuid(), label=label, mode=mode if mode in IDENTITY_MODES else "os")


def who() -> dict[str, object]:
    """The account appending an event, recorded on every event (`_who`)."""
    ident = current_identity()
    found: dict[str, object] = {"login": ident.login, "uid": ident.uid}
    if ident.label and ident.declares_other:
        found["label"] = ident.label
    return found


def current_host() -> str:
    return socket.gethostname()


def same_person_key(name: str | None) -> str:
    """A name as people read it, for every rule that counts people (four eyes, distinct approvers):
    NFKC-normalised (fullwidth and compatibility forms fold), trimmed and case-folded."""
    return unicodedata.normalize("NFKC", name or "").strip().casefold()
