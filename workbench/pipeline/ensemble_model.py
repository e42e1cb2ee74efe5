"""The saved form of an ensemble: a weighted average of fitted raw-rows pipelines.

A module of its own that imports only numpy, so unpickling a saved ensemble (the registry, `workbench
serve`, `models export`'s vendored copy) pulls in nothing of the search.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class WeightedEnsemble:
    """A weighted average of fitted raw-rows pipelines: probabilities for a classifier, values for a regressor."""

    def __init__(self, estimators: list[Any], weights: list[float], task: str) -> None:
        self.estimators = list(estimators)
        self.weights = np.asarray(weights, dtype=np.float64) / float(np.sum(weights))
        self.task = task
        if task != "regression":
            classes = [np.asarray(e.classes_) for e in self.estimators]
            if any(not np.array_equal(c, classes[0]) for c in classes):
                raise ValueError("ensemble members disagree on the classes")
            self.classes_ = classes[0]

    def fit(self, X: Any, y: Any) -> "WeightedEnsemble":
        """Refit every member on (X, y), keeping the weights (scikit-learn tools expect an estimator to fit)."""
        for estimator in self.estimators:
            estimator.fit(X, y)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        if self.task == "regression":
            raise AttributeError("a regression ensemble has no predict_proba")
        return sum(w * np.asarray(e.predict_proba(X)) for w, e in zip(self.weights, self.estimators))

    def predict(self, X: Any) -> np.ndarray:
        if self.task == "regression":
            return sum(w * np.asarray(e.predict(X), dtype=np.float64) for w, e in zip(self.weights, self.estimators))
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def __repr__(self) -> str:
        parts = ", ".join(f"{type(e).__name__}×{w:.2f}" for e, w in zip(self.estimators, self.weights))
        return f"WeightedEnsemble({parts})"
