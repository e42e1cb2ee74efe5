"""`workbench audit verify`: the workspace, not only the chain.

Checked, in order: the log's identity (it is the log the workspace started with); the hash chain and
its archives; the search index; the runs table; the registry; every governed action's signature and the
policy in force (`access/integrity.py`); the lake's snapshots against their audit
events, both ways; and the bytes of every recorded artifact (local, or on the storage back-end). Each
layer checks its own state (`runs/records.py`, `registry/integrity.py`, `lake/integrity.py`); this
module only gathers their findings. It never creates a log.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from workbench.audit.findings import Finding
from workbench.audit.log import AuditLog, VerifyResult
from workbench.errors import IntegrityError
from workbench.workspace import Workspace

Progress = Callable[[str], None]


@dataclass
class WorkspaceVerification:
    chain: VerifyResult | None
    findings: list[Finding] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    checked: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.chain is not None and self.chain.ok and not self.findings

    def first_per_kind(self) -> list[Finding]:
        seen: dict[str, Finding] = {}
        for f in self.findings:
            seen.setdefault(f.kind, f)
        return list(seen.values())

    def summary(self) -> str:
        if self.ok:
            parts = ", ".join(f"{n:,} {what}" for what, n in self.checked.items())
            return f"workspace verified: {self.chain.summary if self.chain else ''}; {parts}"
        n = len(self.findings) + (0 if self.chain is None or self.chain.ok else 1)
        return f"{n} finding(s)"

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "chain": None if self.chain is None else self.chain.as_dict(),
                "findings": [f.as_dict() for f in self.findings], "checked": self.checked,
                "timings_s": {k: round(v, 3) for k, v in self.timings.items()}}


def verify_workspace(workspace: Workspace, *, artifacts: bool = True, thorough: bool = False,
                     progress: Progress | None = None) -> WorkspaceVerification:
    """Every check; findings are collected, not raised, so one report names everything that is wrong.

    `thorough` also compares the search index with the events row by row (FTS5 `integrity-check`, about
    3 s at a million events); without it a count of indexed events catches any deletion from the index."""
    from workbench.integrity.anchor import check_anchor

    say = progress or (lambda what: None)
    result = WorkspaceVerification(chain=None)
    try:
        log = AuditLog(workspace.audit_path, workspace.root)
    except IntegrityError:  # missing or emptied: never created here
        result.findings.append(Finding("audit.log", "audit.sqlite", "log",
                                       "the audit log audit.sqlite is missing from the workspace; restore it from a backup."))
        return result
    with log:
        def timed(name: str, check: Callable[[], list[Finding]]) -> None:
            say(name)
            start = time.perf_counter()
            result.findings.extend(check())
            result.timings[name] = time.perf_counter() - start

        say("chain")
        start = time.perf_counter()
        result.chain = log.verify_chain()
        result.timings["chain"] = time.perf_counter() - start
        result.checked["events"] = result.chain.count
        timed("anchor", lambda: check_anchor(workspace, log, result.chain.ok))
        from workbench.audit.search_index import check_search_index

        timed("search index", lambda: check_search_index(log, thorough=thorough))
        from workbench.runs.records import check_runs

        timed("runs", lambda: check_runs(log))
        result.checked["runs"] = log.conn.execute("SELECT count(*) FROM runs").fetchone()[0]
        from workbench.registry.integrity import check_registry

        timed("registry", lambda: check_registry(workspace, log))
        timed("signatures", lambda: _check_governance(workspace, log, result))
        timed("lake", lambda: _check_lake(workspace))
        if artifacts:
            timed("artifacts", lambda: _check_artifacts(workspace, log, result))
    return result


def _check_governance(workspace: Workspace, log: AuditLog, result: WorkspaceVerification) -> list[Finding]:
    from workbench.access.integrity import check_governance
    from workbench.access.ledger import Ledger

    ledger = Ledger.load(log)
    result.checked["governed actions"] = len(ledger.statuses)
    return check_governance(workspace, log, ledger)


def _check_lake(workspace: Workspace) -> list[Finding]:
    from workbench.lake.integrity import check_lake

    return check_lake(workspace)


def _holdout_model(training: object) -> tuple[str, str] | None:
    """(path, sha256) of the twin model that scored the frozen holdout, when the saved model was refitted."""
    if isinstance(training, str):
        import json

        try:
            training = json.loads(training)
        except ValueError:
            return None
    if isinstance(training, dict) and training.get("holdout_model") and training.get("holdout_model_sha256"):
        return str(training["holdout_model"]), str(training["holdout_model_sha256"])
    return None


def _check_artifacts(workspace: Workspace, log: AuditLog, result: WorkspaceVerification) -> list[Finding]:
    """Each recorded file's bytes against the hash in its chained event (runs) or bound row (registry)."""
    from workbench.registry.store import RegistryStore, registry_path
    from workbench.errors import BackendUnavailableError
    from workbench.runs.artifact_store import check_recorded_artifact
    from workbench.runs.artifacts import ArtifactIntegrityError

    wanted: dict[tuple[str, str], str] = {}
    import json

    for seq, run_id, params in log.conn.execute(
            "SELECT seq, run_id, params FROM events WHERE kind = 'run.finished' ORDER BY seq"):
        p = json.loads(params or "{}")
        for path_key, sha_key, what in (("artifact", "artifact_sha256", "model artifact"),
                                        ("holdout", "holdout_sha256", "holdout")):
            if p.get(path_key) and p.get(sha_key):
                wanted.setdefault((p[path_key], p[sha_key]), f"{what} of run {run_id}")
        twin = _holdout_model(p.get("training"))
        if twin:
            wanted.setdefault(twin, f"holdout model of run {run_id}")
    if registry_path(workspace).exists():
        with RegistryStore(registry_path(workspace)) as store:
            for v in store._all("SELECT model, version, artifact_path, artifact_sha256, holdout_path, holdout_sha256, "
                                "training FROM model_versions"):
                wanted.setdefault((v["artifact_path"], v["artifact_sha256"]), f"model artifact of {v['model']}:{v['version']}")
                wanted.setdefault((v["holdout_path"], v["holdout_sha256"]), f"holdout of {v['model']}:{v['version']}")
                twin = _holdout_model(v.get("training"))
                if twin:
                    wanted.setdefault(twin, f"holdout model of {v['model']}:{v['version']}")
    findings = []
    for (relative, sha), what in sorted(wanted.items()):
        try:
            check_recorded_artifact(workspace, relative, sha, what)
        except ArtifactIntegrityError as exc:
            findings.append(Finding("artifact", "artifacts", relative, exc.message))
        except BackendUnavailableError as exc:  # not proven either way: a finding, never a silent pass
            findings.append(Finding("artifact", "artifacts", relative, f"could not be checked: {exc.message}"))
    result.checked["artifacts"] = len(wanted)
    return findings
