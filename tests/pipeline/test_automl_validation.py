"""Validation before any model is fitted: task inference, bad targets, ID-like and leaky columns, spec keys."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from workbench.errors import SpecError
from workbench.pipeline.spec import CANDIDATES, parse_spec
from workbench.pipeline.validation import infer_task, validate
from workbench.workspace import Workspace


@pytest.fixture
def penguins(sample_workspace: Workspace) -> pl.DataFrame:
    from workbench.lake import open_lake

    with open_lake(sample_workspace) as lake:
        return lake.cursor().execute("SELECT * FROM penguins").pl()


def _spec(**over) -> object:
    raw = {"target": "species", "data": {"table": "penguins"}, **over}
    return parse_spec(raw)


def test_spec_defaults_and_new_keys() -> None:
    spec = _spec()
    assert spec.cv_folds == 5 and spec.candidates == CANDIDATES and spec.keep_leaky_columns is False
    assert spec.max_trials is None and spec.time_budget_s == 300
    spec = _spec(keep_leaky_columns=["flipper_length_mm"], max_trials=3, cv_folds=3)
    assert spec.keeps_leaky("flipper_length_mm") and not spec.keeps_leaky("island")
    assert spec.as_dict()["keep_leaky_columns"] == ["flipper_length_mm"]
    with pytest.raises(SpecError, match="unknown key 'folds'"):
        _spec(folds=3)
    with pytest.raises(SpecError, match="unknown candidate 'xgboost'"):
        _spec(candidates=["xgboost"])
    with pytest.raises(SpecError, match="keep_leaky_columns"):
        _spec(keep_leaky_columns="yes")
    with pytest.raises(SpecError, match="cv_folds"):
        _spec(cv_folds=1)


@pytest.mark.parametrize(("target", "task", "metric"), [
    ("species", "multiclass", "log_loss"), ("body_mass_g", "regression", "r2"), ("sex", "binary", "roc_auc"),
    ("year", "multiclass", "log_loss"),  # few distinct integers: classes, not a quantity
])
def test_task_inference(penguins: pl.DataFrame, target: str, task: str, metric: str) -> None:
    info = infer_task(penguins, target, "auto", "auto")
    assert (info.task, info.metric) == (task, metric)


def test_rows_with_missing_target_are_dropped_and_counted(penguins: pl.DataFrame) -> None:
    frame, report = validate(penguins, _spec(target="sex"))
    assert report.task.dropped_missing_target == penguins["sex"].null_count() > 0
    assert frame.height == penguins.height - report.task.dropped_missing_target
    assert report.as_dict()["dropped_missing_target"] == report.task.dropped_missing_target


@pytest.mark.parametrize(("frame_sql", "over", "message"), [
    ("SELECT *, 'x' AS const FROM penguins", {"target": "const"}, "constant"),
    ("SELECT * FROM penguins", {"target": "species", "task": "binary"}, "binary but target 'species' has 3"),
    ("SELECT * FROM penguins", {"target": "island", "task": "regression"}, "not numeric"),
    ("SELECT *, 'k' || CAST(row_number() OVER () AS VARCHAR) AS tag FROM penguins", {"target": "tag"}, "classes"),
    ("SELECT * FROM penguins", {"target": "species", "metric": "rmse"}, "is a regression metric but target .species. is not numeric"),
    # a class too small to appear in every fold (and the holdout)
    ("SELECT * FROM penguins UNION ALL SELECT 'Unicorn', 'Dream', 1, 1, 1, 1, 'male', 2008", {}, "single row"),
    ("SELECT * FROM (SELECT * FROM penguins UNION ALL SELECT 'Unicorn', 'Dream', 1, 1, 1, 1, 'male', 2008 "
     "UNION ALL SELECT 'Unicorn', 'Biscoe', 2, 2, 2, 2, 'female', 2009)", {}, "only 2 rows"),
])
def test_bad_targets_are_one_clear_error(sample_workspace: Workspace, frame_sql: str, over: dict, message: str) -> None:
    from workbench.lake import open_lake

    with open_lake(sample_workspace) as lake:
        frame = lake.cursor().execute(frame_sql).pl()
    with pytest.raises(SpecError, match=message):
        validate(frame, _spec(**over))


def test_id_like_columns_are_flagged_and_excluded(penguins: pl.DataFrame) -> None:
    frame = penguins.with_row_index("row_id").with_columns(
        (pl.lit("P-") + pl.col("row_id").cast(pl.String)).alias("tag"),
        pl.Series("reading", np.random.default_rng(0).normal(size=penguins.height)),  # unique floats are fine
    )
    _, report = validate(frame, _spec())
    assert set(report.id_like) == {"row_id", "tag"}
    assert "row_id" not in report.plan.raw_columns and "tag" not in report.plan.raw_columns
    assert "reading" in report.plan.numeric
    assert report.plan.dropped["tag"].startswith("identifier-like")


def test_probable_leakage_is_flagged_excluded_unless_kept(penguins: pl.DataFrame) -> None:
    rng = np.random.default_rng(1)
    frame = penguins.with_columns(
        (pl.col("body_mass_g") / 1000 + pl.Series(rng.normal(0, 0.001, penguins.height))).alias("mass_kg"),
        pl.when(pl.col("species") == "Adelie").then(pl.lit("A")).otherwise(pl.lit("other")).alias("adelie_flag"),
    )
    _, report = validate(frame, _spec(target="body_mass_g"))
    assert list(report.leaky) == ["mass_kg"] and report.leaky["mass_kg"] > 0.98
    assert "mass_kg" not in report.plan.raw_columns and "probable target leakage" in report.plan.dropped["mass_kg"]
    _, kept = validate(frame, _spec(target="body_mass_g", keep_leaky_columns=True))
    assert kept.kept_leaky == ["mass_kg"] and "mass_kg" in kept.plan.numeric
    # A categorical that encodes the class is leakage for the species target as well.
    frame = penguins.with_columns((pl.col("species") + "!").alias("species_code"))
    _, report = validate(frame, _spec())
    assert "species_code" in report.leaky
    assert "flipper_length_mm" not in report.leaky  # a strong but honest feature is not flagged
