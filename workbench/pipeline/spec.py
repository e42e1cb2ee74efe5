"""The run spec (TOML): what data, which target, how to judge models. Unknown keys are errors."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, asdict
from pathlib import Path
from typing import Any

from workbench.errors import SpecError
from workbench.numbers import MAX_INTEGER, MAX_SECONDS, SEED_MAX, finite_number, real_number, whole_number

TASKS = ("auto", "binary", "multiclass", "regression")
SPLITS = ("random", "time")  # random: stratified for classes (grouped with `groups`); time: past -> future
METRICS = ("auto", "accuracy", "f1", "log_loss", "roc_auc", "rmse", "mae", "r2")
# Built-in model families, cheapest first; a spec that names none searches all of them.
CANDIDATES = ("linear", "random_forest", "extra_trees", "hist_gradient_boosting", "lightgbm")
MAX_TRIALS = 1_000_000


@dataclass(frozen=True)
class DataSource:
    table: str | None = None
    version: int | None = None
    query: str | None = None

    def describe(self) -> str:
        if self.query is not None:
            return "query: " + " ".join(self.query.split())[:200]
        return f"{self.table}@{self.version}" if self.version is not None else str(self.table)


@dataclass(frozen=True)
class RunSpec:
    name: str
    data: DataSource
    target: str
    task: str = "auto"
    metric: str = "auto"
    holdout: float = 0.2
    cv_folds: int = 5  # folds of the training rows for model selection; the holdout stays frozen
    time_budget_s: float = 300.0  # the whole run, final fit included, ends within this + 10 %
    exclude_columns: tuple[str, ...] = ()
    candidates: tuple[str, ...] = CANDIDATES
    seed: int = 42
    max_trials: int | None = None  # stop the search earlier than the budget (reproducible runs)
    keep_leaky_columns: bool | tuple[str, ...] = False  # True keeps every flagged column
    split: str = "random"
    time_column: str | None = None  # with split = "time": train on the past, validate on the future
    groups: str | None = None  # rows sharing this column's value stay on one side of every split
    backend: str = "local"
    # The saved model is refitted on every row (training + holdout) once the holdout has scored a model of the
    # training rows; false saves the model of the training rows itself.
    refit_all: bool = True
    # The final model may be a greedy ensemble of the best configurations when it beats the best single one on
    # out-of-fold predictions; false forbids it (when prediction latency matters).
    ensemble: bool = True
    # Options of the compute back-end for this run (win over `[backends.<name>]` in workbench.toml).
    backend_options: dict[str, Any] = field(default_factory=dict, hash=False)
    description: str = ""
    source_path: str | None = field(default=None, compare=False)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["exclude_columns"] = list(self.exclude_columns)
        d["candidates"] = list(self.candidates)
        if isinstance(self.keep_leaky_columns, tuple):
            d["keep_leaky_columns"] = list(self.keep_leaky_columns)
        return d

    def keeps_leaky(self, column: str) -> bool:
        keep = self.keep_leaky_columns
        return keep is True or (isinstance(keep, tuple) and column in keep)


_TOP_KEYS = {
    "name", "description", "data", "target", "task", "metric", "holdout", "cv_folds", "time_budget_s",
    "exclude_columns", "candidates", "seed", "backend", "backend_options", "max_trials", "keep_leaky_columns",
    "split", "time_column", "groups",
    "refit_all", "ensemble",
}
_DATA_KEYS = {"table", "version", "query"}


def load_spec(path: Path, default_holdout: float = 0.2, default_backend: str = "local") -> RunSpec:
    path = Path(path)
    if not path.exists():
        raise SpecError(f"Spec file not found: {path}.")
    if path.is_dir():
        raise SpecError(f"{path} is a directory, not a spec file.")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path} is not valid TOML: {exc}.") from exc
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise SpecError(f"{path} is not valid TOML: {exc}.") from exc
    except UnicodeDecodeError as exc:
        raise SpecError(f"{path} is not UTF-8 text.") from exc
    return parse_spec(raw, name_hint=path.stem, source=str(path), default_holdout=default_holdout,
                      default_backend=default_backend)


def parse_spec(
    raw: dict[str, Any], *, name_hint: str = "run", source: str | None = None,
    default_holdout: float = 0.2, default_backend: str = "local",
) -> RunSpec:
    where = source or "spec"
    unknown = sorted(set(raw) - _TOP_KEYS)
    if unknown:
        raise SpecError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(_TOP_KEYS))}).")
    data_raw = raw.get("data")
    if not isinstance(data_raw, dict):
        raise SpecError(f"{where}: a [data] table with `table = \"...\"` or `query = \"...\"` is required.")
    unknown = sorted(set(data_raw) - _DATA_KEYS)
    if unknown:
        raise SpecError(f"{where}: unknown key {unknown[0]!r} in [data] (known: table, version, query).")
    if ("table" in data_raw) == ("query" in data_raw):
        raise SpecError(f"{where}: [data] needs exactly one of `table` or `query`.")
    version = data_raw.get("version")
    if version is not None:
        version = whole_number(version, "[data] version", 1, MAX_INTEGER, error=SpecError, where=where)
    if version is not None and "query" in data_raw:
        raise SpecError(f"{where}: [data] version goes with `table`, not `query`.")
    data = DataSource(table=_str(data_raw.get("table"), "data.table", where), version=version,
                      query=_str(data_raw.get("query"), "data.query", where))
    target = raw.get("target")
    if not isinstance(target, str) or not target.strip():
        raise SpecError(f"{where}: `target` (the column to predict) is required.")
    task = raw.get("task", "auto")
    if task not in TASKS:
        raise SpecError(f"{where}: task {task!r} is not one of {', '.join(TASKS)}.")
    metric = raw.get("metric", "auto")
    if metric not in METRICS:
        raise SpecError(f"{where}: metric {metric!r} is not one of {', '.join(METRICS)}.")
    holdout = real_number(raw.get("holdout", default_holdout), "holdout", 0, 1, low_open=True, high_open=True,
                          what="a fraction", error=SpecError, where=where)
    cv_folds = whole_number(raw.get("cv_folds", 5), "cv_folds", 2, 20, error=SpecError, where=where)
    max_trials = raw.get("max_trials")
    if max_trials is not None:
        max_trials = whole_number(max_trials, "max_trials", 1, MAX_TRIALS, error=SpecError, where=where)
    keep_leaky = raw.get("keep_leaky_columns", False)
    if isinstance(keep_leaky, list) and all(isinstance(c, str) for c in keep_leaky):
        keep_leaky = tuple(keep_leaky)
    elif not isinstance(keep_leaky, bool):
        raise SpecError(f"{where}: keep_leaky_columns must be true, false or a list of column names.")
    budget = real_number(raw.get("time_budget_s", 300.0), "time_budget_s", 0, MAX_SECONDS, low_open=True,
                         what="a number of seconds", error=SpecError, where=where)
    exclude = raw.get("exclude_columns", [])
    if not isinstance(exclude, list) or not all(isinstance(c, str) for c in exclude):
        raise SpecError(f"{where}: exclude_columns must be a list of column names.")
    candidates = raw.get("candidates", list(CANDIDATES))
    if not isinstance(candidates, list) or not candidates:
        raise SpecError(f"{where}: candidates must be a non-empty list.")
    for c in candidates:
        if not isinstance(c, str) or c not in CANDIDATES:
            raise SpecError(f"{where}: unknown candidate {c!r} (known: {', '.join(CANDIDATES)}).")
    if len(set(candidates)) != len(candidates):
        raise SpecError(f"{where}: candidates lists a model family twice.")
    backend_options = raw.get("backend_options", {})
    if not isinstance(backend_options, dict) or not all(
            isinstance(v, (str, int, float, bool)) for v in backend_options.values()):
        raise SpecError(f"{where}: backend_options must be a table of option = value (strings, numbers, booleans).")
    for key, value in backend_options.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            finite_number(value, f"backend_options.{key}", error=SpecError, where=where)
    seed = whole_number(raw.get("seed", 42), "seed", 0, SEED_MAX, error=SpecError, where=where)
    split, time_column, groups = _split_keys(raw, target, where)
    refit_all = raw.get("refit_all", True)
    if not isinstance(refit_all, bool):
        raise SpecError(f"{where}: refit_all must be true or false.")
    ensemble = raw.get("ensemble", True)
    if not isinstance(ensemble, bool):
        raise SpecError(f"{where}: ensemble must be true or false.")
    return RunSpec(
        name=str(raw.get("name", name_hint)),
        description=str(raw.get("description", "")),
        data=data,
        target=target,
        task=task,
        metric=metric,
        holdout=holdout,
        cv_folds=cv_folds,
        time_budget_s=budget,
        exclude_columns=tuple(exclude),
        candidates=tuple(candidates),
        seed=seed,
        max_trials=max_trials,
        keep_leaky_columns=keep_leaky,
        split=split,
        time_column=time_column,
        groups=groups,
        refit_all=refit_all,
        ensemble=ensemble,
        backend=str(raw.get("backend", default_backend)),
        backend_options=dict(backend_options),
        source_path=source,
    )


def _split_keys(raw: dict[str, Any], target: str, where: str) -> tuple[str, str | None, str | None]:
    """`split`, `time_column` and `groups` as far as the spec alone can check them (the data checks the rest)."""
    split = raw.get("split", "random")
    if split not in SPLITS:
        raise SpecError(f"{where}: split {split!r} is not one of {', '.join(SPLITS)}.")
    time_column = _str(raw.get("time_column"), "time_column", where)
    groups = _str(raw.get("groups"), "groups", where)
    if split == "time" and time_column is None:
        raise SpecError(f"{where}: split = \"time\" needs `time_column = \"...\"`, the column that orders the rows.")
    if time_column is not None and split != "time":
        raise SpecError(f"{where}: time_column goes with split = \"time\"; add it or remove time_column.")
    if groups is not None and split == "time":
        raise SpecError(f"{where}: groups cannot be combined with split = \"time\"; choose one of them.")
    for key, column in (("time_column", time_column), ("groups", groups)):
        if column == target:
            raise SpecError(f"{where}: {key} cannot be the target column {target!r}.")
    return split, time_column, groups


def _str(value: Any, key: str, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise SpecError(f"{where}: {key} must be a non-empty string.")
    return value
