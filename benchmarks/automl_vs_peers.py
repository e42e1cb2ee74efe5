"""Workbench AutoML vs LightGBM and HistGradientBoosting defaults, FLAML and AutoGluon, on real public tables.

Protocol: for every table (benchmarks/tables.py, provenance in benchmarks/TABLES.md) the rows are validated and
split once with the engine's own functions (`validate`, then `holdout_split`: same seed, same holdout
fraction, stratified for classification), so every contender trains on exactly the engine's training rows, with
the engine's feature columns (datetimes as their calendar parts, text as pandas categoricals), and is scored
on the engine's frozen holdout with `score_predictions` and the table's metric. Workbench, FLAML and AutoGluon
(`medium_quality`) get the same time budget; the defaults get none. Each contender runs in a fresh
subprocess: a crash or a stray thread cannot touch the next one, and its wall time is its own. AutoGluon
pins older pandas/pyarrow than ours, so it runs from a folder of its own (`make bench` installs it in
.venv/autogluon; `--autogluon-path` to point elsewhere).

    python benchmarks/automl_vs_peers.py --budgets 60 [300] [--tables credit ames] [--contenders workbench flaml]
        [--jsonl results.jsonl] [--json out.json]
    python benchmarks/automl_vs_peers.py --report results.jsonl   # print the tables of an earlier (partial) run

Each finished table is appended to the JSON-lines file at once, so a partial run is still useful. "Ratio" is
workbench / peer for higher-is-better metrics and peer / workbench for losses: above 1 means Workbench did
better. The load average (1 min) is recorded before and after each table: the machine may be shared, and that
noise hits every contender of the same table alike.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
CONTENDERS = ("workbench", "lightgbm", "hgb", "flaml", "autogluon")
LABELS = {"workbench": "Workbench", "lightgbm": "LightGBM", "hgb": "HistGB", "flaml": "FLAML", "autogluon": "AutoGluon"}
DEFAULTS = ("lightgbm", "hgb")
BUDGETED = ("workbench", "flaml", "autogluon")
HIGHER_IS_BETTER = {"roc_auc": True, "r2": True, "accuracy": True, "log_loss": False, "rmse": False}
FLAML_METRIC = {"roc_auc": "roc_auc", "log_loss": "log_loss", "r2": "r2", "accuracy": "accuracy", "rmse": "rmse"}
AUTOGLUON_METRIC = {"roc_auc": "roc_auc", "log_loss": "log_loss", "r2": "r2", "accuracy": "accuracy",
                    "rmse": "root_mean_squared_error"}
DEFAULTS_TOLERANCE = 0.005  # Workbench may be at most 0.5 % below the better of the two defaults
BUDGET_SLACK = 1.10  # the whole run ends within the budget + 10 %
TARGET = "__target__"


# ---------------------------------------------------------------------------------------------- the parent


def prepare_table(name: str, budget: float, folder: Path) -> dict[str, Any]:
    """Load, validate and split a table the engine's way; write what the contenders read into `folder`."""
    import polars as pl

    from tables import BY_NAME, load_table, table_spec
    from workbench.pipeline.feature_engineering import prepare_raw
    from workbench.pipeline.splits import holdout_split
    from workbench.pipeline.validation import target_array, validate

    raw = load_table(name)
    spec = table_spec(name, budget)
    frame, report = validate(raw, spec)
    task, metric, plan = report.task.task, report.task.metric, report.plan
    y = target_array(frame, spec.target, task)
    idx_train, idx_test = holdout_split(frame, y, spec, task != "regression")
    features = prepare_raw(frame, plan.numeric, plan.categorical, plan.datetime, plan.datetime_with_time)
    features = features.with_columns(pl.Series(TARGET, y))
    raw.write_parquet(folder / "raw.parquet")
    features[idx_train].write_parquet(folder / "train.parquet")
    features[idx_test].write_parquet(folder / "test.parquet")
    meta = {"table": name, "budget": budget, "task": task, "metric": metric, "seed": spec.seed,
            "categorical": plan.categorical, "rows": frame.height, "train_rows": len(idx_train),
            "test_rows": len(idx_test), "features": len(features.columns) - 1, "has": list(BY_NAME[name].has)}
    (folder / "meta.json").write_text(json.dumps(meta))
    return meta


def run_contender(contender: str, folder: Path, budget: float, autogluon_path: Path) -> dict[str, Any]:
    """One contender in a fresh subprocess; its outcome (wall time, detail or error) as a dict."""
    env = dict(os.environ)
    if contender == "autogluon":
        env["PYTHONPATH"] = os.pathsep.join([str(autogluon_path), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", contender, "--dir", str(folder)]
    timeout = 2 * budget + 300 if contender in BUDGETED else 900
    t0 = time.monotonic()
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"killed after {timeout:.0f} s", "process_s": time.monotonic() - t0}
    process_s = time.monotonic() - t0
    out = folder / f"{contender}.json"
    if proc.returncode != 0 or not out.exists():
        tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
        return {"error": f"exit {proc.returncode}: {tail[-400:]}", "process_s": process_s}
    outcome = json.loads(out.read_text())
    outcome["process_s"] = process_s
    return outcome


def score_contender(contender: str, folder: Path, meta: dict[str, Any], outcome: dict[str, Any]) -> float:
    import numpy as np
    import polars as pl

    from workbench.pipeline.metrics import score_predictions

    if "error" in outcome:
        return float("nan")
    if contender == "workbench":
        return float(outcome["score"])
    y_test = pl.read_parquet(folder / "test.parquet")[TARGET].to_numpy()
    saved = np.load(folder / f"{contender}.npz", allow_pickle=True)
    pred, classes = saved["pred"], None
    if meta["task"] != "regression":  # float32 probabilities (AutoGluon) can miss 1 by a rounding error
        classes = saved["classes"]
        pred = pred / pred.sum(axis=1, keepdims=True)
    return score_predictions(meta["task"], y_test, pred, classes)[meta["metric"]]


def ratio(metric: str, wb: float, peer: float) -> float:
    if wb != wb or peer != peer or wb == 0 or peer == 0:
        return float("nan")
    return wb / peer if HIGHER_IS_BETTER[metric] else peer / wb


def bench_table(name: str, budget: float, contenders: list[str], autogluon_path: Path) -> dict[str, Any]:
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix=f"wb-bench-{name}-") as tmp:
        folder = Path(tmp)
        meta = prepare_table(name, budget, folder)
        scores, wall, detail, errors, process = {}, {}, {}, {}, {}
        timings: dict[str, float] = {}
        for contender in contenders:
            outcome = run_contender(contender, folder, budget, autogluon_path)
            scores[contender] = score_contender(contender, folder, meta, outcome)
            wall[contender] = outcome.get("wall_s")
            process[contender] = round(outcome["process_s"], 2)
            if outcome.get("detail"):
                detail[contender] = outcome["detail"]
            if "error" in outcome:
                errors[contender] = outcome["error"]
            if outcome.get("timings"):
                timings = outcome["timings"]  # Workbench's stages: where an overrun went
    row = {**meta, "scores": scores, "wall_s": wall, "process_s": process, "detail": detail, "errors": errors,
           "workbench_timings": timings,
           "load_before": [round(v, 2) for v in load_before], "load_after": [round(v, 2) for v in os.getloadavg()],
           "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    return row


# ------------------------------------------------------------------------------------------------ reporting


def verdicts(row: dict[str, Any]) -> dict[str, Any]:
    """Per table: the ratios and which of the issue's conditions hold (None where a contender did not run)."""
    s, metric = row["scores"], row["metric"]
    wb = s.get("workbench", float("nan"))
    defaults = [s[c] for c in DEFAULTS if c in s and s[c] == s[c]]
    best_default = (max(defaults) if HIGHER_IS_BETTER[metric] else min(defaults)) if defaults else float("nan")
    r_def, r_flaml, r_ag = ratio(metric, wb, best_default), ratio(metric, wb, s.get("flaml", float("nan"))), \
        ratio(metric, wb, s.get("autogluon", float("nan")))
    wall = row["wall_s"].get("workbench")
    if "workbench" in row["errors"]:  # a failed run fails every condition it was meant to meet
        ran = lambda c: c in s and s[c] == s[c]  # noqa: E731
        return {"vs_defaults": r_def, "vs_flaml": r_flaml, "vs_autogluon": r_ag,
                "defaults_ok": False if defaults else None, "flaml_ok": False if ran("flaml") else None,
                "autogluon": "AutoGluon" if ran("autogluon") else None, "in_budget": False}
    return {
        "vs_defaults": r_def, "vs_flaml": r_flaml, "vs_autogluon": r_ag,
        "defaults_ok": None if r_def != r_def else r_def >= 1 - DEFAULTS_TOLERANCE,
        "flaml_ok": None if r_flaml != r_flaml else r_flaml >= 1,
        "autogluon": None if r_ag != r_ag else ("Workbench" if r_ag > 1 else "AutoGluon" if r_ag < 1 else "tie"),
        "in_budget": None if wall is None else wall <= BUDGET_SLACK * row["budget"],
    }


def _fmt(v: Any, width: int, digits: int = 4) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return f"{'-':>{width}}"
    return f"{v:>{width}.{digits}f}"


def print_budget(rows: list[dict[str, Any]], budget: float, contenders: list[str]) -> dict[str, Any]:
    """One table for one budget: scores, ratios, Workbench's wall time, then the wins summary."""
    print(f"\n## Budget {budget:g} s: {len(rows)} tables "
          f"(load average, 1 min, before/after each table: "
          f"{min(r['load_before'][0] for r in rows):.1f}-{max(r['load_after'][0] for r in rows):.1f})\n")
    head = f"{'table':<18} {'metric':<8} {'rows':>7} " + " ".join(f"{LABELS[c]:>9}" for c in contenders) + \
        f" {'wb/deflt':>8} {'wb/flaml':>8} {'wb/ag':>7} {'wb s':>6} {'fl s':>6} {'ag s':>6} {'load':>9}"
    print(head)
    print("-" * len(head))
    summary = {"tables": len(rows), "defaults_ok": [], "defaults_fail": [], "flaml_ok": [], "flaml_fail": [],
               "workbench_wins": [], "autogluon_wins": [], "in_budget": [], "over_budget": [], "errors": {}}
    for r in rows:
        v = verdicts(r)
        wall = r["wall_s"].get("workbench")
        flag = "" if v["in_budget"] in (True, None) else " OVER"
        print(f"{r['table']:<18} {r['metric']:<8} {r['rows']:>7,} "
              + " ".join(_fmt(r["scores"].get(c), 9) for c in contenders)
              + f" {_fmt(v['vs_defaults'], 8)} {_fmt(v['vs_flaml'], 8)} {_fmt(v['vs_autogluon'], 7)}"
              + f" {_fmt(wall, 6, 1)} {_fmt(r['wall_s'].get('flaml'), 6, 1)} {_fmt(r['wall_s'].get('autogluon'), 6, 1)}"
              + f" {r['load_before'][0]:>4.1f}/{r['load_after'][0]:<4.1f}{flag}")
        for key, ok, fail in (("defaults_ok", "defaults_ok", "defaults_fail"), ("flaml_ok", "flaml_ok", "flaml_fail"),
                              ("in_budget", "in_budget", "over_budget")):
            if v[key] is not None:
                summary[ok if v[key] else fail].append(r["table"])
        if v["autogluon"] == "Workbench":
            summary["workbench_wins"].append(r["table"])
        elif v["autogluon"] == "AutoGluon":
            summary["autogluon_wins"].append(r["table"])
        if r["errors"]:
            summary["errors"][r["table"]] = r["errors"]

    def count(ok: str, fail: str) -> str:
        n = len(summary[ok]) + len(summary[fail])
        pct = f" ({100 * len(summary[ok]) / n:.0f} %)" if n else ""
        return f"{len(summary[ok])}/{n}{pct}" + (f"; not on: {', '.join(summary[fail])}" if summary[fail] else "")

    print(f"\nWithin 0.5 % of the better default (every table): {count('defaults_ok', 'defaults_fail')}")
    print(f"At or above FLAML (at least 75 % of tables):       {count('flaml_ok', 'flaml_fail')}")
    print(f"Within budget + 10 % (every table):                {count('in_budget', 'over_budget')}")
    print(f"Workbench vs AutoGluon medium_quality:             Workbench wins {len(summary['workbench_wins'])} "
          f"({', '.join(summary['workbench_wins']) or '-'}); AutoGluon wins {len(summary['autogluon_wins'])} "
          f"({', '.join(summary['autogluon_wins']) or '-'})")
    for table, errs in summary["errors"].items():
        for contender, err in errs.items():
            print(f"  {table}: {LABELS[contender]} failed: {err}")
    details = [f"{r['table']}: {r['detail'].get('workbench', '?')}" for r in rows if "workbench" in r["detail"]]
    if details:
        print("Workbench's chosen model: " + "; ".join(details))
    return summary


def print_budgets_compared(rows: list[dict[str, Any]], low: float, high: float) -> None:
    """Per table, Workbench at the smaller budget vs the larger: more budget should never be worse beyond noise."""
    by = {(r["table"], r["budget"]): r for r in rows}
    tables = [t for t in dict.fromkeys(r["table"] for r in rows) if (t, low) in by and (t, high) in by]
    if not tables:
        return
    print(f"\n## Workbench at {low:g} s vs {high:g} s\n")
    print(f"{'table':<18} {'metric':<8} {f'{low:g} s':>9} {f'{high:g} s':>9} {'ratio':>7}")
    worse = []
    for t in tables:
        a, b = by[(t, low)], by[(t, high)]
        sa, sb = a["scores"].get("workbench"), b["scores"].get("workbench")
        r = ratio(a["metric"], sb, sa)
        if r == r and r < 1 - DEFAULTS_TOLERANCE:
            worse.append(t)
        print(f"{t:<18} {a['metric']:<8} {_fmt(sa, 9)} {_fmt(sb, 9)} {_fmt(r, 7)}")
    print(f"\nMore budget worse by more than 0.5 %: {', '.join(worse) if worse else 'none'}")


def report(rows: list[dict[str, Any]], contenders: list[str] | None = None) -> None:
    contenders = contenders or [c for c in CONTENDERS if any(c in r["scores"] for r in rows)]
    budgets = sorted({r["budget"] for r in rows})
    for b in budgets:
        print_budget([r for r in rows if r["budget"] == b], b, contenders)
    for low, high in zip(budgets, budgets[1:]):
        print_budgets_compared(rows, low, high)


# ------------------------------------------------------------------------------------------------ the workers


def _pandas_frames(folder: Path) -> tuple[Any, Any, dict[str, Any]]:
    """Train and test as pandas, text columns as categoricals sharing the training rows' categories."""
    import pandas as pd

    meta = json.loads((folder / "meta.json").read_text())
    train = pd.read_parquet(folder / "train.parquet")
    test = pd.read_parquet(folder / "test.parquet")
    for c in meta["categorical"]:
        train[c] = train[c].astype("category")
        test[c] = pd.Categorical(test[c], categories=train[c].cat.categories)
    return train, test, meta


def _save(folder: Path, contender: str, pred: Any, classes: Any, wall: float, detail: str = "") -> None:
    import numpy as np

    np.savez(folder / f"{contender}.npz", pred=np.asarray(pred, dtype=float),
             classes=np.asarray(classes if classes is not None else [], dtype=object))
    (folder / f"{contender}.json").write_text(json.dumps({"wall_s": round(wall, 2), "detail": detail}))


def worker_workbench(folder: Path) -> None:
    import numpy as np
    import polars as pl

    from tables import table_spec
    from workbench.backends.local import LocalCompute
    from workbench.pipeline.engine import run_automl

    meta = json.loads((folder / "meta.json").read_text())
    raw = pl.read_parquet(folder / "raw.parquet")
    spec = table_spec(meta["table"], meta["budget"], meta["seed"])
    t0 = time.monotonic()
    with LocalCompute() as backend:
        result = run_automl(raw, spec, backend=backend, started_at=t0)
    wall = time.monotonic() - t0
    y_test = pl.read_parquet(folder / "test.parquet")[TARGET].to_numpy()
    holdout = result.holdout[spec.target].to_numpy()
    if not np.array_equal(np.sort(holdout.astype(str)), np.sort(y_test.astype(str))):
        raise SystemExit("the engine's holdout differs from the benchmark's split")
    (folder / "workbench.json").write_text(json.dumps({
        "wall_s": round(wall, 2), "score": result.holdout_scores[meta["metric"]],
        "detail": f"{result.best_model}, {len(result.trials)} trials, stop: {result.stop_reason}",
        "timings": {k: round(v, 2) for k, v in result.timings.items()}}))


def worker_defaults(folder: Path, contender: str) -> None:
    train, test, meta = _pandas_frames(folder)
    X, y, X_test = train.drop(columns=[TARGET]), train[TARGET].to_numpy(), test.drop(columns=[TARGET])
    regression = meta["task"] == "regression"
    if contender == "lightgbm":
        import lightgbm as lgb

        model = (lgb.LGBMRegressor if regression else lgb.LGBMClassifier)(verbose=-1, random_state=meta["seed"])
    else:
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        # HistGB refuses a categorical of more than 255 categories (nyc_flights' tailnum): give it their codes.
        for c in meta["categorical"]:
            if len(X[c].cat.categories) > 255:
                X[c], X_test[c] = (X[c].cat.codes.replace(-1, float("nan")).astype(float),
                                   X_test[c].cat.codes.replace(-1, float("nan")).astype(float))
        model = (HistGradientBoostingRegressor if regression else HistGradientBoostingClassifier)(
            categorical_features="from_dtype", random_state=meta["seed"])
    t0 = time.monotonic()
    model.fit(X, y)
    pred = model.predict(X_test) if regression else model.predict_proba(X_test)
    _save(folder, contender, pred, None if regression else model.classes_, time.monotonic() - t0)


def worker_flaml(folder: Path) -> None:
    from flaml import AutoML

    train, test, meta = _pandas_frames(folder)
    X, y, X_test = train.drop(columns=[TARGET]), train[TARGET].to_numpy(), test.drop(columns=[TARGET])
    regression = meta["task"] == "regression"
    automl = AutoML()
    t0 = time.monotonic()
    automl.fit(X, y, task="regression" if regression else "classification", metric=FLAML_METRIC[meta["metric"]],
               time_budget=meta["budget"], seed=meta["seed"], verbose=0)
    pred = automl.predict(X_test) if regression else automl.predict_proba(X_test)
    _save(folder, "flaml", pred, None if regression else automl.classes_, time.monotonic() - t0,
          str(automl.best_estimator))


def worker_autogluon(folder: Path) -> None:
    import numpy as np
    from autogluon.tabular import TabularPredictor

    train, test, meta = _pandas_frames(folder)
    regression = meta["task"] == "regression"
    t0 = time.monotonic()
    predictor = TabularPredictor(label=TARGET, problem_type=meta["task"], eval_metric=AUTOGLUON_METRIC[meta["metric"]],
                                 path=str(folder / "autogluon_models"), verbosity=0)
    predictor.fit(train, time_limit=meta["budget"], presets="medium_quality")
    X_test = test.drop(columns=[TARGET])
    if regression:
        pred, classes = predictor.predict(X_test).to_numpy(), None
    else:
        classes = np.array(sorted(train[TARGET].unique()), dtype=object)
        proba = predictor.predict_proba(X_test, as_multiclass=True)
        pred = proba[list(classes)].to_numpy()
    _save(folder, "autogluon", pred, classes, time.monotonic() - t0, str(predictor.model_best))


def worker(contender: str, folder: Path) -> int:
    import warnings

    warnings.filterwarnings("ignore")
    sys.path.insert(0, str(HERE))  # tables.py
    if contender == "workbench":
        worker_workbench(folder)
    elif contender in DEFAULTS:
        worker_defaults(folder, contender)
    elif contender == "flaml":
        worker_flaml(folder)
    else:
        worker_autogluon(folder)
    return 0


# ------------------------------------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(HERE))
    from tables import BY_NAME, TABLES

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", type=float, nargs="+", default=[60, 300])
    parser.add_argument("--tables", nargs="+", default=[t.name for t in TABLES], choices=list(BY_NAME))
    parser.add_argument("--contenders", nargs="+", default=list(CONTENDERS), choices=CONTENDERS)
    parser.add_argument("--jsonl", type=Path, help="append each finished table to this JSON-lines file")
    parser.add_argument("--json", type=Path, help="also write every row as one JSON list here")
    parser.add_argument("--autogluon-path", type=Path, default=Path(sys.prefix) / "autogluon",
                        help="folder AutoGluon was installed into with pip --target (default: <venv>/autogluon)")
    parser.add_argument("--report", type=Path, help="print the tables of an earlier run's JSON-lines file and stop")
    parser.add_argument("--worker", choices=CONTENDERS, help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.worker, args.dir)
    if args.report:
        rows = [json.loads(line) for line in args.report.read_text().splitlines() if line.strip()]
        report(rows)
        return 0
    if "autogluon" in args.contenders and not (args.autogluon_path / "autogluon").exists():
        print(f"AutoGluon is not installed in {args.autogluon_path} (make bench installs it); skipping it.",
              file=sys.stderr)
        args.contenders.remove("autogluon")

    rows: list[dict[str, Any]] = []
    for budget in args.budgets:
        for name in args.tables:
            row = bench_table(name, budget, args.contenders, args.autogluon_path)
            rows.append(row)
            if args.jsonl:
                with args.jsonl.open("a") as fh:
                    fh.write(json.dumps(row, default=str) + "\n")
            scores = ", ".join(f"{LABELS[c]} {row['scores'][c]:.4f}" for c in args.contenders)
            print(f"[{row['finished_at']}] {name} @ {budget:g} s ({row['metric']}): {scores}; "
                  f"Workbench {row['wall_s'].get('workbench')} s; load {row['load_before'][0]:.1f}"
                  f"->{row['load_after'][0]:.1f}" + (f"; errors: {row['errors']}" if row["errors"] else ""),
                  flush=True)
    report(rows, args.contenders)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
