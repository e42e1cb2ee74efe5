"""Workbench: a local, keyboard-first data-science workbench."""

__version__ = "0.1.0"
