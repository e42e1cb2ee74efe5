from __future__ import annotations

from workbench.identity import os_login

import json
from pathlib import Path

import pytest

from workbench.workspace import Workspace


def _tables(cli, ws: Workspace) -> dict:
    out = cli("-w", str(ws.root), "lake", "tables", "--json")
    assert out.returncode == 0, out.stderr
    return {t["name"]: t for t in json.loads(out.stdout)}


def _catalog_state(ws: Workspace) -> tuple[bytes, list[str]]:
    files = sorted(str(p.relative_to(ws.lake_data)) for p in ws.lake_data.rglob("*") if p.is_file())
    return ws.lake_catalog.read_bytes(), files


def test_ingest_csv_and_show(empty_workspace: Workspace, tmp_path: Path, cli) -> None:
    csv = tmp_path / "Sales 2024.csv"
    csv.write_text("region,amount,note\nnorth,10.5,first\nsouth,,\"with, comma\"\neast,3,x\n")
    result = cli("-w", str(empty_workspace.root), "lake", "ingest", str(csv))
    assert result.returncode == 0, result.stderr
    assert "sales_2024: version 1, 3 rows" in result.stdout
    shown = json.loads(cli("-w", str(empty_workspace.root), "lake", "show", "sales_2024", "--json").stdout)
    assert shown["total_rows"] == 3
    assert shown["rows"][1] == {"region": "south", "amount": None, "note": "with, comma"}
    human = cli("-w", str(empty_workspace.root), "lake", "show", "sales_2024", "--limit", "1")
    assert "north" in human.stdout and "south" not in human.stdout and "rows 1–1 of 3" in human.stdout


def test_ingest_parquet_with_table_name_and_replace_creates_versions(empty_workspace: Workspace, cli) -> None:
    from conftest import SAMPLE_DATA

    w = str(empty_workspace.root)
    assert cli("-w", w, "lake", "ingest", str(SAMPLE_DATA / "penguins.parquet"), "--table", "birds").returncode == 0
    again = cli("-w", w, "lake", "ingest", str(SAMPLE_DATA / "airlines.parquet"), "--table", "birds")
    assert again.returncode == 2 and "--replace" in again.stderr
    replaced = cli("-w", w, "lake", "ingest", str(SAMPLE_DATA / "airlines.parquet"), "--table", "birds", "--replace")
    assert replaced.returncode == 0, replaced.stderr
    tables = _tables(cli, empty_workspace)
    assert tables["birds"]["row_count"] == 16 and tables["birds"]["version"] == 2
    versions = json.loads(cli("-w", w, "lake", "versions", "birds", "--json").stdout)
    assert [v["row_count"] for v in versions] == [344, 16]
    assert versions[0]["fingerprint"] != versions[1]["fingerprint"]
    assert all(v["actor"] == os_login() for v in versions)
    old = json.loads(cli("-w", w, "lake", "show", "birds", "--version", "1", "--json", "--limit", "1").stdout)
    assert old["total_rows"] == 344 and "species" in old["columns"]


def test_same_data_gives_same_fingerprint_in_any_order(empty_workspace: Workspace, tmp_path: Path, cli) -> None:
    a, b, c = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    a.write_text("x,y\n1,p\n2,q\n2,q\n")
    b.write_text("x,y\n2,q\n1,p\n2,q\n")
    c.write_text("x,y\n1,p\n2,q\n")  # one duplicate fewer: must differ (xor would cancel the pair)
    w = str(empty_workspace.root)
    for p in (a, b, c):
        assert cli("-w", w, "lake", "ingest", str(p)).returncode == 0
    t = _tables(cli, empty_workspace)
    assert t["a"]["fingerprint"] == t["b"]["fingerprint"] != t["c"]["fingerprint"]


@pytest.mark.parametrize(
    ("content", "name", "expected"),
    [
        (None, "missing.csv", "No such file"),
        ("", "empty.csv", "is empty"),
        ("a,b\n1,2\n3,4,5\n6,7\n", "ragged.csv", "line"),
        ("a,b\n", "header_only.csv", "no rows"),
        ("a,b\n1,2\n", "notes.xlsx", "only .csv"),
    ],
)
def test_bad_ingest_is_one_clear_error_and_leaves_the_lake_unchanged(
    sample_workspace: Workspace, tmp_path: Path, cli, content: str | None, name: str, expected: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    before = _catalog_state(sample_workspace)
    result = cli("-w", str(sample_workspace.root), "lake", "ingest", str(path))
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert _catalog_state(sample_workspace)[1] == before[1]
    assert set(_tables(cli, sample_workspace)) == {"airlines", "airports", "planes", "weather", "flights", "penguins"}


def test_multi_file_ingest_is_all_or_nothing(empty_workspace: Workspace, tmp_path: Path, cli) -> None:
    good = tmp_path / "good.csv"
    good.write_text("a,b\n1,2\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n3,4,5\n")
    result = cli("-w", str(empty_workspace.root), "lake", "ingest", str(good), str(bad))
    assert result.returncode == 2
    assert _tables(cli, empty_workspace) == {}


@pytest.mark.parametrize("name", ["select", "drop table x", 'x"; DROP TABLE flights; --', "1abc", "a.b"])
def test_table_names_are_checked_or_quoted(sample_workspace: Workspace, tmp_path: Path, cli, name: str) -> None:
    csv = tmp_path / "t.csv"
    csv.write_text("a\n1\n")
    result = cli("-w", str(sample_workspace.root), "lake", "ingest", str(csv), "--table", name)
    tables = _tables(cli, sample_workspace)
    assert "flights" in tables and tables["flights"]["row_count"] == 336_776
    if result.returncode == 0:
        assert name in tables  # a keyword is a fine name once quoted
    else:
        assert result.returncode == 2 and "not a valid table name" in result.stderr


def test_unknown_table_is_a_clear_error(sample_workspace: Workspace, cli) -> None:
    result = cli("-w", str(sample_workspace.root), "lake", "show", "nope")
    assert result.returncode == 2
    assert "No table named 'nope'" in result.stderr and "penguins" in result.stderr
