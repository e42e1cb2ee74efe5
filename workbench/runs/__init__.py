"""Runs: executing a spec end to end and recording every step in the audit log."""
