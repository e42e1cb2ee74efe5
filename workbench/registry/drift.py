"""Drift between training data and scored data: per-feature PSI and missing-rate change.

The training side is summarised once, at registration, into a small reference profile (decile bin edges
for numeric features, top-category shares for the rest, missing rates) stored with the model version;
scoring compares new rows against that profile. DuckDB computes both sides, so neither is pulled into
Python row by row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from workbench.lake.names import quote_ident, quote_literal

QUANTILES = [i / 10 for i in range(1, 10)]
TOP_CATEGORIES = 20
OTHER = "(other)"
EPSILON = 1e-4  # floor on bin shares so an empty bin gives a large, finite PSI
_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT",
            "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL", "REAL")


@dataclass(frozen=True)
class FeatureDrift:
    feature: str
    psi: float | None
    reference_missing: float
    scored_missing: float
    drifted: bool
    reasons: tuple[str, ...] = ()

    @property
    def missing_change(self) -> float:
        return self.scored_missing - self.reference_missing

    def as_dict(self) -> dict[str, Any]:
        return {"feature": self.feature, "psi": self.psi, "reference_missing": self.reference_missing,
                "scored_missing": self.scored_missing, "missing_change": self.missing_change,
                "drifted": self.drifted, "reasons": list(self.reasons)}


def is_numeric_type(duckdb_type: str) -> bool:
    return duckdb_type.upper().split("(")[0] in _NUMERIC


def psi(expected: list[float], actual: list[float]) -> float:
    """Population stability index of two share vectors over the same bins."""
    total = 0.0
    for e, a in zip(expected, actual):
        e, a = max(e, EPSILON), max(a, EPSILON)
        total += (a - e) * math.log(a / e)
    return total


def _types(cur: Any, from_sql: str) -> dict[str, str]:
    return {r[0]: r[1] for r in cur.execute(f"DESCRIBE SELECT * FROM {from_sql}").fetchall()}


def _bin_expr(column: str, edges: list[float]) -> str:
    col = f"CAST({quote_ident(column)} AS DOUBLE)"
    cases = " ".join(f"WHEN {col} <= {edge!r} THEN {i}" for i, edge in enumerate(edges))
    return f"CASE {cases} ELSE {len(edges)} END" if edges else "0"


def _numeric_shares(cur: Any, from_sql: str, column: str, edges: list[float]) -> list[float]:
    rows = cur.execute(
        f"SELECT {_bin_expr(column, edges)} AS b, count(*) FROM {from_sql} "
        f"WHERE {quote_ident(column)} IS NOT NULL GROUP BY b"
    ).fetchall()
    counts = [0] * (len(edges) + 1)
    for b, n in rows:
        counts[int(b)] = int(n)
    total = sum(counts)
    return [c / total for c in counts] if total else []


def _category_shares(cur: Any, from_sql: str, column: str, categories: list[str]) -> list[float]:
    col = f"CAST({quote_ident(column)} AS VARCHAR)"
    known = ", ".join(quote_literal(c) for c in categories) or "NULL"
    rows = cur.execute(
        f"SELECT CASE WHEN {col} IN ({known}) THEN {col} ELSE {quote_literal(OTHER)} END AS c, count(*) "
        f"FROM {from_sql} WHERE {quote_ident(column)} IS NOT NULL GROUP BY c"
    ).fetchall()
    counts = dict(rows)
    total = sum(counts.values())
    return [counts.get(c, 0) / total for c in [*categories, OTHER]] if total else []


def _missing_rates(cur: Any, from_sql: str, columns: list[str]) -> tuple[int, dict[str, float]]:
    if not columns:
        return int(cur.execute(f"SELECT count(*) FROM {from_sql}").fetchone()[0]), {}
    parts = ", ".join(f"count(*) FILTER (WHERE {quote_ident(c)} IS NULL)" for c in columns)
    row = cur.execute(f"SELECT count(*), {parts} FROM {from_sql}").fetchone()
    n = int(row[0])
    return n, {c: (int(m) / n if n else 0.0) for c, m in zip(columns, row[1:])}


def reference_profile(cur: Any, from_sql: str, features: list[str], source: str) -> dict[str, Any]:
    """Summarise the training rows of `from_sql` for the named feature columns."""
    types = _types(cur, from_sql)
    rows, missing = _missing_rates(cur, from_sql, features)
    profile: dict[str, Any] = {"source": source, "rows": rows, "features": {}}
    for name in features:
        if is_numeric_type(types[name]):
            q = cur.execute(
                f"SELECT quantile_cont(CAST({quote_ident(name)} AS DOUBLE), {QUANTILES!r}) FROM {from_sql}"
            ).fetchone()[0]
            edges = sorted({float(v) for v in (q or []) if v is not None and math.isfinite(v)})
            profile["features"][name] = {"kind": "numeric", "missing_rate": missing[name], "edges": edges,
                                         "shares": _numeric_shares(cur, from_sql, name, edges)}
        else:
            top = cur.execute(
                f"SELECT CAST({quote_ident(name)} AS VARCHAR) AS c, count(*) AS n FROM {from_sql} "
                f"WHERE {quote_ident(name)} IS NOT NULL GROUP BY c ORDER BY n DESC, c LIMIT {TOP_CATEGORIES}"
            ).fetchall()
            categories = [str(c) for c, _ in top]
            profile["features"][name] = {"kind": "categorical", "missing_rate": missing[name], "categories": categories,
                                         "shares": _category_shares(cur, from_sql, name, categories)}
    return profile


def compare_to_reference(
    cur: Any, from_sql: str, reference: dict[str, Any], psi_threshold: float, missing_threshold: float
) -> list[FeatureDrift]:
    """Per-feature drift of the rows of `from_sql` against a reference profile."""
    features = list(reference.get("features", {}))
    _, missing = _missing_rates(cur, from_sql, features)
    out = []
    for name in features:
        ref = reference["features"][name]
        if ref["kind"] == "numeric":
            shares = _numeric_shares(cur, from_sql, name, ref["edges"])
        else:
            shares = _category_shares(cur, from_sql, name, ref["categories"])
        value = psi(ref["shares"], shares) if shares and ref["shares"] else None
        reasons = []
        if value is not None and value > psi_threshold:
            reasons.append(f"PSI {value:.3f} > {psi_threshold:g}")
        change = missing[name] - ref["missing_rate"]
        if abs(change) > missing_threshold:
            reasons.append(f"missing rate {ref['missing_rate']:.1%} → {missing[name]:.1%}")
        out.append(FeatureDrift(feature=name, psi=None if value is None else round(value, 6),
                                reference_missing=ref["missing_rate"], scored_missing=missing[name],
                                drifted=bool(reasons), reasons=tuple(reasons)))
    return out
