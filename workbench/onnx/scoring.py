"""Scoring with a version's ONNX graph, and the check that it answers as the pipeline does.

The check scores the version's frozen holdout rows (the same rows `models evaluate` uses) with both and
compares: every label equal (but at a tie), probabilities within PROBABILITY_TOLERANCE, regression values within
VALUE_TOLERANCE of the largest |value| (LightGBM and scikit-learn's trees compare float32 features, so
the graph does too: differences are float32 rounding, 1e-7 to 3e-5). A graph that fails is never used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from workbench.onnx.graph import NotConvertible, OnnxModel, convert_pipeline, onnx_inputs

PROBABILITY_TOLERANCE = 1e-4  # float32 tree sums: measured up to 3e-5 (HistGradientBoosting), 1e-7 (LightGBM)
VALUE_TOLERANCE = 1e-5  # relative to max(1, the largest |prediction|)


class OnnxEstimator:
    """An ONNX graph behind the fitted pipeline's face: `predict`, `predict_proba` and `classes_` on raw rows."""

    def __init__(self, converted: OnnxModel) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        # one request at a time, a few rows each: threads cost more than they give (measured by benchmarks/serve.py)
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.converted = converted
        self.session = ort.InferenceSession(converted.serialized(), options, providers=["CPUExecutionProvider"])
        self.task = converted.task
        if converted.classes is not None:
            self.classes_ = np.asarray(converted.classes)

    def _run(self, frame: Any) -> list[Any]:
        import polars as pl

        frame = frame if isinstance(frame, pl.DataFrame) else pl.DataFrame(frame)
        absent = [name for name, _ in self.converted.inputs if name not in frame.columns]
        if absent:
            raise ValueError(f"input is missing feature column(s): {', '.join(absent)}")
        return self.session.run(None, onnx_inputs(frame, self.converted.inputs))

    def predict_proba(self, frame: Any) -> np.ndarray:
        if self.task == "regression":
            raise AttributeError("a regressor has no predict_proba")
        return np.asarray(self._run(frame)[1], dtype=np.float64)

    def predict(self, frame: Any) -> np.ndarray:
        if self.task == "regression":
            return np.asarray(self._run(frame)[0], dtype=np.float64)
        return self.classes_[np.argmax(self.predict_proba(frame), axis=1)]


@dataclass(frozen=True)
class Parity:
    rows: int
    labels_equal: bool
    max_abs_difference: float
    tolerance: float

    @property
    def passed(self) -> bool:
        return self.labels_equal and self.max_abs_difference <= self.tolerance

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "labels_equal": self.labels_equal,
                "max_abs_difference": self.max_abs_difference, "tolerance": self.tolerance, "passed": self.passed}


def parity(onnx: OnnxEstimator, estimator: Any, rows: Any, task: str) -> Parity:
    """How the graph's answers on `rows` compare with the pipeline's."""
    if task == "regression":
        ours, theirs = np.asarray(estimator.predict(rows), dtype=np.float64), onnx.predict(rows)
        worst = float(np.max(np.abs(ours - theirs))) if len(ours) else 0.0
        scale = max(1.0, float(np.max(np.abs(ours)))) if len(ours) else 1.0
        return Parity(len(ours), True, worst, VALUE_TOLERANCE * scale)
    ours, theirs = np.asarray(estimator.predict_proba(rows), dtype=np.float64), onnx.predict_proba(rows)
    if ours.shape != theirs.shape:
        return Parity(len(ours), False, float("inf"), PROBABILITY_TOLERANCE)
    return Parity(len(ours), bool(labels_agree(ours, theirs).all()),
                  float(np.max(np.abs(ours - theirs))) if ours.size else 0.0, PROBABILITY_TOLERANCE)


def labels_agree(ours: np.ndarray, theirs: np.ndarray) -> np.ndarray:
    """Per row: both pick the same class, or the pipeline's top two probabilities tie (within twice the
    tolerance: e.g. 20 of 40 trees each way), where float32 rounding alone decides which one comes first."""
    same = ours.argmax(axis=1) == theirs.argmax(axis=1)
    if ours.shape[1] < 2:
        return same
    top = np.sort(ours, axis=1)[:, -2:]
    return same | (top[:, 1] - top[:, 0] <= 2 * PROBABILITY_TOLERANCE)


@dataclass(frozen=True)
class Compiled:
    """The outcome of compiling a version: the estimator to use when the check passed, else why not."""

    estimator: OnnxEstimator | None
    check: Parity | None
    reason: str | None

    def summary(self) -> dict[str, Any]:
        if self.estimator is not None and self.check is not None:
            return {"exported": True, "check": self.check.as_dict()}
        return {"exported": False, "reason": self.reason, **({"check": self.check.as_dict()} if self.check else {})}


def compile_version(estimator: Any, task: str, holdout: Any) -> Compiled:
    """Convert `estimator` and check it on `holdout` (raw rows without the target); never raises for a
    model that cannot be converted: the reason is in the result."""
    try:
        import onnxruntime  # noqa: F401
        import skl2onnx  # noqa: F401
    except ImportError:
        return Compiled(None, None, "the ONNX libraries are not installed (pip install 'workbench[deploy]')")
    try:
        converted = convert_pipeline(estimator, task)
        onnx = OnnxEstimator(converted)
    except NotConvertible as exc:
        return Compiled(None, None, str(exc))
    except Exception as exc:  # a converter's own failure: the model is served and exported without ONNX
        return Compiled(None, None, f"the conversion failed ({type(exc).__name__}: {str(exc).splitlines()[0][:160]})")
    check = parity(onnx, estimator, holdout, task)
    if not check.passed:
        return Compiled(None, check, f"the graph disagrees with the pipeline on the holdout rows (labels equal: "
                                     f"{check.labels_equal}, largest difference {check.max_abs_difference:.3g})")
    return Compiled(onnx, check, None)
