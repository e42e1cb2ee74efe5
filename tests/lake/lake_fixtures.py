"""Fixtures of the lake tests (imported by the test modules: a second conftest.py would shadow the top one)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from workbench.lake import open_lake
from workbench.lake.ingest import ingest_files
from workbench.workspace import Workspace


@pytest.fixture
def numbers(empty_workspace: Workspace, tmp_path: Path) -> Workspace:
    """1..1000 with a label, a flag that equals n > 900 (a leak), noise, and 10% NULLs in `maybe`."""
    frame = pl.DataFrame({
        "n": list(range(1, 1001)),
        "label": [f"g{n % 4}" for n in range(1, 1001)],
        "leak": [n > 900 for n in range(1, 1001)],
        "noise": [(n * 7919) % 13 for n in range(1, 1001)],
        "maybe": [None if n % 10 == 0 else n / 2 for n in range(1, 1001)],
    })
    frame.write_parquet(tmp_path / "numbers.parquet")
    with open_lake(empty_workspace) as lake:
        ingest_files(lake, [tmp_path / "numbers.parquet"])
    return empty_workspace
