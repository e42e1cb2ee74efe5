"""Who is acting: one rule, used for every audit event and registry change.

`WORKBENCH_USER` if set, else `user` under `[workspace]` in workbench.toml, else the OS login.
"""

from __future__ import annotations

import getpass
import os
import socket
import unicodedata


def current_actor(configured_user: str | None = None) -> str:
    """Return the actor name by the documented precedence rule."""
    env_user = os.environ.get("WORKBENCH_USER", "").strip()
    if env_user:
        return env_user
    if configured_user and configured_user.strip():
        return configured_user.strip()
    try:
        return getpass.getuser()
    except Exception:  # no login name (some containers): still record something honest
        return f"uid:{os.getuid()}"


def current_host() -> str:
    return socket.gethostname()


def same_person_key(name: str | None) -> str:
    """A name as people read it, for every rule that counts people (four eyes, distinct approvers):
    NFKC-normalised (fullwidth and compatibility forms fold), trimmed and case-folded."""
    return unicodedata.normalize("NFKC", name or "").strip().casefold()
