"""`models evaluate NAME --challengers`: score the champion and its challengers on the same fresh rows and
record the comparison (the governance report reads the newest one)."""

from __future__ import annotations

from typing import Any

from workbench.audit.log import utc_now
from workbench.errors import BadInputError
from workbench.registry.artifacts import load_model
from workbench.registry.inputs import check_columns, read_rows
from workbench.registry.refs import check_model_name
from workbench.registry.scoring import better, score_metric
from workbench.registry.store import RegistryStore
from workbench.registry.trail import record_event
from workbench.workspace import Workspace


def is_challenger_alias(alias: str) -> bool:
    """`challenger`, and numbered or named ones such as `challenger-2` or `challenger_lgbm`."""
    return alias == "challenger" or alias.startswith(("challenger-", "challenger_"))


def _holdout_rows(workspace: Workspace, version: dict[str, Any]) -> Any:
    """A version's frozen holdout (hash-checked) in the shape `read_rows` returns."""
    from workbench.pipeline.data import LoadedData
    from workbench.registry.artifacts import load_holdout

    frame = load_holdout(workspace, version)
    return LoadedData(frame=frame, source=f"holdout of {version['model']}:{version['version']}", version=None,
                      fingerprint=version["holdout_sha256"], row_count=frame.height)


def evaluate_model(workspace: Workspace, model: str, *, challengers: bool = True, table: str | None = None,
                   query: str | None = None, holdout_of: int | None = None) -> dict[str, Any]:
    """Score the champion (and challengers) on the latest version of the champion's training table, or on
    the given `table`/`query`, or on version `holdout_of`'s frozen holdout rows (a pipeline's challenger:
    rows no compared version trained on); store and return the comparison.

    Fresh rows may include rows some versions trained on: the result ranks the versions against each
    other on identical rows; it is not a substitute for their holdout scores.
    """
    from workbench.access.actions import require_role

    require_role(workspace, "contributor", "Evaluating a model")
    check_model_name(model)
    with RegistryStore.open(workspace) as store:
        versions = {v["version"]: v for v in store.versions(model)}
        if not versions:
            raise BadInputError(f"No registered model {model!r} (models: {', '.join(store.model_names()) or 'none yet'}).")
        held = store.aliases(model)
    roles: dict[int, list[str]] = {}
    for alias, event in held.items():
        if alias == "champion" or (challengers and is_challenger_alias(alias)):
            roles.setdefault(event["version"], []).append(alias)
    if not roles:
        wanted = "a champion or challenger" if challengers else "a champion"
        raise BadInputError(f"Model {model!r} has no version holding {wanted}; set aliases first.")
    champion = held.get("champion")
    champion_version = champion["version"] if champion else None
    anchor = versions[champion_version if champion_version is not None else min(roles)]
    if holdout_of is not None:
        if holdout_of not in versions:
            raise BadInputError(f"Model {model!r} has no version {holdout_of}.")
        data = _holdout_rows(workspace, versions[holdout_of])
    elif table is None and query is None:
        if anchor["data_table"]:
            table = anchor["data_table"]
        elif anchor["data_query"]:
            query = anchor["data_query"]
    if holdout_of is None:
        data = read_rows(workspace, table, query)
    target, metric = anchor["target"], anchor["metric"]
    results = []
    for number in sorted(roles):
        v = versions[number]
        if (v["target"], v["task"]) != (anchor["target"], anchor["task"]):
            raise BadInputError(f"{model}:{number} predicts {v['target']!r} ({v['task']}) unlike version "
                                f"{anchor['version']}; they cannot be compared.")
        check_columns(data.frame.schema, v["features"], data.source, also=(target,))
        estimator = load_model(workspace, v)
        results.append({"version": number, "aliases": sorted(roles[number]),
                        "score": score_metric(estimator, data.frame, target, v["task"], metric)})
    best = results[0]
    for r in results[1:]:
        if better(metric, r["score"], best["score"]) > 0:
            best = r
    row = {
        "model": model, "evaluated_at": utc_now(), "evaluated_by": workspace.actor, "data_source": data.source,
        "data_table": table, "data_version": data.version, "fingerprint": data.fingerprint, "row_count": data.row_count,
        "metric": metric, "champion_version": champion_version, "best_version": best["version"], "results": results,
    }
    with RegistryStore.open(workspace) as store:
        with store.transaction():
            row["id"] = store.next_id("evaluations")
            event = record_event(workspace, "model.evaluated", model, {
                "evaluation": row["id"], "data_source": data.source, "metric": metric, "results": results,
                "champion_version": champion_version, "best_version": best["version"], "rows": data.row_count,
            }, data_version=data.version, fingerprint=data.fingerprint)
            store.insert("evaluations", row, event)
    row["champion_beaten"] = champion_version is not None and best["version"] != champion_version
    return row
