"""ONNX parity on the sample tasks: every model family's raw-rows pipeline as one graph, scored by onnxruntime
against the fitted pipeline on held-out rows, unseen categories and missing values included."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("skl2onnx")

from workbench.onnx.graph import MISSING_TOKEN, NotConvertible, convert_pipeline, onnx_inputs  # noqa: E402
from workbench.onnx.scoring import PROBABILITY_TOLERANCE, VALUE_TOLERANCE, compile_version  # noqa: E402
from workbench.pipeline.candidates import FAMILIES, build_pipeline  # noqa: E402
from workbench.pipeline.feature_engineering import plan_features  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"


def _penguins() -> pl.DataFrame:
    return pl.read_parquet(SAMPLE / "penguins.parquet")


def _flights(rows: int = 6000) -> pl.DataFrame:
    """The flight_delay sample task's columns (sample_data/specs/flight_delay.toml), without its date column."""
    flights = pl.read_parquet(SAMPLE / "flights.parquet").filter(pl.col("arr_delay").is_not_null())
    flights = flights.sample(rows, seed=3)
    planes = pl.read_parquet(SAMPLE / "planes.parquet").select(
        "tailnum", pl.col("year").alias("plane_year"), "manufacturer", "engines", "seats")
    weather = pl.read_parquet(SAMPLE / "weather.parquet").select(
        "origin", "year", "month", "day", "hour", "temp", "humid", "wind_speed", "precip", "visib")
    return (flights.join(planes, on="tailnum", how="left")
            .join(weather, on=["origin", "year", "month", "day", "hour"], how="left")
            .select("month", "day", "sched_dep_time", "carrier", "origin", "dest", "distance", "hour", "plane_year",
                    "manufacturer", "engines", "seats", "temp", "humid", "wind_speed", "precip", "visib",
                    (pl.col("arr_delay") > 15).cast(pl.Int64).alias("delayed")))


def _fit(frame: pl.DataFrame, target: str, task: str, family: str, params: dict | None = None):
    frame = frame.filter(pl.col(target).is_not_null())
    train, held = frame.head(int(frame.height * 0.75)), frame.tail(frame.height - int(frame.height * 0.75))
    plan = plan_features(train, target, ())
    pipe, fit_params = build_pipeline(family, params or FAMILIES[family].defaults(task), task, plan, seed=0)
    pipe.fit(train.drop(target), train[target].to_numpy(), **fit_params)
    return pipe, held.drop(target)


def _with_surprises(rows: pl.DataFrame) -> pl.DataFrame:
    """Held-out rows plus one with a category no encoder saw and one with every value missing."""
    text = [c for c, t in rows.schema.items() if t == pl.String]
    unseen = rows.head(1).with_columns([pl.lit("never-seen-before").alias(c) for c in text])
    empty = pl.DataFrame([pl.Series(c, [None], dtype=t) for c, t in rows.schema.items()])
    return pl.concat([rows, unseen, empty])


def _assert_same(pipe, rows: pl.DataFrame, task: str) -> None:
    import onnxruntime as ort

    converted = convert_pipeline(pipe, task)
    session = ort.InferenceSession(converted.serialized(), providers=["CPUExecutionProvider"])
    outputs = session.run(None, onnx_inputs(rows, converted.inputs))
    if task == "regression":
        expected = pipe.predict(rows)
        assert np.max(np.abs(outputs[0] - expected)) <= VALUE_TOLERANCE * max(1.0, np.max(np.abs(expected)))
        return
    labels, proba = outputs
    expected = pipe.predict_proba(rows)
    assert proba.shape == expected.shape
    assert np.max(np.abs(proba - expected)) <= PROBABILITY_TOLERANCE
    from workbench.onnx.scoring import labels_agree

    differ = [str(a) != str(b) for a, b in zip(labels, pipe.predict(rows))]
    assert labels_agree(expected, proba).all()
    top = np.sort(expected, axis=1)[:, -2:]
    assert all(not d or t[1] - t[0] <= 2 * PROBABILITY_TOLERANCE for d, t in zip(differ, top))  # only ties differ


CASES = [("species", "multiclass", None), ("body_mass_g", "regression", None),
         ("species", "binary", pl.col("species") != "Chinstrap")]


@pytest.mark.parametrize("family", ["linear", "random_forest", "extra_trees", "lightgbm"])
@pytest.mark.parametrize("target,task,keep", CASES, ids=[c[1] for c in CASES])
def test_every_family_converts_and_answers_as_the_pipeline(family: str, target: str, task: str, keep) -> None:
    frame = _penguins().filter(keep) if keep is not None else _penguins()
    pipe, held = _fit(frame.sample(fraction=1.0, shuffle=True, seed=1), target, task, family)
    _assert_same(pipe, _with_surprises(held), task)


def test_tuned_lightgbm_with_early_stopping_and_string_classes_converts() -> None:
    params = {**FAMILIES["lightgbm"].defaults("multiclass"), "n_estimators": 300, "early_stopping": True,
              "num_leaves": 8, "learning_rate": 0.2}
    pipe, held = _fit(_penguins().sample(fraction=1.0, shuffle=True, seed=2), "species", "multiclass", "lightgbm",
                      params)
    assert type(pipe.named_steps["model"]).__name__ == "EarlyStoppingLGBM"
    _assert_same(pipe, _with_surprises(held), "multiclass")


@pytest.mark.parametrize("family", ["linear", "lightgbm", "random_forest"])
def test_flight_delay_sample_task_converts(family: str) -> None:
    """Integer classes (0/1), high-cardinality destinations (target and frequency encoding), weather gaps."""
    params = {**FAMILIES[family].defaults("binary"), **({"n_estimators": 40} if family == "random_forest" else {})}
    pipe, held = _fit(_flights(), "delayed", "binary", family, params)
    _assert_same(pipe, _with_surprises(held), "binary")
    compiled = compile_version(pipe, "binary", held)
    assert compiled.estimator is not None and compiled.check is not None and compiled.check.passed
    assert compiled.check.rows == held.height
    assert list(compiled.estimator.predict(held.head(5))) == list(pipe.predict(held.head(5)))


def test_hist_gradient_boosting_converts_without_native_categoricals_and_says_why_not_with_them() -> None:
    numeric = _penguins().drop("island", "sex")
    pipe, held = _fit(numeric.sample(fraction=1.0, shuffle=True, seed=1), "species", "multiclass",
                      "hist_gradient_boosting")
    _assert_same(pipe, _with_surprises(held), "multiclass")
    pipe, held = _fit(_penguins(), "species", "multiclass", "hist_gradient_boosting")
    compiled = compile_version(pipe, "multiclass", held)
    assert compiled.estimator is None and "native categorical" in compiled.reason


def test_datetime_columns_are_refused_with_a_reason() -> None:
    dated = _penguins().with_columns(pl.date(pl.col("year"), 6, 1).alias("seen_on"))
    pipe, held = _fit(dated, "species", "multiclass", "linear")
    with pytest.raises(NotConvertible, match="datetime"):
        convert_pipeline(pipe, "multiclass")
    compiled = compile_version(pipe, "multiclass", held)
    assert compiled.estimator is None and "datetime" in compiled.reason


@pytest.mark.parametrize("target,task", [("species", "multiclass"), ("body_mass_g", "regression")])
def test_a_weighted_ensemble_is_one_graph(target: str, task: str) -> None:
    """The AutoML's ensembles (members of different families, own preprocessing each) average inside the graph."""
    from workbench.pipeline.ensemble_model import WeightedEnsemble

    frame = _penguins().sample(fraction=1.0, shuffle=True, seed=4)
    members = [_fit(frame, target, task, family)[0] for family in ("linear", "lightgbm", "extra_trees")]
    _, held = _fit(frame, target, task, "linear")
    ensemble = WeightedEnsemble(members, [0.5, 0.3, 0.2], task)
    _assert_same(ensemble, _with_surprises(held), task)
    compiled = compile_version(ensemble, task, held)
    assert compiled.estimator is not None and compiled.check.passed


def test_a_graph_that_disagrees_is_not_used() -> None:
    """The check compares with the pipeline it was given: a graph of another model fails it."""
    from workbench.onnx.scoring import OnnxEstimator, parity

    linear, held = _fit(_penguins(), "species", "multiclass", "linear")
    forest, _ = _fit(_penguins(), "species", "multiclass", "random_forest")
    other = OnnxEstimator(convert_pipeline(forest, "multiclass"))
    check = parity(other, linear, held, "multiclass")
    assert not check.passed and check.max_abs_difference > PROBABILITY_TOLERANCE


def test_missing_token_is_what_a_null_category_becomes() -> None:
    pipe, held = _fit(_penguins(), "species", "multiclass", "linear")
    rows = held.head(3).with_columns(pl.lit(None, dtype=pl.String).alias("sex"))
    feeds = onnx_inputs(rows, convert_pipeline(pipe, "multiclass").inputs)
    assert feeds["sex"].ravel().tolist() == [MISSING_TOKEN] * 3
    _assert_same(pipe, rows, "multiclass")
