"""Versioning, time travel, fingerprints and pruning on real DuckLake files."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.errors import LakeError
from workbench.lake import open_lake
from workbench.lake.catalog import list_tables, parse_table_spec, table_versions
from workbench.lake.ingest import ingest_files
from workbench.lake.preview import preview_table
from workbench.lake.prune import prune_versions
from workbench.workspace import Workspace


def _csv(path: Path, rows: list[str], header: str = "k,v") -> Path:
    path.write_text(header + "\n" + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def test_every_write_is_a_version_and_old_ones_stay_readable(empty_workspace: Workspace, tmp_path: Path) -> None:
    with open_lake(empty_workspace) as lake:
        ingest_files(lake, [_csv(tmp_path / "t.csv", ["1,a", "2,b"])], actor="ann")
        ingest_files(lake, [_csv(tmp_path / "t.csv", ["1,a", "2,b", "3,c"])], replace=True, actor="bob")
        versions = table_versions(lake, "t")
        assert [(v.version, v.row_count, v.actor) for v in versions] == [(1, 2, "ann"), (2, 3, "bob")]
        assert all(v.created_at and v.source.endswith("t.csv") and v.schema for v in versions)
        assert all(v.fingerprint_algorithm.startswith("rowhash-sum-v1/duckdb-1.5.5") for v in versions)
        assert preview_table(lake, "t", version=1).total_rows == 2
        assert preview_table(lake, "t").total_rows == 3
        with pytest.raises(LakeError, match="no version 9"):
            preview_table(lake, "t", version=9)


def test_fingerprint_changes_iff_data_changes(empty_workspace: Workspace, tmp_path: Path) -> None:
    with open_lake(empty_workspace) as lake:
        ingest_files(lake, [_csv(tmp_path / "t.csv", ["1,a", "2,b", "2,b"])], actor="x")
        same_rows_other_order = ingest_files(lake, [_csv(tmp_path / "t.csv", ["2,b", "1,a", "2,b"])], replace=True)[0]
        one_cell_changed = ingest_files(lake, [_csv(tmp_path / "t.csv", ["2,b", "1,a", "2,c"])], replace=True)[0]
        renamed_column = ingest_files(lake, [_csv(tmp_path / "t.csv", ["2,b", "1,a", "2,c"], "k,w")], replace=True)[0]
        v1 = table_versions(lake, "t")[0]
    assert same_rows_other_order.fingerprint == v1.fingerprint
    assert len({v1.fingerprint, one_cell_changed.fingerprint, renamed_column.fingerprint}) == 3


def test_table_at_version_syntax() -> None:
    assert parse_table_spec("flights@3") == ("flights", 3)
    assert parse_table_spec("flights") == ("flights", None)
    with pytest.raises(LakeError, match="positive whole number"):
        parse_table_spec("flights@x")


def test_prune_drops_old_versions_and_their_files(empty_workspace: Workspace, tmp_path: Path) -> None:
    ws = empty_workspace
    with open_lake(ws) as lake:
        for i in range(3):
            # enough rows that DuckLake writes Parquet files instead of inlining them in the catalog
            ingest_files(lake, [_csv(tmp_path / "big.csv", [f"{j},{i}" for j in range(3000)])], replace=True)
        files_before = len(list(ws.lake_data.rglob("*.parquet")))
        dry = prune_versions(lake, "big", keep=1, dry_run=True)
        assert dry.pruned_versions == [1, 2] and len(list(ws.lake_data.rglob("*.parquet"))) == files_before
        result = prune_versions(lake, "big", keep=1)
        assert result.pruned_versions == [1, 2] and result.kept_versions == [3]
        assert [v.version for v in table_versions(lake, "big")] == [3]
        assert len(list(ws.lake_data.rglob("*.parquet"))) < files_before
        assert preview_table(lake, "big").total_rows == 3000
        with pytest.raises(LakeError, match="no version 1"):
            preview_table(lake, "big", version=1)
        with pytest.raises(LakeError, match="at least one"):
            prune_versions(lake, "big", keep=0)


def test_prune_keeps_a_snapshot_another_table_still_needs(empty_workspace: Workspace, tmp_path: Path) -> None:
    with open_lake(empty_workspace) as lake:
        ingest_files(lake, [_csv(tmp_path / "a.csv", ["1,a"]), _csv(tmp_path / "b.csv", ["1,b"])])
        ingest_files(lake, [_csv(tmp_path / "a.csv", ["2,a"])], replace=True)
        result = prune_versions(lake, "a", keep=1)
        assert result.pruned_versions == [] and result.shared_versions == [1]
        assert preview_table(lake, "b", version=1).rows == [(1, "b")]


def test_catalog_lists_sizes_and_versions(sample_workspace: Workspace) -> None:
    with open_lake(sample_workspace) as lake:
        tables = {t.name: t for t in list_tables(lake)}
    assert tables["flights"].row_count == 336_776 and tables["flights"].version == 1
    assert tables["flights"].size_bytes and tables["flights"].size_bytes > 1_000_000
