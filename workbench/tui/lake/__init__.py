"""Widgets and dialogs of the Lake tab: catalog tree, preview, profile, versus target, SQL console."""
