"""Expectations as DuckDB SQL: every row-level rule of a table becomes one aggregate of a single scan.

Why generated SQL rather than pandera or pandas: the rules run where the data is, in one pass over the
Parquet files, with DuckDB's parallel aggregates; nothing is pulled into Python. `benchmarks/
expectation_checks.py` measures the same rules on 10M rows in DuckDB, pandas and pandera (polars).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from workbench.checks.expectations import ColumnRules, Expectations
from workbench.lake.names import quote_ident, quote_literal

# (name of the aggregate, its SQL); then a verdict reads the aggregates and returns a failure or None.
Verdict = Callable[[dict[str, Any]], "str | None"]


@dataclass(frozen=True)
class Plan:
    aggregates: list[tuple[str, str]]
    verdicts: list[Verdict]

    def select(self, from_sql: str) -> str:
        parts = ", ".join(f"{sql} AS {quote_ident(name)}" for name, sql in self.aggregates)
        return f"SELECT {parts} FROM {from_sql}"


def literal(value: Any) -> str:
    """A rule's value as a SQL literal (numbers as numbers, everything else as a quoted string)."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else quote_literal(str(value))
    return quote_literal(str(value))


def _count_where(condition: str) -> str:
    # count_if, not count(*) FILTER (WHERE …): DuckDB evaluates each FILTER clause as its own selection, and
    # on 2M rows × 30 rules count_if took half the time (benchmarks/expectation_checks.py).
    return f"count_if({condition})"


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


# A unique integer column whose values span at most this many distinct integers is counted with a bitmap
# (`bitstring_agg`, 32 MB at most) instead of a hash table: 10M ids in ~0.5 s instead of ~4 s.
BITMAP_MAX_SPAN = 1 << 28
INTEGER_TYPES = frozenset({"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER",
                           "UBIGINT"})


def _distinct_sql(col: str, span: tuple[int, int] | None) -> str:
    if span is not None and 0 <= span[1] - span[0] < BITMAP_MAX_SPAN:
        return f"bit_count(bitstring_agg({col}, {span[0]}, {span[1]}))"
    return f"count(DISTINCT {col})"


def _column_rules(rules: ColumnRules, agg: list[tuple[str, str]], verdicts: list[Verdict],
                  span: tuple[int, int] | None = None) -> None:
    c = rules.column
    col = quote_ident(c)
    key = f"{c}\x1f"  # aggregate names are per column; \x1f cannot occur in a column name typed in TOML

    def add(name: str, sql: str, verdict: Callable[[Any, dict[str, Any]], str | None]) -> None:
        agg.append((key + name, sql))
        verdicts.append(lambda row, name=name: verdict(row[key + name], row))

    if rules.not_null or rules.max_missing is not None:
        agg.append((key + "nulls", f"count(*) - count({col})"))
    if rules.not_null:
        verdicts.append(lambda row: f"{c} has {_plural(row[key + 'nulls'], 'missing value')} (not_null)."
                        if row[key + "nulls"] else None)
    if rules.max_missing is not None:
        limit = rules.max_missing

        def missing_share(row: dict[str, Any]) -> str | None:
            n = row["\x1frows"]
            share = row[key + "nulls"] / n if n else 0.0
            return f"{c} is {share:.2%} missing (at most {limit:.2%} allowed)." if share > limit else None

        verdicts.append(missing_share)
    if rules.unique:
        add("duplicates", f"count({col}) - {_distinct_sql(col, span)}",
            lambda n, _: f"{c} has {_plural(n, 'duplicate value')} (unique)." if n else None)
    if rules.min is not None:
        bound = rules.min
        add("below", _count_where(f"{col} < {literal(bound)}"),
            lambda n, _: f"{c} has {_plural(n, 'value')} below {bound}." if n else None)
    if rules.max is not None:
        bound_max = rules.max
        add("above", _count_where(f"{col} > {literal(bound_max)}"),
            lambda n, _: f"{c} has {_plural(n, 'value')} above {bound_max}." if n else None)
    if rules.allowed is not None:
        allowed = rules.allowed
        values = ", ".join(literal(v) for v in allowed)
        add("outside", _count_where(f"{col} IS NOT NULL AND {col} NOT IN ({values})"),
            lambda n, _: f"{c} has {_plural(n, 'value')} outside the allowed set "
                         f"({', '.join(map(str, allowed[:6]))}{', …' if len(allowed) > 6 else ''})." if n else None)


def _as_utc(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return None


def _freshness(exp: Expectations, now: datetime, agg: list[tuple[str, str]], verdicts: list[Verdict]) -> None:
    column, max_age = exp.freshness_column, exp.freshness_max_age_s
    assert column is not None and max_age is not None
    agg.append(("\x1fnewest", f"max({quote_ident(column)})"))

    def fresh(row: dict[str, Any]) -> str | None:
        newest = _as_utc(row["\x1fnewest"])
        if newest is None:
            return f"{column} has no timestamp to judge freshness by." if row["\x1fnewest"] is None else \
                f"{column} is not a date or timestamp column, so freshness cannot be judged."
        age = (now - newest).total_seconds()
        if age > max_age:
            return f"the newest {column} is {newest:%Y-%m-%d %H:%M} UTC, {age / 3600:.1f} h old (at most {max_age / 3600:g} h)."
        return None

    verdicts.append(fresh)


def unique_integer_columns(exp: Expectations, types: dict[str, str]) -> list[str]:
    """Columns with a `unique` rule whose values are integers: their span decides how they are counted."""
    return [r.column for r in exp.columns if r.unique and types.get(r.column, "").upper() in INTEGER_TYPES]


def integer_spans(cur: Any, columns: list[str], from_sql: str) -> dict[str, tuple[int, int]]:
    """(min, max) of each column, read in one query (Parquet statistics answer it without a scan)."""
    if not columns:
        return {}
    parts = ", ".join(f"min({quote_ident(c)}), max({quote_ident(c)})" for c in columns)
    values = cur.execute(f"SELECT {parts} FROM {from_sql}").fetchone()
    spans = {}
    for i, c in enumerate(columns):
        lo, hi = values[2 * i], values[2 * i + 1]
        if lo is not None and hi is not None:
            spans[c] = (int(lo), int(hi))
    return spans


def build_plan(exp: Expectations, columns: set[str], now: datetime,
               spans: dict[str, tuple[int, int]] | None = None) -> Plan:
    """The one query that checks every row-level rule of `exp` on a table with `columns`; `spans` are the
    (min, max) of unique integer columns (`integer_spans`), read from the same version."""
    spans = spans or {}
    agg: list[tuple[str, str]] = [("\x1frows", "count(*)")]
    verdicts: list[Verdict] = []
    if exp.min_rows is not None:
        low = exp.min_rows
        verdicts.append(lambda row: f"{_plural(row[chr(31) + 'rows'], 'row')}, fewer than the {low:,} expected."
                        if row["\x1frows"] < low else None)
    if exp.max_rows is not None:
        high = exp.max_rows
        verdicts.append(lambda row: f"{_plural(row[chr(31) + 'rows'], 'row')}, more than the {high:,} expected."
                        if row["\x1frows"] > high else None)
    for rules in exp.columns:
        if rules.column in columns:  # a declared column that is gone is a schema failure, reported there
            _column_rules(rules, agg, verdicts, spans.get(rules.column))
    if exp.freshness_column and exp.freshness_column in columns:
        _freshness(exp, now, agg, verdicts)
    return Plan(agg, verdicts)


def schema_failures(exp: Expectations, types: dict[str, str]) -> list[str]:
    """Columns the expectations name that the version lacks, and declared types it does not have."""
    failures = []
    lowered = {k.lower(): v for k, v in types.items()}
    for column, dtype in exp.schema.items():
        got = types.get(column)
        if got is None:
            failures.append(f"column {column} is missing" + (f" (a column {column.lower()} exists)."
                                                                if column.lower() in lowered else "."))
        elif dtype and got.upper() != dtype.upper():
            failures.append(f"column {column} is {got}, expected {dtype}.")
    return failures


def run_plan(cur: Any, plan: Plan, from_sql: str) -> tuple[int, list[str]]:
    """(row count, failures) of one pass over `from_sql`."""
    values = cur.execute(plan.select(from_sql)).fetchone()
    row = {name: value for (name, _), value in zip(plan.aggregates, values)}
    failures = [f for f in (v(row) for v in plan.verdicts) if f]
    return int(row["\x1frows"]), failures
