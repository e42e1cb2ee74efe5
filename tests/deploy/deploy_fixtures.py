"""Fixtures for the share-and-deploy tests: the registry's real workspaces (trained runs, an approved champion).

Not a conftest.py (it would shadow tests/conftest.py); test modules import what they use from here.
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "registry"))

from registry_fixtures import as_user, train, two_versions, with_champion  # noqa: E402,F401

__all__ = ["as_user", "free_port", "train", "two_versions", "with_champion"]


def free_port() -> int:
    """A port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
