"""Rows to score or evaluate: read from the lake, then checked against the columns a model needs."""

from __future__ import annotations

from typing import Any

from workbench.errors import BadInputError

_COMPATIBLE = {"numeric": {"numeric", "boolean"}, "boolean": {"boolean", "numeric"}, "text": {"text"}}


def column_kind(dtype: Any) -> str:
    """Coarse kind of a polars dtype: what the pipelines can take in place of what they were trained on."""
    import polars as pl

    if dtype == pl.Boolean:
        return "boolean"
    if dtype.is_numeric():
        return "numeric"
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
        return "text"
    if dtype.is_temporal():
        return "temporal"
    return "other"


def feature_schema(schema: dict[str, Any], target: str, used: list[str] | None = None) -> list[list[str]]:
    """[[column, dtype, kind], ...] for every column but the target (only those in `used`, when given)."""
    return [[name, str(dtype), column_kind(dtype)] for name, dtype in schema.items()
            if name != target and (used is None or name in used)]


def used_columns(estimator: Any) -> list[str] | None:
    """The raw columns a Workbench pipeline (or a weighted ensemble of them) reads, in the data's terms;
    None for an estimator of another shape. Columns a spec excluded, or the run dropped (constant, all
    missing, an identifier), are not among them: a caller scoring rows need not send them."""
    members = getattr(estimator, "estimators", None) if type(estimator).__name__ == "WeightedEnsemble" else [estimator]
    used: list[str] = []
    for member in members or []:
        raw = (getattr(member, "named_steps", None) or {}).get("raw")
        kw = getattr(raw, "kw_args", None)
        if not isinstance(kw, dict):
            return None
        for name in [*(kw.get("numeric") or []), *(kw.get("categorical") or []), *(kw.get("datetime") or [])]:
            if name not in used:
                used.append(name)
    return used or None


def check_columns(schema: dict[str, Any], features: list[list[str]], source: str, also: tuple[str, ...] = ()) -> None:
    """Raise one error naming every missing or mistyped column; nothing is scored or written before this."""
    missing = [name for name, *_ in features if name not in schema] + [c for c in also if c not in schema]
    mistyped = []
    for name, dtype, kind in features:
        if name in schema:
            got = column_kind(schema[name])
            if got not in _COMPATIBLE.get(kind, {kind}):
                mistyped.append(f"{name} is {schema[name]} but the model was trained on {dtype}")
    problems = []
    if missing:
        problems.append(f"missing column(s) {', '.join(missing)}")
    if mistyped:
        problems.append("mistyped column(s): " + "; ".join(mistyped))
    if problems:
        raise BadInputError(f"{source} does not fit the model: " + " and ".join(problems) + ".")


def read_rows(workspace: Any, table: str | None, query: str | None) -> Any:
    """The latest version of `table`, or the result of a read-only `query`, as `LoadedData`."""
    from workbench.lake.engine import open_lake
    from workbench.pipeline.data import load_data
    from workbench.pipeline.spec import DataSource

    if (table is None) == (query is None):
        raise BadInputError("Name the rows with exactly one of --table or --query.")
    with open_lake(workspace, read_only=True) as lake:
        data = load_data(lake, DataSource(table=table, query=query))
    if data.row_count == 0 or data.frame.height == 0:
        raise BadInputError(f"{data.source} has no rows.")
    return data
