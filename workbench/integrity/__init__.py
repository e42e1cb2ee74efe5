"""Whole-workspace integrity: everything governance relies on, checked against the audit chain."""
