"""`workbench governance report`: one row per registered model, plus workspace-wide checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from workbench.errors import ExitCode, LakeError, WorkbenchError
from workbench.registry.policy import Policy, load_policy
from workbench.registry.store import RegistryStore
from workbench.workspace import Workspace

IN_FLIGHT_STATES = ("queued", "starting", "running")


class PolicyViolation(WorkbenchError):
    """The governance report found at least one violation (exit 1, so CI fails)."""

    title = "Governance policy violated"
    exit_code = ExitCode.RUN_FAILED


@dataclass
class ModelStatus:
    model: str
    versions: int
    champion_version: int | None = None
    trained_at: str | None = None
    days_since_training: float | None = None
    data_source: str | None = None
    trained_data_version: int | None = None
    current_data_version: int | None = None
    stale_data: bool | None = None
    data_changed_at: str | None = None
    evaluated_on_current_data: bool | None = None
    last_evaluation_at: str | None = None
    days_since_evaluation: float | None = None
    last_evaluation: dict[str, Any] | None = None
    promoted_at: str | None = None
    days_since_promotion: float | None = None
    promoted_by: str | None = None
    approved_by: list[str] = field(default_factory=list)
    request_id: int | None = None
    requested_by: str | None = None
    request_signature: str | None = None  # the ledger's status of the request event: signed, declared, …
    approvals: list[dict[str, Any]] = field(default_factory=list)  # actor, decision, signature, key
    promotion_signature: str | None = None
    aliases: dict[str, int] = field(default_factory=dict)
    open_requests: int = 0
    # The champion's training tables: last refresh and certification from the log (`checks/history.py`).
    training_tables: list[dict[str, Any]] = field(default_factory=list)
    open_request_list: list[dict[str, Any]] = field(default_factory=list)  # id, version, by, via (a pipeline?)
    last_retrain: dict[str, Any] | None = None  # newest version: when, run, by whom, via a pipeline or manual
    # newest `model.evaluated`: when, by whom, on which rows, each version's score, whether the champion lost
    last_evaluation: dict[str, Any] | None = None
    serving: dict[str, Any] | None = None  # what serving the champion did (`registry/serving.py`)
    violations: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class GovernanceReport:
    generated_at: str
    policy: dict[str, Any]
    models: list[ModelStatus]
    runs_in_flight: int
    audit_verified: bool
    audit_summary: str
    violations: list[str] = field(default_factory=list)  # workspace-wide
    identity: str = "os"
    flags: list[str] = field(default_factory=list)  # governed actions declared rather than signed
    signatures: dict[str, int] = field(default_factory=dict)  # governed actions per signature status

    @property
    def all_violations(self) -> list[str]:
        return self.violations + [f"{m.model}: {v}" for m in self.models for v in m.violations]

    @property
    def ok(self) -> bool:
        return not self.all_violations

    def as_dict(self) -> dict[str, Any]:
        return {"generated_at": self.generated_at, "ok": self.ok, "policy": self.policy,
                "runs_in_flight": self.runs_in_flight, "audit_verified": self.audit_verified,
                "audit_summary": self.audit_summary, "violations": self.all_violations,
                "identity": self.identity, "flags": self.flags, "signatures": self.signatures,
                "models": [m.as_dict() for m in self.models]}


def parse_ts(text: str | None) -> datetime | None:
    if not text:
        return None
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _days(since: str | None, now: datetime) -> float | None:
    at = parse_ts(since)
    return None if at is None else round((now - at).total_seconds() / 86400, 2)


def _current_data(lake: Any, version: dict[str, Any]) -> tuple[str | None, int | None, str | None]:
    """(current fingerprint, current version, when it changed) of the data a version trained on."""
    from workbench.lake.catalog import latest_version
    from workbench.lake.engine import LAKE_ALIAS
    from workbench.lake.fingerprint import fingerprint_relation
    import duckdb

    from workbench.lake.sql_guard import guarded_select, read_error

    if version["data_table"]:
        latest = latest_version(lake, version["data_table"])
        return (latest.fingerprint, latest.version, latest.created_at) if latest else (None, None, None)
    cur = lake.cursor()
    try:
        fingerprint, _ = fingerprint_relation(cur, f"({guarded_select(lake, version['data_query'])})")
    except duckdb.Error as exc:
        raise read_error(exc, "The training query failed") from exc
    snapshot, at = cur.execute(
        f"SELECT snapshot_id, strftime(snapshot_time, '%Y-%m-%dT%H:%M:%SZ') FROM ducklake_snapshots('{LAKE_ALIAS}') "
        "ORDER BY snapshot_id DESC LIMIT 1").fetchone()
    return fingerprint, int(snapshot), at


def _model_status(store: RegistryStore, lake: Any, model: str, policy: Policy, now: datetime) -> ModelStatus:
    versions = store.versions(model)
    held = store.aliases(model)
    open_requests = store.requests(model=model, state="open")
    status = ModelStatus(model=model, versions=len(versions), aliases={a: e["version"] for a, e in held.items()},
                         open_requests=len(open_requests),
                         open_request_list=[{"id": r["id"], "version": r["version"], "alias": r["alias"],
                                             "requested_by": r["requested_by"], "requested_at": r["requested_at"],
                                             "_seq": r.get("event_seq")} for r in open_requests])
    champion = held.get("champion")
    if champion is None:
        status.notes.append("no champion")
        return status
    v = store.get_version(model, champion["version"])
    assert v is not None
    status.champion_version = v["version"]
    status.trained_at = v["trained_at"] or v["registered_at"]
    status.days_since_training = _days(status.trained_at, now)
    status.data_source, status.trained_data_version = v["data_source"], v["data_version"]
    status.promoted_at, status.promoted_by = champion["set_at"], champion["set_by"]
    status.days_since_promotion = _days(champion["set_at"], now)
    status.approved_by = champion["approved_by"] or []
    _approval_trail(store, champion, status)
    status.training_tables = training_tables(lake, v)
    evaluations = store.evaluations(model)
    if evaluations:
        last = evaluations[0]
        status.last_evaluation_at = last["evaluated_at"]
        status.days_since_evaluation = _days(last["evaluated_at"], now)
        status.last_evaluation = {"data_source": last["data_source"], "metric": last["metric"],
                                  "champion_version": last["champion_version"], "best_version": last["best_version"],
                                  "results": last["results"]}
    try:
        fingerprint, current_version, changed_at = _current_data(lake, v)
    except LakeError as exc:
        fingerprint, current_version, changed_at = None, None, None
        status.notes.append(f"training data unreadable: {exc.message}")
    status.current_data_version = current_version
    if fingerprint is not None:
        status.stale_data = fingerprint != v["fingerprint"]
        status.evaluated_on_current_data = any(e["fingerprint"] == fingerprint for e in evaluations)
        if status.stale_data:
            status.data_changed_at = changed_at
    # -- policy ------------------------------------------------------------------------------------
    if status.days_since_training is not None and status.days_since_training > policy.max_champion_age_days:
        status.violations.append(f"champion v{v['version']} was trained {status.days_since_training:g} days ago "
                                 f"(policy: at most {policy.max_champion_age_days:g})")
    since_compared = status.days_since_evaluation if evaluations else status.days_since_promotion
    if since_compared is not None and since_compared > policy.max_days_since_evaluation:
        what = "last evaluated against its challengers" if evaluations else "promoted and never evaluated"
        status.violations.append(f"champion v{v['version']} was {what} {since_compared:g} days ago "
                                 f"(policy: every {policy.max_days_since_evaluation:g} days)")
    if status.stale_data and not status.evaluated_on_current_data:
        changed_days = _days(status.data_changed_at, now) or 0.0
        if changed_days >= policy.stale_data_grace_days:
            status.violations.append(
                f"its training data {v['data_table'] or 'query'} changed (v{v['data_version']} → v{current_version}) "
                f"and champion v{v['version']} has not been re-evaluated on it"
            )
    return status


def training_tables(lake: Any, version: dict[str, Any]) -> list[dict[str, Any]]:
    """Each lake table the version trained on: the version it used, and that table's check status now."""
    from workbench.checks.history import table_status
    from workbench.lake.certification import tables_read

    try:
        reads = tables_read(lake, version["data_table"], None, version.get("data_query"))
    except LakeError:
        return []  # the table is gone: `_current_data` notes that the training data is unreadable
    out = []
    for table, current in reads:
        trained = version["data_version"] if table == version["data_table"] else None
        out.append({"table": table, "trained_version": trained,
                    **table_status(lake.workspace, table, current).as_dict()})
    return out


def _approval_trail(store: RegistryStore, champion: dict[str, Any], status: ModelStatus) -> None:
    """Who requested and who approved the champion, and whether each signature verifies."""
    ledger = store.ledger

    def signature(seq: Any) -> tuple[str, str | None]:
        found = ledger.status(int(seq)) if seq is not None else None
        return (found.status, found.key) if found else ("not governed", None)

    status.promotion_signature = signature(champion.get("event_seq"))[0]
    if champion.get("request_id") is None:
        return
    request = store.get_request(int(champion["request_id"]))
    if request is None:
        return
    status.request_id, status.requested_by = request["id"], request["requested_by"]
    status.request_signature = signature(request.get("event_seq"))[0]
    for d in store.raw_decisions(request["id"]):
        state, key = signature(d.get("event_seq"))
        status.approvals.append({"actor": d["actor"], "decision": d["decision"], "decided_at": d["decided_at"],
                                 "signature": state, "key": key})


def governance_report(workspace: Workspace, policy: Policy | None = None, now: datetime | None = None) -> GovernanceReport:
    from workbench.audit import AuditLog
    from workbench.lake.engine import open_lake
    from workbench.runs.records import RunRecords

    from workbench.errors import IntegrityError
    from workbench.integrity.workspace import verify_workspace

    from workbench.registry.policy import file_policy

    file_policy(workspace)  # a bad value in workbench.toml is named now, even before anyone adopts it
    policy = policy or load_policy(workspace)
    now = now or datetime.now(timezone.utc)
    # "Verified" means the whole workspace, not just the chain: a forged alias row is a finding here.
    verification = verify_workspace(workspace)
    verified = verification.ok
    findings = ([] if verification.chain is None or verification.chain.ok else [verification.chain.summary]) + [
        f.message for f in verification.first_per_kind()]
    summary = verification.summary() if verified else "; ".join(findings)
    in_flight = 0
    if verification.chain is not None:
        with AuditLog(workspace.audit_path, workspace.root) as log:
            in_flight = sum(1 for r in RunRecords(log).list_runs(limit=10_000) if r.get("state") in IN_FLIGHT_STATES)
    models, refused = [], []
    if verification.chain is not None:
        with RegistryStore.open(workspace) as store, open_lake(workspace, read_only=True) as lake:
            for name in store.model_names():
                try:
                    models.append(_model_status(store, lake, name, policy, now))
                except IntegrityError as exc:  # a row that disagrees with the chain is not reported on as if true
                    refused.append(f"model {name}: {exc.message}")
    report = GovernanceReport(generated_at=now.isoformat().replace("+00:00", "Z"), policy=policy.as_dict(),
                              models=models, runs_in_flight=in_flight, audit_verified=verified, audit_summary=summary)
    report.violations.extend(refused)
    if models:
        _retrain_facts(workspace, models)
        _serving_facts(workspace, models)
    _signature_summary(workspace, report)
    if policy.require_audit_verified and not verified:
        report.violations.append(f"the audit log does not verify (whole workspace): {summary}")
    return report


def _retrain_facts(workspace: Workspace, models: list[ModelStatus]) -> None:
    """Per model, from the chained events: the newest registration (a retrain) and whether a pipeline's train
    step made it; and each open request, with the pipeline that opened it, if any."""
    import json

    from workbench.audit import AuditLog

    with AuditLog(workspace.audit_path, workspace.root) as log:
        for m in models:
            row = log.conn.execute("SELECT ts, actor, run_id, params FROM events WHERE kind = 'model.registered' "
                                   "AND json_extract(params, '$.model') = ? ORDER BY seq DESC LIMIT 1",
                                   [m.model]).fetchone()
            if row is not None:
                ts, actor, run_id, params = row
                step = log.conn.execute("SELECT subject FROM events WHERE kind = 'pipeline.step_finished' "
                                        "AND run_id = ? ORDER BY seq DESC LIMIT 1", [run_id]).fetchone()
                m.last_retrain = {"at": ts, "version": json.loads(params).get("version"), "run_id": run_id,
                                  "by": actor, "via": f"pipeline:{step[0]}" if step else "manual"}
            row = log.conn.execute("SELECT ts, actor, params FROM events WHERE kind = 'model.evaluated' "
                                   "AND subject = ? ORDER BY seq DESC LIMIT 1", [m.model]).fetchone()
            if row is not None:
                ts, actor, params = row
                p = json.loads(params)
                m.last_evaluation = {
                    "at": ts, "by": actor, "metric": p.get("metric"), "data_source": p.get("data_source"),
                    "rows": p.get("rows"), "champion_version": p.get("champion_version"),
                    "best_version": p.get("best_version"),
                    "scores": {str(r.get("version")): r.get("score") for r in p.get("results") or []},
                    "champion_beaten": p.get("champion_version") is not None
                    and p.get("best_version") != p.get("champion_version")}
            for r in m.open_request_list:
                found = log.conn.execute("SELECT params FROM events WHERE kind = 'model.promotion_requested' "
                                         "AND seq = ?", [r.pop("_seq", None)]).fetchone()
                r["via"] = (json.loads(found[0]).get("via") if found else None) or "manual"


def _serving_facts(workspace: Workspace, models: list[ModelStatus]) -> None:
    """What `workbench serve` did with each champion, summed from its `serve.*` events."""
    from workbench.audit import AuditLog
    from workbench.registry.serving import serving_records

    with AuditLog(workspace.audit_path, workspace.root) as log:
        served = serving_records(log)
    for m in models:
        if m.champion_version is not None:
            record = served.get((m.model, m.champion_version))
            m.serving = {**record.as_dict(), "summary": record.summary()} if record else {"summary": "never served"}


def _signature_summary(workspace: Workspace, report: GovernanceReport) -> None:
    """Identity mode, counts per signature status, and a flag for each governed action that was declared."""
    from workbench.access.actions import load_ledger
    from workbench.access.integrity import signed_counts

    ledger = load_ledger(workspace)
    report.identity = ledger.identity_mode
    report.signatures = signed_counts(ledger)
    for s in ledger.statuses.values():
        if s.status in ("declared", "bootstrap"):
            report.flags.append(f"#{s.seq} {s.kind} by {s.actor} was {'declared' if s.status == 'declared' else 'recorded unsigned at init'}, not signed")
