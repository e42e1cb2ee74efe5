"""Preview, profile, versus target, SQL console, export and attach — core functions and the CLI."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import duckdb
import polars as pl
import pytest

from workbench.errors import LakeError
from workbench.lake import open_lake
from workbench.lake.attach import attach_source, detach_source, list_sources, source_tables
from workbench.lake.export import export_data
from workbench.lake.ingest import ingest_files
from workbench.lake.preview import PageQuery, read_page
from workbench.lake.profile import profile_stages
from workbench.lake.sql import query_page, write_table
from workbench.lake.sql_history import add_history, load_history
from workbench.lake.versus_target import versus_target
from workbench.workspace import Workspace

from lake_fixtures import numbers  # noqa: F401  (a fixture)


def test_pages_are_stable_and_pinned_to_one_snapshot(numbers: Workspace, tmp_path: Path) -> None:
    with open_lake(numbers) as lake:
        first = read_page(lake, PageQuery("numbers"), 0, 100)
        assert first.total_rows == 1000 and first.snapshot is not None
        assert first.caption == "rows 1–100 of 1,000"
        # another version lands between two page reads: the pinned query keeps reading the old one
        (tmp_path / "n2.csv").write_text("n\n1\n")
        ingest_files(lake, [tmp_path / "n2.csv"], table="numbers", replace=True)
        second = read_page(lake, first.query, 100, 100)
        assert second.total_rows == 1000 and second.offset == 100
        assert read_page(lake, first.query, 0, 100).rows == first.rows  # same order every time
        assert read_page(lake, PageQuery("numbers"), 0, 10).total_rows == 1
        # sorted and filtered, with honest counts
        page = read_page(lake, PageQuery("numbers", version=1, sort="n", descending=True, where="label = 'g1'"), 0, 5)
        assert [r[0] for r in page.rows] == [997, 993, 989, 985, 981]
        assert page.total_rows == 250 and "matching the filter" in page.caption


def test_profile_streams_stages_with_correct_statistics(numbers: Workspace) -> None:
    with open_lake(numbers) as lake:
        stages = list(profile_stages(lake, "numbers"))
    assert [s.stage for s in stages] == ["basic", "stats", "charts"]
    basic, full = stages[0], stages[-1]
    n = basic.column("n")
    assert (n.count, n.min, n.max, n.mean) == (1000, 1.0, 1000.0, 500.5) and n.distinct is None
    assert abs(n.std - 288.819) < 0.01
    maybe = full.column("maybe")
    assert maybe.nulls == 100 and maybe.null_pct == 10.0
    n = full.column("n")
    assert 950 <= n.distinct <= 1050 and abs(n.q50 - 500.5) < 1
    assert sum(b[2] for b in n.histogram) == 1000 and len(n.histogram) == 20
    assert full.column("label").top_values == [("g0", 250), ("g1", 250), ("g2", 250), ("g3", 250)]
    assert dict(full.column("leak").top_values) == {"false": 900, "true": 100}


def test_versus_target_ranks_the_leak_first(numbers: Workspace) -> None:
    with open_lake(numbers) as lake:
        result = versus_target(lake, "numbers", "leak")
        with pytest.raises(LakeError, match="no column 'nope'"):
            versus_target(lake, "numbers", "nope")
    assert result.target_kind == "binary" and result.positive == "true" and result.overall == pytest.approx(0.1)
    top = result.features[0]
    assert top.feature == "n" and top.leakage_suspect
    assert top.buckets[-1].target_mean == 1.0 and top.buckets[0].target_mean == 0.0
    assert {f.feature: f.score for f in result.features}["label"] < 0.01
    with open_lake(numbers) as lake:
        numeric = versus_target(lake, "numbers", "n")
    assert numeric.target_kind == "numeric" and numeric.overall == pytest.approx(500.5)


def test_sql_pages_writes_versions_and_keeps_history(numbers: Workspace) -> None:
    with open_lake(numbers) as lake:
        page = query_page(lake, "SELECT n FROM numbers WHERE n > 10 ORDER BY n DESC", offset=5, limit=3)
        assert page.rows == [(995,), (994,), (993,)] and page.total_rows == 990
        assert query_page(lake, "SUMMARIZE numbers").total_rows == 5
        v = write_table(lake, "CREATE TABLE big_ones AS SELECT * FROM numbers WHERE n > 990", "ann")
        assert (v.table, v.version, v.row_count, v.actor) == ("big_ones", 1, 10, "ann")
        v2 = write_table(lake, "create or replace table big_ones as select * from numbers where n > 995;", "ann")
        assert v2.version == 2 and v2.source.startswith("sql: ")
    add_history(numbers, "SELECT 1", ok=True)
    add_history(numbers, "SELECT n FROM numbers", ok=False)
    add_history(numbers, "SELECT 1", ok=True)
    assert [h.sql for h in load_history(numbers)] == ["SELECT 1", "SELECT n FROM numbers"]
    assert [h.sql for h in load_history(numbers, "numbers")] == ["SELECT n FROM numbers"]


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".json"])
def test_export_round_trips_and_is_atomic(numbers: Workspace, tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"out{suffix}"
    with open_lake(numbers) as lake:
        result = export_data(lake, out, table="numbers")
        assert result.row_count == 1000
        with pytest.raises(LakeError, match="already exists"):
            export_data(lake, out, query="SELECT 1")
        export_data(lake, out, query="SELECT n FROM numbers WHERE n <= 3", overwrite=True)
    reader = {".csv": "read_csv", ".parquet": "read_parquet", ".json": "read_json"}[suffix]
    assert duckdb.sql(f"SELECT count(*) FROM {reader}('{out}')").fetchone()[0] == 3
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp files left


def test_attach_duckdb_file_sqlite_file_and_parquet_folder(numbers: Workspace, tmp_path: Path) -> None:
    ext_db = tmp_path / "external.duckdb"
    with duckdb.connect(str(ext_db)) as con:
        con.execute("CREATE TABLE customers AS SELECT range AS id, 'c' || range AS name FROM range(5)")
    lite = tmp_path / "shop.sqlite"
    with sqlite3.connect(lite) as con:
        con.execute("CREATE TABLE orders (id INTEGER, total REAL)")
        con.execute("INSERT INTO orders VALUES (1, 9.5), (2, 3.0)")
    folder = tmp_path / "drops"
    folder.mkdir()
    pl.DataFrame({"a": [1, 2, 3]}).write_parquet(folder / "part one.parquet")
    (folder / "more.csv").write_text("b\nx\ny\n")
    with open_lake(numbers) as lake:
        attach_source(lake, ext_db, "ext")
        attach_source(lake, lite, "shop")
        attach_source(lake, folder, "drops")
        with pytest.raises(LakeError, match="already attached"):
            attach_source(lake, folder, "drops")
        with pytest.raises(LakeError, match="No such file"):
            attach_source(lake, tmp_path / "missing", "m")
        with pytest.raises(LakeError, match="reserved"):
            attach_source(lake, folder, "lake")
        assert [t.name for t in source_tables(lake, "drops")] == ["more", "part_one"]
        assert query_page(lake, "SELECT sum(id) FROM ext.customers").rows == [(10,)]
        assert query_page(lake, "SELECT count(*) FROM shop.orders").rows == [(2,)]
        assert read_page(lake, PageQuery("drops.part_one"), 0, 10).rows == [(1,), (2,), (3,)]
        with pytest.raises(LakeError):
            query_page(lake, "CREATE TABLE ext.t AS SELECT 1")
    # a fresh process (here: a fresh connection) re-attaches from the registry
    with open_lake(numbers) as lake:
        assert {s.name for s in list_sources(numbers)} == {"ext", "shop", "drops"}
        assert query_page(lake, "SELECT count(*) FROM drops.more").rows == [(2,)]
        detach_source(lake, "ext")
        with pytest.raises(LakeError, match="No attached source"):
            detach_source(lake, "ext")
    # the external DuckDB file is not held open once the lake is closed: another program can write it
    with duckdb.connect(str(ext_db)) as con:
        con.execute("INSERT INTO customers VALUES (99, 'z')")


def test_cli_profile_sql_export_attach_prune(numbers: Workspace, tmp_path: Path, cli) -> None:
    w = str(numbers.root)
    prof = cli("-w", w, "lake", "profile", "numbers", "--target", "leak", "--json")
    assert prof.returncode == 0, prof.stderr
    data = json.loads(prof.stdout)
    assert data["profile"]["row_count"] == 1000 and data["versus_target"]["features"][0]["feature"] == "n"
    human = cli("-w", w, "lake", "profile", "numbers", "--target", "leak")
    assert "LEAKAGE?" in human.stdout and "median" in human.stdout
    ro = cli("-w", w, "lake", "sql", "CREATE TABLE t AS SELECT 1 AS x")
    assert ro.returncode == 2 and "writes are off" in ro.stderr and len(ro.stderr.strip().splitlines()) == 1
    rw = cli("-w", w, "lake", "sql", "--write", "CREATE TABLE t AS SELECT 1 AS x", "--json")
    assert rw.returncode == 0 and json.loads(rw.stdout)["version"] == 1
    out = cli("-w", w, "lake", "sql", "SELECT x FROM t", "--json")
    assert json.loads(out.stdout)["rows"] == [{"x": 1}]
    exported = cli("-w", w, "lake", "export", "numbers@1", str(tmp_path / "n.parquet"), "--json")
    assert json.loads(exported.stdout)["row_count"] == 1000
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "f.csv").write_text("q\n1\n")
    att = cli("-w", w, "lake", "attach", str(tmp_path / "folder"), "--as", "ext", "--json")
    assert json.loads(att.stdout)["tables"] == ["f"]
    assert cli("-w", w, "lake", "show", "ext.f", "--json").returncode == 0
    pruned = cli("-w", w, "lake", "prune", "numbers", "--json")
    assert pruned.returncode == 0 and json.loads(pruned.stdout)["kept_versions"] == [1]
    from workbench.audit import AuditLog

    with AuditLog(numbers.audit_path, numbers.root) as log:
        kinds = {e.kind for e in log.events(limit=100)}
    assert {"lake.sql_write", "lake.export", "lake.attach", "lake.prune"} <= kinds
