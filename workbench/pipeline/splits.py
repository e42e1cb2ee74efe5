"""How a run's rows are divided: the frozen holdout, the search sample and the cross-validation folds.

One module so the engine, `runs reproduce` and the benchmark split rows the same way. Three kinds:
random (stratified for classes), by time (`split = "time"`: the holdout is the latest rows, folds are
expanding windows, past -> future) and by group (`groups = "col"`: no group on both sides of a split).
`validate` sorts a time-split frame by its time column, so row positions are time order everywhere
and a sample (`stratified_subset`) that keeps positions sorted keeps time order too.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from workbench.errors import SpecError
from workbench.pipeline.spec import RunSpec

Folds = tuple[tuple[np.ndarray, np.ndarray], ...]


def holdout_split(frame: pl.DataFrame, y: np.ndarray, spec: RunSpec, classification: bool) -> tuple[np.ndarray, np.ndarray]:
    """Row positions (sorted) of the training rows and of the frozen holdout."""
    from sklearn.model_selection import train_test_split

    if spec.split == "time":
        return _time_holdout(time_values(frame, spec), spec.holdout)
    if spec.groups is not None:
        return _group_holdout(frame[spec.groups].to_numpy(), y, spec, classification)
    idx_train, idx_test = train_test_split(np.arange(frame.height), test_size=spec.holdout, random_state=spec.seed,
                                           stratify=y if classification else None)
    return np.sort(idx_train), np.sort(idx_test)


def cv_folds(frame: pl.DataFrame, y: np.ndarray, idx: np.ndarray, spec: RunSpec, classification: bool) -> Folds:
    """Cross-validation folds over the rows `idx`, as positions into `idx` (the search's own numbering)."""
    from sklearn.model_selection import GroupKFold, KFold, StratifiedGroupKFold, StratifiedKFold

    y_idx = y[idx]
    if spec.split == "time":
        return _time_folds(time_values(frame, spec)[idx], spec.cv_folds)
    if spec.groups is not None:
        groups = frame[spec.groups].to_numpy()[idx]
        splitter = (StratifiedGroupKFold(spec.cv_folds, shuffle=True, random_state=spec.seed) if classification
                    else GroupKFold(spec.cv_folds))
        return tuple((tr, te) for tr, te in splitter.split(np.zeros(len(idx)), y_idx, groups))
    splitter = (StratifiedKFold if classification else KFold)(spec.cv_folds, shuffle=True, random_state=spec.seed)
    return tuple((tr, te) for tr, te in splitter.split(np.zeros(len(idx)), y_idx if classification else None))


def stratified_subset(idx: np.ndarray, y: np.ndarray, size: int, seed: int, classification: bool,
                      min_per_class: int) -> np.ndarray:
    """`size` of the rows `idx`, stratified; rare classes keep every row so each CV fold still sees them.

    Returned sorted: on a time-split frame (sorted by time) the sample keeps time order."""
    from sklearn.model_selection import train_test_split

    if size >= len(idx):
        return idx
    strat = y[idx] if classification else None
    try:
        chosen, _ = train_test_split(idx, train_size=size, random_state=seed, stratify=strat)
    except ValueError:
        chosen, _ = train_test_split(idx, train_size=size, random_state=seed)
    if classification:
        labels, counts = np.unique(y[chosen], return_counts=True)
        all_labels = np.unique(y[idx])
        short = [lab for lab in all_labels if lab not in labels or counts[list(labels).index(lab)] < min_per_class]
        if short:
            chosen = np.union1d(chosen, idx[np.isin(y[idx], short)])
    return np.sort(chosen)


def order_for_split(frame: pl.DataFrame, spec: RunSpec) -> pl.DataFrame:
    """The frame as the splits expect it: sorted by the time column for a time split (ties keep their order)."""
    if spec.split == "time" and spec.time_column is not None:
        return frame.sort(spec.time_column, maintain_order=True)
    return frame


def split_columns(spec: RunSpec) -> dict[str, str]:
    """Columns the split uses, with why they are kept out of the features."""
    out = {}
    if spec.time_column is not None:
        out[spec.time_column] = ("time column of the split (select a copy under another name to use its "
                                 "calendar parts as features)")
    if spec.groups is not None:
        out[spec.groups] = "group column of the split (a group id as a feature would let models memorise groups)"
    return out


def time_values(frame: pl.DataFrame, spec: RunSpec) -> np.ndarray:
    """The time column as sortable numbers (dates as days, timestamps as their integer ticks)."""
    assert spec.time_column is not None
    return frame[spec.time_column].to_physical().to_numpy()


def check_split(frame: pl.DataFrame, y: np.ndarray, spec: RunSpec, classification: bool) -> None:
    """Refuse, in one sentence, a time or group split the data cannot support (before a run is recorded)."""
    if spec.split == "time":
        _check_time(frame, y, spec, classification)
    elif spec.groups is not None:
        _check_groups(frame, y, spec, classification)


def _check_time(frame: pl.DataFrame, y: np.ndarray, spec: RunSpec, classification: bool) -> None:
    col = spec.time_column
    assert col is not None
    if col not in frame.columns:
        raise SpecError(f"time_column {col!r} is not a column of the data (it has: {', '.join(frame.columns)}).")
    dtype = frame.schema[col]
    if not (dtype == pl.Date or isinstance(dtype, pl.Datetime) or (dtype.is_numeric() and dtype != pl.Boolean)):
        raise SpecError(f"time_column {col!r} is {dtype}, not a date, timestamp or number; cast it in the query "
                        f"(e.g. CAST({col} AS DATE)) so rows can be ordered in time.")
    missing = frame[col].null_count() + (frame[col].is_nan().sum() if dtype.is_float() else 0)
    if missing:
        raise SpecError(f"time_column {col!r} has {missing:,} missing values; rows without a time cannot be "
                        "placed before or after the others (filter them out in the query).")
    distinct = frame[col].n_unique()
    if distinct < spec.cv_folds + 2:
        raise SpecError(f"time_column {col!r} has only {distinct} distinct values; a time split with "
                        f"cv_folds = {spec.cv_folds} needs at least {spec.cv_folds + 2}.")
    times = time_values(frame, spec)
    idx_train, idx_test = _time_holdout(times, spec.holdout)
    folds = _time_folds(times[idx_train], spec.cv_folds)
    if len(folds) < spec.cv_folds:
        raise SpecError(f"time_column {col!r} has too few distinct times before the holdout for "
                        f"cv_folds = {spec.cv_folds} time-ordered folds; lower cv_folds.")
    if classification:
        labels = np.unique(y)
        first_train = y[idx_train][folds[0][0]]
        absent = [lab for lab in labels if lab not in first_train]
        if absent:
            raise SpecError(f"With split = \"time\", the earliest CV fold trains on no row of class {_py(absent[0])!r} "
                            f"of {spec.target!r}; lower cv_folds or use split = \"random\".")
        if len(labels) == 2:
            for where, rows in [("the holdout (the latest rows)", y[idx_test])] + [
                    ("a time-ordered CV fold", y[idx_train][te]) for _, te in folds]:
                if len(np.unique(rows)) < 2:
                    raise SpecError(f"With split = \"time\", {where} holds only class {_py(rows[0])!r} of "
                                    f"{spec.target!r}, so it cannot be scored; lower cv_folds or use split = \"random\".")


def _check_groups(frame: pl.DataFrame, y: np.ndarray, spec: RunSpec, classification: bool) -> None:
    col = spec.groups
    assert col is not None
    if col not in frame.columns:
        raise SpecError(f"groups column {col!r} is not a column of the data (it has: {', '.join(frame.columns)}).")
    missing = frame[col].null_count()
    if missing:
        raise SpecError(f"groups column {col!r} has {missing:,} missing values; every row needs a group "
                        "(fill them in the query).")
    n_groups = frame[col].n_unique()
    need = max(spec.cv_folds + 1, math.ceil(spec.cv_folds / (1 - spec.holdout)) + 1,
               _group_holdout_splits(spec.holdout) if classification else 0)
    if n_groups < need:
        raise SpecError(f"groups column {col!r} has only {n_groups} groups; a grouped split with "
                        f"cv_folds = {spec.cv_folds} and holdout = {spec.holdout:g} needs at least {need}.")
    if classification:
        from sklearn.model_selection import StratifiedGroupKFold

        groups = frame[col].to_numpy()
        idx_train, idx_test = _group_holdout(groups, y, spec, classification)
        labels = np.unique(y)
        if len(np.unique(y[idx_test])) < 2:
            raise SpecError(f"The grouped holdout holds only class {_py(y[idx_test][0])!r} of {spec.target!r}; "
                            "the groups are too few or too uneven to score a model on unseen groups.")
        splitter = StratifiedGroupKFold(spec.cv_folds, shuffle=True, random_state=spec.seed)
        y_train = y[idx_train]
        parts = [("the grouped training rows", y_train)] + [
            ("a grouped CV fold's training rows", y_train[tr])
            for tr, _ in splitter.split(np.zeros(len(idx_train)), y_train, groups[idx_train])]
        for where, rows in parts:
            absent = [lab for lab in labels if lab not in rows]
            if absent:
                raise SpecError(f"Class {_py(absent[0])!r} of {spec.target!r} is in too few groups: {where} have none "
                                "of it; lower cv_folds, or group by a finer column.")


def _py(value: object) -> object:
    """A numpy scalar as the plain Python value, so messages say 'yes', not np.str_('yes')."""
    return value.item() if isinstance(value, np.generic) else value


def _group_holdout_splits(holdout: float) -> int:
    return max(2, round(1 / holdout))


def _group_holdout(groups: np.ndarray, y: np.ndarray, spec: RunSpec, classification: bool) -> tuple[np.ndarray, np.ndarray]:
    """About `holdout` of the groups, whole; stratified by class where the task has classes."""
    from sklearn.model_selection import GroupShuffleSplit, StratifiedGroupKFold

    rows = np.zeros(len(groups))
    if classification:
        # One fold of a stratified group k-fold with k = 1 / holdout: whole groups, classes balanced.
        splitter = StratifiedGroupKFold(_group_holdout_splits(spec.holdout), shuffle=True, random_state=spec.seed)
    else:
        splitter = GroupShuffleSplit(n_splits=1, test_size=spec.holdout, random_state=spec.seed)
    idx_train, idx_test = next(splitter.split(rows, y, groups))
    return np.sort(idx_train), np.sort(idx_test)


def _time_holdout(times: np.ndarray, holdout: float) -> tuple[np.ndarray, np.ndarray]:
    """The latest `holdout` of the rows (cut between two distinct times, so no time is on both sides)."""
    order = np.argsort(times, kind="stable")
    ts = times[order]
    n = len(ts)
    cut = _snap(ts, n - max(1, math.ceil(holdout * n)))
    return np.sort(order[:cut]), np.sort(order[cut:])


def _time_folds(times: np.ndarray, k: int) -> Folds:
    """Expanding-window folds (as TimeSeriesSplit): fold j trains on the first j+1 of k+1 time blocks and
    validates on block j+2; block edges fall between distinct times. Fewer folds if the times are too few."""
    order = np.argsort(times, kind="stable")
    ts = times[order]
    m = len(ts)
    edges = sorted({_snap(ts, round(m * j / (k + 1))) for j in range(1, k + 1)} - {0, m})
    edges.append(m)
    return tuple((np.sort(order[:a]), np.sort(order[a:b])) for a, b in zip(edges, edges[1:]))


def _snap(ts: np.ndarray, pos: int) -> int:
    """The boundary nearest to `pos` that falls between two distinct values of the sorted `ts`."""
    n = len(ts)
    pos = min(max(pos, 1), n - 1)
    if ts[pos - 1] != ts[pos]:
        return pos
    lo = int(np.searchsorted(ts, ts[pos], side="left"))
    hi = int(np.searchsorted(ts, ts[pos], side="right"))
    options = [p for p in (lo, hi) if 0 < p < n]
    return min(options, key=lambda p: abs(p - pos)) if options else pos
