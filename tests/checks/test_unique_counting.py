"""Uniqueness of integer columns is counted with a bitmap when their span allows; it must count exactly
what count(DISTINCT) counts, negatives, NULLs and spans too wide for a bitmap included."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from workbench.checks.expectations import parse_expectations
from workbench.checks.sql import BITMAP_MAX_SPAN, build_plan, integer_spans, run_plan, unique_integer_columns

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _duplicates(con: duckdb.DuckDBPyConnection, values_sql: str, tmp_path: Path) -> tuple[list[str], str]:
    con.execute(f"CREATE OR REPLACE TABLE t AS SELECT v::BIGINT AS v FROM ({values_sql}) s(v)")
    exp = parse_expectations("t", b"[columns.v]\nunique = true\n", tmp_path / "t.toml")
    types = {"v": "BIGINT"}
    spans = integer_spans(con, unique_integer_columns(exp, types), "t")
    plan = build_plan(exp, {"v"}, NOW, spans)
    _, failures = run_plan(con, plan, "t")
    return failures, plan.select("t")


CASES = [
    # (values, expected duplicate count)
    ("SELECT range FROM range(100000)", 0),
    ("SELECT range % 1000 FROM range(5000)", 4000),
    ("SELECT -range FROM range(300) UNION ALL SELECT -5 UNION ALL SELECT NULL UNION ALL SELECT NULL", 1),
    ("SELECT NULL FROM range(3)", 0),
    ("SELECT 7 UNION ALL SELECT 7", 1),
]


@pytest.mark.parametrize("values,dups", CASES)
def test_bitmap_counts_what_count_distinct_counts(values: str, dups: int, tmp_path: Path) -> None:
    con = duckdb.connect()
    failures, sql = _duplicates(con, values, tmp_path)
    exact = con.execute("SELECT count(v) - count(DISTINCT v) FROM t").fetchone()[0]
    assert exact == dups
    if dups:
        assert failures == [f"v has {dups:,} duplicate value{'' if dups == 1 else 's'} (unique)."]
    else:
        assert failures == []
    has_values = con.execute("SELECT count(v) FROM t").fetchone()[0] > 0
    assert ("bitstring_agg" in sql) is has_values  # a column of NULLs has no span: plain count(DISTINCT)


def test_a_span_too_wide_for_a_bitmap_is_counted_by_hash(tmp_path: Path) -> None:
    con = duckdb.connect()
    failures, sql = _duplicates(con, f"SELECT 0 UNION ALL SELECT {BITMAP_MAX_SPAN * 4} UNION ALL SELECT 0", tmp_path)
    assert "bitstring_agg" not in sql and "count(DISTINCT" in sql
    assert failures == ["v has 1 duplicate value (unique)."]
