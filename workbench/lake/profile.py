"""Column profiles computed by DuckDB in a few whole-table passes, delivered in stages.

Stage 1 ("basic"): count, nulls, min, max, mean, std of every column in one SELECT (fast enough to
show first). Stage 2 ("stats"): approximate distinct counts, quartiles and equal-width histograms of
numeric and date columns, one pass. Stage 3 ("charts"): value counts of low-cardinality columns in one
pass, then a top-10 query for each remaining text column. Hand-written SELECTs rather than
`SUMMARIZE`: measured twice as fast on 10M rows, and the cheap part can be shown before the rest.
All stages read the same snapshot, so a writer committing meanwhile cannot mix two versions.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any, Iterator

from workbench.lake.catalog import current_snapshot, table_exists, table_ref
from workbench.lake.engine import Lake
from workbench.lake.names import quote_ident
from workbench.lake.sql import run_checked

# The clock that times a profile; snapshot tests fix it so the caption's seconds do not change.
clock = time.perf_counter

HISTOGRAM_BINS = 20
TOP_VALUES = 10
LOW_CARDINALITY = 50  # up to this many distinct values: count every value in the shared pass
QUANTILE_SAMPLE_FROM = 1_000_000  # above this many rows, quartiles come from a sample of row blocks
QUANTILE_SAMPLE_PCT = 1
UNIQUE_SHARE = 0.9  # a text column with more distinct values than this share of rows is an identifier

_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
            "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL", "REAL")


def column_kind(dtype: str) -> str:
    """numeric, temporal, boolean, text or other — decides which statistics and chart a column gets."""
    t = dtype.upper()
    if t.startswith(_NUMERIC):
        return "numeric"
    if t.startswith(("DATE", "TIMESTAMP")):
        return "temporal"
    if t == "BOOLEAN":
        return "boolean"
    if t.startswith(("VARCHAR", "ENUM", "UUID")):
        return "text"
    return "other"


@dataclass(frozen=True)
class ColumnProfile:
    name: str
    dtype: str
    kind: str
    count: int = 0  # non-null values
    nulls: int = 0
    null_pct: float = 0.0
    min: Any = None
    max: Any = None
    mean: float | None = None
    std: float | None = None
    distinct: int | None = None  # approximate (HyperLogLog)
    q25: float | None = None
    q50: float | None = None
    q75: float | None = None
    histogram: list[tuple[float, float, int]] | None = None  # (low, high, count)
    top_values: list[tuple[str, int]] | None = None
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["histogram"] = [list(b) for b in self.histogram] if self.histogram is not None else None
        out["top_values"] = [list(v) for v in self.top_values] if self.top_values is not None else None
        return out


@dataclass(frozen=True)
class TableProfile:
    table: str
    version: int | None
    snapshot: int | None
    row_count: int
    columns: list[ColumnProfile] = field(default_factory=list)
    stage: str = "basic"  # basic -> stats -> charts (complete)
    elapsed_s: float = 0.0

    @property
    def complete(self) -> bool:
        return self.stage == "charts"

    def column(self, name: str) -> ColumnProfile:
        return next(c for c in self.columns if c.name == name)

    def as_dict(self) -> dict[str, Any]:
        return {"table": self.table, "version": self.version, "snapshot": self.snapshot, "row_count": self.row_count,
                "stage": self.stage, "elapsed_s": round(self.elapsed_s, 3), "columns": [c.as_dict() for c in self.columns]}


def _ref(lake: Lake, table: str, version: int | None) -> tuple[str, int | None]:
    if version is None and table_exists(lake, table):
        snapshot = current_snapshot(lake)
        return table_ref(lake, table, None, snapshot), snapshot
    return table_ref(lake, table, version), None


def _num(value: Any) -> float | None:
    return None if value is None else float(value)


def profile_stages(lake: Lake, table: str, version: int | None = None) -> Iterator[TableProfile]:
    """Yield the profile after each stage; the last one is complete."""
    started = clock()
    ref, snapshot = _ref(lake, table, version)
    cur = lake.cursor()
    schema = run_checked(cur, f"DESCRIBE SELECT * FROM {ref}").fetchall()
    cols = [(name, str(dtype), column_kind(str(dtype))) for name, dtype, *_ in schema]

    # Stage 1: basic statistics, one pass.
    parts = ["count(*)"]
    for name, _, kind in cols:
        q = quote_ident(name)
        parts.append(f"count({q})")
        if kind == "numeric":
            parts += [f"min({q})::DOUBLE", f"max({q})::DOUBLE", f"avg({q}::DOUBLE)", f"stddev_samp({q}::DOUBLE)"]
        elif kind in ("temporal", "text", "boolean"):
            parts += [f"min({q})::VARCHAR", f"max({q})::VARCHAR"]
        if kind == "temporal":
            parts.append(f"[min(epoch({q}::TIMESTAMP)), max(epoch({q}::TIMESTAMP))]")
    row = run_checked(cur, f"SELECT {', '.join(parts)} FROM {ref}").fetchone()
    total = int(row[0])
    values = iter(row[1:])
    profiles = []
    ranges: dict[int, tuple[str, float, float]] = {}  # histogram input per column: (SQL value, low, high)
    for i, (name, dtype, kind) in enumerate(cols):
        n = int(next(values))
        p = ColumnProfile(name, dtype, kind, count=n, nulls=total - n, null_pct=(100.0 * (total - n) / total) if total else 0.0)
        if kind == "numeric":
            p = replace(p, min=_num(next(values)), max=_num(next(values)), mean=_num(next(values)), std=_num(next(values)))
            if p.min is not None:
                ranges[i] = (f"{quote_ident(name)}::DOUBLE", p.min, p.max)
        elif kind in ("temporal", "text", "boolean"):
            p = replace(p, min=next(values), max=next(values))
        if kind == "temporal":
            lo, hi = next(values) or [None, None]
            if lo is not None:
                ranges[i] = (f"epoch({quote_ident(name)}::TIMESTAMP)", float(lo), float(hi))
        profiles.append(p)
    yield TableProfile(table, version, snapshot, total, list(profiles), "basic", clock() - started)

    # Stage 2: approximate distinct counts and histograms in one pass; quartiles from a sample.
    parts, bins = [], {}
    for i, (name, _, kind) in enumerate(cols):
        q = quote_ident(name)
        parts.append(f"approx_count_distinct({q})" if kind != "other" else "NULL")
        if i in ranges:
            value, lo, hi = ranges[i]
            width = (hi - lo) / HISTOGRAM_BINS if hi > lo else 1.0
            # least() skips NULL arguments, so least(NULL, 19) is 19: without the FILTER every NULL landed in
            # the last bin. NaN is not a value to bin either.
            parts.append(f"histogram(least(floor(({value} - {lo!r}) / {width!r}), {HISTOGRAM_BINS - 1})::INTEGER) "
                         f"FILTER (WHERE {value} IS NOT NULL AND NOT isnan({value}))")
            bins[i] = (lo, width, HISTOGRAM_BINS if hi > lo else 1)
    row = run_checked(cur, f"SELECT {', '.join(parts)} FROM {ref}").fetchone()
    values = iter(row)
    for i, (name, dtype, kind) in enumerate(cols):
        distinct = next(values)
        p = replace(profiles[i], distinct=None if distinct is None else min(int(distinct), profiles[i].count))
        if i in bins:
            counts = next(values) or {}
            lo, width, nbins = bins[i]
            p = replace(p, histogram=[(lo + b * width, lo + (b + 1) * width, int(counts.get(b, 0))) for b in range(nbins)])
        profiles[i] = p
    numeric = [i for i, (_, _, kind) in enumerate(cols) if kind == "numeric"]
    if numeric:
        # Exact quartiles of a 1% row sample on big tables (t-digest over every row cost 7 s at 10M rows;
        # the sample is within ~0.5% of rank), exact quartiles of every row on small ones.
        sample = f" USING SAMPLE {QUANTILE_SAMPLE_PCT}% (bernoulli)" if total > QUANTILE_SAMPLE_FROM else ""
        quantiles = ", ".join(f"quantile_cont({quote_ident(cols[i][0])}::DOUBLE, [0.25, 0.5, 0.75])" for i in numeric)
        row = run_checked(cur, f"SELECT {quantiles} FROM {ref}{sample}").fetchone()
        for i, qs in zip(numeric, row):
            qs = qs or [None, None, None]
            profiles[i] = replace(profiles[i], q25=_num(qs[0]), q50=_num(qs[1]), q75=_num(qs[2]))
    yield TableProfile(table, version, snapshot, total, list(profiles), "stats", clock() - started)

    # Stage 3: most frequent values. Low-cardinality columns share one pass; other text columns get one each.
    parts, plan = [], []
    for i, p in enumerate(profiles):
        low_card = p.distinct is not None and p.distinct <= LOW_CARDINALITY
        if (p.kind in ("boolean", "text") and low_card) or (p.kind == "numeric" and low_card and p.distinct <= 12):
            parts.append(f"histogram({quote_ident(p.name)}::VARCHAR)")
            plan.append(i)
    row = run_checked(cur, f"SELECT {', '.join(parts)} FROM {ref}").fetchone() if parts else ()
    for i, counts in zip(plan, row):
        top = sorted((counts or {}).items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_VALUES]
        profiles[i] = replace(profiles[i], top_values=[(str(k), int(v)) for k, v in top])
    for i, p in enumerate(profiles):
        if p.kind not in ("text", "boolean") or p.top_values is not None or not p.count:
            continue
        if p.distinct is not None and p.distinct > UNIQUE_SHARE * p.count and p.count > 1000:
            profiles[i] = replace(p, note="nearly every value is distinct (an identifier?)")
            continue
        q = quote_ident(p.name)
        top = run_checked(cur, f"SELECT {q}::VARCHAR, count(*) AS n FROM {ref} WHERE {q} IS NOT NULL "
                               f"GROUP BY 1 ORDER BY n DESC, 1 LIMIT {TOP_VALUES}").fetchall()
        profiles[i] = replace(p, top_values=[(str(k), int(v)) for k, v in top])
    yield TableProfile(table, version, snapshot, total, list(profiles), "charts", clock() - started)


def profile_table(lake: Lake, table: str, version: int | None = None, basic_only: bool = False) -> TableProfile:
    """The complete profile (or only stage 1 with `basic_only`)."""
    last = None
    for last in profile_stages(lake, table, version):
        if basic_only:
            break
    assert last is not None
    return last
