"""Expectation checks on a generated 10,000,000-row, 20-column lake table: Workbench (generated DuckDB SQL,
one aggregate pass) side by side with the same rules in pandas and in pandera (its polars back-end).

    python benchmarks/expectation_checks.py [--rows 10000000] [--repeat 3] [--skip-pandas] [--skip-pandera] [--work DIR]

The rules (20 columns): schema with every column's type, row-count bounds, not-null on 8 columns, uniqueness
of the 10M ids, ranges on 12 columns, allowed sets on 4, a maximum missing share, freshness of a timestamp.
Workbench's "read+check" is `check_table` end to end (role check, lake opened read-only, the query, the
audit events) and its "check only" the query on an open lake; the peers' are reading the Parquet file plus
validating, and validating alone, in a fresh process each (peak memory is per task). Medians of `--repeat` runs; the load average is printed because the machine is shared.
Target (issue 15): at most 3 s for Workbench on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lake_browse import GENERATE  # the same 10M x 20 table as the browse benchmark (benchmarks/ is on sys.path)

TYPES = {"id": "BIGINT", "c_int": "INTEGER", "c_float": "DOUBLE", "c_big": "BIGINT", "c_nullable": "DOUBLE",
         "c_cat5": "VARCHAR", "c_cat50k": "VARCHAR", "c_text": "VARCHAR", "c_date": "DATE", "c_ts": "TIMESTAMP",
         "c_bool": "BOOLEAN", "c_skew": "DOUBLE", "c_small": "SMALLINT", "c_dec": "DECIMAL(10,2)", "f1": "DOUBLE",
         "f2": "DOUBLE", "f3": "DOUBLE", "f4": "INTEGER", "f5": "VARCHAR", "target": "INTEGER"}
RANGES = {"c_int": (0, 999), "c_float": (0, 100), "c_big": (0, 1_000_000), "c_skew": (0, 1000), "c_dec": (0, 50),
          "f1": (0, 1), "f2": (0, 1), "f3": (0, 1), "f4": (0, 364), "c_nullable": (0, 1),
          "c_date": ("2020-01-01", "2024-12-31"), "c_small": (0, 6)}
ALLOWED = {"c_cat5": ["red", "green", "blue", "yellow", "black"], "f5": [f"k{i}" for i in range(20)],
           "target": [0, 1], "c_bool": [True, False]}
NOT_NULL = ["id", "c_int", "c_cat50k", "c_text", "c_ts", "c_bool", "c_cat5", "target"]


def expectations_toml(rows: int) -> str:
    lines = [f"min_rows = {rows}", f"max_rows = {rows}", "[schema]"]
    lines += [f'{c} = "{t}"' for c, t in TYPES.items()]
    lines += ['[freshness]', 'column = "c_ts"', 'max_age = "100000d"']
    rules: dict[str, list[str]] = {c: [] for c in TYPES}
    for c in NOT_NULL:
        rules[c].append("not_null = true")
    rules["id"].append("unique = true")
    for c, (lo, hi) in RANGES.items():
        rules[c] += [f"min = {json.dumps(lo)}", f"max = {json.dumps(hi)}"]
    for c, values in ALLOWED.items():
        rules[c].append(f"allowed = {json.dumps(values)}")
    rules["c_nullable"].append("max_missing = 0.06")
    for c, body in rules.items():
        if body:
            lines += [f"[columns.{c}]", *body]
    return "\n".join(lines) + "\n"


TASK = r"""
import json, statistics, sys, time
from pathlib import Path
task, ws_root, parquet, repeat = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
sys.path.insert(0, str(Path(sys.argv[5])))
from expectation_checks import ALLOWED, NOT_NULL, RANGES, TYPES
out = {"read_and_check": [], "check_only": []}
for _ in range(repeat):
    t0 = time.perf_counter()
    if task == "workbench":
        from workbench.workspace import Workspace
        from workbench.checks.run import check_table
        outcome = check_table(Workspace.load(Path(ws_root)), "big")
        assert outcome.passed, outcome.failures
        out["read_and_check"].append(time.perf_counter() - t0)
        from datetime import datetime, timezone
        from workbench.checks.expectations import load_expectations
        from workbench.checks.run import evaluate
        from workbench.lake import open_lake
        ws = Workspace.load(Path(ws_root))
        with open_lake(ws, read_only=True) as lake:
            t1 = time.perf_counter()
            evaluate(ws, lake, load_expectations(ws, "big"), None, datetime.now(timezone.utc))
            out["check_only"].append(time.perf_counter() - t1)
        continue
    if task == "pandas":
        import pandas as pd
        df = pd.read_parquet(parquet)
        t1 = time.perf_counter()
        failures = []
        if len(df) < 1 or len(df.columns) != len(TYPES):
            failures.append("rows/schema")
        for c in NOT_NULL:
            if df[c].isna().any(): failures.append(c)
        if df["id"].duplicated().any(): failures.append("id dup")
        for c, (lo, hi) in RANGES.items():
            col = df[c]
            if isinstance(lo, str):
                lo, hi = pd.Timestamp(lo).date(), pd.Timestamp(hi).date()
            elif str(col.dtype) == "object":
                col = col.astype(float)
            v = col.dropna()
            if ((v < lo) | (v > hi)).any(): failures.append(c)
        for c, values in ALLOWED.items():
            v = df[c].dropna()
            if (~v.isin(values)).any(): failures.append(c)
        if df["c_nullable"].isna().mean() > 0.06: failures.append("missing")
        newest = df["c_ts"].max()
        assert not failures, failures
    elif task == "pandera":
        import datetime as dt
        import polars as pl
        import pandera.polars as pa
        df = pl.read_parquet(parquet)
        t1 = time.perf_counter()
        columns = {}
        for c in TYPES:
            checks = []
            if c in RANGES:
                lo, hi = RANGES[c]
                if isinstance(lo, str):
                    lo, hi = dt.date.fromisoformat(lo), dt.date.fromisoformat(hi)
                checks.append(pa.Check.in_range(lo, hi))
            if c in ALLOWED:
                checks.append(pa.Check.isin(ALLOWED[c]))
            columns[c] = pa.Column(df.schema[c], checks=checks, nullable=c not in NOT_NULL, unique=c == "id")
        schema = pa.DataFrameSchema(columns, checks=[pa.Check(lambda data: data.lazyframe.select(
            pl.col("c_nullable").is_null().mean() <= 0.06))], strict=True)
        schema.validate(df, lazy=True)
        newest = df["c_ts"].max()
    out["check_only"].append(time.perf_counter() - t1)
    out["read_and_check"].append(time.perf_counter() - t0)
    del df
out = {k: statistics.median(v) for k, v in out.items() if v}
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across exec.
hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM"))
out["peak_mb"] = int(hwm.split()[1]) / 1024
print(json.dumps(out))
"""


def run_task(task: str, ws_root: Path, parquet: Path, repeat: int) -> dict:
    out = subprocess.run([sys.executable, "-c", TASK, task, str(ws_root), str(parquet), str(repeat),
                          str(Path(__file__).resolve().parent)], capture_output=True, text=True, timeout=3600)
    if out.returncode != 0:
        raise SystemExit(f"{task} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-pandas", action="store_true")
    parser.add_argument("--skip-pandera", action="store_true")
    parser.add_argument("--work", type=Path, help="Keep the generated data here (default: a temporary folder).")
    args = parser.parse_args()

    import duckdb

    from workbench.lake import open_lake
    from workbench.lake.ingest import ingest_files
    from workbench.workspace.create import init_workspace

    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        parquet = work / "big.parquet"
        ws_root = work / "ws"
        if not parquet.exists():
            t = time.perf_counter()
            duckdb.connect().execute(GENERATE.format(rows=args.rows, path=str(parquet).replace("'", "''")))
            print(f"generated {args.rows:,} rows in {time.perf_counter() - t:.1f} s")
        if not ws_root.exists():
            ws = init_workspace(ws_root, name="bench")
            t = time.perf_counter()
            with open_lake(ws) as lake:
                ingest_files(lake, [parquet], table="big", actor="bench")
            print(f"ingested into the lake in {time.perf_counter() - t:.1f} s")
        (ws_root / "expectations").mkdir(exist_ok=True)
        (ws_root / "expectations" / "big.toml").write_text(expectations_toml(args.rows), encoding="utf-8")
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
        results = {"workbench": run_task("workbench", ws_root, parquet, args.repeat)}
        if not args.skip_pandas:
            results["pandas"] = run_task("pandas", ws_root, parquet, args.repeat)
        if not args.skip_pandera:
            results["pandera (polars)"] = run_task("pandera", ws_root, parquet, args.repeat)
        print(f"load average after:  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        base = results["workbench"]["read_and_check"]
        print(f"\n{args.rows:,} rows x 20 columns of checks, median of {args.repeat}")
        print(f"{'tool':<18} {'read+check s':>13} {'check only s':>13} {'peak MB':>9} {'vs workbench':>13}")
        for name, r in results.items():
            only = r.get("check_only")
            print(f"{name:<18} {r['read_and_check']:>13.2f} {'' if only is None else f'{only:.2f}':>13} "
                  f"{r['peak_mb']:>9.0f} {r['read_and_check'] / base:>12.1f}x")
        print(json.dumps({"rows": args.rows, "load": os.getloadavg(), "results": results}))


if __name__ == "__main__":
    main()
