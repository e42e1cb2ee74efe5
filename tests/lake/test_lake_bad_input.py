"""Every bad input named in the issue: one clear LakeError sentence, and the lake unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.errors import LakeError
from workbench.lake import open_lake
from workbench.lake.catalog import list_tables
from workbench.lake.ingest import ingest_files
from workbench.lake.preview import preview_table
from workbench.lake.profile import profile_table
from workbench.lake.sql import check_predicate, query_page, write_table
from workbench.workspace import Workspace


def _state(ws: Workspace) -> tuple[list, list[str]]:
    with open_lake(ws) as lake:
        tables = [(t.name, t.row_count, t.version) for t in list_tables(lake)]
    files = sorted(str(p) for p in ws.lake_data.rglob("*") if p.is_file())
    return tables, files


def _write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _mixed_dir(tmp: Path) -> Path:
    d = tmp / "mixed"
    d.mkdir()
    _write(d / "a.csv", "x,y\n1,2\n")
    _write(d / "b.csv", "x,z\n1,2\n")
    return d


BAD_FILES = [
    ("ragged.csv", "a,b\n1,2\n3,4,5\n6,7\n", "line 3"),
    ("latin1.csv", "name,v\ncaf\xe9,1\n".encode("latin-1"), "not UTF-8"),
    ("empty.csv", "", "is empty"),
    ("header_only.csv", "a,b\n", "no rows"),
    ("dupes.csv", "a,A,b\n1,2,3\n", "twice"),
    ("blank_name.csv", "a,,b\n1,2,3\n", "empty column name"),
    ("notes.xlsx", "a,b\n1,2\n", "only .csv"),
]


@pytest.mark.parametrize(("name", "content", "expected"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_files(sample_workspace: Workspace, tmp_path: Path, name: str, content: str | bytes, expected: str) -> None:
    before = _state(sample_workspace)
    path = _write(tmp_path / name, content)
    with open_lake(sample_workspace) as lake, pytest.raises(LakeError, match=expected) as err:
        ingest_files(lake, [path])
    assert "\n" not in err.value.message
    assert _state(sample_workspace) == before


def test_missing_file_and_mixed_directory(sample_workspace: Workspace, tmp_path: Path) -> None:
    before = _state(sample_workspace)
    with open_lake(sample_workspace) as lake:
        with pytest.raises(LakeError, match="No such file"):
            ingest_files(lake, [tmp_path / "nope.csv"])
        with pytest.raises(LakeError, match="different columns"):
            ingest_files(lake, [_mixed_dir(tmp_path)])
    assert _state(sample_workspace) == before


def test_a_directory_with_one_schema_is_one_table(empty_workspace: Workspace, tmp_path: Path) -> None:
    d = tmp_path / "Sales Parts"
    d.mkdir()
    _write(d / "jan.csv", "x,y\n1,2\n")
    _write(d / "feb.csv", "x,y\n3,4\n")
    with open_lake(empty_workspace) as lake:
        (v,) = ingest_files(lake, [d])
        assert (v.table, v.row_count) == ("sales_parts", 2)


@pytest.mark.parametrize("name", ["select", "order"])
def test_sql_keywords_are_fine_table_names(empty_workspace: Workspace, tmp_path: Path, name: str) -> None:
    with open_lake(empty_workspace) as lake:
        ingest_files(lake, [_write(tmp_path / "t.csv", "a\n1\n")], table=name)
        assert preview_table(lake, name).rows == [(1,)]
        assert query_page(lake, f'SELECT * FROM "{name}"').total_rows == 1


@pytest.mark.parametrize("name", ['x"; DROP TABLE flights; --', "a.b", "has space", "", "1abc"])
def test_bad_table_names_are_refused(sample_workspace: Workspace, tmp_path: Path, name: str) -> None:
    before = _state(sample_workspace)
    with open_lake(sample_workspace) as lake, pytest.raises(LakeError, match="not a valid table name"):
        ingest_files(lake, [_write(tmp_path / "t.csv", "a\n1\n")], table=name)
    assert _state(sample_workspace) == before


def test_awkward_column_names_survive_everything(empty_workspace: Workspace, tmp_path: Path) -> None:
    header = 'plain,with space,"quo""te",dot.ted,ünïcødé,select'
    path = _write(tmp_path / "odd.csv", header + "\n1,2,3,4,5,6\n7,8,9,10,11,12\n")
    with open_lake(empty_workspace) as lake:
        ingest_files(lake, [path])
        page = preview_table(lake, "odd", sort="dot.ted", descending=True, where='"with space" > 2')
        assert page.columns == ["plain", "with space", 'quo"te', "dot.ted", "ünïcødé", "select"]
        assert page.rows == [(7, 8, 9, 10, 11, 12)]
        prof = profile_table(lake, "odd")
        assert prof.column('quo"te').max == 9.0 and prof.column("ünïcødé").mean == 8.0


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELEC * FROM flights", "syntax error"),
        ("SELECT nope FROM flights", "nope"),
        ("DROP TABLE flights", "Only read-only"),
        ("INSERT INTO airlines VALUES ('X', 'Y')", "Only read-only"),
        ("CREATE TABLE t2 AS SELECT 1", "writes are off"),
        ("SELECT 1; DROP TABLE flights", "one SQL statement"),
        # expiring the current snapshot (1) is a no-op; this one really would expire snapshot 0
        ("SELECT * FROM ducklake_expire_snapshots('lake', older_than => now())", "never changes the lake"),
        ("", "empty"),
    ],
)
def test_bad_sql(sample_workspace: Workspace, sql: str, expected: str) -> None:
    before = _state(sample_workspace)
    with open_lake(sample_workspace) as lake, pytest.raises(LakeError, match=expected):
        query_page(lake, sql)
    assert _state(sample_workspace) == before


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("UPDATE flights SET dep_delay = 0", "Only CREATE"),
        ("CREATE TABLE flights AS SELECT 1 AS x", "already exists"),
        ('CREATE TABLE "x; DROP" AS SELECT 1', "not a valid table name"),
        ("CREATE TABLE t2 AS SELECT nope FROM flights", "nope"),
    ],
)
def test_bad_writes(sample_workspace: Workspace, sql: str, expected: str) -> None:
    before = _state(sample_workspace)
    with open_lake(sample_workspace) as lake, pytest.raises(LakeError, match=expected):
        write_table(lake, sql, "tester")
    assert _state(sample_workspace) == before


@pytest.mark.parametrize(
    ("predicate", "expected"),
    [("origin = 'JFK') UNION SELECT 1 --", "unmatched"), ("(dep_delay > 1", "unmatched"),
     ("1=1; DROP TABLE flights", "';'"), ("   ", "empty")],
)
def test_filters_cannot_escape_the_where(predicate: str, expected: str) -> None:
    with pytest.raises(LakeError, match=expected):
        check_predicate(predicate)


def test_unknown_sort_column_and_bad_filter_types(sample_workspace: Workspace) -> None:
    with open_lake(sample_workspace) as lake:
        with pytest.raises(LakeError, match="no such column"):
            preview_table(lake, "airlines", sort="nope")
        with pytest.raises(LakeError, match="SQL error"):
            preview_table(lake, "airlines", where="carrier > interval 1 day")
