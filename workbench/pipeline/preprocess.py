"""Per-family preprocessing, as scikit-learn transformers so it is fitted inside every CV fold.

- linear models: median imputation + missing indicators + scaling; one-hot for low-cardinality
  categoricals (rare categories grouped), target + frequency encoding for high-cardinality ones.
- random forest / extra trees: imputation + missing indicators, ordinal codes (rare grouped), frequency
  encoding for high-cardinality categoricals.
- HistGradientBoosting / LightGBM: numerics as they are (native missing values), ordinal codes used as
  native categoricals (rare grouped, capped at 250 levels), frequency encoding for high-cardinality ones.

Imports scikit-learn at module level: only model-building code imports this module.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler, TargetEncoder

from workbench.pipeline.feature_engineering import RARE_MIN_COUNT, FeaturePlan

MISSING = "(missing)"
MAX_NATIVE_CATEGORIES = 250  # HistGradientBoosting bins categories into at most 255 bins


class FrequencyEncoder(TransformerMixin, BaseEstimator):
    """Replace each category by its share of the training rows (unseen categories -> 0)."""

    def fit(self, X: Any, y: Any = None) -> "FrequencyEncoder":
        frame = _frame(X)
        self.feature_names_in_ = np.asarray(frame.columns, dtype=object)
        self.n_features_in_ = frame.width
        n = max(1, frame.height)
        self.tables_ = {}
        for col in frame.columns:
            vc = frame[col].cast(pl.String).fill_null(MISSING).value_counts()
            self.tables_[col] = dict(zip(vc[col].to_list(), (vc["count"] / n).to_list()))
        return self

    def transform(self, X: Any) -> np.ndarray:
        frame = _frame(X, list(self.feature_names_in_))
        out = np.zeros((frame.height, frame.width))
        for j, col in enumerate(frame.columns):
            values = frame[col].cast(pl.String).fill_null(MISSING)
            out[:, j] = values.replace_strict(self.tables_[col], default=0.0, return_dtype=pl.Float64).to_numpy()
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray([f"{c}__freq" for c in self.feature_names_in_], dtype=object)


def _frame(X: Any, names: list[str] | None = None) -> pl.DataFrame:
    if isinstance(X, pl.DataFrame):
        return X
    arr = np.asarray(X, dtype=object)
    names = names or [f"x{i}" for i in range(arr.shape[1])]
    return pl.DataFrame({n: arr[:, i].tolist() for i, n in enumerate(names)}, strict=False)


def _ordinal(max_categories: int | None = MAX_NATIVE_CATEGORIES) -> OrdinalEncoder:
    # Unknown and missing categories become -1, which both LightGBM and HistGradientBoosting read as missing.
    return OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-1,
                          min_frequency=RARE_MIN_COUNT, max_categories=max_categories, dtype=np.float64)


def _target_encoder(seed: int, task: str) -> TargetEncoder:
    import inspect

    if inspect.signature(TargetEncoder).parameters["shuffle"].default == "deprecated":  # scikit-learn >= 1.9
        from sklearn.model_selection import KFold, StratifiedKFold

        splitter = KFold if task == "regression" else StratifiedKFold
        return TargetEncoder(cv=splitter(5, shuffle=True, random_state=seed))
    return TargetEncoder(random_state=seed)


def build_preprocessor(style: str, plan: FeaturePlan, seed: int, task: str) -> tuple[ColumnTransformer, list[int]]:
    """Return (unfitted ColumnTransformer, indices of its native-categorical output columns)."""
    numeric, cats, high = plan.model_numeric, plan.categorical, plan.high_cardinality
    low = plan.low_cardinality
    parts: list[tuple[str, Any, list[str]]] = []
    categorical_idx: list[int] = []
    if style == "linear":
        parts.append(("num", make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler()),
                      numeric))
        parts.append(("onehot", make_pipeline(
            SimpleImputer(strategy="constant", fill_value=MISSING),
            OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=RARE_MIN_COUNT, sparse_output=False),
        ), low))
        parts.append(("target", make_pipeline(
            SimpleImputer(strategy="constant", fill_value=MISSING),
            _target_encoder(seed, task),  # cross-fitted: a row's own target never encodes it
            StandardScaler(),
        ), high))
        parts.append(("freq", make_pipeline(FrequencyEncoder(), StandardScaler()), high))
    elif style == "trees":
        parts.append(("num", SimpleImputer(strategy="median", add_indicator=True), numeric))
        parts.append(("ordinal", _ordinal(None), cats))
        parts.append(("freq", FrequencyEncoder(), high))
    elif style == "native":
        parts.append(("num", "passthrough", numeric))
        parts.append(("ordinal", _ordinal(), cats))
        parts.append(("freq", FrequencyEncoder(), high))
        categorical_idx = list(range(len(numeric), len(numeric) + len(cats)))
    else:
        raise ValueError(f"unknown preprocessing style {style!r}")
    parts = [p for p in parts if p[2]]  # ColumnTransformer rejects nothing, but empty parts are noise
    return ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0), categorical_idx
