"""Read is read: every function DuckDB's catalogue offers, called through every path that only reads, is
refused or harmless — the catalog file, its snapshots and the data files on disk are unchanged afterwards."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from pathlib import Path
from typing import Callable

import duckdb
import polars as pl
import pytest

from workbench.errors import WorkbenchError
from workbench.lake import open_lake
from workbench.lake.ingest import ingest_files
from workbench.workspace import Workspace
from workbench.workspace.create import init_workspace


def _build(root: Path) -> Workspace:
    """Two versions of a Parquet-backed table (something to expire, merge, clean) and an inlined one (to flush)."""
    ws = init_workspace(root, name="rr")
    src = root.parent / "src"
    src.mkdir(exist_ok=True)
    with open_lake(ws) as lake:
        for i in range(2):
            big = src / "big.parquet"
            pl.DataFrame({"k": list(range(5000)), "v": [i] * 5000}).write_parquet(big)
            ingest_files(lake, [big], table="big", replace=True)
            small = src / "small.csv"
            small.write_text("k,v\n" + "".join(f"{j},{i}\n" for j in range(3)))
            ingest_files(lake, [small], table="small", replace=True)
    return ws


@pytest.fixture(scope="module")
def _template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("rr") / "ws"
    _build(root)
    return root


@pytest.fixture
def lake_ws(_template: Path, tmp_path: Path) -> Workspace:
    root = tmp_path / "ws"
    shutil.copytree(_template, root)
    return Workspace.load(root)


def lake_state(ws: Workspace) -> tuple[str, list, list[str]]:
    """Bytes of the catalog (and its WAL), its snapshot rows, and every file and folder under the data path."""
    digest = hashlib.sha256()
    for path in (ws.lake_catalog, Path(str(ws.lake_catalog) + "-wal")):
        if path.exists():
            digest.update(path.read_bytes())
    con = sqlite3.connect(f"file:{ws.lake_catalog}?mode=ro", uri=True)
    try:
        snapshots = con.execute("SELECT * FROM ducklake_snapshot ORDER BY snapshot_id").fetchall()
    finally:
        con.close()
    return digest.hexdigest(), snapshots, sorted(str(p.relative_to(ws.lake_data)) for p in ws.lake_data.rglob("*"))


def _calls(ws: Workspace) -> list[str]:
    """A SELECT calling each table function of the lake's extensions, with the arguments that make it act."""
    parquet = next(ws.lake_data.rglob("*.parquet"))
    catalog = str(ws.lake_catalog)
    special = {
        "ducklake_add_data_files": f"ducklake_add_data_files('lake', 'big', '{parquet}')",
        "ducklake_cleanup_old_files": "ducklake_cleanup_old_files('lake', cleanup_all => true)",
        "ducklake_delete_orphaned_files": "ducklake_delete_orphaned_files('lake', cleanup_all => true)",
        "ducklake_expire_snapshots": "ducklake_expire_snapshots('lake', older_than => now())",
        "ducklake_merge_adjacent_files": "ducklake_merge_adjacent_files('lake')",
        "ducklake_rewrite_data_files": "ducklake_rewrite_data_files('lake', delete_threshold => 0)",
        "ducklake_set_option": "ducklake_set_option('lake', 'parquet_compression', 'zstd')",
        "ducklake_set_commit_message": "ducklake_set_commit_message('lake', 'mallory', 'forged')",
        "ducklake_table_changes": "ducklake_table_changes('lake', 'main', 'big', 0, 3)",
        "ducklake_table_insertions": "ducklake_table_insertions('lake', 'main', 'big', 0, 3)",
        "ducklake_table_deletions": "ducklake_table_deletions('lake', 'main', 'big', 0, 3)",
        "ducklake_scan": None,  # internal scan of a table's files; not callable by name
        "ducklake_commit": None,  # internal
        "sqlite_attach": f"sqlite_attach('{catalog}', overwrite => true)",
        "sqlite_query": "sqlite_query('__ducklake_metadata_lake', 'DELETE FROM ducklake_snapshot RETURNING *')",
        "sqlite_scan": f"sqlite_scan('{catalog}', 'ducklake_snapshot')",
    }
    con = duckdb.connect()
    with open_lake(ws, read_only=True) as lake:
        names = sorted({r[0] for r in lake.cursor().execute(
            "SELECT function_name FROM duckdb_functions() WHERE function_type IN ('table', 'table_macro') "
            "AND (function_name LIKE 'ducklake%' OR function_name LIKE 'sqlite%')").fetchall()})
    con.close()
    assert "ducklake_expire_snapshots" in names and "ducklake_flush_inlined_data" in names
    calls = [special.get(name, f"{name}('lake')") for name in names]
    # the write-shaped ones DuckDB runs as table functions too
    calls += ["checkpoint('lake')", "force_checkpoint('lake')", "lake.set_commit_message('m', 'x')",
              f"read_text('{catalog}')"]
    return [f"SELECT * FROM {c}" for c in calls if c]


def _quietly(action: Callable[[], object]) -> None:
    try:
        action()
    except WorkbenchError:
        pass  # refused, with one sentence: fine


def _read_paths(ws: Workspace, ro: object, holdout: Path) -> dict[str, Callable[[str], object]]:
    """Each read path, as a function of the SQL it is given. Paths that open the lake themselves do so;
    paths that take a handle get `ro` (a writable handle is tried separately, below)."""
    from workbench.governance.report import _current_data
    from workbench.lake.operations import export
    from workbench.lake.preview import preview_table
    from workbench.lake.sql import query_page
    from workbench.pipeline.data import load_data
    from workbench.pipeline.spec import DataSource
    from workbench.registry.inputs import read_rows
    from workbench.registry.register import _reference

    return {
        "spec query (pipeline.data)": lambda sql: load_data(ro, DataSource(query=sql)),
        "predict/evaluate rows (registry.inputs)": lambda sql: read_rows(ws, None, sql),
        "lake sql without --write": lambda sql: query_page(ro, sql),
        "lake show --where": lambda sql: preview_table(ro, "big", where=f"EXISTS ({sql})"),
        "register re-run": lambda sql: _reference(ws, {"data": {"query": sql}}, {"fingerprint": "x", "data_source": "q"},
                                                  ["k"], str(holdout)),
        "governance re-run": lambda sql: _current_data(ro, {"data_table": None, "data_query": sql}),
        "export --query": lambda sql: export(ro, ws.root / "out.csv", query=sql, overwrite=True),
    }


PATHS = ["spec query (pipeline.data)", "predict/evaluate rows (registry.inputs)", "lake sql without --write",
         "lake show --where", "register re-run", "governance re-run", "export --query"]


@pytest.mark.parametrize("path", PATHS)
def test_every_lake_function_through_a_read_path_changes_nothing(lake_ws: Workspace, tmp_path: Path, path: str) -> None:
    holdout = tmp_path / "holdout.parquet"
    pl.DataFrame({"k": [1, 2, 3]}).write_parquet(holdout)
    before = lake_state(lake_ws)
    calls = _calls(lake_ws)
    assert len(calls) >= 20
    with open_lake(lake_ws, read_only=True) as ro:
        action = _read_paths(lake_ws, ro, holdout)[path]
        for sql in calls:
            _quietly(lambda: action(sql))
            assert lake_state(lake_ws) == before, f"{path} changed the lake running: {sql}"
    with open_lake(lake_ws, read_only=True) as lake:
        assert lake.cursor().execute("SELECT count(*), min(v) FROM big").fetchone() == (5000, 1)


WORST = ["SELECT * FROM ducklake_expire_snapshots('lake', older_than => now())",
         "SELECT * FROM ducklake_flush_inlined_data('lake')",
         "SELECT * FROM sqlite_query('__ducklake_metadata_lake', 'DELETE FROM ducklake_snapshot RETURNING *')"]


def test_a_writable_handle_given_to_a_read_path_is_not_used_for_the_query(lake_ws: Workspace, tmp_path: Path) -> None:
    """The batch engine hands the pipeline a writable handle; the query still runs sealed."""
    holdout = tmp_path / "holdout.parquet"
    pl.DataFrame({"k": [1]}).write_parquet(holdout)
    before = lake_state(lake_ws)
    with open_lake(lake_ws) as rw:
        paths = _read_paths(lake_ws, rw, holdout)
        for name in ("spec query (pipeline.data)", "lake sql without --write", "lake show --where", "export --query"):
            for sql in WORST:
                _quietly(lambda: paths[name](sql))
                assert lake_state(lake_ws) == before, f"{name} changed the lake running: {sql}"


@pytest.mark.parametrize("sql", [
    "SELECT * FROM ducklake_expire_snapshots('lake', older_than => now())",
    "SELECT * FROM ducklake_flush_inlined_data('lake')",
    "SELECT * FROM ducklake_set_option('lake', 'data_inlining_row_limit', 0)",
])
def test_maintenance_in_a_read_is_refused_with_one_sentence(lake_ws: Workspace, sql: str) -> None:
    from workbench.lake.sql import query_page

    before = lake_state(lake_ws)
    with open_lake(lake_ws) as lake, pytest.raises(WorkbenchError, match="workbench lake prune") as err:
        query_page(lake, sql)
    assert "\n" not in err.value.message
    assert lake_state(lake_ws) == before


def test_cli_read_paths_refuse_maintenance(lake_ws: Workspace, cli, tmp_path: Path) -> None:
    """The same through the real commands a person would type: lake sql, lake show --where, batch."""
    w = str(lake_ws.root)
    expire = "SELECT * FROM ducklake_expire_snapshots('lake', older_than => now())"
    flush = "SELECT k FROM big, ducklake_flush_inlined_data('lake')"
    before = lake_state(lake_ws)
    out = cli("-w", w, "lake", "sql", expire)
    assert out.returncode == 2 and "workbench lake prune" in out.stderr
    out = cli("-w", w, "lake", "show", "big", "--where", f"EXISTS ({flush})")
    assert out.returncode == 2, out.stderr
    spec = tmp_path / "spec.toml"
    spec.write_text(f'name = "evil"\ntarget = "v"\ncandidates = ["linear"]\nmax_trials = 1\n[data]\nquery = "{flush}"\n')
    out = cli("-w", w, "batch", str(spec))
    assert out.returncode != 0
    assert lake_state(lake_ws) == before


def test_a_read_only_handle_sees_versions_committed_after_it_opened(lake_ws: Workspace, tmp_path: Path) -> None:
    """The seal allows the files that existed when it was made; a newer snapshot gets a fresh sealed connection."""
    with open_lake(lake_ws, read_only=True) as reader:
        assert reader.cursor().execute("SELECT max(v) FROM big").fetchone() == (1,)
        newer = tmp_path / "big.parquet"
        pl.DataFrame({"k": [1], "v": [7]}).write_parquet(newer)
        with open_lake(lake_ws) as writer:
            ingest_files(writer, [newer], table="big", replace=True)
        assert reader.cursor().execute("SELECT max(v) FROM big").fetchone() == (7,)


@pytest.mark.parametrize("function", ["ducklake_cleanup_old_files", "ducklake_delete_orphaned_files"])
def test_files_scheduled_for_deletion_or_orphaned_survive_a_read(lake_ws: Workspace, function: str) -> None:
    """DuckDB's allowed_paths lets a query delete an allowed file, so a read-only handle allows only the
    files a snapshot still reads: a file scheduled for deletion (expired behind Workbench's back, or a
    prune killed before it deleted) and an orphan stay on disk whatever a read calls."""
    with open_lake(lake_ws) as lake:  # writable, as a script with file access would: expire, no cleanup
        lake.cursor().execute("SELECT * FROM ducklake_expire_snapshots('lake', older_than => now())").fetchall()
    con = sqlite3.connect(lake_ws.lake_catalog)
    scheduled = con.execute("SELECT count(*) FROM ducklake_files_scheduled_for_deletion").fetchone()[0]
    con.close()
    assert scheduled > 0
    orphan = next(lake_ws.lake_data.rglob("*.parquet")).with_name("ducklake-00000000-orphan.parquet")
    orphan.write_bytes(b"PAR1")
    before = lake_state(lake_ws)
    with open_lake(lake_ws, read_only=True) as ro, pytest.raises(duckdb.Error):
        ro.cursor().execute(f"SELECT * FROM {function}('lake', cleanup_all => true)").fetchall()
    assert lake_state(lake_ws) == before and orphan.exists()
