"""Fixtures for the shared-workspace tests: a real team of OS users (see tests/osusers.py)."""

from __future__ import annotations

from typing import Iterator

import pytest
from osusers import Team, TeamUnavailable, check_can_make_users, make_team, remove_team


@pytest.fixture(scope="session")
def team() -> Iterator[Team]:
    """Group + alice, bob, carol (members) and mallory (not), with an interpreter they can all run.

    Skips only where users cannot be made (not root, no useradd); a failed set-up is an error."""
    try:
        check_can_make_users()
    except TeamUnavailable as exc:
        pytest.skip(f"real OS users unavailable: {exc}")
    made = make_team()
    try:
        yield made
    finally:
        remove_team(made)
