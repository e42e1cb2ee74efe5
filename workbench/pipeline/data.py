"""Read a run's data from the lake into polars, and say exactly which data it was."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb
import polars as pl

from workbench.lake.catalog import resolve_version, table_ref
from workbench.lake.engine import LAKE_ALIAS, Lake
from workbench.lake.fingerprint import fingerprint_relation
from workbench.lake.sql_guard import check_select, guarded_select, read_error, reading
from workbench.pipeline.spec import DataSource


@dataclass(frozen=True)
class LoadedData:
    frame: pl.DataFrame
    source: str
    version: int | None  # table version, or the lake snapshot a query read
    fingerprint: str
    row_count: int
    # `validation.validate(frame, spec)` once it has run (runs/batch.prepare_run), so the engine does not run it again.
    validated: Any = field(default=None, compare=False, repr=False)


def load_data(lake: Lake, source: DataSource) -> LoadedData:
    cur = lake.cursor()
    if source.table is not None:
        ref = table_ref(lake, source.table, source.version)
        version = resolve_version(lake, source.table, source.version)
        frame = cur.execute(f"SELECT * FROM {ref}").pl()
        if version is not None and version.fingerprint:
            return LoadedData(frame, source.describe() if source.version else f"{source.table}@{version.version}",
                              version.version, version.fingerprint, frame.height)
        fingerprint, rows = fingerprint_relation(cur, ref)
        return LoadedData(frame, source.describe(), None, fingerprint, rows)
    assert source.query is not None
    check_select(source.query)
    with reading(lake) as ro:  # a spec's query reads, whatever it calls: on a handle that cannot write
        sql = guarded_select(ro, source.query)
        cur = ro.cursor()
        snapshot = cur.execute(f"SELECT id FROM {LAKE_ALIAS}.current_snapshot()").fetchone()[0]
        try:
            frame = cur.execute(sql).pl()
            fingerprint, rows = fingerprint_relation(cur, f"({sql})")
        except duckdb.Error as exc:
            raise read_error(exc, "The spec's query failed") from exc
    return LoadedData(frame, source.describe(), int(snapshot), fingerprint, rows)
