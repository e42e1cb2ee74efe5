"""Promotion evidence: candidate and current holder scored on the same frozen rows with the same metric,
how fresh each one's training data is, and what changed between their specs."""

from __future__ import annotations

from typing import Any

from workbench.errors import BadInputError, LakeError
from workbench.registry.artifacts import load_holdout, load_holdout_model, load_model
from workbench.registry.scoring import HIGHER_IS_BETTER, better, score_metric
from workbench.workspace import Workspace


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    return {prefix.rstrip("."): value}


def spec_diff(old: dict[str, Any] | None, new: dict[str, Any]) -> list[dict[str, Any]]:
    """Keys whose values differ between two specs (dotted paths), ignoring where the spec file lived."""
    a = {k: v for k, v in _flatten(old or {}).items() if k != "source_path"}
    b = {k: v for k, v in _flatten(new).items() if k != "source_path"}
    return [{"key": k, "current": a.get(k), "candidate": b.get(k)} for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def _score(model: Any, frame: Any, version: dict[str, Any], metric: str) -> tuple[float | None, str | None]:
    try:
        return score_metric(model, frame, version["target"], version["task"], metric), None
    except Exception as exc:  # e.g. the rows hold a class one model never saw: evidence says so, not a crash
        return None, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


def freshness(workspace: Workspace, versions: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """For each role: the data it trained on, and whether its lake table has a newer version now."""
    from workbench.lake.catalog import latest_version
    from workbench.lake.engine import open_lake

    out: dict[str, Any] = {}
    with open_lake(workspace, read_only=True) as lake:
        for role, v in versions.items():
            entry = {"data_source": v["data_source"], "data_version": v["data_version"], "fingerprint": v["fingerprint"],
                     "trained_at": v["trained_at"], "table": v["data_table"]}
            if v["data_table"]:
                try:
                    latest = latest_version(lake, v["data_table"])
                except LakeError:
                    latest = None
                entry["latest_version"] = latest.version if latest else None
                entry["latest_at"] = latest.created_at if latest else None
                entry["on_latest_data"] = bool(latest and latest.fingerprint == v["fingerprint"])
            out[role] = entry
    return out


def compute_evidence(workspace: Workspace, candidate: dict[str, Any], current: dict[str, Any] | None) -> dict[str, Any]:
    """Evidence for moving an alias from `current` (None if unheld) to `candidate`."""
    metric = candidate["metric"]
    if current is not None and (current["target"], current["task"]) != (candidate["target"], candidate["task"]):
        raise BadInputError(
            f"{candidate['model']}:{candidate['version']} predicts {candidate['target']!r} ({candidate['task']}) but "
            f"version {current['version']} predicts {current['target']!r} ({current['task']}); they cannot be compared."
        )
    versions = {"candidate": candidate, **({"current": current} if current is not None else {})}
    models = {role: load_model(workspace, v) for role, v in versions.items()}
    # Primary evidence: the candidate's frozen holdout; also the current holder's, when it is other rows.
    holdouts = [("candidate", candidate)]
    if current is not None and current["holdout_sha256"] != candidate["holdout_sha256"]:
        holdouts.append(("current", current))
    comparisons = []
    for owner, v in holdouts:
        frame = load_holdout(workspace, v)
        entry: dict[str, Any] = {"holdout_of": owner, "version": v["version"], "run_id": v["run_id"],
                                 "path": v["holdout_path"], "sha256": v["holdout_sha256"], "rows": frame.height,
                                 "metric": metric}
        for role, model in models.items():
            if versions[role]["holdout_sha256"] == v["holdout_sha256"]:
                # Its own holdout: scored by a model that never saw those rows (see load_holdout_model).
                model, which = load_holdout_model(workspace, versions[role])
                entry[f"{role}_model"] = which
            score, error = _score(model, frame, candidate, metric)
            entry[role] = score
            if error:
                entry[f"{role}_error"] = error
        comparisons.append(entry)
    primary = comparisons[0]
    if current is None:
        verdict = "no current holder"
    else:
        verdict = {1: "candidate better", -1: "current better", 0: "tie or not comparable"}[
            better(metric, primary.get("candidate"), primary.get("current"))]
    roles = {"candidate": candidate, **({"current": current} if current is not None else {})}
    return {
        "metric": metric,
        "higher_is_better": HIGHER_IS_BETTER.get(metric, True),
        "candidate": {"model": candidate["model"], "version": candidate["version"], "run_id": candidate["run_id"],
                      "recorded_score": candidate["score"]},
        "current": None if current is None else {"model": current["model"], "version": current["version"],
                                                 "run_id": current["run_id"], "recorded_score": current["score"]},
        "comparisons": comparisons,
        "verdict": verdict,
        "freshness": freshness(workspace, roles),
        "spec_diff": spec_diff(current["spec"] if current else None, candidate["spec"]) if current else [],
    }


def _fmt(value: Any) -> str:
    return "n/a" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)


def evidence_lines(evidence: dict[str, Any]) -> list[str]:
    """The evidence as plain text lines (the CLI prints them; the TUI shows them before approval)."""
    cand, cur = evidence["candidate"], evidence.get("current")
    direction = "higher" if evidence.get("higher_is_better") else "lower"
    lines = [f"candidate v{cand['version']} (run {cand['run_id']})"
             + (f" vs current v{cur['version']} (run {cur['run_id']})" if cur else " — the alias is not held yet"),
             f"metric {evidence['metric']} ({direction} is better); verdict: {evidence['verdict']}"]
    for c in evidence["comparisons"]:
        line = (f"  on v{c['version']}'s frozen holdout ({c['rows']} rows, sha256 {c['sha256'][:12]}): "
                f"candidate {_fmt(c.get('candidate'))}")
        if cur:
            line += f", current {_fmt(c.get('current'))}"
        lines.append(line)
        for role in ("candidate", "current"):
            if c.get(f"{role}_model") and c[f"{role}_model"] != "the registered artifact":
                lines.append(f"    {role} scored by {c[f'{role}_model']} (its artifact was refitted on these rows too)")
            if c.get(f"{role}_error"):
                lines.append(f"    {role} could not be scored: {c[f'{role}_error']}")
    for role, f in evidence.get("freshness", {}).items():
        text = f"  {role} data: {f['data_source']} trained {str(f.get('trained_at') or '')[:19]}"
        if f.get("table"):
            text += (" — latest data" if f.get("on_latest_data")
                     else f" — table now at v{f.get('latest_version')} ({str(f.get('latest_at') or '')[:19]})")
        lines.append(text)
    diff = evidence.get("spec_diff") or []
    if cur:
        lines.append("  spec changes: " + ("none" if not diff else ""))
        lines += [f"    {d['key']}: {d['current']!r} → {d['candidate']!r}" for d in diff]
    return lines
