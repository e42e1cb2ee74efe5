"""Every feature against a target column: the target's mean (or rate) per bucket of each feature.

Numeric features are cut at their deciles (exact on a 1% row sample of big tables), categorical ones
keep their most frequent values; all features are grouped in one `GROUPING SETS` pass, so the whole
view costs about one scan. Each feature gets a score, the correlation ratio eta² (the share of the
target's variance explained by the buckets): near 0 is no signal, near 1 is suspicious (leakage).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from workbench.errors import LakeError
from workbench.lake.names import quote_ident, quote_literal
from workbench.lake.profile import QUANTILE_SAMPLE_FROM, QUANTILE_SAMPLE_PCT, column_kind
from workbench.lake.engine import Lake
from workbench.lake.sql import run_checked

# The clock that times the view; snapshot tests fix it so the caption's seconds do not change.
clock = time.perf_counter

BUCKETS = 10
TOP_CATEGORIES = 12
MAX_CATEGORIES = 10_000  # a text feature with more distinct values is reported, not binned
LEAKAGE_SCORE = 0.9
_GROUPING_CHUNK = 24  # features per GROUPING SETS query (keeps the GROUPING() bitmask small)


@dataclass(frozen=True)
class Bucket:
    label: str
    count: int
    target_mean: float  # mean of the target, or rate of the positive class


@dataclass(frozen=True)
class FeatureVsTarget:
    feature: str
    dtype: str
    kind: str
    score: float | None
    buckets: list[Bucket] = field(default_factory=list)
    note: str | None = None

    @property
    def leakage_suspect(self) -> bool:
        return self.score is not None and self.score >= LEAKAGE_SCORE

    def as_dict(self) -> dict[str, Any]:
        return {"feature": self.feature, "dtype": self.dtype, "kind": self.kind, "score": self.score,
                "leakage_suspect": self.leakage_suspect, "note": self.note,
                "buckets": [b.__dict__ for b in self.buckets]}


@dataclass(frozen=True)
class VersusTarget:
    table: str
    version: int | None
    target: str
    target_kind: str  # "numeric": mean per bucket; "binary": rate of `positive` per bucket
    positive: str | None
    rows: int  # rows with a non-null target
    overall: float
    features: list[FeatureVsTarget]
    elapsed_s: float

    def as_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "features"}
        out["features"] = [f.as_dict() for f in self.features]
        return out


def _target_expression(cur: Any, ref: str, target: str, dtype: str, positive: str | None) -> tuple[str, str, str | None]:
    """SQL giving the target as a number: itself if numeric with >2 values, else 1 for the positive class."""
    q = quote_ident(target)
    kind = column_kind(dtype)
    top = run_checked(cur, f"SELECT {q}::VARCHAR, count(*) FROM {ref} WHERE {q} IS NOT NULL GROUP BY 1 "
                           "ORDER BY 2 DESC LIMIT 3").fetchall()
    if not top:
        raise LakeError(f"Target {target!r} has no values.")
    if positive is None and kind == "numeric" and len(top) > 2:
        return f"{q}::DOUBLE", "numeric", None
    if positive is None:
        values = {str(v) for v, _ in top}
        for candidate in ("true", "1", "yes", "y", "1.0"):
            if candidate in {v.lower() for v in values}:
                positive = next(v for v in values if v.lower() == candidate)
                break
        else:
            positive = top[-1][0] if len(top) == 2 else top[0][0]  # binary: the minority class
    return f"({q}::VARCHAR = {quote_literal(positive)})::INTEGER", "binary", positive


def versus_target(lake: Lake, table: str, target: str, version: int | None = None,
                  positive: str | None = None, features: list[str] | None = None) -> VersusTarget:
    """The target's mean or rate per bucket of every other column, ranked by eta²."""
    from workbench.lake.profile import _ref

    started = clock()
    ref, _ = _ref(lake, table, version)
    cur = lake.cursor()
    schema = [(n, str(t)) for n, t, *_ in run_checked(cur, f"DESCRIBE SELECT * FROM {ref}").fetchall()]
    dtypes = dict(schema)
    if target not in dtypes:
        raise LakeError(f"{table} has no column {target!r} to use as the target (columns: {', '.join(dtypes)}).")
    wanted = [n for n, _ in schema if n != target] if features is None else features
    for f in wanted:
        if f not in dtypes:
            raise LakeError(f"{table} has no column {f!r}.")
    y, target_kind, positive = _target_expression(cur, ref, target, dtypes[target], positive)
    base = f"(SELECT * FROM {ref} WHERE {quote_ident(target)} IS NOT NULL) AS _wb_t"
    rows, overall, variance = run_checked(cur, f"SELECT count(*), avg({y}), var_pop({y}) FROM {base}").fetchone()
    rows = int(rows)
    results: dict[str, FeatureVsTarget] = {}

    numeric = [f for f in wanted if column_kind(dtypes[f]) in ("numeric", "temporal")]
    other = [f for f in wanted if f not in numeric]
    cuts: dict[str, list[float]] = {}
    if numeric:
        sample = f" USING SAMPLE {QUANTILE_SAMPLE_PCT}% (bernoulli)" if rows > QUANTILE_SAMPLE_FROM else ""
        probs = [i / BUCKETS for i in range(1, BUCKETS)]
        exprs = ", ".join(f"quantile_disc({_as_number(f, dtypes[f])}, {probs})" for f in numeric)
        row = run_checked(cur, f"SELECT {exprs} FROM {base}{sample}").fetchone()
        for f, qs in zip(numeric, row):
            cuts[f] = sorted({float(v) for v in (qs or []) if v is not None})
    if other:
        exprs = ", ".join(f"approx_count_distinct({quote_ident(f)})" for f in other)
        distinct = dict(zip(other, run_checked(cur, f"SELECT {exprs} FROM {base}").fetchone()))
        for f in list(other):
            if column_kind(dtypes[f]) == "other":
                results[f] = FeatureVsTarget(f, dtypes[f], "other", None, note="type not bucketed")
                other.remove(f)
            elif (distinct[f] or 0) > MAX_CATEGORIES:
                results[f] = FeatureVsTarget(f, dtypes[f], "categorical", None,
                                             note=f"~{distinct[f]:,} distinct values: identifier-like, not bucketed")
                other.remove(f)

    keys: list[tuple[str, str]] = []  # (feature, SQL bucket expression)
    for f in numeric:
        value = _as_number(f, dtypes[f])
        steps = " + ".join(f"({value} > {c!r})::INTEGER" for c in cuts[f]) or "0"
        keys.append((f, f"CASE WHEN {quote_ident(f)} IS NULL THEN NULL ELSE {steps} END"))
    for f in other:
        keys.append((f, f"{quote_ident(f)}::VARCHAR"))
    for start in range(0, len(keys), _GROUPING_CHUNK):
        chunk = keys[start : start + _GROUPING_CHUNK]
        aliases = [f"_k{i}" for i in range(len(chunk))]
        select = ", ".join(f"{expr} AS {a}" for (_, expr), a in zip(chunk, aliases))
        sets = ", ".join(f"({a})" for a in aliases)
        grouped = run_checked(
            cur,
            f"SELECT GROUPING({', '.join(aliases)}) AS _g, {', '.join(aliases)}, count(*) AS n, avg(_y) AS m "
            f"FROM (SELECT {select}, {y} AS _y FROM {base}) GROUP BY GROUPING SETS ({sets})",
        ).fetchall()
        width = len(aliases)
        per_feature: dict[int, list[tuple[Any, int, float]]] = {i: [] for i in range(width)}
        for g, *rest in grouped:
            keyvals, n, m = rest[:width], rest[width], rest[width + 1]
            index = next(i for i in range(width) if not (g >> (width - 1 - i)) & 1)
            per_feature[index].append((keyvals[index], int(n), float(m)))
        for i, (f, _) in enumerate(chunk):
            results[f] = _summarise(f, dtypes[f], per_feature[i], cuts.get(f), overall, variance, rows)
    ordered = sorted(results.values(), key=lambda r: (r.score is None, -(r.score or 0.0), r.feature))
    return VersusTarget(table, version, target, target_kind, positive, rows, float(overall or 0.0), ordered,
                        clock() - started)


def _as_number(feature: str, dtype: str) -> str:
    q = quote_ident(feature)
    return f"{q}::DOUBLE" if column_kind(dtype) == "numeric" else f"epoch({q}::TIMESTAMP)"


def _summarise(feature: str, dtype: str, groups: list[tuple[Any, int, float]], cuts: list[float] | None,
               overall: float | None, variance: float | None, rows: int) -> FeatureVsTarget:
    kind = "numeric" if cuts is not None else "categorical"
    mean = float(overall or 0.0)
    between = sum(n * (m - mean) ** 2 for _, n, m in groups)
    score = (between / (rows * variance)) if variance and rows else None
    if cuts is not None:
        ordered = sorted(groups, key=lambda g: (g[0] is None, g[0] if g[0] is not None else 0))
        buckets = [Bucket(_range_label(key, cuts, dtype), n, m) for key, n, m in ordered]
    else:
        ordered = sorted(groups, key=lambda g: -g[1])
        head, tail = ordered[:TOP_CATEGORIES], ordered[TOP_CATEGORIES:]
        buckets = [Bucket("NULL" if k is None else str(k), n, m) for k, n, m in head]
        if tail:
            n_tail = sum(n for _, n, _ in tail)
            buckets.append(Bucket(f"({len(tail)} others)", n_tail, sum(n * m for _, n, m in tail) / n_tail))
    return FeatureVsTarget(feature, dtype, kind, None if score is None else min(1.0, score), buckets)


def _range_label(key: int | None, cuts: list[float], dtype: str) -> str:
    if key is None:
        return "NULL"
    lo = "-inf" if key == 0 else _fmt(cuts[key - 1], dtype)
    hi = "+inf" if key >= len(cuts) else _fmt(cuts[key], dtype)
    return f"({lo}, {hi}]"


def _fmt(value: float, dtype: str) -> str:
    if column_kind(dtype) == "temporal":
        from datetime import datetime, timezone

        return datetime.fromtimestamp(value, tz=timezone.utc).strftime("%Y-%m-%d")
    return f"{value:.4g}"
