"""Declared sources: where a lake table's new versions come from, refreshed only when the content changed."""
