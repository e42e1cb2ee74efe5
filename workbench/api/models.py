"""A registered version loaded in memory: resolved, hash-checked, ready to score rows a caller hands over.

The Python API's `predict` and `workbench serve` both score through this, and it scores through the
registry's own `score_frame` and `check_columns` (`registry/predict.py`, `registry/inputs.py`), so a row
gets the same prediction here as from `workbench models predict`. Rows from JSON are cast to the dtypes the
model was trained on first, so the pipeline sees exactly what it would have read from the lake.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping

from workbench.errors import BadInputError
from workbench.workspace import Workspace

OUTPUT_PREFIX = "probability_"


@dataclass(frozen=True)
class LoadedModel:
    """One model version and its unpickled pipeline (loaded only after the artifact's SHA-256 checked out)."""

    version: dict[str, Any]
    estimator: Any
    engine: str = "scikit-learn"  # or "onnx": the pipeline's ONNX graph, checked on the holdout (workbench/onnx)

    @property
    def name(self) -> str:
        return str(self.version["model"])

    @property
    def number(self) -> int:
        return int(self.version["version"])

    @property
    def label(self) -> str:
        return f"{self.name}:{self.number}"

    @property
    def features(self) -> list[list[str]]:
        """[[column, dtype, kind], ...]: the raw input columns the pipeline needs."""
        return list(self.version["features"])

    def predict(self, frame: Any, source: str = "the rows") -> Any:
        """Predictions (and per-class probabilities) for `frame` (polars), one output row per input row."""
        from workbench.registry.inputs import check_columns
        from workbench.registry.predict import prediction_columns

        check_columns(frame.schema, self.features, source)
        names = [name for name, *_ in self.features]
        inputs = frame if frame.columns == names else frame.select(names)
        try:
            return prediction_columns(self.estimator, inputs, self.version["task"])
        except BadInputError:
            raise
        except Exception as exc:
            raise BadInputError(f"{self.label} could not score {source}: {type(exc).__name__}: {exc}") from exc


def load_version(workspace: Workspace, ref: Any, default_alias: str | None = "champion") -> LoadedModel:
    """Resolve `ref` (a `ModelRef` or its text) and load its pipeline; refuses a tampered artifact."""
    from workbench.registry.artifacts import load_model
    from workbench.registry.refs import ModelRef, parse_ref, resolve_ref
    from workbench.registry.store import RegistryStore

    parsed = ref if isinstance(ref, ModelRef) else parse_ref(str(ref))
    with RegistryStore.open(workspace) as store:
        version = resolve_ref(store, parsed, default_alias=default_alias)
    return LoadedModel(version, load_model(workspace, version))


def _dtype(text: str) -> Any:
    """The polars dtype a feature was trained on, from its recorded name (None: leave the column as read)."""
    import polars as pl

    found = getattr(pl, text, None) if text.isidentifier() else None
    return found if isinstance(found, type) and issubclass(found, pl.DataType) else None


def rows_to_frame(rows: Iterable[Mapping[str, Any]], features: list[list[str]], source: str = "the request") -> Any:
    """JSON-like rows as a polars frame with the model's columns in their training dtypes; one readable
    BadInputError for a missing column, a value of the wrong type, or rows that are not objects."""
    import polars as pl

    rows = list(rows)
    if not rows:
        raise BadInputError(f"{source} has no rows; send at least one object with the model's input columns.")
    bad = next((i for i, r in enumerate(rows) if not isinstance(r, Mapping)), None)
    if bad is not None:
        raise BadInputError(f"Row {bad} of {source} is not an object of column values.")
    names = [name for name, *_ in features]
    missing = [n for n in names if any(n not in r for r in rows)]
    if missing:
        raise BadInputError(f"{source} does not fit the model: missing column(s) {', '.join(missing)} "
                            "(send null for an unknown value).")
    columns = {}
    for name in names:
        try:
            columns[name] = pl.Series(name, [r[name] for r in rows], strict=True)
        except (TypeError, pl.exceptions.PolarsError):
            raise BadInputError(f"{source}: column {name} mixes values of different types.") from None
    frame = pl.DataFrame(columns)
    return cast_to_training(frame, features, source)


def cast_to_training(frame: Any, features: list[list[str]], source: str) -> Any:
    """`frame` with each model column cast to its training dtype, after the kinds were checked to be compatible."""
    import polars as pl

    from workbench.registry.inputs import check_columns

    # all-null columns arrive as Null: give them the training dtype before the kind check
    frame = frame.with_columns([pl.col(n).cast(_dtype(d)) for n, d, _ in features
                                if n in frame.columns and frame.schema[n] == pl.Null and _dtype(d) is not None])
    check_columns(frame.schema, features, source)
    casts = []
    for name, dtype, _kind in features:
        target = _dtype(dtype)
        if target is not None and frame.schema[name] != target:
            casts.append(pl.col(name).cast(target, strict=True))
    try:
        return frame.with_columns(casts) if casts else frame
    except pl.exceptions.PolarsError as exc:
        raise BadInputError(f"{source}: a value does not fit the model's column types "
                            f"({str(exc).splitlines()[0]}).") from None
