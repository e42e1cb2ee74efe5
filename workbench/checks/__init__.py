"""Expectations on lake tables, checked in DuckDB on every new version; a version that passes is certified."""
