"""The benchmark leaderboard: CV mean ± std of every metric, fit time, latency, size, Pareto front.

One row per model family (its best trial), plus the rows a reader needs to judge the choice: the trial
that became the final model and the defaults baseline, when they are not their family's best. Flags say
which row was saved (`chosen`), which has the best CV mean (`leader`), which is the best finished defaults
(`baseline`) and which are within one standard error of the leader (`tied`); `holdout_<metric>` is a
row's score on the frozen holdout where the run has one (the saved model, and confirmed runner-ups).
"""

from __future__ import annotations

import math
from typing import Any

from workbench.pipeline.metrics import HIGHER_IS_BETTER, TASK_METRICS
from workbench.pipeline.search import Trial

COST_FIELDS = ("fit_time_s", "predict_ms_per_1k", "latency_p50_ms", "latency_p95_ms", "model_size_kb")


def trial_row(trial: Trial, task: str, metric: str | None = None) -> dict[str, Any]:
    """One leaderboard row; metric columns are `<metric>` (CV mean) and `<metric>_std`, and `<metric>_se`
    (standard error of the mean) for the primary `metric`."""
    row: dict[str, Any] = {"model": trial.family, "family": trial.family, "trial": trial.number,
                           "config": "defaults" if trial.is_default else "tuned"}
    if not trial.ok:
        row["error"] = trial.error
        row["params"] = trial.params
        return row
    for name in TASK_METRICS[task]:
        row[name] = round(trial.mean(name), 6)
        row[f"{name}_std"] = round(trial.std(name), 6)
    if metric is not None:
        row[f"{metric}_se"] = round(trial.se(metric), 6)
    if trial.trees is not None:
        row["trees"] = trial.trees
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


def build_leaderboard(rows: list[dict[str, Any]], metric: str, *, chosen: int, leader: int, baseline: int | None,
                      tied: set[int], holdout: dict[int, float] | None = None) -> list[dict[str, Any]]:
    """The run's leaderboard from its ranked trial rows (`rank_rows`) and its choice (trial numbers)."""
    by_trial = {r["trial"]: r for r in rows}
    board = family_bests(rows, metric)
    present = {r["trial"] for r in board}
    for number in (chosen, baseline):
        if number is not None and number not in present and number in by_trial:
            r = by_trial[number]
            what = "defaults" if r["config"] == "defaults" else f"trial {number}"
            board.append({**r, "model": f"{r['model']} ({what})", "trials": None})
            present.add(number)
    order = {r["trial"]: i for i, r in enumerate(rows)}
    board.sort(key=lambda r: order[r["trial"]])
    holdout = holdout or {}
    for r in board:
        n = r["trial"]
        r.update(chosen=n == chosen, leader=n == leader, baseline=n == baseline, tied=n in tied)
        if n in holdout:
            r[f"holdout_{metric}"] = round(holdout[n], 6)
    mark_pareto(board, metric)
    return board


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


def role(row: dict[str, Any]) -> str:
    """A leaderboard row's part in the choice, for a table column: saved / leader / baseline / tied."""
    parts = [name for name, key in (("saved", "chosen"), ("leader", "leader"), ("baseline", "baseline"))
             if row.get(key)]
    if row.get("tied") and not row.get("leader"):
        parts.append("tied")
    return ", ".join(parts)


def _name(row: dict[str, Any]) -> str:
    family = row.get("family", row.get("model"))
    return f"{family} ({'defaults' if row.get('config') == 'defaults' else 'trial ' + str(row.get('trial'))})"


def summary_lines(automl: dict[str, Any], leaderboard: list[dict[str, Any]], metric: str) -> list[str]:
    """Why the saved model is the one saved, in plain lines (the CLI prints them; `--json` has the data):
    the saved model and the rows it saw, the leader when it differs, the defaults baseline, the ties, the
    families tried (trials, seconds) and those never tried with why, runner-ups' holdout scores."""
    best = automl.get("best") or {}
    lines: list[str] = []
    if not best:
        return lines
    scores = automl.get("holdout_scores") or {}
    scope = best.get("final_rows_scope")
    saved = f"Saved: {_name(best)}"
    if best.get("final_rows") is not None:
        saved += f", fitted on {best['final_rows']:,} rows ({scope or 'train'})"
    lines.append(saved)
    if scores:
        held = ", ".join(f"{k}={v:.4f}" for k, v in scores.items())
        twin = best.get("holdout_model_rows")
        if twin is not None and twin != best.get("final_rows"):
            lines.append(f"  holdout ({automl.get('test_rows', 0):,} rows): {held} — scored by the same configuration "
                         f"fitted on {twin:,} training rows only (the saved model has seen the holdout)")
        else:
            lines.append(f"  holdout ({automl.get('test_rows', 0):,} rows): {held}")
    if best.get("why"):
        lines.append(f"  why: {best['why']}")
    if best.get("final_rows_note"):
        lines.append(f"  note: {best['final_rows_note']}")
    if best.get("members"):
        lines.append("  ensemble members: " + ", ".join(f"{m['model']} (trial {m['trial']}) ×{m['weight']:.2f}"
                                                     for m in best["members"]))
    elif best.get("ensemble"):
        lines.append(f"  ensemble: {best['ensemble']}")
    by_trial = {r.get("trial"): r for r in leaderboard}
    selection = best.get("selection") or {}
    leader = by_trial.get(selection.get("leader_trial"))
    if leader is not None and not leader.get("chosen") and metric in leader:
        lines.append(f"  leader by CV: {_name(leader)} {metric}={leader[metric]:.4f}"
                     f" ±{leader.get(metric + '_se', 0.0):.4f} (se)")
    baseline = by_trial.get(selection.get("baseline_trial"))
    if baseline is not None and metric in baseline:
        lines.append(f"  defaults baseline: {_name(baseline)} {metric}={baseline[metric]:.4f}")
    tied = selection.get("tied_trials") or []
    if len(tied) > 1:
        lines.append(f"  within one standard error ({selection.get('leader_se', 0.0):.4f}) of the leader: "
                     f"{len(tied)} trials (trial {', '.join(str(n) for n in tied[:8])}{'…' if len(tied) > 8 else ''})")
    runners = [r for r in leaderboard if not r.get("chosen") and r.get(f"holdout_{metric}") is not None]
    if runners:
        lines.append("  runner-ups on the holdout (confirm-round fits of training rows, for reference): "
                     + ", ".join(f"{_name(r)} {r[f'holdout_{metric}']:.4f}" for r in runners))
    families = automl.get("families") or {}
    tried = [f"{name} {f['trials']} trial{'s' if f['trials'] != 1 else ''} {f['seconds']:.1f} s"
             for name, f in families.items() if f.get("finished")]
    if tried:
        lines.append("  families tried (fit seconds): " + "; ".join(tried))
    for name, f in families.items():
        if f.get("untried"):
            lines.append(f"  never tried: {name}: {f['untried']}")
    timings = automl.get("timings") or {}
    if timings.get("engine_total_s") is not None and automl.get("budget_s"):
        stages = ", ".join(f"{k[:-2].replace('_', ' ')} {v:.1f} s" for k, v in timings.items()
                           if k.endswith("_s") and k != "engine_total_s")
        lines.append(f"  time: {timings['engine_total_s']:.1f} s of the {automl['budget_s']:g} s budget ({stages})")
    return lines
