"""Decide which raw columns a model may use, and how each is treated."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from workbench.errors import SpecError


@dataclass(frozen=True)
class FeatureSet:
    numeric: list[str]
    categorical: list[str]
    dropped: dict[str, str] = field(default_factory=dict)  # column -> reason

    @property
    def columns(self) -> list[str]:
        return self.numeric + self.categorical


def select_features(frame: pl.DataFrame, target: str, exclude: tuple[str, ...]) -> FeatureSet:
    missing = [c for c in exclude if c not in frame.columns]
    if missing:
        raise SpecError(f"exclude_columns names unknown column {missing[0]!r}.")
    numeric, categorical, dropped = [], [], {}
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
        elif dtype == pl.Boolean:
            numeric.append(name)
        elif dtype.is_numeric():
            numeric.append(name)
        elif dtype in (pl.String, pl.Categorical, pl.Enum):
            if n > 50 and col.n_unique() >= 0.95 * n:
                dropped[name] = "identifier-like (unique per row)"
            else:
                categorical.append(name)
        else:
            dropped[name] = f"type {dtype} not used yet"
    if not numeric and not categorical:
        raise SpecError("No usable feature columns remain after exclusions.")
    return FeatureSet(numeric=numeric, categorical=categorical, dropped=dropped)


def to_model_input(frame: pl.DataFrame, features: FeatureSet) -> pl.DataFrame:
    """Cast to what the pipelines expect: float numerics (booleans as 0/1), string categoricals."""
    exprs = [pl.col(c).cast(pl.Float64) for c in features.numeric]
    exprs += [pl.col(c).cast(pl.String) for c in features.categorical]
    return frame.select(exprs)


def prepare_raw(X: object, numeric: list[str], categorical: list[str]) -> pl.DataFrame:
    """First step of every saved pipeline: raw rows (polars, pandas or Arrow) -> typed feature frame."""
    frame = X if isinstance(X, pl.DataFrame) else pl.DataFrame(X)
    missing = [c for c in numeric + categorical if c not in frame.columns]
    if missing:
        raise ValueError(f"input is missing feature column(s): {', '.join(missing)}")
    return frame.select(
        [pl.col(c).cast(pl.Float64) for c in numeric] + [pl.col(c).cast(pl.String) for c in categorical]
    )
