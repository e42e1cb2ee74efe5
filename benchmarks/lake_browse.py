"""Lake browsing on a generated 10,000,000-row, 20-column table, side by side with pandas and polars.

    python benchmarks/lake_browse.py [--rows 10000000] [--repeat 5] [--skip-pandas] [--work DIR]

Measures, each in a fresh process so peak memory (ru_maxrss) is per task: first preview page from a
fresh process and warm, page flip, jump to the middle, basic and full profile, the versus-target
view; pandas (`read_parquet` + `describe()`) and polars (`read_parquet` + `describe()`) on the same
Parquet file; key press -> rows painted in the TUI (Pilot) for page flip, jump, sort and filter; opening a
catalog with 1,000 tables; and read latency while another process ingests.
Figures are medians of `--repeat` runs where cheap; ratios are computed within the same run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GENERATE = """
COPY (SELECT i AS id, (i % 1000)::INTEGER AS c_int, random() * 100 AS c_float, (random() * 1e6)::BIGINT AS c_big,
  CASE WHEN random() < 0.05 THEN NULL ELSE random() END AS c_nullable,
  ['red', 'green', 'blue', 'yellow', 'black'][1 + (i % 5)::INTEGER] AS c_cat5,
  'user_' || (i % 50000)::VARCHAR AS c_cat50k, md5(i::VARCHAR) AS c_text,
  DATE '2020-01-01' + (i % 1500)::INTEGER AS c_date, TIMESTAMP '2020-01-01' + to_seconds(i) AS c_ts,
  random() < 0.3 AS c_bool, random() * random() * 1000 AS c_skew, (i % 7)::SMALLINT AS c_small,
  round(random() * 50, 2)::DECIMAL(10, 2) AS c_dec, random() AS f1, random() AS f2, random() AS f3,
  (i % 365)::INTEGER AS f4, 'k' || (i % 20)::VARCHAR AS f5,
  ((i % 1000) / 1000.0 + random() > 0.9)::INTEGER AS target
 FROM range({rows}) t(i)) TO '{path}' (FORMAT parquet)
"""

# Each task runs in its own process and prints one JSON line: {"seconds": {...}, "peak_mb": ...}.
TASK = r"""
import json, resource, sys, time
from pathlib import Path
task, ws_root, parquet, repeat = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
out = {}
def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
def timed(label, fn, n=1):
    times = []
    for _ in range(n):
        t = time.perf_counter(); fn(); times.append(time.perf_counter() - t)
    out[label] = statistics.median(times)
import statistics
if task in ("preview", "profile", "target"):
    t0 = time.perf_counter()
    from workbench.workspace import Workspace
    from workbench.lake import open_lake
    from workbench.lake.preview import PageQuery, read_page
    lake = open_lake(Workspace.load(Path(ws_root)))
    if task == "preview":
        first = read_page(lake, PageQuery("big"), 0, 200)
        out["first_page_cold_process"] = time.perf_counter() - t0
        timed("first_page_warm", lambda: read_page(lake, PageQuery("big"), 0, 200), repeat)
        q = first.query
        timed("page_flip", lambda: read_page(lake, q, 200, 200, first.total_rows), repeat)
        timed("jump_to_middle", lambda: read_page(lake, q, first.total_rows // 2, 200, first.total_rows), repeat)
        timed("sorted_first_page", lambda: read_page(lake, PageQuery("big", sort="c_float"), 0, 200), 1)
        timed("filtered_first_page", lambda: read_page(lake, PageQuery("big", where="c_cat5 = 'red' AND f1 > 0.5"), 0, 200), 1)
    elif task == "profile":
        from workbench.lake.profile import profile_stages
        t = time.perf_counter()
        for stage in profile_stages(lake, "big"):
            out[f"profile_{stage.stage}"] = time.perf_counter() - t
    else:
        from workbench.lake.versus_target import versus_target
        timed("versus_target", lambda: versus_target(lake, "big", "target"), 1)
elif task == "pandas":
    import pandas as pd
    t = time.perf_counter()
    df = pd.read_parquet(parquet)
    df.describe(include="all")
    out["pandas_read_describe"] = time.perf_counter() - t
    t = time.perf_counter()
    feats = [c for c in df.columns if c != "target"]
    for c in feats:
        key = pd.qcut(df[c], 10, duplicates="drop") if df[c].dtype.kind in "fiu" else df[c].astype(str)
        df.groupby(key, observed=True)["target"].agg(["count", "mean"])
    out["pandas_versus_target"] = time.perf_counter() - t
elif task == "polars":
    import polars as pl
    t = time.perf_counter()
    pl.read_parquet(parquet).describe()
    out["polars_read_describe"] = time.perf_counter() - t
    t = time.perf_counter()
    pl.scan_parquet(parquet).describe()
    out["polars_lazy_describe"] = time.perf_counter() - t
print(json.dumps({"seconds": out, "peak_mb": peak_mb()}))
"""

CATALOG = r"""
import sys, time
from pathlib import Path
from workbench.workspace import Workspace
from workbench.lake import open_lake
from workbench.lake.catalog import list_tables
t = time.perf_counter()
with open_lake(Workspace.load(Path(sys.argv[1]))) as lake:
    n = len(list_tables(lake))
print(n, time.perf_counter() - t)
"""

# Key press -> a frame showing the new rows, through the real TUI under Pilot (headless: the frame is composed,
# not written to a terminal). Prints one JSON line of seconds.
TUI = r"""
import asyncio, json, statistics, sys, time
from pathlib import Path
from workbench.tui.app import WorkbenchApp
from workbench.workspace import Workspace
ws_root, repeat = sys.argv[1], int(sys.argv[2])
out = {}

import workbench.tui.app as tui_app

class TimedApp(WorkbenchApp):
    CSS_PATH = str(Path(tui_app.__file__).with_name(str(WorkbenchApp.CSS_PATH)))  # relative to our module otherwise
    # Records when a frame showing the wanted page has been composed (headless: nothing is written).
    want = None
    painted_at = None
    def post_display_hook(self):
        if self.want is not None and self.painted_at is None:
            grid = self.query_one("#preview PageGrid")
            if grid.page is not None and self.want(grid.page):
                self.painted_at = time.perf_counter()

KEYS = {" ": "space", "'": "apostrophe", ">": "greater_than_sign", "=": "equals_sign", "/": "slash",
        ".": "full_stop", "_": "underscore", "-": "minus", "%": "percent_sign"}

async def main():
    app = TimedApp(Workspace.load(Path(ws_root)))
    async with app.run_test(size=(160, 48)) as pilot:
        async def painted(want, *keys):
            app.want, app.painted_at = want, None
            t = time.perf_counter()
            await pilot.press(*keys)
            while app.painted_at is None:
                await asyncio.sleep(0.002)
            app.want = None
            return app.painted_at - t
        async def typed(text):
            for ch in text:
                await pilot.press(KEYS.get(ch, ch))
        grid = lambda: app.query_one("#preview PageGrid")
        while grid().page is None:
            await pilot.pause(0.05)
        total = grid().page.total_rows
        await pilot.press("tab")
        flips = []
        for _ in range(repeat):
            flips.append(await painted(lambda p: p.offset == 200, "n"))
            await painted(lambda p: p.offset == 0, "p")
        out["tui_page_flip"] = statistics.median(flips)
        jumps = []
        for k in range(repeat):
            await pilot.press("g")
            row = total // 2 + k * 1000
            await typed(str(row))
            jumps.append(await painted(lambda p, o=row - 1: p.offset == o, "enter"))
        out["tui_jump_to_middle"] = statistics.median(jumps)
        await pilot.press("right", "right")  # onto c_float
        col = grid().current_column()
        out["tui_sort"] = await painted(lambda p: p.query.sort == col and p.offset == 0, "s")
        await painted(lambda p: p.query.sort is None, "s", "s")  # descending, then storage order again
        await pilot.press("slash")
        await typed("c_cat5 = 'red' AND f1 > 0.5")
        out["tui_filter"] = await painted(lambda p: p.query.where is not None and p.offset == 0, "enter")
        out["tui_sort_column"] = col
asyncio.run(main())
print(json.dumps(out))
"""

LATENCY_READER = r"""
import sys, time, statistics
from pathlib import Path
from workbench.workspace import Workspace
from workbench.lake import open_lake
from workbench.lake.preview import PageQuery, read_page
lat, errors = [], 0
deadline = time.time() + float(sys.argv[2])
with open_lake(Workspace.load(Path(sys.argv[1]))) as lake:
    while time.time() < deadline:
        t = time.perf_counter()
        try:
            read_page(lake, PageQuery("big"), 0, 200)
        except Exception:
            errors += 1
        lat.append(time.perf_counter() - t)
        time.sleep(0.05)
lat.sort()
print(statistics.median(lat), lat[int(len(lat) * 0.95)], errors, len(lat))
"""


def run_task(task: str, ws: Path, parquet: Path, repeat: int) -> dict:
    out = subprocess.run([sys.executable, "-c", TASK, task, str(ws), str(parquet), str(repeat)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip-pandas", action="store_true")
    parser.add_argument("--work", type=Path, help="Folder to keep the generated data in (reused when present).")
    parser.add_argument("--json", type=Path, help="Also write the figures, peak memory and machine load to this file.")
    args = parser.parse_args()
    import os

    load_before = os.getloadavg()

    import duckdb

    from workbench.lake import open_lake
    from workbench.lake.ingest import ingest_files
    from workbench.workspace import Workspace
    from workbench.workspace.create import init_workspace

    work = args.work or Path(tempfile.mkdtemp(prefix="wb-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    parquet = work / f"big_{args.rows}.parquet"
    if not parquet.exists():
        t = time.perf_counter()
        duckdb.sql(GENERATE.format(rows=args.rows, path=parquet))
        print(f"generated {args.rows:,} rows x 20 columns in {time.perf_counter() - t:.1f} s "
              f"({parquet.stat().st_size / 1e6:.0f} MB Parquet)")
    ws_root = work / f"ws_{args.rows}"
    if not (ws_root / "workbench.toml").exists():
        ws = init_workspace(ws_root, name="bench")
        t = time.perf_counter()
        with open_lake(ws) as lake:
            ingest_files(lake, [parquet], table="big", actor="bench")
        print(f"ingested into the lake (with fingerprint) in {time.perf_counter() - t:.1f} s")
    ws = Workspace.load(ws_root)

    results: dict[str, float] = {}
    memory: dict[str, float] = {}
    for task in ("preview", "profile", "target", "polars") + (() if args.skip_pandas else ("pandas",)):
        r = run_task(task, ws.root, parquet, args.repeat)
        results.update(r["seconds"])
        memory[task] = r["peak_mb"]

    out = subprocess.run([sys.executable, "-c", TUI, str(ws.root), str(args.repeat)], capture_output=True, text=True,
                         check=True)
    tui = json.loads(out.stdout.strip().splitlines()[-1])
    sort_column = tui.pop("tui_sort_column")
    results.update(tui)

    # catalog of 1,000 tables (small ones: the cost is the catalog, not the data)
    cat_root = work / "ws_catalog"
    if not (cat_root / "workbench.toml").exists():
        cat_ws = init_workspace(cat_root, name="catalog")
        with open_lake(cat_ws) as lake:
            cur = lake.cursor()
            for i in range(1000):
                cur.execute(f'CREATE TABLE "t{i:04d}" AS SELECT {i} AS x')
    out = subprocess.run([sys.executable, "-c", CATALOG, str(cat_root)], capture_output=True, text=True, check=True)
    n_tables, seconds = out.stdout.split()
    results["open_catalog_1000_tables"] = float(seconds)

    # read latency while another process ingests (writes a new 1M-row version repeatedly)
    small = work / "ingest_1m.parquet"
    if not small.exists():
        duckdb.sql(f"COPY (SELECT * FROM '{parquet}' LIMIT 1000000) TO '{small}' (FORMAT parquet)")
    writer = subprocess.Popen([sys.executable, "-c",
                               "import sys; from pathlib import Path; from workbench.workspace import Workspace;"
                               "from workbench.lake import open_lake; from workbench.lake.ingest import ingest_files\n"
                               "with open_lake(Workspace.load(Path(sys.argv[1]))) as lake:\n"
                               "    for _ in range(4): ingest_files(lake, [Path(sys.argv[2])], table='side', replace=True)",
                               str(ws.root), str(small)])
    reader = subprocess.run([sys.executable, "-c", LATENCY_READER, str(ws.root), "12"], capture_output=True, text=True,
                            check=True)
    writer.wait()
    median, p95, errors, count = reader.stdout.split()
    results["read_latency_median_while_ingesting"] = float(median)
    results["read_latency_p95_while_ingesting"] = float(p95)

    print(f"\n{args.rows:,} rows x 20 columns; DuckDB {duckdb.__version__}; medians of {args.repeat} where repeated\n")
    for key, value in results.items():
        print(f"  {key:<40} {value * 1000:10.0f} ms" if value < 1 else f"  {key:<40} {value:10.2f} s")
    print(f"  {'reads during ingest (errors / reads)':<40} {errors} / {count}")
    print(f"  {'catalog tables listed':<40} {n_tables}")
    print(f"  {'TUI sort column':<40} {sort_column}")
    print("\npeak memory (MB) per task process:", {k: round(v) for k, v in memory.items()})
    full = results.get("profile_charts")
    if full and "pandas_read_describe" in results:
        print(f"\nfull profile vs pandas read+describe: {results['pandas_read_describe'] / full:.1f}x faster, "
              f"{memory['pandas'] / memory['profile']:.1f}x less memory")
        print(f"versus target vs pandas: {results['pandas_versus_target'] / results['versus_target']:.1f}x faster, "
              f"{memory['pandas'] / memory['target']:.1f}x less memory")
    if full and "polars_read_describe" in results:
        print(f"full profile vs polars read+describe: {results['polars_read_describe'] / full:.1f}x "
              f"(polars peak {memory['polars']:.0f} MB)")
    load_after = os.getloadavg()
    print(f"load average (1, 5, 15 min) before {load_before}, after {load_after}")
    if args.json:
        args.json.write_text(json.dumps({
            "rows": args.rows, "repeat": args.repeat, "duckdb": duckdb.__version__, "cpus": os.cpu_count(),
            "load_before": load_before, "load_after": load_after, "seconds": results, "peak_mb": memory,
            "reads_during_ingest": {"errors": int(errors), "reads": int(count)}, "tui_sort_column": sort_column,
        }, indent=2) + "\n")


if __name__ == "__main__":
    main()
