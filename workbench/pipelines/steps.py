"""What each kind of pipeline step does. Each calls the same core function as its CLI command (so roles,
slots and audit events are those of a person running it) and returns a small JSON-able result; a step that
cannot do its job raises `StepFailed` (or the core's own `WorkbenchError`) with one sentence."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from workbench.errors import WorkbenchError
from workbench.pipelines.spec import Pipeline, Step
from workbench.workspace import Workspace


class StepFailed(WorkbenchError):
    title = "Pipeline step failed"


@dataclass
class StepContext:
    """What earlier steps of the same pipeline run hand to later ones."""

    pipeline: Pipeline
    now: datetime
    model: str | None = None
    version: int | None = None  # the version the last train step registered
    alerts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def via(self) -> str:
        return f"pipeline:{self.pipeline.name}"


def _partner(module: str, function: str) -> Callable[..., Any]:
    """A function of the sources/checks packages, imported when a step needs it (one sentence if absent)."""
    try:
        return getattr(importlib.import_module(module), function)
    except (ImportError, AttributeError):
        raise StepFailed(f"This Workbench has no {module}.{function}, so the step cannot run.") from None


def _plain(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool, type(None))) else str(value)


def run_refresh(ws: Workspace, step: Step, ctx: StepContext) -> dict[str, Any]:
    """Refresh a source on the pipeline's clock; a new version that fails its checks fails the step (as
    `workbench sources refresh` exits 1), so nothing after it works on uncertified data."""
    outcome = _partner("workbench.sources.refresh", "refresh_source")(ws, step.options["source"], now=ctx.now,
                                                                       via=ctx.via)
    checks = getattr(outcome, "checks", None)
    result = {"source": step.options["source"], "changed": bool(outcome.changed), "table": outcome.table,
              "version": outcome.version, "certified": bool(checks.certified) if checks is not None else None}
    if checks is not None and not checks.passed:
        raise StepFailed(f"Source {step.options['source']} wrote {outcome.table} v{outcome.version}, which failed "
                         f"its checks: {_shown(checks.failures)}.")
    return result


def _shown(failures: list[Any]) -> str:
    """The first failures as one clause (each is a sentence: its full stop is dropped, the caller adds one)."""
    return "; ".join(str(f).rstrip(".") for f in failures[:3]) or "no detail"


def run_check(ws: Workspace, step: Step, ctx: StepContext) -> dict[str, Any]:
    outcome = _partner("workbench.checks.run", "check_table")(ws, step.options["table"], now=ctx.now,
                                                              trigger=ctx.via)
    result = {"table": outcome.table, "version": outcome.version, "passed": bool(outcome.passed),
              "certified": bool(outcome.certified), "failures": [_plain(f) for f in outcome.failures]}
    if not outcome.passed:
        raise StepFailed(f"Table {outcome.table} v{outcome.version} failed its checks: {_shown(outcome.failures)}.")
    return result


def run_train(ws: Workspace, step: Step, ctx: StepContext) -> dict[str, Any]:
    """The spec through the run engine (as `workbench batch`), registered, and given the challenger alias."""
    from workbench.pipeline.spec import load_spec
    from workbench.registry.promotion import set_alias
    from workbench.registry.refs import ModelRef
    from workbench.registry.register import register_run
    from workbench.runs.engine import run_foreground

    spec = load_spec(ws.root / step.options["spec"], ws.settings.default_holdout, ws.settings.default_backend)
    result = run_foreground(ws, spec)
    model, alias = step.options["model"], step.options.get("alias", "challenger")
    version = register_run(ws, result.run_id, name=model)
    set_alias(ws, ModelRef(model, version=version["version"]), alias,
              f"{ctx.via}: trained by run {result.run_id}")
    ctx.model, ctx.version = model, version["version"]
    return {"run_id": result.run_id, "model": model, "version": version["version"], "alias": alias,
            "metric": result.metric, "best_score": result.best_score}


def challenger_wins(metric: str, challenger: float | None, champion: float | None, margin: float) -> bool:
    """True when the challenger beats the champion by more than `margin` (metric units, either direction)."""
    from workbench.registry.scoring import HIGHER_IS_BETTER

    if challenger is None or champion is None:
        return False
    gain = challenger - champion if HIGHER_IS_BETTER.get(metric, True) else champion - challenger
    return gain > margin


def run_evaluate(ws: Workspace, step: Step, ctx: StepContext) -> dict[str, Any]:
    """Challenger vs champion on the challenger's frozen holdout; a win by the policy's margin opens a
    promotion request (requested by this login, `via` the pipeline; an approver must still decide)."""
    from workbench.registry.evaluate import evaluate_model
    from workbench.registry.policy import load_policy
    from workbench.registry.promotion import request_promotion
    from workbench.registry.refs import ModelRef, parse_ref
    from workbench.registry.store import RegistryStore

    model = parse_ref(step.options["model"]).model if "model" in step.options else ctx.model
    if model is None:
        raise StepFailed(f"Step evaluate of {ctx.pipeline.name} names no model and follows no train step.")
    alias = step.options.get("alias", "challenger")
    with RegistryStore.open(ws) as store:
        held = store.aliases(model)
    version = ctx.version if ctx.model == model and ctx.version else (held[alias]["version"] if alias in held else None)
    if version is None:
        raise StepFailed(f"Model {model!r} has no {alias} to evaluate.")
    champion = held["champion"]["version"] if "champion" in held else None
    evaluation = evaluate_model(ws, model, challengers=True, holdout_of=version)
    scores = {r["version"]: r["score"] for r in evaluation["results"]}
    policy = load_policy(ws)
    metric = evaluation["metric"]
    wins = champion is None or (champion != version and challenger_wins(
        metric, scores.get(version), scores.get(champion), policy.challenger_margin))
    result: dict[str, Any] = {"model": model, "challenger": version, "champion": champion, "metric": metric,
                              "challenger_score": scores.get(version), "champion_score": scores.get(champion),
                              "margin": policy.challenger_margin, "wins": wins, "evaluation": evaluation["id"],
                              "rows": evaluation["row_count"], "request": None}
    if wins and step.options.get("promote", True):
        if champion is None:
            reason = f"{ctx.via}: v{version} and no champion yet"
        else:
            reason = (f"{ctx.via}: v{version} beats champion v{champion} on v{version}'s frozen holdout "
                      f"({metric} {scores[version]:.4f} vs {scores[champion]:.4f}, margin {policy.challenger_margin:g})")
        request = request_promotion(ws, ModelRef(model, version=version), "champion", reason, via=ctx.via)
        result["request"] = request["id"]
    return result


def run_score(ws: Workspace, step: Step, ctx: StepContext) -> dict[str, Any]:
    """Score a table with a model version; drift past the policy's thresholds is an alert (the step succeeds)."""
    from workbench.alerts.notify import notify
    from workbench.registry.predict import predict
    from workbench.registry.refs import ModelRef, parse_ref

    ref = parse_ref(step.options["model"]) if "model" in step.options else None
    if ref is None:
        if ctx.model is None:
            raise StepFailed(f"Step score of {ctx.pipeline.name} names no model and follows no train step.")
        ref = ModelRef(ctx.model, alias="champion")
    elif ref.version is None and ref.alias is None:
        ref = ModelRef(ref.model, alias="champion")
    scored = predict(ws, ref, into=step.options["into"], table=step.options["table"], replace=True)
    drifted = [d.feature for d in scored.drifted]
    if drifted:
        outcome = notify(ws, f"drift:{scored.model}:{step.options['table']}",
                         f"Drift in {step.options['table']} scored by {scored.model}:{scored.version}",
                         {"pipeline": ctx.pipeline.name, "features": drifted, "into": scored.into}, now=ctx.now)
        ctx.alerts.append({"condition": outcome.condition_key, "status": outcome.status})
    return {"model": scored.model, "version": scored.version, "into": scored.into, "rows": scored.rows,
            "table_version": scored.table_version, "drifted": drifted}


def run_governance(ws: Workspace, step: Step, ctx: StepContext) -> dict[str, Any]:
    from workbench.alerts.notify import notify
    from workbench.governance.report import governance_report

    report = governance_report(ws, now=ctx.now)
    if report.all_violations:
        outcome = notify(ws, "governance:violations", f"Governance policy violated in {ws.settings.name}",
                         {"violations": report.all_violations[:20], "pipeline": ctx.pipeline.name}, now=ctx.now)
        ctx.alerts.append({"condition": outcome.condition_key, "status": outcome.status})
        raise StepFailed(f"The governance report found {len(report.all_violations)} violation(s): "
                         f"{report.all_violations[0]}.")
    return {"violations": 0, "models": len(report.models)}


def run_noop(ws: Workspace, step: Step, ctx: StepContext) -> dict[str, Any]:
    return {}


STEP_RUNNERS: dict[str, Callable[[Workspace, Step, StepContext], dict[str, Any]]] = {
    "refresh": run_refresh, "check": run_check, "train": run_train, "evaluate": run_evaluate, "score": run_score,
    "governance": run_governance, "noop": run_noop,
}
