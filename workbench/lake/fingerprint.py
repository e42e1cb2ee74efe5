"""Content fingerprints computed by the engine over every row (order-insensitive, duplicates counted)."""

from __future__ import annotations

import hashlib

import duckdb

# A sum of 64-bit row hashes as HUGEINT: order-insensitive like bit_xor, but duplicate rows add up
# instead of cancelling in pairs. Mixed with the schema and row count so a renamed column changes it.
FINGERPRINT_ALGORITHM = f"rowhash-sum-v1/duckdb-{duckdb.__version__}"


def fingerprint_relation(cur: duckdb.DuckDBPyConnection, from_sql: str) -> tuple[str, int]:
    """Fingerprint of `SELECT * FROM <from_sql>`; returns (hex digest, row count)."""
    total, rows = cur.execute(
        f"SELECT coalesce(sum(hash(_wb_row)::HUGEINT), 0)::VARCHAR, count(*) FROM {from_sql} AS _wb_row"
    ).fetchone()
    schema = cur.execute(f"DESCRIBE SELECT * FROM {from_sql}").fetchall()
    schema_text = ";".join(f"{name}:{dtype}" for name, dtype, *_ in schema)
    digest = hashlib.sha256(f"{FINGERPRINT_ALGORITHM}|{schema_text}|{rows}|{total}".encode()).hexdigest()
    return digest, int(rows)
