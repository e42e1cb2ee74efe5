"""Batch scoring: a registered pipeline scores lake rows into a new lake table version, with drift checks.

Order matters: the artifact's hash is checked before it is unpickled, the input's columns before any
scoring, and the output is written in one lake transaction whose `model.predicted` event is appended
before it commits (`lake/operations.py`) — an error anywhere leaves the lake as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from workbench.errors import BadInputError
from workbench.registry.artifacts import load_model
from workbench.registry.drift import FeatureDrift, compare_to_reference
from workbench.registry.inputs import check_columns, read_rows
from workbench.registry.policy import Policy, load_policy
from workbench.registry.refs import ModelRef, resolve_ref
from workbench.registry.store import RegistryStore
from workbench.workspace import Workspace

OUTPUT_COLUMNS = ("prediction", "model_name", "model_version", "scored_at")


@dataclass
class PredictionResult:
    model: str
    version: int
    artifact_sha256: str
    source: str
    source_version: int | None
    source_fingerprint: str
    into: str
    table_version: int
    fingerprint: str
    rows: int
    scored_at: str
    drift: list[FeatureDrift] = field(default_factory=list)

    @property
    def drifted(self) -> list[FeatureDrift]:
        return [d for d in self.drift if d.drifted]

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["drift"] = [x.as_dict() for x in self.drift]
        d["drifted_features"] = [x.feature for x in self.drifted]
        return d


def _probability_column(label: Any) -> str:
    return f"probability_{label}"


def prediction_columns(estimator: Any, frame: Any, task: str) -> Any:
    """The predictions alone (polars): `prediction` and, for a classifier, one probability column per class."""
    import polars as pl

    out = {}
    if task == "regression":
        out["prediction"] = estimator.predict(frame)
    else:
        proba = estimator.predict_proba(frame)
        classes = estimator.classes_
        out["prediction"] = classes[proba.argmax(axis=1)]
        for i, label in enumerate(classes):
            out[_probability_column(label)] = proba[:, i]
    return pl.DataFrame([pl.Series(k, v.tolist() if v.dtype == object else v) for k, v in out.items()])


def score_frame(estimator: Any, frame: Any, task: str, model: str, version: int, scored_at: datetime) -> Any:
    """`frame` plus prediction, per-class probabilities, model, version and scoring time columns."""
    import polars as pl

    extra = prediction_columns(estimator, frame, task)
    out = extra.columns
    clash = [c for c in [*out, *OUTPUT_COLUMNS] if c in frame.columns]
    if clash:
        raise BadInputError(f"The input already has column(s) {', '.join(sorted(set(clash)))}, which the "
                            "predictions would overwrite; select the input without them.")
    return pl.concat([frame, extra], how="horizontal").with_columns(
        pl.lit(model).alias("model_name"), pl.lit(version, dtype=pl.Int64).alias("model_version"),
        # naive UTC: a TIMESTAMPTZ column needs pytz in every Python client that reads it back
        pl.lit(scored_at.replace(tzinfo=None), dtype=pl.Datetime("us")).alias("scored_at"),
    )


def drift_against_training(frame: Any, version: dict[str, Any], policy: Policy) -> list[FeatureDrift]:
    """Per-feature drift of `frame` against the version's training reference profile (DuckDB over Arrow)."""
    import duckdb

    con = duckdb.connect()
    try:
        con.register("_wb_scored", frame.to_arrow())
        return compare_to_reference(con, "_wb_scored", version["reference"], policy.psi_threshold,
                                    policy.missing_rate_threshold)
    finally:
        con.close()


def predict(workspace: Workspace, ref: ModelRef, *, into: str, table: str | None = None, query: str | None = None,
            replace: bool = False, policy: Policy | None = None) -> PredictionResult:
    """Score rows of `table` (latest version) or `query` with the version `ref` names (default: champion)."""
    from workbench.lake.engine import open_lake
    from workbench.lake.names import check_table_name
    from workbench.lake.operations import write_frame

    policy = policy or load_policy(workspace)
    check_table_name(into)
    with RegistryStore.open(workspace) as store:
        version = resolve_ref(store, ref, default_alias="champion")
    estimator = load_model(workspace, version)  # refuses a file whose hash changed, before unpickling
    data = read_rows(workspace, table, query)
    check_columns(data.frame.schema, version["features"], data.source)
    if table is not None and table == into:
        raise BadInputError(f"Write the predictions into a table other than the input {table!r}.")
    feature_names = [f[0] for f in version["features"]]
    scored_at = datetime.now(timezone.utc)
    name, number = version["model"], version["version"]
    try:
        output = score_frame(estimator, data.frame, version["task"], name, number, scored_at)
    except BadInputError:
        raise
    except Exception as exc:
        raise BadInputError(f"{name}:{number} could not score {data.source}: {type(exc).__name__}: {exc}") from exc
    drift = drift_against_training(data.frame.select(feature_names), version, policy)
    drifted = [d.feature for d in drift if d.drifted]
    input_facts = {"input": data.source, "input_version": data.version, "input_fingerprint": data.fingerprint,
                   "artifact_sha256": version["artifact_sha256"], "drifted_features": drifted}

    def predicted_event(entry: dict[str, Any]) -> dict[str, Any]:
        # The lake write is recorded by the model's own event, appended before the lake commits.
        return {"kind": "model.predicted", "subject": f"{name}:{number}", "run_id": version["run_id"],
                "data_version": entry["version"], "fingerprint": entry["fingerprint"],
                "outcome": "drift" if drifted else "ok",
                "params": {"into": into, "table_version": entry["version"], "rows": output.height, **input_facts,
                           "psi": {d.feature: d.psi for d in drift}}}

    with open_lake(workspace) as lake:
        written = write_frame(
            lake, into, output, actor=workspace.actor, replace=replace,
            source=f"model {name}:{number} on {data.source}", message=f"predict {name}:{number} into {into}",
            extra={"model": name, "model_version": number, "artifact_sha256": version["artifact_sha256"],
                   "input": data.source, "input_fingerprint": data.fingerprint, "drifted_features": drifted},
            event_for=predicted_event,
        )
    return PredictionResult(
        model=name, version=number, artifact_sha256=version["artifact_sha256"], source=data.source,
        source_version=data.version, source_fingerprint=data.fingerprint, into=into, table_version=written.version,
        fingerprint=written.fingerprint or "", rows=output.height,
        scored_at=scored_at.isoformat().replace("+00:00", "Z"), drift=drift,
    )
