"""Splits that fit the data: by time (train on the past, hold out the future) and by group (no group on
both sides), on real frames; bad split keys are one sentence, also through `workbench batch`."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from workbench.errors import SpecError
from workbench.pipeline.spec import parse_spec
from workbench.pipeline.splits import cv_folds, holdout_split, stratified_subset
from workbench.pipeline.validation import target_array, validate
from workbench.workspace import Workspace

N = 600


def _frame(seed: int = 0) -> pl.DataFrame:
    """Rows in random order: a date (60 days, ~10 rows a day), a customer (40 of them), two features."""
    rng = np.random.default_rng(seed)
    days = rng.integers(0, 60, N)
    x = rng.normal(size=N)
    return pl.DataFrame({
        "when": [date(2024, 1, 1) + timedelta(days=int(d)) for d in days],
        "customer": [f"c{int(c):02d}" for c in rng.integers(0, 40, N)],
        "x": x, "z": rng.normal(size=N) + days / 30,
        "label": np.where(x + rng.normal(0, 0.5, N) > 0, "up", "down"),
        "amount": x * 10 + rng.normal(size=N),
    })


def _spec(**over) -> object:
    return parse_spec({"target": "label", "data": {"table": "t"}, "cv_folds": 4, **over})


def _split(frame: pl.DataFrame, spec, classification: bool = True):  # noqa: ANN001, ANN202
    frame, report = validate(frame, spec)
    y = target_array(frame, spec.target, report.task.task)
    idx_train, idx_test = holdout_split(frame, y, spec, classification)
    return frame, report, y, idx_train, idx_test


@pytest.mark.parametrize("target", ["label", "amount"])
def test_time_split_holds_out_the_future_and_folds_follow_time(target: str) -> None:
    spec = _spec(target=target, split="time", time_column="when")
    classification = target == "label"
    frame, report, y, idx_train, idx_test = _split(_frame(), spec, classification)
    when = frame["when"].to_numpy()
    assert len(idx_test) == pytest.approx(0.2 * N, abs=15)  # about `holdout` of the rows, cut between days
    assert when[idx_test].min() > when[idx_train].max()  # no holdout row as old as any training row
    assert "when" not in report.plan.raw_columns and report.plan.dropped["when"].startswith("time column")
    # The search sample keeps time order (positions are time order after validate), folds expand forwards.
    search = stratified_subset(idx_train, y, 300, spec.seed, classification, spec.cv_folds)
    assert np.all(np.diff(when[search]) >= np.timedelta64(0))
    folds = cv_folds(frame, y, search, spec, classification)
    assert len(folds) == spec.cv_folds
    sizes = [len(tr) for tr, _ in folds]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]  # expanding window
    for tr, te in folds:
        assert when[search][te].min() > when[search][tr].max()


def test_group_split_never_puts_a_group_on_both_sides() -> None:
    for target, classification in (("label", True), ("amount", False)):
        spec = _spec(target=target, groups="customer")
        frame, report, y, idx_train, idx_test = _split(_frame(1), spec, classification)
        groups = frame["customer"].to_numpy()
        assert not set(groups[idx_train]) & set(groups[idx_test])
        assert 0.1 * N < len(idx_test) < 0.35 * N
        assert "customer" not in report.plan.raw_columns and "group column" in report.plan.dropped["customer"]
        folds = cv_folds(frame, y, idx_train, spec, classification)
        assert len(folds) == spec.cv_folds
        for tr, te in folds:
            assert not set(groups[idx_train][tr]) & set(groups[idx_train][te])


def test_random_split_is_unchanged() -> None:
    spec = _spec()
    frame, _, y, idx_train, idx_test = _split(_frame(), spec)
    assert frame.equals(_frame().filter(pl.col("label").is_not_null()))  # no reordering without a time split
    assert len(idx_test) == 120 and len(np.intersect1d(idx_train, idx_test)) == 0


@pytest.mark.parametrize(("over", "frame_edit", "message"), [
    ({"split": "time", "time_column": "date"}, None, r"time_column 'date' is not a column of the data"),
    ({"split": "time", "time_column": "customer"}, None, r"time_column 'customer' is String, not a date"),
    ({"split": "time", "time_column": "when"}, pl.col("when").head(N - 1).append(pl.lit(None, pl.Date)),
     r"time_column 'when' has 1 missing values"),
    ({"split": "time", "time_column": "when"}, (pl.col("when").rank("dense") % 3).cast(pl.Int64),
     r"only 3 distinct values; a time split with cv_folds = 4 needs at least 6"),
    ({"groups": "customer"}, pl.col("customer").str.slice(0, 2), r"groups column 'customer' has only \d groups"),
    ({"groups": "nobody"}, None, r"groups column 'nobody' is not a column"),
])
def test_bad_split_data_is_one_clear_error(over: dict, frame_edit, message: str) -> None:  # noqa: ANN001
    frame = _frame()
    if frame_edit is not None:
        column = over.get("time_column") or over["groups"]
        frame = frame.with_columns(frame_edit.alias(column))
    with pytest.raises(SpecError, match=message):
        validate(frame, _spec(**over))


@pytest.mark.parametrize(("over", "message"), [
    ({"split": "weekly"}, r"split 'weekly' is not one of random, time"),
    ({"split": "time"}, r"split = \"time\" needs `time_column"),
    ({"time_column": "when"}, r"time_column goes with split = \"time\""),
    ({"split": "time", "time_column": "when", "groups": "customer"}, r"groups cannot be combined"),
    ({"groups": "label"}, r"groups cannot be the target column"),
])
def test_bad_split_keys_are_refused_by_the_spec(over: dict, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        _spec(**over)


def test_batch_refuses_a_bad_time_column_with_exit_2_and_one_sentence(sample_workspace: Workspace, tmp_path: Path,
                                                                      cli) -> None:  # noqa: ANN001
    spec = tmp_path / "late.toml"
    spec.write_text('target = "species"\nsplit = "time"\ntime_column = "island"\n[data]\ntable = "penguins"\n',
                    encoding="utf-8")
    before = sorted(p.name for p in (sample_workspace.root / "artifacts").glob("*")) \
        if (sample_workspace.root / "artifacts").exists() else []
    done = cli("-w", str(sample_workspace.root), "batch", str(spec), "--quiet")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "Error: time_column 'island' is String, not a date, timestamp or number; cast it in the query "
        "(e.g. CAST(island AS DATE)) so rows can be ordered in time."]
    after = sorted(p.name for p in (sample_workspace.root / "artifacts").glob("*")) \
        if (sample_workspace.root / "artifacts").exists() else []
    assert after == before  # nothing recorded or written
    runs = cli("-w", str(sample_workspace.root), "runs", "list", "--json")
    assert runs.returncode == 0 and "late" not in runs.stdout


FLIGHTS_TIME_SPEC = {
    "name": "flights_time", "target": "delayed", "metric": "roc_auc", "split": "time", "time_column": "flight_date",
    "candidates": ["linear"], "max_trials": 2, "cv_folds": 3, "seed": 3,
    "data": {"query": "SELECT make_date(year, month, day) AS flight_date, sched_dep_time, carrier, origin, "
                      "distance, (arr_delay > 15)::INTEGER AS delayed FROM flights "
                      "WHERE arr_delay IS NOT NULL AND month = 1 AND day <= 20"},
}


@pytest.mark.slow  # two real runs (a run and its reproduction): ~30 s
def test_a_time_split_run_freezes_the_future_as_holdout_and_reproduces(sample_workspace: Workspace) -> None:
    from workbench.runs.batch import run_spec
    from workbench.runs.reproduce import reproduce_run

    ws = sample_workspace
    result = run_spec(ws, parse_spec(FLIGHTS_TIME_SPEC))
    assert result.task == "binary" and "flight_date" not in result.automl["validation"]["id_like_columns"]
    assert result.dropped_features["flight_date"].startswith("time column")
    holdout = pl.read_parquet(ws.root / result.holdout_path)
    assert holdout.height == result.test_rows
    first = holdout["flight_date"].min()
    assert holdout["flight_date"].max() == date(2013, 1, 20)
    # Every row before the holdout's first day trained, every row from it on is held out: no overlap in time.
    from workbench.lake import open_lake

    with open_lake(ws) as lake:
        before, since = lake.cursor().execute(
            f"SELECT count(*) FILTER (WHERE flight_date < ?), count(*) FILTER (WHERE flight_date >= ?) "
            f"FROM ({FLIGHTS_TIME_SPEC['data']['query']})", [first, first]).fetchone()
    assert (before, since) == (result.train_rows, result.test_rows)
    assert result.spec.as_dict()["split"] == "time"
    report = reproduce_run(ws, result.run_id)
    assert report.verdict in ("exact", "within"), report.differences


def test_a_class_confined_to_one_group_is_refused() -> None:
    frame = _frame().with_columns(
        pl.when(pl.col("customer") == "c07").then(pl.lit("rare")).otherwise(pl.col("label")).alias("label"))
    with pytest.raises(SpecError, match=r"Class 'rare' of 'label' is in too few groups"):
        validate(frame, _spec(groups="customer"))


def test_a_class_that_appears_only_late_is_refused_by_a_time_split() -> None:
    frame = _frame().with_columns(
        pl.when(pl.col("when") >= date(2024, 2, 1)).then(pl.lit("new")).otherwise(pl.col("label")).alias("label"))
    with pytest.raises(SpecError, match=r"the earliest CV fold trains on no row of class 'new' of 'label'"):
        validate(frame, _spec(split="time", time_column="when"))
    binary = _frame().with_columns(
        pl.when(pl.col("when") >= date(2024, 2, 15)).then(pl.lit("down")).otherwise(pl.col("label")).alias("label"))
    with pytest.raises(SpecError, match=r"the holdout \(the latest rows\) holds only class 'down'"):
        validate(binary, _spec(split="time", time_column="when"))
