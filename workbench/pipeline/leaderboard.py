"""The benchmark leaderboard: CV mean ± std of every metric, fit time, latency, size, Pareto front."""

from __future__ import annotations

import math
from typing import Any

from workbench.pipeline.metrics import HIGHER_IS_BETTER, TASK_METRICS
from workbench.pipeline.search import Trial

COST_FIELDS = ("fit_time_s", "predict_ms_per_1k", "latency_p50_ms", "latency_p95_ms", "model_size_kb")


def trial_row(trial: Trial, task: str) -> dict[str, Any]:
    """One leaderboard row; metric columns are `<metric>` (CV mean) and `<metric>_std`."""
    row: dict[str, Any] = {"model": trial.family, "trial": trial.number,
                           "config": "defaults" if trial.is_default else "tuned"}
    if not trial.ok:
        row["error"] = trial.error
        row["params"] = trial.params
        return row
    for metric in TASK_METRICS[task]:
        row[metric] = round(trial.mean(metric), 6)
        row[f"{metric}_std"] = round(trial.std(metric), 6)
    folds = trial.fold_results
    row["fit_time_s"] = round(sum(r["fit_time_s"] for r in folds) / len(folds), 4)
    for key in ("predict_ms_per_1k", "latency_p50_ms", "latency_p95_ms", "model_size_kb"):
        value = trial.cost(key)
        row[key] = round(value, 4) if value is not None else None
    row["params"] = trial.params
    return row


def rank_rows(rows: list[dict[str, Any]], metric: str) -> list[dict[str, Any]]:
    """Best first by the primary metric (ties: faster fit); failed trials last. Marks the Pareto front."""
    ok = [r for r in rows if metric in r and not _nan(r[metric])]
    failed = [r for r in rows if r not in ok]
    sign = -1 if HIGHER_IS_BETTER[metric] else 1
    ok.sort(key=lambda r: (sign * r[metric], r["fit_time_s"]))
    mark_pareto(ok, metric)
    for r in failed:
        r["pareto"] = False
    return ok + failed


def family_bests(rows: list[dict[str, Any]], metric: str) -> list[dict[str, Any]]:
    """The best configuration of each family (rows already ranked), with how many trials it had."""
    out: dict[str, dict[str, Any]] = {}
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["model"]] = counts.get(r["model"], 0) + 1
        if r["model"] not in out and metric in r and not _nan(r[metric]):
            out[r["model"]] = r
    best = [{**r, "trials": counts[r["model"]]} for r in out.values()]
    mark_pareto(best, metric)
    return best


def mark_pareto(rows: list[dict[str, Any]], metric: str) -> None:
    """Pareto front of accuracy (primary metric) against batch latency (predict ms per 1,000 rows)."""
    higher = HIGHER_IS_BETTER[metric]
    for r in rows:
        r["pareto"] = not any(_dominates(o, r, metric, higher) for o in rows if o is not r)


def _dominates(a: dict[str, Any], b: dict[str, Any], metric: str, higher: bool) -> bool:
    sa, sb = (a[metric], b[metric]) if higher else (-a[metric], -b[metric])
    la, lb = a.get("predict_ms_per_1k") or 0.0, b.get("predict_ms_per_1k") or 0.0
    return sa >= sb and la <= lb and (sa > sb or la < lb)


def _nan(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
