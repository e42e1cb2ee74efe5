"""The task comes from the target's values and the metric, and class labels stay as the data wrote them:
a yes/no CSV column trains, registers and scores as "yes"/"no", never as booleans."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from workbench.errors import SpecError
from workbench.pipeline.spec import parse_spec
from workbench.pipeline.validation import infer_task, target_array, validate
from workbench.workspace import Workspace

RNG = np.random.default_rng(3)
N = 200


def _frame(target: pl.Series) -> pl.DataFrame:
    return pl.DataFrame({"x": RNG.normal(size=target.len()), "y": target})


@pytest.mark.parametrize(("values", "task", "metric", "expected"), [
    ([0.0, 1.0], "auto", "roc_auc", ("binary", "roc_auc")),  # the issue: 0/1 floats with ROC AUC
    ([0.0, 1.0], "auto", "auto", ("binary", "roc_auc")),  # two distinct numbers are a flag
    ([0.0, 1.0], "regression", "rmse", ("regression", "rmse")),  # only when the spec says so
    ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], "auto", "accuracy", ("multiclass", "accuracy")),  # integer codes
    ([1.0, 2.0, 3.0], "auto", "f1", ("multiclass", "f1")),  # codes read back as DOUBLE
    (["yes", "no"], "auto", "log_loss", ("binary", "log_loss")),
])
def test_task_from_values_and_metric(values: list, task: str, metric: str, expected: tuple[str, str]) -> None:
    frame = _frame(pl.Series("y", [values[i % len(values)] for i in range(N)]))
    info = infer_task(frame, "y", task, metric)
    assert (info.task, info.metric) == expected


def test_many_integers_without_a_metric_are_a_quantity() -> None:
    frame = _frame(pl.Series("y", RNG.integers(0, 1000, N)))
    assert infer_task(frame, "y", "auto", "auto").task == "regression"


@pytest.mark.parametrize(("values", "task", "metric", "message"), [
    ([0.0, 1.0], "auto", "rmse", r"only two values but metric 'rmse' is a regression metric; set task = \"regression\""),
    ([0.0, 1.0], "binary", "rmse", r"task = 'binary' but metric = 'rmse', a regression metric"),
    ([0.5, 1.5, 2.25, 3.1], "auto", "roc_auc", r"classification metric but target 'y' holds 4 distinct numbers"),
    (["yes", "no"], "regression", "roc_auc", r"task = 'regression' but metric = 'roc_auc', a classification metric"),
    (["a", "b", "c"], "auto", "mae", r"regression metric but target 'y' is not numeric"),
])
def test_contradictions_are_one_clear_error(values: list, task: str, metric: str, message: str) -> None:
    frame = _frame(pl.Series("y", [values[i % len(values)] for i in range(N)]))
    with pytest.raises(SpecError, match=message):
        infer_task(frame, "y", task, metric)


def test_labels_are_the_original_values() -> None:
    text = pl.Series("y", ["yes", "no"] * 5)
    assert target_array(pl.DataFrame([text]), "y", "binary").tolist() == ["yes", "no"] * 5
    flags = pl.Series("y", [0.0, 1.0] * 5)
    labels = target_array(pl.DataFrame([flags]), "y", "binary")
    assert labels.dtype.kind == "i" and labels.tolist() == [0, 1] * 5  # `probability_1`, not `probability_1.0`
    assert target_array(pl.DataFrame([flags]), "y", "regression").dtype.kind == "f"


def test_validate_treats_a_float_flag_with_roc_auc_as_binary() -> None:
    x = RNG.normal(size=N)
    frame = pl.DataFrame({"x": x, "z": RNG.normal(size=N), "y": (x + RNG.normal(size=N) > 0).astype(float)})
    spec = parse_spec({"target": "y", "metric": "roc_auc", "data": {"table": "t"}})
    _, report = validate(frame, spec)
    assert (report.task.task, report.task.classes) == ("binary", 2)


def _yes_no_csv(ws: Workspace, path: Path) -> None:
    """Penguins with a yes/no label, written as CSV text (so the lake's CSV reader sees the words)."""
    from workbench.lake import open_lake

    with open_lake(ws) as lake:
        frame = lake.cursor().execute(
            "SELECT island, bill_length_mm, bill_depth_mm, flipper_length_mm, sex, "
            "CASE WHEN body_mass_g > 4200 THEN 'yes' ELSE 'no' END AS heavy "
            "FROM penguins WHERE body_mass_g IS NOT NULL").pl()
    frame.write_csv(path)


@pytest.mark.slow  # a real run, registration, scoring and export: ~35 s
def test_yes_no_labels_survive_ingest_training_registry_and_scoring(sample_workspace: Workspace,
                                                                     tmp_path: Path) -> None:
    from workbench.api.models import load_version
    from workbench.lake import open_lake
    from workbench.lake.ingest import ingest_files
    from workbench.registry.predict import predict
    from workbench.registry.refs import parse_ref
    from workbench.registry.register import register_run
    from workbench.runs.batch import run_spec

    ws = sample_workspace
    csv = tmp_path / "heavy.csv"
    _yes_no_csv(ws, csv)
    with open_lake(ws) as lake:
        ingest_files(lake, [csv], table="heavy", actor=ws.actor)
        stored = lake.cursor().execute("SELECT heavy FROM heavy").pl()["heavy"]
    assert stored.dtype == pl.String and set(stored) == {"yes", "no"}  # not the sniffer's BOOLEAN

    spec = parse_spec({"name": "heavy", "target": "heavy", "metric": "roc_auc", "candidates": ["linear"],
                       "max_trials": 2, "cv_folds": 3, "data": {"table": "heavy"}})
    result = run_spec(ws, spec)
    assert result.task == "binary"
    register_run(ws, result.run_id, name="heavy")
    scored = predict(ws, parse_ref("heavy:1"), table="heavy", into="heavy_scores")
    with open_lake(ws) as lake:
        out = lake.cursor().execute("SELECT * FROM heavy_scores").pl()
    assert scored.rows == out.height
    assert sorted(c for c in out.columns if c.startswith("probability_")) == ["probability_no", "probability_yes"]
    assert set(out["prediction"]) <= {"yes", "no"} and (out["prediction"] == out["heavy"]).mean() > 0.8
    # The in-memory path `workbench serve` and the Python API score through gives the same labels.
    served = load_version(ws, "heavy:1").predict(out.select("island", "bill_length_mm", "bill_depth_mm",
                                                            "flipper_length_mm", "sex").head(5))
    assert served.columns == ["prediction", "probability_no", "probability_yes"]
    assert served["prediction"].to_list() == out["prediction"].head(5).to_list()
    # `models evaluate` scores labelled rows with the trainer's own label conversion.
    from workbench.registry.scoring import score_metric

    model = load_version(ws, "heavy:1")
    assert score_metric(model.estimator, out.select("heavy", *[f[0] for f in model.features]),
                        "heavy", "binary", "accuracy") == pytest.approx((out["prediction"] == out["heavy"]).mean())
    # `models export`: the package scores the frozen holdout itself and must give the same labels.
    import json

    from workbench.export.package import export_version

    exported = export_version(ws, "heavy:1", tmp_path / "package")
    assert exported.check["passed"] and exported.check["labels_equal"]
    schema = json.loads((exported.path / "input_schema.json").read_text(encoding="utf-8"))
    assert schema["classes"] == ["no", "yes"]


def test_true_false_text_still_reads_as_boolean(empty_workspace: Workspace, tmp_path: Path) -> None:
    from workbench.lake import open_lake
    from workbench.lake.ingest import ingest_files

    csv = tmp_path / "flags.csv"
    csv.write_text("a,b,c\ntrue,t,1\nfalse,f,2\nTRUE,t,3\n", encoding="utf-8")
    with open_lake(empty_workspace) as lake:
        ingest_files(lake, [csv], table="flags", actor=empty_workspace.actor)
        frame = lake.cursor().execute("SELECT * FROM flags").pl()
    assert frame.schema["a"] == pl.Boolean  # literally true/false: a boolean
    assert frame.schema["b"] == pl.String and frame["b"].to_list() == ["t", "f", "t"]


def test_an_attached_csv_keeps_yes_no_as_text(empty_workspace: Workspace, tmp_path: Path) -> None:
    from workbench.lake import open_lake
    from workbench.lake.attach import attach_source

    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "answers.csv").write_text("answer,ok,n\nyes,true,1\nno,false,2\nYes,true,3\n", encoding="utf-8")
    with open_lake(empty_workspace) as lake:
        attach_source(lake, folder, "drop")
        frame = lake.cursor().execute("SELECT * FROM drop.answers").pl()
    assert frame.schema["answer"] == pl.String and frame["answer"].to_list() == ["yes", "no", "Yes"]
    assert frame.schema["ok"] == pl.Boolean
