"""Only columns that look like identifiers are dropped, each with its reason; a unique amount is a feature."""

from __future__ import annotations

import uuid

import numpy as np
import polars as pl
import pytest

from workbench.pipeline.spec import parse_spec
from workbench.pipeline.validation import validate

N = 300


def _frame() -> pl.DataFrame:
    rng = np.random.default_rng(5)
    amount = np.round(rng.lognormal(4, 1, N), 2)  # dollars and cents: unique on almost every row
    score = rng.permutation(N) * 7 + 3  # unique integers, not in row order, not named like a key
    return pl.DataFrame({
        "seq": np.arange(1, N + 1),  # a monotone row number (name not id-like)
        "ref": [str(uuid.UUID(int=int(rng.integers(0, 2**63)) << 64 | i)) for i in range(N)],
        "customer_id": rng.permutation(N) + 10_000,  # a key by name, not in row order
        "amount": amount,
        "score": score,
        "region": rng.choice(["n", "s", "e", "w"], N),
        "store_id": rng.integers(0, 12, N),  # an id by name but not unique: a category, kept
        "label": np.where(amount + rng.normal(0, 30, N) > np.median(amount), "big", "small"),
    })


def test_keys_are_dropped_with_one_reason_each_and_numbers_are_kept() -> None:
    spec = parse_spec({"target": "label", "data": {"table": "t"}})
    _, report = validate(_frame(), spec)
    assert report.id_like == {
        "seq": "row number: unique and monotone",
        "ref": "UUID-like values",
        "customer_id": "named like an identifier and unique per row",
    }
    assert {"amount", "score", "store_id"} <= set(report.plan.numeric)
    assert "region" in report.plan.categorical
    for col, why in report.id_like.items():
        assert col not in report.plan.raw_columns and report.plan.dropped[col] == f"identifier-like: {why}"
    summary = report.as_dict()
    assert set(summary["id_like_columns"]) == set(report.id_like)
    assert summary["id_like_reasons"] == report.id_like


def test_unique_text_is_a_key_and_decreasing_counters_are_row_numbers() -> None:
    frame = _frame().select("amount", "label").with_columns(
        pl.Series("name", [f"person {i}" for i in range(N)]), pl.Series("countdown", np.arange(N, 0, -1)))
    _, report = validate(frame, parse_spec({"target": "label", "data": {"table": "t"}}))
    assert report.id_like == {"name": "text unique per row: a key, not a category",
                              "countdown": "row number: unique and monotone"}


@pytest.mark.slow  # a real `workbench batch` in a subprocess: ~20 s
def test_batch_output_says_why_each_column_was_dropped(sample_workspace, tmp_path, cli) -> None:  # noqa: ANN001
    from workbench.lake import open_lake
    from workbench.lake.ingest import ingest_files

    path = tmp_path / "ids.parquet"
    _frame().write_parquet(path)
    with open_lake(sample_workspace) as lake:
        ingest_files(lake, [path], table="ids", actor=sample_workspace.actor)
    spec = tmp_path / "ids.toml"
    spec.write_text('name = "ids"\ntarget = "label"\ncandidates = ["linear"]\nmax_trials = 1\ncv_folds = 3\n'
                    '[data]\ntable = "ids"\n', encoding="utf-8")
    done = cli("-w", str(sample_workspace.root), "batch", str(spec), "--quiet")
    assert done.returncode == 0, done.stderr
    assert "excluded ID-like column 'customer_id' (named like an identifier and unique per row)" in done.stdout
    assert "excluded ID-like column 'ref' (UUID-like values)" in done.stdout
    assert "excluded ID-like column 'seq' (row number: unique and monotone)" in done.stdout
    assert "'amount'" not in done.stdout


def test_validation_lines_name_every_dropped_column_once() -> None:
    from workbench.pipeline.validation import validation_lines

    frame = _frame().with_columns(pl.lit(1).alias("flat"), pl.col("region").alias("copy_of_region"))
    spec = parse_spec({"target": "label", "data": {"table": "t"}, "exclude_columns": ["copy_of_region"],
                       "groups": "store_id", "cv_folds": 3})
    _, report = validate(frame, spec)
    lines = validation_lines(report.as_dict(), spec.holdout)
    assert lines == [
        "split by group on 'store_id': no group is on both sides of the holdout or a fold ('store_id' is not a feature)",
        "excluded ID-like column 'ref' (UUID-like values)",
        "excluded ID-like column 'seq' (row number: unique and monotone)",
        "excluded ID-like column 'customer_id' (named like an identifier and unique per row)",
        "dropped column 'flat' (constant)",
        "dropped column 'copy_of_region' (excluded by spec)",
    ]
