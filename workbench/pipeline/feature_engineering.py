"""Which raw columns a model uses and how: the feature plan, raw-row typing and datetime parts.

The stateless parts here run first in every saved pipeline, which is why a saved model scores raw rows
straight from the lake; everything that learns from data lives in `preprocess.py` and is fitted inside
each CV fold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from workbench.errors import SpecError

# Categoricals with more distinct values than this are "high-cardinality": frequency-encoded for every
# family, target-encoded (instead of one-hot) for linear models, and capped for native categorical support.
HIGH_CARDINALITY = 30
# Categories seen in fewer training rows than this are grouped into one "infrequent" category.
RARE_MIN_COUNT = 10
DATETIME_PARTS = ("year", "month", "day", "weekday", "dayofyear")
TIME_PARTS = ("hour", "minute")


@dataclass(frozen=True)
class FeaturePlan:
    """Raw columns by kind, and what the pipeline derives from them."""

    numeric: list[str]
    categorical: list[str]
    datetime: list[str] = field(default_factory=list)  # Date or Datetime columns, expanded into parts
    datetime_with_time: list[str] = field(default_factory=list)
    high_cardinality: list[str] = field(default_factory=list)
    rare_grouped: list[str] = field(default_factory=list)  # categoricals that have rare categories
    dropped: dict[str, str] = field(default_factory=dict)  # column -> reason

    @property
    def raw_columns(self) -> list[str]:
        return self.numeric + self.categorical + self.datetime

    @property
    def datetime_part_columns(self) -> list[str]:
        return [name for col in self.datetime for name in _part_names(col, col in self.datetime_with_time)]

    @property
    def model_numeric(self) -> list[str]:
        """Numeric columns as the model sees them: raw numerics plus datetime parts."""
        return self.numeric + self.datetime_part_columns

    @property
    def low_cardinality(self) -> list[str]:
        return [c for c in self.categorical if c not in self.high_cardinality]

    def without(self, columns: dict[str, str]) -> "FeaturePlan":
        keep = lambda cols: [c for c in cols if c not in columns]  # noqa: E731
        return FeaturePlan(keep(self.numeric), keep(self.categorical), keep(self.datetime),
                           keep(self.datetime_with_time), keep(self.high_cardinality), keep(self.rare_grouped),
                           {**self.dropped, **columns})

    def engineering_report(self) -> list[dict[str, Any]]:
        """What feature engineering the pipelines apply, for the run record."""
        out: list[dict[str, Any]] = []
        if self.datetime:
            out.append({"step": "datetime_parts", "columns": self.datetime, "creates": self.datetime_part_columns})
        if self.high_cardinality:
            out.append({"step": "frequency_encoding", "columns": self.high_cardinality, "models": "all"})
            out.append({"step": "target_encoding", "columns": self.high_cardinality, "models": ["linear"],
                        "note": "cross-fitted inside each training fold"})
        if self.rare_grouped:
            out.append({"step": "rare_category_grouping", "columns": self.rare_grouped,
                        "min_count": RARE_MIN_COUNT})
        if self.numeric:
            out.append({"step": "missing_indicators", "columns": "numeric with missing values",
                        "models": ["linear", "random_forest", "extra_trees"]})
        return out


def _part_names(col: str, with_time: bool) -> list[str]:
    parts = DATETIME_PARTS + (TIME_PARTS if with_time else ())
    return [f"{col}__{p}" for p in parts]


def plan_features(frame: pl.DataFrame, target: str, exclude: tuple[str, ...]) -> FeaturePlan:
    """Sort the frame's columns into numeric, categorical and datetime features; say why any are dropped."""
    missing = [c for c in exclude if c not in frame.columns]
    if missing:
        raise SpecError(f"exclude_columns names unknown column {missing[0]!r}.")
    numeric, categorical, dates, with_time, high, rare, dropped = [], [], [], [], [], [], {}
    n = frame.height
    for name, dtype in frame.schema.items():
        if name == target:
            continue
        if name in exclude:
            dropped[name] = "excluded by spec"
            continue
        col = frame[name]
        if col.null_count() == n:
            dropped[name] = "all missing"
        elif col.n_unique() == 1:
            dropped[name] = "constant"
        elif dtype == pl.Boolean or dtype.is_numeric():
            numeric.append(name)
        elif dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
            categorical.append(name)
            counts = col.drop_nulls().cast(pl.String).value_counts()["count"]
            if counts.len() > HIGH_CARDINALITY:
                high.append(name)
            if (counts < RARE_MIN_COUNT).any():
                rare.append(name)
        elif dtype == pl.Date or isinstance(dtype, pl.Datetime):
            dates.append(name)
            if isinstance(dtype, pl.Datetime):
                with_time.append(name)
        else:
            dropped[name] = f"type {dtype} is not used"
    return FeaturePlan(numeric, categorical, dates, with_time, high, rare, dropped)


def prepare_raw(X: Any, numeric: list[str], categorical: list[str], datetime: list[str] | None = None,
                datetime_with_time: list[str] | None = None) -> pl.DataFrame:
    """First step of every saved pipeline: raw rows (polars, pandas, Arrow or dicts) -> typed features.

    Numerics become floats (booleans 0/1), categoricals strings, datetimes their calendar parts.
    """
    frame = X if isinstance(X, pl.DataFrame) else pl.DataFrame(X)
    datetime = datetime or []
    with_time = set(datetime_with_time or [])
    absent = [c for c in numeric + categorical + datetime if c not in frame.columns]
    if absent:
        raise ValueError(f"input is missing feature column(s): {', '.join(absent)}")
    exprs = [pl.col(c).cast(pl.Float64) for c in numeric]
    for col in datetime:
        value = pl.col(col)
        if frame.schema[col] == pl.String:  # datetimes that came back as text (CSV, JSON)
            value = value.str.to_datetime(strict=False)
        parts = {"year": value.dt.year(), "month": value.dt.month(), "day": value.dt.day(),
                 "weekday": value.dt.weekday(), "dayofyear": value.dt.ordinal_day(),
                 "hour": value.dt.hour(), "minute": value.dt.minute()}
        for name in _part_names(col, col in with_time):
            exprs.append(parts[name.rsplit("__", 1)[1]].cast(pl.Float64).alias(name))
    exprs += [pl.col(c).cast(pl.String) for c in categorical]
    return frame.select(exprs)
