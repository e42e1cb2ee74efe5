"""Workbench AutoML vs FLAML vs LightGBM defaults vs HistGradientBoosting defaults, on the sample tasks.

Protocol: for every task the rows with a target are split once (the engine's own split: same seed, same
holdout fraction, stratified for classification), every contender trains on the same training rows and is
scored on the same held-out rows with the task's primary metric. The workbench and FLAML get the same
time budget; the defaults get no budget. Needs the `bench` extra (`pip install -e '.[bench]'`).

    python benchmarks/automl_vs_peers.py --budgets 60 300 [--tasks penguin_species flight_delay] [--json out.json]

"Ratio" is workbench / peer for higher-is-better metrics and peer / workbench for losses: above 1 means the
workbench did better.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SPECS = REPO / "sample_data" / "specs"
TASKS = ("penguin_species", "penguin_body_mass", "flight_delay")
FLAML_METRIC = {"roc_auc": "roc_auc", "log_loss": "log_loss", "r2": "r2", "rmse": "rmse", "mae": "mae",
                "accuracy": "accuracy", "f1": "f1"}


def load_task(workspace: Any, name: str) -> tuple[Any, Any]:
    from workbench.lake import open_lake
    from workbench.pipeline.data import load_data
    from workbench.pipeline.spec import load_spec

    spec = load_spec(SPECS / f"{name}.toml")
    with open_lake(workspace) as lake:
        frame = load_data(lake, spec.data).frame
    return spec, frame


def split(frame: Any, spec: Any) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, Any]:
    """The engine's own split, reproduced: validation (drops, exclusions), then the stratified holdout."""
    from sklearn.model_selection import train_test_split

    from workbench.pipeline.validation import target_array, validate

    frame, report = validate(frame, spec)
    y = target_array(frame, spec.target, report.task.task)
    classification = report.task.task != "regression"
    idx_train, idx_test = train_test_split(np.arange(frame.height), test_size=spec.holdout, random_state=spec.seed,
                                           stratify=y if classification else None)
    return frame, y, np.sort(idx_train), np.sort(idx_test), report


def to_pandas(frame: Any, columns: list[str], categorical: list[str]) -> Any:
    pdf = frame.select(columns).to_pandas()
    for c in categorical:
        pdf[c] = pdf[c].astype("category")
    return pdf


def score(task: str, metric: str, y_true: np.ndarray, model: Any, X: Any) -> float:
    from workbench.pipeline.metrics import score_predictions

    if task == "regression":
        return score_predictions(task, y_true, np.asarray(model.predict(X)))[metric]
    proba = np.asarray(model.predict_proba(X))
    return score_predictions(task, y_true, proba, np.asarray(model.classes_))[metric]


def run_task(workspace: Any, name: str, budget: float) -> list[dict[str, Any]]:
    import lightgbm as lgb
    from sklearn.ensemble import (HistGradientBoostingClassifier, HistGradientBoostingRegressor)

    from workbench.backends.local import LocalCompute
    from workbench.pipeline.engine import run_automl
    from workbench.pipeline.metrics import HIGHER_IS_BETTER

    spec, raw = load_task(workspace, name)
    spec = replace(spec, time_budget_s=float(budget))
    frame, y, idx_train, idx_test, report = split(raw, spec)
    task, metric = report.task.task, report.task.metric
    plan = report.plan
    columns = plan.numeric + plan.categorical
    rows: list[dict[str, Any]] = []

    t0 = time.monotonic()
    with LocalCompute() as backend:
        result = run_automl(raw, spec, backend=backend, started_at=t0)
    wb_wall = time.monotonic() - t0
    assert np.array_equal(np.sort(result.holdout[spec.target].to_numpy()), np.sort(y[idx_test])), "split differs"
    rows.append({"contender": f"workbench ({result.best_model})", "score": result.holdout_scores[metric],
                 "wall_s": wb_wall})

    X_train = to_pandas(frame[idx_train], columns, plan.categorical)
    X_test = to_pandas(frame[idx_test], columns, plan.categorical)
    y_train, y_test = y[idx_train], y[idx_test]

    try:
        from flaml import AutoML

        automl = AutoML()
        flaml_task = "regression" if task == "regression" else "classification"
        t0 = time.monotonic()
        automl.fit(X_train, y_train, task=flaml_task, metric=FLAML_METRIC[metric], time_budget=budget,
                   seed=spec.seed, verbose=0)
        wall = time.monotonic() - t0
        rows.append({"contender": f"FLAML ({automl.best_estimator})", "score": score(task, metric, y_test, automl, X_test),
                     "wall_s": wall})
    except ImportError:
        rows.append({"contender": "FLAML (not installed: pip install -e '.[bench]')", "score": float("nan"), "wall_s": 0.0})

    for label, model in (
        ("LightGBM defaults", lgb.LGBMRegressor(verbose=-1, random_state=spec.seed) if task == "regression"
         else lgb.LGBMClassifier(verbose=-1, random_state=spec.seed)),
        ("HistGradientBoosting defaults", HistGradientBoostingRegressor(random_state=spec.seed) if task == "regression"
         else HistGradientBoostingClassifier(random_state=spec.seed, categorical_features="from_dtype")),
    ):
        t0 = time.monotonic()
        model.fit(X_train, y_train)
        rows.append({"contender": label, "score": score(task, metric, y_test, model, X_test),
                     "wall_s": time.monotonic() - t0})

    wb = rows[0]["score"]
    higher = HIGHER_IS_BETTER[metric]
    for r in rows:
        r.update(task=name, metric=metric, budget_s=budget, rows=frame.height)
        r["ratio"] = (wb / r["score"] if higher else r["score"] / wb) if r["score"] == r["score"] else float("nan")
    rows[0]["over_budget"] = rows[0]["wall_s"] > 1.1 * budget
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", type=float, nargs="+", default=[60, 300])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS)
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")

    from workbench.workspace import Workspace
    from workbench.workspace.create import init_workspace

    all_rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="wb-bench-") as tmp:
        workspace: Workspace = init_workspace(Path(tmp) / "ws", sample=True, name="bench")
        for budget in args.budgets:
            for name in args.tasks:
                rows = run_task(workspace, name, budget)
                all_rows += rows
                print(f"\n{name} ({rows[0]['metric']}, {rows[0]['rows']:,} rows), budget {budget:g} s", flush=True)
                print(f"  {'contender':<40} {'score':>10} {'wall s':>8} {'ratio':>7}")
                for r in rows:
                    flag = "  OVER BUDGET" if r.get("over_budget") else ""
                    print(f"  {r['contender']:<40} {r['score']:>10.4f} {r['wall_s']:>8.1f} {r['ratio']:>7.4f}{flag}",
                          flush=True)
    if args.json:
        args.json.write_text(json.dumps(all_rows, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
