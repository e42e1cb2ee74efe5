"""Fixtures of the checks tests (helpers in checks_fixtures.py)."""

from checks_fixtures import readings_ws  # noqa: F401
