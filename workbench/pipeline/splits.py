"""How a run's rows are divided: the frozen holdout, the search sample and the cross-validation folds.

One module so the engine, `runs reproduce` and the benchmark split rows the same way, and so new kinds of
split (by time, by group) are added in one place.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from workbench.pipeline.spec import RunSpec

Folds = tuple[tuple[np.ndarray, np.ndarray], ...]


def holdout_split(frame: pl.DataFrame, y: np.ndarray, spec: RunSpec, classification: bool) -> tuple[np.ndarray, np.ndarray]:
    """Row positions (sorted) of the training rows and of the frozen holdout."""
    from sklearn.model_selection import train_test_split

    idx_train, idx_test = train_test_split(np.arange(frame.height), test_size=spec.holdout, random_state=spec.seed,
                                           stratify=y if classification else None)
    return np.sort(idx_train), np.sort(idx_test)


def cv_folds(frame: pl.DataFrame, y: np.ndarray, idx: np.ndarray, spec: RunSpec, classification: bool) -> Folds:
    """Cross-validation folds over the rows `idx`, as positions into `idx` (the search's own numbering)."""
    from sklearn.model_selection import KFold, StratifiedKFold

    y_idx = y[idx]
    splitter = (StratifiedKFold if classification else KFold)(spec.cv_folds, shuffle=True, random_state=spec.seed)
    return tuple((tr, te) for tr, te in splitter.split(np.zeros(len(idx)), y_idx if classification else None))


def stratified_subset(idx: np.ndarray, y: np.ndarray, size: int, seed: int, classification: bool,
                      min_per_class: int) -> np.ndarray:
    """`size` of the rows `idx`, stratified; rare classes keep every row so each CV fold still sees them."""
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
